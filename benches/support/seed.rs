//! The benchmarks' fast bulk path: many RFAs with their events written straight into the
//! tables in batches, with real report facts and a real hash chain (so verification, reports
//! and the queue see what the service would have written), far faster than one intake at a
//! time through HTTP.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rfa_tracker::db::rfas::{EventRow, ReportFacts, RfaRow};
use rfa_tracker::db::schema::{chain_head, reference_counters, rfa_events, rfas};
use rfa_tracker::db::{Database, DbConnection};
use rfa_tracker::domain::canonical::canonical;
use rfa_tracker::service::chain::hash_of;
use rfa_tracker::service::rfas::words_of;
use serde_json::json;

pub struct Seeded {
    pub jurisdictions: Vec<String>,
    pub rfas: usize,
    pub events: usize,
}

const BATCH: usize = 500;

/// Words of subjects and descriptions, in the languages requests come in, so that a search at
/// scale meets words as common as real ones: each is in about one request in twenty.
const TOPICS: &[&str] = &[
    "Überwachung",
    "Folter",
    "Haft",
    "Zeugenaussage",
    "Verschwindenlassen",
    "förhör",
    "vittne",
    "fängelse",
    "témoin",
    "déclaration",
    "détention",
    "disparition",
    "getuige",
    "verhoor",
    "شهادة",
    "اعتقال",
    "تعذيب",
    "اختفاء",
    "допрос",
    "свидетель",
    "задержание",
    "пытки",
    "κατάθεση",
    "μάρτυρας",
    "κράτηση",
    "detention",
    "torture",
    "witness",
    "evidence",
    "records",
    "executions",
    "siege",
    "chemical",
    "hospital",
    "checkpoint",
    "displacement",
    "recruitment",
    "looting",
    "sniper",
    "airstrike",
];
const PLACES: &[&str] = &[
    "Aleppo",
    "Homs",
    "Hama",
    "Daraa",
    "Idlib",
    "Raqqa",
    "Damaskus",
    "حمص",
    "حلب",
    "دمشق",
    "درعا",
    "Дамаск",
    "Алеппо",
    "Χαλέπι",
    "Sednaya",
    "Tadmur",
    "Latakia",
    "Qamishli",
];
/// Requesters' names: a family name is in about one request in fifty.
const GIVEN: &[&str] = &[
    "Jürgen",
    "Åsa",
    "Hélène",
    "أحمد",
    "إبراهيم",
    "Ольга",
    "Νίκος",
    "Anna",
    "Lars",
    "Pieter",
    "Sophie",
    "Mustafa",
    "Fatima",
    "Omar",
    "Ingrid",
    "Karl",
    "Marie",
    "Nadia",
    "Yusuf",
    "Léa",
    "Björn",
    "Zoë",
    "Søren",
    "Małgorzata",
    "Ξανθή",
    "Дмитрий",
    "مريم",
    "Henrik",
    "Elif",
    "Joachim",
    "Chloé",
    "Sven",
    "Noor",
    "Émile",
    "Katarzyna",
    "Giorgos",
    "Lina",
    "Ömer",
    "Anouk",
    "Rania",
];
const FAMILY: &[&str] = &[
    "Weiß",
    "Lindström",
    "Dubois",
    "مصطفى",
    "Ёлкина",
    "Παπαδόπουλος",
    "de Vries",
    "Jansen",
    "Schmidt",
    "Müller",
    "Andersson",
    "Nilsson",
    "Martin",
    "Bernard",
    "حداد",
    "خليل",
    "Иванов",
    "Γεωργίου",
    "Novak",
    "Kowalczyk",
    "Öztürk",
    "Ljungberg",
    "Fournier",
    "Lefèvre",
    "Bakker",
    "Visser",
    "Hoffmann",
    "Schäfer",
    "Johansson",
    "Karlsson",
    "Moreau",
    "Girard",
    "النجار",
    "الحسن",
    "Смирнов",
    "Νικολάου",
    "Horváth",
    "Wójcik",
    "Şahin",
    "Østergaard",
    "Berg",
    "Dahl",
    "Roux",
    "Blanc",
    "Peeters",
    "Maes",
    "Krüger",
    "Wagner",
    "Eriksson",
    "Sørensen",
];

fn pick<'a>(rng: &mut StdRng, words: &[&'a str]) -> &'a str {
    words[rng.random_range(0..words.len())]
}

fn insert_batch(c: &mut DbConnection, rows: &[RfaRow], events: &[EventRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let words: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.id.clone(), words_of(r, &[]).unwrap_or_default()))
        .collect();
    match c {
        DbConnection::Sqlite(c) => {
            diesel::insert_into(rfas::table).values(rows).execute(c)?;
            diesel::insert_into(rfa_events::table)
                .values(events)
                .execute(c)?;
        }
        DbConnection::Postgresql(c) => {
            diesel::insert_into(rfas::table).values(rows).execute(c)?;
            diesel::insert_into(rfa_events::table)
                .values(events)
                .execute(c)?;
        }
    }
    rfa_tracker::db::search::insert_many(c, &words)?;
    Ok(())
}

