//! Full-text search in the queue: the same corpus, the same questions and the same answers on
//! both backends, in Latin with diacritics, Arabic, Cyrillic and Greek; words by their
//! beginning, in the reference, subject, description, requester's name, national case
//! reference and notes; the queue's filters, sort and paging still apply.

use diesel::prelude::*;
use serde_json::{Value, json};

use rfa_tracker::db::schema::rfas;
use rfa_tracker::db::search::{self, Plan};
use rfa_tracker::domain::search::Query;

use crate::both_backends;
use crate::helpers::{Backend, assert_problem, settings};
use crate::rfas::World;

both_backends!(
    every_script_is_found_by_its_words_whatever_the_case_and_accents,
    the_filters_sort_and_pages_apply_to_a_search,
    requests_stored_before_search_are_indexed_at_start,
);

/// (subject, requester's name, national case reference, priority, day of receipt)
const CORPUS: &[(&str, &str, Option<&str>, &str, &str)] = &[
    (
        "Überwachung der Kommunikation in Aleppo",
        "Jürgen Weiß",
        Some("3 StE 4/21"),
        "urgent",
        "2026-01-05",
    ),
    (
        "Förhör med vittne från Homs",
        "Åsa Lindström",
        Some("B 1234-22"),
        "routine",
        "2026-01-12",
    ),
    (
        "Déclaration d'un témoin à Genève",
        "Hélène Dubois",
        None,
        "high",
        "2026-01-19",
    ),
    (
        "شهادة أحمد عن الاعتقال في حمص",
        "إبراهيم مصطفى",
        None,
        "urgent",
        "2026-01-26",
    ),
    (
        "Допрос свидетеля о Дамаске",
        "Ольга Ёлкина",
        None,
        "routine",
        "2026-02-02",
    ),
    (
        "Κατάθεση μάρτυρα στη Σάμο",
        "Νίκος Παπαδόπουλος",
        None,
        "high",
        "2026-02-09",
    ),
    (
        "Detention facility records",
        "Dr. A. Prosecutor",
        None,
        "routine",
        "2026-02-16",
    ),
];

/// The corpus through intake, with a note on the last request; the requests as created.
async fn corpus(w: &World) -> Vec<Value> {
    let mut made = Vec::new();
    for (subject, name, national, priority, day) in CORPUS {
        let mut body = w.intake_body();
        body["subject"] = json!(subject);
        body["requester"]["name"] = json!(name);
        body["national_case_reference"] = json!(national);
        body["priority"] = json!(priority);
        body["received_at"] = json!(format!("{day}T09:00:00Z"));
        made.push(w.intake_with(&w.supervisor, &body).await);
    }
    let last = made.pop().unwrap();
    let noted = w
        .act(
            &w.supervisor,
            &last,
            "add_note",
            json!({"text": "Zeugin bestätigt die Überwachung durch den Geheimdienst"}),
        )
        .await;
    made.push(noted);
    made
}

/// The subjects of the requests a queue query finds, in the queue's order.
async fn found(w: &World, query: &str) -> Vec<String> {
    let res = w
        .app
        .get(&format!("/api/v1/rfas?{query}"), Some(&w.supervisor))
        .await;
    let status = res.status();
    let page: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{query}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["subject"].as_str().unwrap().to_string())
        .collect()
}

fn subjects(indices: &[usize]) -> Vec<String> {
    indices.iter().map(|i| CORPUS[*i].0.to_string()).collect()
}

fn q(text: &str) -> String {
    let mut query = String::from("sort=received_at&q=");
    query.extend(url_escape(text));
    query
}

fn url_escape(text: &str) -> impl Iterator<Item = String> + '_ {
    text.bytes().map(|b| match b {
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
            (b as char).to_string()
        }
        _ => format!("%{b:02X}"),
    })
}

