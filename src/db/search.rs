//! The search words of each request (`domain::search` folds them) and the backend's own
//! index over them: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL (migration
//! `2026-12-02-000004_search`). Both compare the stored words as they are, so a query finds
//! the same requests on either.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::schema::{rfa_events, rfa_search, rfas};
use super::{Backend, DbConnection};
use crate::domain::search::Query;

/// Stores a request's words, replacing what it had.
pub fn put(conn: &mut DbConnection, rfa_id: &str, body: &str) -> QueryResult<()> {
    let updated = diesel::update(rfa_search::table.find(rfa_id))
        .set(rfa_search::body.eq(body))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(rfa_search::table)
            .values((rfa_search::rfa_id.eq(rfa_id), rfa_search::body.eq(body)))
            .execute(conn)?;
    }
    Ok(())
}

/// Stores the words of requests that have none yet (bulk loads).
pub fn insert_many(conn: &mut DbConnection, docs: &[(String, String)]) -> QueryResult<()> {
    let rows: Vec<_> = docs
        .iter()
        .map(|(id, body)| (rfa_search::rfa_id.eq(id), rfa_search::body.eq(body)))
        .collect();
    // A multi-row insert is written per backend (the multi backend has no DEFAULT keyword).
    let insert = diesel::insert_into(rfa_search::table).values(rows);
    match conn {
        DbConnection::Sqlite(c) => insert.execute(c)?,
        DbConnection::Postgresql(c) => insert.execute(c)?,
    };
    Ok(())
}

/// Up to `limit` requests without search words (written before search existed), by id.
pub fn without_words(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<String>> {
    rfas::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            rfa_search::table.filter(rfa_search::rfa_id.eq(rfas::id)),
        )))
        .select(rfas::id)
        .order(rfas::id)
        .limit(limit)
        .load(conn)
}

/// The texts of a request's notes, oldest first.
pub fn notes_of(conn: &mut DbConnection, rfa_id: &str) -> QueryResult<Vec<String>> {
    let details: Vec<String> = rfa_events::table
        .filter(rfa_events::rfa_id.eq(rfa_id))
        .filter(rfa_events::action.eq("add_note"))
        .select(rfa_events::details)
        .order(rfa_events::seq)
        .load(conn)?;
    Ok(details
        .iter()
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|d| d["text"].as_str().map(str::to_string))
        .collect())
}

/// How a search is answered on SQLite: from the index outright (every match listed, then
/// filtered and ordered), or by walking the queue in its own order and looking up each
/// request's words (the words are so common that listing every match costs more than
/// finding a page of them). PostgreSQL's planner makes that choice itself, from its
/// statistics of the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Index,
    Probe,
    /// The open queue by due date: the requests holding the search's rarest word are read
    /// in due order from `rfa_open_words` (`in_due_order`), a round at a time, and each is
    /// checked by its stored words as `Probe` does (`db::rfas`). Chosen by the queue, not
    /// by [`plan`].
    Postings,
    /// As `Postings`, where `rfa_open_words` checked every word of the search already: the
    /// rows need no check of their stored words.
    Held,
}

/// Up to this many matches in the whole register, the index lists them (measured at
/// 1,000,000 requests, docs/benchmarks.md).
const LISTED_MATCHES: i64 = 2_000;

/// The plan for a search.
pub fn plan(conn: &mut DbConnection, query: &Query) -> QueryResult<Plan> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    match conn {
        DbConnection::Postgresql(_) => Ok(Plan::Index),
        DbConnection::Sqlite(c) => {
            let count: Count = diesel::sql_query(
                "SELECT count(*) AS n FROM (SELECT rowid FROM rfa_search_index \
                 WHERE rfa_search_index MATCH ? LIMIT ?)",
            )
            .bind::<Text, _>(query.fts5())
            .bind::<diesel::sql_types::BigInt, _>(LISTED_MATCHES + 1)
            .get_result(c)?;
            Ok(if count.n > LISTED_MATCHES {
                Plan::Probe
            } else {
                Plan::Index
            })
        }
    }
}

/// `rfas.id` is among the requests whose words match `query`, in the backend's own syntax.
pub type Matches = diesel::expression::SqlLiteral<
    Bool,
    diesel::expression::UncheckedBind<
        diesel::expression::SqlLiteral<Bool>,
        diesel::dsl::AsExprOf<String, Text>,
    >,
