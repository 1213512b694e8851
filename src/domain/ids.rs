//! Typed ids: a value of `RfaId` can only hold a UUID in its canonical form (lower case,
//! hyphenated), so a user id is never passed where a request's is expected, and text from
//! outside is parsed once at the edge (`RfaId::parse`) instead of being checked again below.

macro_rules! ids {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
            #[serde(transparent)]
            pub struct $name(String);

            impl $name {
                /// A new, time-ordered id (UUIDv7).
                pub fn generate() -> Self {
                    Self(uuid::Uuid::now_v7().to_string())
                }

                /// The id a text names, if it is a UUID (in any of the forms `uuid` reads).
                pub fn parse(raw: &str) -> Option<Self> {
                    uuid::Uuid::parse_str(raw).ok().map(|u| Self(u.to_string()))
                }

                /// An id read back from the database, which only ever stores canonical ids.
                pub fn from_stored(stored: String) -> Self {
                    Self(stored)
                }

                pub fn as_str(&self) -> &str {
                    &self.0
                }

                pub fn into_string(self) -> String {
                    self.0
                }
            }

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(&self.0)
                }
            }

            /// Read from text that must be a UUID: anything else is refused as "is not a UUID",
            /// and the field it came in is named by the caller's parser.
            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let raw = String::deserialize(d)?;
                    Self::parse(&raw).ok_or_else(|| serde::de::Error::custom("is not a UUID"))
                }
            }

            impl AsRef<str> for $name {
                fn as_ref(&self) -> &str {
                    &self.0
                }
            }
        )+
    };
}

ids!(
    /// A request for assistance.
    RfaId,
    /// A user account.
    UserId,
    /// A jurisdiction in the registry.
    JurisdictionId,
    /// A requesting authority of a jurisdiction.
    AuthorityId,
    /// A frozen report.
    SnapshotId,
    /// A message in the mail outbox.
    MessageId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuids_parse_and_they_come_out_canonical() {
        let id = RfaId::parse("0192F0A4-1B2C-7D3E-8F40-123456789ABC").unwrap();
        assert_eq!(id.as_str(), "0192f0a4-1b2c-7d3e-8f40-123456789abc");
        assert!(RfaId::parse("RFA-2024-0001").is_none());
        assert!(UserId::parse("").is_none());
        assert_ne!(RfaId::generate(), RfaId::generate());
    }
}