/// Writes `n` RFAs received over `years` (about 85% closed after 1 to 300 days, 3% of those
/// reopened and closed again) into a database that already has the registry and `actor`.
pub fn seed(
    db: &Database,
    jurisdictions: &[(String, String)],
    actor: &str,
    n: usize,
    years: std::ops::RangeInclusive<i32>,
) -> anyhow::Result<Seeded> {
    let mut conn = db.pool.get()?;
    let c: &mut DbConnection = &mut conn;
    let mut rng = StdRng::seed_from_u64(1_000_000);
    let (first, last) = (*years.start(), *years.end());
    let span_days = (NaiveDate::from_ymd_opt(last, 12, 31).unwrap_or_default()
        - NaiveDate::from_ymd_opt(first, 1, 1).unwrap_or_default())
    .num_days();
    let start = NaiveDate::from_ymd_opt(first, 1, 1)
        .unwrap_or_default()
        .and_hms_opt(8, 0, 0)
        .unwrap_or_default();
    // Arrivals in time order, so sequence numbers follow the clock as in real life.
    let mut arrivals: Vec<NaiveDateTime> = (0..n)
        .map(|_| start + Duration::minutes(rng.random_range(0..span_days * 24 * 60)))
        .collect();
    arrivals.sort();
    let eligibility = r#"{"criteria":[],"evaluated_on":"2020-01-01","outcome":"eligible","ruleset_version":"2026.1"}"#;
    // Carry on from whatever is there: the chain's head and the year counters.
    let mut counters: std::collections::BTreeMap<i32, i32> = reference_counters::table
        .select((reference_counters::year, reference_counters::last))
        .load(c)?
        .into_iter()
        .collect();
    let existing: Vec<i32> = counters.keys().copied().collect();
    let (seq, prev): (i64, String) = chain_head::table
        .find(1)
        .select((chain_head::seq, chain_head::hash))
        .first(c)?;
    let mut chain = Chain {
        seq,
        prev,
        actor: actor.to_string(),
    };
    let mut rows = Vec::with_capacity(BATCH);
    let mut events = Vec::with_capacity(BATCH * 3);
    let mut total_events = 0;
    let mut later: Vec<(NaiveDateTime, String, String, NaiveDate, &'static str, i32)> = Vec::new();
    c.write(|c| {
        for received in &arrivals {
            let (jid, aid) = &jurisdictions[rng.random_range(0..jurisdictions.len())];
            let year = chrono::Datelike::year(&received.date());
            let number = counters.entry(year).or_insert(0);
            *number += 1;
            let id = uuid::Uuid::now_v7().to_string();
            let requester = format!("{} {}", pick(&mut rng, GIVEN), pick(&mut rng, FAMILY));
            let priority = ["urgent", "high", "routine", "routine"][rng.random_range(0..4)];
            let rank = match priority {
                "urgent" => 0,
                "high" => 1,
                _ => 2,
            };
            let target = [10, 30, 90][rank as usize];
            let closes = rng.random_bool(0.85);
            let close_at = *received + Duration::days(rng.random_range(1..300)) + Duration::minutes(rng.random_range(0..600));
            let assistance = ["information_and_evidence", "analytical_product", "investigative_support"][rng.random_range(0..3)];
            rows.push(RfaRow {
                id: id.clone(),
                reference: format!("RFA-{year}-{number:04}"),
                jurisdiction_id: jid.clone(),
                authority_id: aid.clone(),
                received_at: *received,
                subject: format!(
                    "{} {} in {}, {year}/{number}",
                    pick(&mut rng, TOPICS),
                    pick(&mut rng, TOPICS),
                    pick(&mut rng, PLACES)
                ),
                description: {
                    let words: Vec<&str> = (0..8).map(|_| pick(&mut rng, TOPICS)).collect();
                    format!("{}; generated for the benchmark.", words.join(" "))
                },
                intake: canonical(&json!({
                    "channel": "email",
                    "requester": {"name": requester, "email": null},
                    "assistance_types": [assistance],
                    "proceeding_type": "prosecution",
                    "crimes": ["war_crimes"],
                    "conduct": {"country_code": "SY", "from": "2013-01-01", "to": null},
                    "national_case_reference": null,
                })),
                priority: priority.into(),
                priority_rank: rank,
                confidentiality: "confidential".into(),
                tags: "[]".into(),
                state: if closes { "closed" } else { ["received", "under_review", "in_progress"][rng.random_range(0..3)] }.into(),
                outcome: closes.then(|| "fulfilled".to_string()),
                assignee_id: None,
                eligibility_outcome: "eligible".into(),
                eligibility: eligibility.into(),
                eligibility_override: None,
                received_on: received.date(),
                due_on: received.date() + Duration::days(target),
                paused_days: 0,
                paused_since: None,
                extended_to: None,
                extensions: "[]".into(),
                version: if closes { 3 } else { 2 },
                created_by: actor.to_string(),
                created_at: *received,
                updated_at: if closes { close_at } else { *received },
                idempotency_key: None,
                request_digest: None,
                paused_due_key: None,
            });
            events.push(chain.next(&id, *received, "intake", None, "received", json!({
                "report": {"kind": "received", "day": received.date(), "jurisdiction_id": jid,
                           "priority": priority, "assistance_types": [assistance]},
            })));
            if closes {
                // Closings are written in their own time order, after the arrivals up to then.
                later.push((close_at, id.clone(), jid.clone(), received.date(), "fulfilled", 0));
            }
            if rows.len() == BATCH {
                insert_batch(c, &rows, &events)?;
                total_events += events.len();
                rows.clear();
                events.clear();
            }
        }
        insert_batch(c, &rows, &events)?;
        total_events += events.len();
        rows.clear();
        events.clear();
        // The closings (and a few reopenings), in time order.
        later.sort();
        for (at, id, jid, received_on, outcome, paused) in &later {
            let days = (at.date() - *received_on).num_days();
            events.push(chain.next(id, *at, "close", Some("in_progress"), "closed", json!({"outcome": outcome, "report": {
                "kind": "processed", "day": at.date(), "jurisdiction_id": jid, "outcome": outcome,
                "processing_days": days, "paused_days": paused}})));
            if rng.random_bool(0.03) {
                let reopened = *at + Duration::days(rng.random_range(1..30));
                events.push(chain.next(id, reopened, "reopen", Some("closed"), "in_progress", json!({"report": {
                    "kind": "reopened", "day": reopened.date(), "jurisdiction_id": jid}})));
                let again = reopened + Duration::days(rng.random_range(1..30));
                events.push(chain.next(id, again, "close", Some("in_progress"), "closed", json!({"outcome": "partially_fulfilled", "report": {
                    "kind": "processed", "day": again.date(), "jurisdiction_id": jid, "outcome": "partially_fulfilled",
                    "processing_days": (again.date() - *received_on).num_days(), "paused_days": 0}})));
            }
            if events.len() >= BATCH * 2 {
                insert_events(c, &events)?;
                total_events += events.len();
                events.clear();
            }
        }
        insert_events(c, &events)?;
        total_events += events.len();
        for (year, last) in &counters {
            if existing.contains(year) {
                diesel::update(reference_counters::table.find(year))
                    .set(reference_counters::last.eq(last))
                    .execute(c)?;
            } else {
                diesel::insert_into(reference_counters::table)
                    .values((reference_counters::year.eq(year), reference_counters::last.eq(last)))
                    .execute(c)?;
            }
        }
        diesel::update(chain_head::table.find(1))
            .set((chain_head::seq.eq(chain.seq), chain_head::hash.eq(&chain.prev)))
            .execute(c)?;
        Ok::<_, diesel::result::Error>(())
    })?;
    // Fresh statistics, as autovacuum (PostgreSQL) or a routine ANALYZE would give a
    // database that grew this way; without them the planner plans for empty tables.
    diesel::sql_query("ANALYZE").execute(c)?;
    Ok(Seeded {
        jurisdictions: jurisdictions.iter().map(|j| j.0.clone()).collect(),
        rfas: n,
        events: total_events,
    })
}

/// The chain as the seed extends it: each event hashed over the previous one.
struct Chain {
    seq: i64,
    prev: String,
    actor: String,
}

impl Chain {
    fn next(
        &mut self,
        rfa: &str,
        at: NaiveDateTime,
        action: &str,
        before: Option<&str>,
        after: &str,
        details: serde_json::Value,
    ) -> EventRow {
        self.seq += 1;
        let details = canonical(&details);
        let mut e = EventRow {
            seq: self.seq,
            rfa_id: rfa.to_string(),
            actor_id: self.actor.clone(),
            at,
            action: action.into(),
            state_before: before.map(str::to_string),
            state_after: after.into(),
            report: ReportFacts::from_details(&serde_json::from_str(&details).unwrap_or_default()),
            details,
            prev_hash: self.prev.clone(),
            hash: String::new(),
        };
        e.hash = hash_of(&self.prev, &e);
        self.prev = e.hash.clone();
        e
    }
}

fn insert_events(c: &mut DbConnection, events: &[EventRow]) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    match c {
        DbConnection::Sqlite(c) => diesel::insert_into(rfa_events::table)
            .values(events)
            .execute(c)?,
        DbConnection::Postgresql(c) => diesel::insert_into(rfa_events::table)
            .values(events)
            .execute(c)?,
    };
    Ok(())
}
