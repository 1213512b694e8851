//! An email address as the service stores it: trimmed, lower-cased (addresses are unique
//! without regard to case) and plausibly shaped. Delivery is the only real proof.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

pub const MAX_EMAIL_LEN: usize = 254;

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("must not be empty");
        }
        if s.len() > MAX_EMAIL_LEN {
            return Err("is longer than 254 characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("is not an email address");
        };
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '<' || c == '>';
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || local.contains('@')
            || s.chars().any(bad_char)
        {
            return Err("is not an email address");
        }
        // The mail library must take the address exactly as written: one it would read
        // differently (a quoted local part unescaped, a comment dropped) would be mail to
        // another mailbox than the one shown and stored.
        if !delivered_as_written(&s) {
            return Err("is not an address mail can be sent to as written");
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Whether lettre, which sends the mail, reads the address as exactly this mailbox, both as a
/// bare address (the SMTP envelope) and as a mailbox header (`To:`).
fn delivered_as_written(s: &str) -> bool {
    use std::str::FromStr;
    let bare = lettre::Address::from_str(s).is_ok_and(|a| a.to_string() == s);
    let header = lettre::message::Mailbox::from_str(s)
        .is_ok_and(|m| m.name.is_none() && m.email.to_string() == s);
    bare && header
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(
            Email::parse("  Liaison.Officer@Example.ORG ").map(Email::into_string),
            Ok("liaison.officer@example.org".to_string())
        );
    }

    #[test]
    fn accepts_ordinary_addresses() {
        for good in [
            "a@x.org",
            "first.last+tag@sub.example.org",
            "o'brien@justice.example",
            "a_b-c@x.org",
        ] {
            assert!(Email::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "plain",
            "@example.org",
            "a@b",
            "a b@example.org",
            "a@.org",
            "a@org.",
            "a@@b.org",
            "<a@b.org>",
            // Read by the mail library as another mailbox, or not at all.
            r#""a\r\nb"@x.org"#,
            r#""a b"@x.org"#,
            "a(comment)@x.org",
            "a@x.org(comment)",
            "a\\b@x.org",
            "\"a\"@x.org",
            "a..b@x.org",
            ".a@x.org",
            "a@-x.org",
            "a,b@x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