async fn every_script_is_found_by_its_words_whatever_the_case_and_accents(backend: Backend) {
    let w = World::new(backend).await;
    let made = corpus(&w).await;
    // (what is typed, which requests it finds), the same on either backend.
    let expected: &[(&str, &[usize])] = &[
        // German: umlauts and ß, in the subject, the requester's name and a note.
        ("überwachung", &[0, 6]),
        ("UBERWACHUNG", &[0, 6]),
        ("Überw", &[0, 6]),
        ("weiss", &[0]),
        ("WEIß", &[0]),
        ("jurgen weiß", &[0]),
        ("zeugin", &[6]),
        ("GEHEIM", &[6]),
        // Swedish and French.
        ("forhor", &[1]),
        ("Förhör Homs", &[1]),
        ("åsa lindström", &[1]),
        ("asa", &[1]),
        ("TÉMOIN", &[2]),
        ("temoin geneve", &[2]),
        ("helene dubo", &[2]),
        // Arabic: with and without hamza, alef maqsura or yeh, short vowels or none.
        ("احمد", &[3]),
        ("أحمد", &[3]),
        ("ابراهيم", &[3]),
        ("مصطفي", &[3]),
        ("شَهَادَة", &[3]),
        ("الاعت", &[3]),
        // Cyrillic.
        ("допрос", &[4]),
        ("ДАМАСК", &[4]),
        ("елкина", &[4]),
        ("Ёлкина", &[4]),
        // Greek: accents, capitals, final sigma.
        ("καταθεση", &[5]),
        ("ΚΑΤΆΘΕΣΗ ΣΑΜΟ", &[5]),
        ("Παπαδοπουλος", &[5]),
        // The national case reference and the reference.
        ("StE 4/21", &[0]),
        ("1234-22", &[1]),
        // A word must begin a word; every word must be there.
        ("berwachung", &[]),
        ("homs damask", &[]),
        ("Aleppo Überwachung", &[0]),
    ];
    for (text, wanted) in expected {
        assert_eq!(found(&w, &q(text)).await, subjects(wanted), "q={text}");
    }
    // SQLite answers a search of common words by checking each request's stored words
    // instead of its index (db::search::Plan): both ways find the same requests.
    let s = settings(&w.app.db, &[]);
    let db = rfa_tracker::db::Database::connect(&s.database).expect("database");
    for (text, wanted) in expected {
        let query = Query::parse(text).expect("a search");
        for plan in [Plan::Index, Plan::Probe] {
            let q = query.clone();
            let mut got: Vec<String> = db
                .run(move |c| {
                    let matches = search::matches(c.backend(), plan, &q);
                    Ok(rfas::table
                        .filter(matches)
                        .select(rfas::subject)
                        .load::<String>(c)?)
                })
                .await
                .expect("searched");
            got.sort();
            let mut wanted = subjects(wanted);
            wanted.sort();
            assert_eq!(got, wanted, "{plan:?} q={text}");
        }
    }
    let reference = made[4]["reference"].as_str().unwrap();
    assert_eq!(found(&w, &q(reference)).await, subjects(&[4]));
    // The description is shared by all: every request has it.
    assert_eq!(found(&w, &q("documentary")).await.len(), CORPUS.len());

    // A correction changes what the request is found by.
    let res = w
        .correct_raw(
            &w.supervisor,
            &made[2],
            json!({"subject": "Déposition d'un témoin à Lyon"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(found(&w, &q("geneve")).await, Vec::<String>::new());
    assert_eq!(
        found(&w, &q("lyon")).await,
        ["Déposition d'un témoin à Lyon"]
    );

    // A search with nothing to search for is refused, and says why.
    for text in ["%%%", " - / "] {
        let res = w
            .app
            .get(&format!("/api/v1/rfas?{}", q(text)), Some(&w.supervisor))
            .await;
        let p = assert_problem(res, 422).await;
        assert_eq!(p["errors"][0]["field"], "q", "{p}");
    }
    let many = q("a b c d e f g h i");
    let res = w
        .app
        .get(&format!("/api/v1/rfas?{many}"), Some(&w.supervisor))
        .await;
    assert_problem(res, 422).await;
}

async fn the_filters_sort_and_pages_apply_to_a_search(backend: Backend) {
    let w = World::new(backend).await;
    let made = corpus(&w).await;
    let all = "q=documentary";
    // The queue's own order (due date by default: urgent in 10 days, high in 30, routine
    // in 90), then the others.
    assert_eq!(found(&w, all).await, subjects(&[0, 3, 2, 5, 1, 4, 6]));
    assert_eq!(
        found(&w, &format!("{all}&priority=urgent&sort=received_at")).await,
        subjects(&[0, 3])
    );
    assert_eq!(
        found(&w, &format!("{all}&sort=received_at&order=desc")).await,
        subjects(&[6, 5, 4, 3, 2, 1, 0])
    );
    assert_eq!(
        found(&w, &format!("{all}&sort=priority&priority=high")).await,
        subjects(&[2, 5])
    );
    // The state filter: the default is the open work; a closed request is found in the
    // archive only.
    let closed = w
        .act(
            &w.supervisor,
            &made[1],
            "decline",
            json!({"outcome": "declined_other", "reason": "Withdrawn by the requester."}),
        )
        .await;
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(found(&w, &q("forhor")).await, Vec::<String>::new());
    assert_eq!(
        found(&w, &format!("{}&state=closed", q("forhor"))).await,
        subjects(&[1])
    );
    // Pages of two, by day of receipt, through the cursor: every match once, in order.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/rfas?{all}&state=all&limit=2&sort=received_at");
        if let Some(c) = &next {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Value = w
            .app
            .get(&path, Some(&w.supervisor))
            .await
            .json()
            .await
            .unwrap();
        for r in page["items"].as_array().unwrap() {
            seen.push(r["subject"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, subjects(&[0, 1, 2, 3, 4, 5, 6]));
    // A liaison officer's search stays within their jurisdictions.
    let theirs: Value = w
        .app
        .get(
            &format!("/api/v1/rfas?{}", q("überwachung")),
            Some(&w.other_liaison),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0, "{theirs}");
}

async fn requests_stored_before_search_are_indexed_at_start(backend: Backend) {
    let w = World::new(backend).await;
    corpus(&w).await;
    let s = settings(&w.app.db, &[]);
    let db = rfa_tracker::db::Database::connect(&s.database).expect("database");
    // As a database from before search would be: no words at all.
    db.run(|c| {
        diesel::delete(rfa_tracker::db::schema::rfa_search::table).execute(c)?;
        Ok(())
    })
    .await
    .expect("words removed");
    assert_eq!(found(&w, &q("zeugin")).await, Vec::<String>::new());
    let fill = || db.run(rfa_tracker::service::rfas::fill_search_words);
    assert_eq!(fill().await.expect("filled"), CORPUS.len());
    assert_eq!(found(&w, &q("zeugin")).await, subjects(&[6]));
    assert_eq!(found(&w, &q("احمد")).await, subjects(&[3]));
    assert_eq!(fill().await.expect("filled"), 0);
}