>;

pub fn matches(backend: Backend, plan: Plan, query: &Query) -> Matches {
    match (backend, plan) {
        (Backend::Sqlite, Plan::Index) => diesel::dsl::sql::<Bool>(
            "\"rfas\".\"id\" IN (SELECT s.rfa_id FROM rfa_search s \
             WHERE s.doc IN (SELECT rowid FROM rfa_search_index WHERE rfa_search_index MATCH ",
        )
        .bind::<Text, _>(query.fts5())
        .sql("))"),
        // Each request the queue walks, in its order, has its stored words checked: every
        // word of the search begins one of them. (FTS5 matching one row by row id re-reads
        // the whole doclist: 4 s for a page where this takes 8 ms.)
        (Backend::Sqlite, Plan::Probe | Plan::Postings | Plan::Held) => diesel::dsl::sql::<Bool>(
            "EXISTS (SELECT 1 FROM rfa_search s WHERE s.rfa_id = \"rfas\".\"id\" \
             AND NOT EXISTS (SELECT 1 FROM json_each(",
        )
        .bind::<Text, _>(query.json())
        .sql(") w WHERE instr(' ' || s.body, ' ' || w.value) = 0))"),
        // The same check of each request's stored words, for the few requests a round of
        // `in_due_order` names (the GIN index would list every match first). (`db::rfas`
        // asks for no check with `Held`; it is answered as `Postings` would be.)
        (Backend::Postgres, Plan::Postings | Plan::Held) => diesel::dsl::sql::<Bool>(
            "EXISTS (SELECT 1 FROM rfa_search s WHERE s.rfa_id = \"rfas\".\"id\" \
             AND NOT EXISTS (SELECT 1 FROM json_array_elements_text(CAST(",
        )
        .bind::<Text, _>(query.json())
        .sql(" AS json)) w(value) WHERE position(' ' || w.value IN ' ' || s.body) = 0))"),
        (Backend::Postgres, _) => diesel::dsl::sql::<Bool>(
            "\"rfas\".\"id\" IN (SELECT s.rfa_id FROM rfa_search s \
             WHERE s.terms @@ CAST(",
        )
        .bind::<Text, _>(query.tsquery())
        .sql(" AS tsquery))"),
    }
}

/// A value bound into one of the statements below, whose text (and number of binds) depends
/// on how many words a prefix expands to.
enum Bind {
    Text(String),
    Date(chrono::NaiveDate),
    Bool(bool),
    Int(i64),
}

/// Runs `sql`, written with numbered placeholders `{n}` (SQLite `?n`, PostgreSQL `$n`), with
/// `binds` in order.
fn load_by_name<T>(conn: &mut DbConnection, sql: &str, binds: Vec<Bind>) -> QueryResult<Vec<T>>
where
    T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
{
    fn numbered(sql: &str, mark: char) -> String {
        sql.replace('{', &mark.to_string()).replace('}', "")
    }
    macro_rules! run {
        ($c:expr, $db:ty, $mark:expr) => {{
            let text = numbered(sql, $mark);
            let mut q = diesel::sql_query(text).into_boxed::<$db>();
            for b in binds {
                q = match b {
                    Bind::Text(v) => q.bind::<Text, _>(v),
                    Bind::Date(v) => q.bind::<diesel::sql_types::Date, _>(v),
                    Bind::Bool(v) => q.bind::<Bool, _>(v),
                    Bind::Int(v) => q.bind::<diesel::sql_types::BigInt, _>(v),
                };
            }
            q.load($c)
        }};
    }
    match conn {
        DbConnection::Sqlite(c) => run!(c, diesel::sqlite::Sqlite, '?'),
        DbConnection::Postgresql(c) => run!(c, diesel::pg::Pg, '$'),
    }
}

/// A prefix is followed in the index by at most this many words for the open queue to be
/// searched in due order through them; a shorter, commoner prefix is searched as before.
pub const MAX_EXPANSIONS: usize = 32;

/// What the open requests hold of one search word: the words beginning with it, in byte
/// order (`None` when there are more than [`MAX_EXPANSIONS`]), how many rows of open
/// requests hold one of them, counted no further than the cap, and the due key those rows
/// reach among the running requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPrefix {
    pub words: Option<Vec<String>>,
    pub rows: i64,
    /// The latest due key of a running request among the rows counted: of two words that
    /// both reach the cap, the one whose rows run later into the queue is the sparser where
    /// a page is read. (Exact for a word that begins one word; for a prefix of several, its
    /// first word's rows come first in the key, so this overstates how far it reaches.)
    pub reach: Option<chrono::NaiveDate>,
}

