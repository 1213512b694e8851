//! Keyset pagination shared by every list: fetch `limit + 1` rows, keep `limit`, and hand
//! out an opaque cursor for the next page when there is one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::AppError;

/// Cuts a `limit + 1` fetch to `limit` rows and makes the next page's cursor from the last
/// row kept.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more.then(|| rows.last().map(&cursor)).flatten();
    (rows, next)
}

/// Cursors over id-ordered lists: base64 of the last id seen, checked on the way back.
pub fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Result<String, AppError> {
    let bad = || AppError::Malformed("The cursor is not one this service issued.".into());
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .map_err(|_| bad())?;
    let id = String::from_utf8(bytes).map_err(|_| bad())?;
    uuid::Uuid::parse_str(&id).map_err(|_| bad())?;
    Ok(id)
}

/// The number of items a list may be asked for: 1 to 200, 50 by default.
pub fn limit(asked: Option<i64>) -> Result<i64, AppError> {
    match asked {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(AppError::field("limit", "must be between 1 and 200")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cut_at_the_limit_and_cursors_round_trip() {
        let (rows, next) = page(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!((rows, next), (vec![1, 2], Some("2".to_string())));
        let (rows, next) = page(vec![1, 2], 2, |n| n.to_string());
        assert_eq!((rows, next), (vec![1, 2], None));
        let id = uuid::Uuid::now_v7().to_string();
        assert_eq!(decode_cursor(&encode_cursor(&id)).ok(), Some(id));
        assert!(decode_cursor("Zm9v").is_err());
        assert!(limit(Some(0)).is_err() && limit(Some(201)).is_err());
        assert_eq!(limit(None).ok(), Some(50));
    }
}
