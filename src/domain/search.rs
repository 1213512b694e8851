//! Search words: the one folding both backends index and query, so that a search finds the
//! same requests on SQLite and on PostgreSQL, in every script.
//!
//! A text is decomposed (NFKD, which also turns ligatures, full-width forms and Arabic
//! presentation forms into their plain letters), its combining marks are dropped (accents,
//! umlauts, Arabic short vowels and hamza signs), it is lower-cased, a few letters that
//! searchers write either way are made one (below), and it is cut into words at every
//! character that is neither a letter nor a digit. The database never folds: it stores and
//! compares these words as they are (`db::search`).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A word is indexed and searched for with at most this many characters; a longer word is
/// still found by its first 64 (the search is by prefix anyway).
pub const MAX_WORD_CHARS: usize = 64;

/// A search takes at most this many words.
pub const MAX_QUERY_WORDS: usize = 8;

/// Letters that stay apart after decomposition but that people searching write as one:
/// German ß, the Nordic and Polish letters with a stroke, the Turkish dotless i, the Greek
/// final sigma, and the Arabic normalisations search engines apply (alef maqsura as yeh,
/// teh marbuta as heh; tatweel, the stretching stroke, is dropped).
fn fold_char(c: char, out: &mut String) {
    match c {
        'ß' => out.push_str("ss"),
        'æ' => out.push_str("ae"),
        'œ' => out.push_str("oe"),
        'ø' => out.push('o'),
        'ł' => out.push('l'),
        'đ' => out.push('d'),
        'ı' => out.push('i'),
        'ς' => out.push('σ'),
        'ى' => out.push('ي'),
        'ة' => out.push('ه'),
        '\u{0640}' => {}
        other => out.push(other),
    }
}

/// The folded words of a text, in order, each at most [`MAX_WORD_CHARS`] characters.
pub fn words(text: &str) -> Vec<String> {
    let mut folded = String::with_capacity(text.len());
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        for lower in c.to_lowercase() {
            fold_char(lower, &mut folded);
        }
    }
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(MAX_WORD_CHARS).collect())
        .collect()
}

/// What a request is found by: the distinct folded words of its texts, space-separated.
pub fn document<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut doc = String::new();
    for text in texts {
        for word in words(text) {
            if seen.insert(word.clone()) {
                if !doc.is_empty() {
                    doc.push(' ');
                }
                doc.push_str(&word);
            }
        }
    }
    doc
}

/// A search: every word must begin a word of the request (all of them, in any order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    words: Vec<String>,
}

/// Why a search text cannot be searched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// Only punctuation, spaces or symbols.
    NoWords,
    /// More than [`MAX_QUERY_WORDS`] words.
    TooManyWords,
}

impl Query {
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let mut seen = std::collections::HashSet::new();
        let mut words = words(text);
        words.retain(|w| seen.insert(w.clone()));
        if words.is_empty() {
            return Err(QueryError::NoWords);
        }
        if words.len() > MAX_QUERY_WORDS {
            return Err(QueryError::TooManyWords);
        }
        Ok(Query { words })
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The query in SQLite FTS5 syntax: each word a quoted prefix term, all required. Words
    /// hold letters and digits only, so quoting cannot be broken out of.
    pub fn fts5(&self) -> String {
        let terms: Vec<String> = self.words.iter().map(|w| format!("\"{w}\"*")).collect();
        terms.join(" AND ")
    }

    /// The words as a JSON array (for a check of stored words in SQL, `db::search`).
    pub fn json(&self) -> String {
        serde_json::to_string(&self.words).unwrap_or_else(|_| "[]".into())
    }

    /// The query as PostgreSQL `tsquery` input: each word a quoted prefix lexeme, all
    /// required. Quoted lexemes are taken as written, without the parser or a dictionary.
    pub fn tsquery(&self) -> String {
        let terms: Vec<String> = self.words.iter().map(|w| format!("'{w}':*")).collect();
        terms.join(" & ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_folds_to_the_same_words_whatever_the_case_and_marks() {
        assert_eq!(words("Überwachung"), words("uberwachung"));
        assert_eq!(words("ÜBERWACHUNG"), ["uberwachung"]);
        assert_eq!(words("Förhör i Malmö"), ["forhor", "i", "malmo"]);
        assert_eq!(
            words("Déclaration d'un témoin"),
            ["declaration", "d", "un", "temoin"]
        );
        assert_eq!(words("Straße"), ["strasse"]);
        assert_eq!(words("Łódź"), ["lodz"]);
        // Cyrillic: case, and the breve of й and diaeresis of ё like any other mark.
        assert_eq!(words("ДОПРОС Свидетеля"), ["допрос", "свидетеля"]);
        assert_eq!(words("Йемен Ёлка"), ["иемен", "елка"]);
        // Greek: accents and the final sigma.
        assert_eq!(
            words("Κατάθεση μάρτυρα στη Σάμο"),
            words("καταθεση ΜΑΡΤΥΡΑ στη σαμο")
        );
        assert_eq!(words("Σάμος"), ["σαμοσ"]);
        // Arabic: hamza forms, short vowels, tatweel, alef maqsura, teh marbuta.
        assert_eq!(words("أحمد"), words("احمد"));
        assert_eq!(words("إبراهيم"), words("ابراهيم"));
        assert_eq!(words("شَهَادَة"), words("شهاده"));
        assert_eq!(words("مصطفـــى"), words("مصطفي"));
        // Compatibility forms: ligatures and full-width letters.
        assert_eq!(words("ﬁle ＡＢＣ"), ["file", "abc"]);
    }

    #[test]
    fn punctuation_separates_words_and_long_words_are_cut() {
        assert_eq!(words("RFA-2024-0017"), ["rfa", "2024", "0017"]);
        assert_eq!(
            words("Detention_records, 50%!"),
            ["detention", "records", "50"]
        );
        let long = "a".repeat(100);
        assert_eq!(words(&long)[0].chars().count(), MAX_WORD_CHARS);
        assert!(words(" \t-–—%/ ").is_empty());
    }

    #[test]
    fn a_document_holds_each_word_once() {
        assert_eq!(
            document(["Haft in Homs", "HAFT und Folter in Homs"]),
            "haft in homs und folter"
        );
        assert_eq!(document([""]), "");
    }

    #[test]
    fn queries_quote_every_word_for_both_backends() {
        let q = Query::parse("Ümit  O'Brien ümit").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.words(), ["umit", "o", "brien"]);
        assert_eq!(q.fts5(), r#""umit"* AND "o"* AND "brien"*"#);
        assert_eq!(q.tsquery(), "'umit':* & 'o':* & 'brien':*");
        assert_eq!(q.json(), r#"["umit","o","brien"]"#);
        assert_eq!(Query::parse("%%% --"), Err(QueryError::NoWords));
        assert_eq!(
            Query::parse("a b c d e f g h i"),
            Err(QueryError::TooManyWords)
        );
        assert!(Query::parse("a b c d e f g h").is_ok());
    }
}