impl OpenPrefix {
    /// Whether reading the open queue by this word's rows finds a page sooner than by
    /// `other`'s: fewer rows, or as many (the cap) spread further along the queue.
    pub fn sparser_than(&self, other: &OpenPrefix) -> bool {
        match self.rows.cmp(&other.rows) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            // No running row counted: none early in the queue either.
            std::cmp::Ordering::Equal => match (self.reach, other.reach) {
                (None, Some(_)) => true,
                (Some(a), Some(b)) => a > b,
                _ => false,
            },
        }
    }
}

/// For each of `prefixes`, the open words beginning with it and their rows (up to `cap`), in
/// one statement: each word listed is one seek of the key (a loose index scan), so a prefix
/// of a very common word costs no more than a rare one, and each count is one range of the
/// key. One round trip however many words a search has (it was two a word).
pub fn open_prefixes(
    conn: &mut DbConnection,
    prefixes: &[&str],
    cap: i64,
) -> QueryResult<Vec<OpenPrefix>> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        i: i32,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        w: Option<String>,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
        r: Option<chrono::NaiveDate>,
    }
    if prefixes.is_empty() {
        return Ok(Vec::new());
    }
    let mut binds = vec![Bind::Int(MAX_EXPANSIONS as i64 + 1), Bind::Int(cap)];
    let (mut first, mut counts) = (Vec::new(), Vec::new());
    for (i, prefix) in prefixes.iter().enumerate() {
        // Past every word that begins with the prefix: U+10FFFF is the last code point and no
        // letter or digit, and both backends compare the words byte by byte.
        binds.push(Bind::Text(prefix.to_string()));
        binds.push(Bind::Text(format!("{prefix}\u{10FFFF}")));
        let (p, e) = (binds.len() - 1, binds.len());
        first.push(format!(
            "SELECT {i}, {{{e}}}, (SELECT word FROM rfa_open_words \
             WHERE word >= {{{p}}} AND word < {{{e}}} ORDER BY word LIMIT 1), 1"
        ));
        // In key order: PostgreSQL otherwise scans the table or a bitmap of every row of the
        // words (12–100 ms at 1,000,000 RFAs).
        counts.push(format!(
            "SELECT {i}, NULL, count(*), max(CASE WHEN NOT paused THEN due_key END) \
             FROM (SELECT paused, due_key FROM rfa_open_words \
             WHERE word >= {{{p}}} AND word < {{{e}}} \
             ORDER BY word, paused, due_key, rfa_id LIMIT {{2}}) c{i}"
        ));
    }
    // The count `n` ends each walk on both backends (SQLite would otherwise finish the
    // recursion before an outer LIMIT applies).
    let sql = format!(
        "WITH RECURSIVE t(i, e, w, n) AS ( {} UNION ALL \
           SELECT t.i, t.e, (SELECT word FROM rfa_open_words WHERE word > t.w AND word < t.e \
                             ORDER BY word LIMIT 1), t.n + 1 \
           FROM t WHERE t.w IS NOT NULL AND t.n < {{1}} \
         ) SELECT i, w, 0 AS n, NULL AS r FROM t WHERE w IS NOT NULL UNION ALL {}",
        first.join(" UNION ALL "),
        counts.join(" UNION ALL ")
    );
    let found: Vec<Found> = load_by_name(conn, &sql, binds)?;
    let mut out: Vec<OpenPrefix> = prefixes
        .iter()
        .map(|_| OpenPrefix {
            words: Some(Vec::new()),
            rows: 0,
            reach: None,
        })
        .collect();
    for f in found {
        let Some(slot) = usize::try_from(f.i).ok().and_then(|i| out.get_mut(i)) else {
            continue;
        };
        match f.w {
            Some(w) => {
                if let Some(words) = &mut slot.words {
                    words.push(w);
                }
            }
            None => (slot.rows, slot.reach) = (f.n, f.r),
        }
    }
    for slot in &mut out {
        if let Some(words) = &mut slot.words {
            // The walk is in byte order already; the database returns the union's rows in no
            // promised order.
            words.sort();
            if words.len() > MAX_EXPANSIONS {
                slot.words = None;
            }
        }
    }
    Ok(out)
}

