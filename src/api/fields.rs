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
                let message = e.into_inner().to_string();
                let message = match message.rfind(" at line ") {
                    Some(i) => message[..i].to_string(),
                    None => message,
                };
                self.errors.add(field, message);
                None
            }
        }
    }
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
