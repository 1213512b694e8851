//! Reads a JSON object field by field, so that one answer can name every wrong field at once
//! (serde alone stops at the first). Unknown fields are refused like `deny_unknown_fields`.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::AppError;
use crate::service::validate::Errors;

pub struct Fields {
    map: Map<String, Value>,
    pub errors: Errors,
}

impl Fields {
    /// The body must be an object whose keys are all in `known`.
    pub fn new(body: Value, known: &[&str]) -> Result<Self, AppError> {
        let Value::Object(map) = body else {
            return Err(AppError::field("", "the body must be a JSON object"));
        };
        let mut errors = Errors::new();
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                errors.add(key.clone(), "is not a field of this request");
            }
        }
        Ok(Self { map, errors })
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// A field that must be present and not null.
    pub fn required<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        match self.map.get(name) {
            None | Some(Value::Null) => {
                self.errors.add(name, "is required");
                None
            }
            Some(v) => self.convert(name, v.clone()),
        }
    }

    /// A field that may be absent or null.
    pub fn optional<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        match self.map.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => self.convert(name, v.clone()),
        }
    }

    fn convert<T: DeserializeOwned>(&mut self, name: &str, value: Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = e.path().to_string();
                let field = if inner == "." {
                    name.to_string()
                } else if inner.starts_with('[') {
                    format!("{name}{inner}")
                } else {
                    format!("{name}.{inner}")
                };
                self.errors
                    .add(field, without_position(e.into_inner().to_string()));
                None
            }
        }
    }
}

/// serde_json's message without " at line 1 column 9": the field is named beside it.
fn without_position(message: String) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    }
}

/// A request body type whose every wrong field can be named at once (`every_error`).
pub trait Wire: DeserializeOwned {
    /// The fields that must be present and not null.
    const REQUIRED: &'static [&'static str];
}

/// The field names a derived `Deserialize` struct reads: serde hands them to
/// `deserialize_struct`, which this deserializer records and then refuses.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Deserializer, Visitor};
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// Reads a body naming every wrong field, not only the first as serde alone would: fields
/// the type does not have, values it refuses (each one taken out and the rest read again),
/// and required fields that are missing.
pub fn every_error<T: Wire>(body: Value) -> Result<T, AppError> {
    let known = field_names::<T>();
    let mut f = Fields::new(body, known)?;
    for name in T::REQUIRED {
        if matches!(f.map.get(*name), None | Some(Value::Null)) {
            f.errors.add(*name, "is required");
            f.map.remove(*name);
        }
    }
    f.map.retain(|k, _| known.contains(&k.as_str()));
    // Each pass names one refused value and takes it out; at most one pass per field.
    for _ in 0..=known.len() {
        match serde_path_to_error::deserialize::<_, T>(Value::Object(f.map.clone())) {
            Ok(v) => {
                f.errors.finish()?;
                return Ok(v);
            }
            Err(e) => {
                let top = e.path().iter().next().and_then(|s| match s {
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    _ => None,
                });
                match top {
                    Some(key) if f.map.contains_key(&key) => {
                        f.map.remove(&key);
                        let field = e.path().to_string();
                        f.errors
                            .add(field, without_position(e.into_inner().to_string()));
                    }
                    // Missing required fields were named above; anything else stops here.
                    _ => {
                        if f.errors.is_empty() {
                            f.errors
                                .add("", without_position(e.into_inner().to_string()));
                        }
                        break;
                    }
                }
            }
        }
    }
    f.errors.finish()?;
    Err(AppError::field("", "the body could not be read"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_wrong_field_is_named() {
        let mut f = Fields::new(
            json!({"a": "x", "b": [1, "two"], "c": {"d": 5}, "z": 1}),
            &["a", "b", "c", "e"],
        )
        .unwrap();
        let _: Option<u8> = f.required("a");
        let _: Option<Vec<u8>> = f.required("b");
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct C {
            d: String,
        }
        let _: Option<C> = f.required("c");
        let _: Option<u8> = f.required("e");
        let Err(AppError::Validation(errors)) = f.errors.finish() else {
            panic!("errors expected")
        };
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["z", "a", "b[1]", "c.d", "e"]);
    }
}