/// The words of a search as the open queue is read by them: the request's rows are read in
/// due order by one of `driving` (the words beginning the search's rarest word), and each must
/// also hold one of each list of `also` (the words beginning each other search word, where
/// they are few enough to list).
#[derive(Debug, Clone, Default)]
pub struct OpenWords {
    pub driving: Vec<String>,
    pub also: Vec<Vec<String>>,
    /// Every search word is `driving` or in `also`: a row read holds the whole search.
    pub every_word: bool,
}

/// The next `n` open requests holding the words of `words`, among the paused ones or the
/// others, in the queue's due order (due key, then id), after `from`; each as (due key, id), a
/// request once per driving word it holds. One ordered range of the key per driving word,
/// merged by the database (SQLite's compound merge, PostgreSQL's Merge Append), each row
/// checked against the other words by a seek of the same key; so only the rows of the driving
/// words up to the last one returned are read.
pub fn in_due_order(
    conn: &mut DbConnection,
    words: &OpenWords,
    paused: bool,
    from: Option<&(chrono::NaiveDate, String)>,
    descending: bool,
    n: i64,
) -> QueryResult<Vec<(chrono::NaiveDate, String)>> {
    #[derive(QueryableByName)]
    struct Posting {
        #[diesel(sql_type = diesel::sql_types::Date)]
        due_key: chrono::NaiveDate,
        #[diesel(sql_type = Text)]
        rfa_id: String,
    }
    let mut binds = vec![Bind::Bool(paused)];
    let mark = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        format!("{{{}}}", binds.len())
    };
    let mut filter = match from {
        Some((key, id)) => {
            let (k, i) = (
                mark(&mut binds, Bind::Date(*key)),
                mark(&mut binds, Bind::Text(id.clone())),
            );
            let op = if descending { "<" } else { ">" };
            format!(" AND (o.due_key, o.rfa_id) {op} ({k}, {i})")
        }
        None => String::new(),
    };
    // PostgreSQL would turn the check into a semi-join, and, reckoning the words independent,
    // expect almost no row to pass: it then merges every row of both words and sorts them
    // (16 ms for `Überwachung Aleppo` at 1,000,000 RFAs, where a page needs 242 rows of the
    // driving word). `OFFSET 0` keeps the check a subplan, one seek per row read in due
    // order, so the scan stops at the page (1 ms). SQLite always checks row by row.
    let postgres = conn.backend() == Backend::Postgres;
    let fence = if postgres { " OFFSET 0" } else { "" };
    for list in &words.also {
        let marks: Vec<String> = list
            .iter()
            .map(|w| mark(&mut binds, Bind::Text(w.clone())))
            .collect();
        filter.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM rfa_open_words x WHERE x.word IN ({}) \
             AND x.paused = o.paused AND x.due_key = o.due_key AND x.rfa_id = o.rfa_id{fence})",
            marks.join(", ")
        ));
    }
    let limit = mark(&mut binds, Bind::Int(n));
    let direction = if descending { "DESC" } else { "ASC" };
    // PostgreSQL plans the bare union as an append of bitmap scans and a sort, reading every
    // row of each word (100 ms for `2024` at 1,000,000 RFAs, auto_explain): each arm is then
    // its own ordered, limited index scan.
    let arms: Vec<String> = words
        .driving
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let m = mark(&mut binds, Bind::Text(w.clone()));
            let arm = format!(
                "SELECT o.due_key, o.rfa_id FROM rfa_open_words o \
                 WHERE o.word = {m} AND o.paused = {{1}}{filter}"
            );
            if postgres {
                format!(
                    "SELECT * FROM ({arm} ORDER BY o.due_key {direction}, o.rfa_id {direction} \
                     LIMIT {limit}) a{i}"
                )
            } else {
                arm
            }
        })
        .collect();
    let sql = format!(
        "{} ORDER BY 1 {direction}, 2 {direction} LIMIT {limit}",
        arms.join(" UNION ALL ")
    );
    let rows: Vec<Posting> = load_by_name(conn, &sql, binds)?;
    Ok(rows.into_iter().map(|p| (p.due_key, p.rfa_id)).collect())
}
