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
    a_search_of_the_open_queue_by_due_date_finds_what_the_queue_holds,
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

/// Words no field of the default intake holds, each in several requests; some begin others.
const QUEUE_WORDS: &[&str] = &[
    "Kestrel",
    "Kestrelwood",
    "Keshet",
    "Marlin",
    "Überzug",
    "مرلين",
    "Кестрел",
];

/// Every page of a queue query, through the cursor, as (id, subject, reference).
async fn every_page(w: &World, query: &str) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/rfas?{query}");
        if let Some(c) = &next {
            path.push_str(&format!("&cursor={c}"));
        }
        let res = w.app.get(&path, Some(&w.supervisor)).await;
        let status = res.status();
        let page: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{path}: {page}");
        for r in page["items"].as_array().unwrap() {
            let text = |k: &str| r[k].as_str().unwrap().to_string();
            rows.push((text("id"), text("subject"), text("reference")));
        }
        match page["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_string()),
            None => return rows,
        }
    }
}

/// The open queue by due date, searched: read through the open requests' words in due order
/// (`db::search::in_due_order`), in rounds when the filters pass few. Each answer is checked
/// against the queue itself without a search, filtered here by the words of each request;
/// and the words table against what the triggers must have made of the requests.
async fn a_search_of_the_open_queue_by_due_date_finds_what_the_queue_holds(backend: Backend) {
    use rfa_tracker::domain::search::{document, words};
    let w = World::new(backend).await;
    let mut made = Vec::new();
    let n = 80;
    for i in 0..n {
        let mut body = w.intake_body();
        let (a, b) = (QUEUE_WORDS[i % 7], QUEUE_WORDS[(i * 3 + 1) % 7]);
        // `tally` begins a word of every request, more than a search of the open requests'
        // words reads by (`db::search::MAX_EXPANSIONS`).
        body["subject"] = json!(format!("Zorvath {a} {b} Tally{i:02}"));
        // The last three are the latest due (routine, received last) and tagged, so a search
        // for them among all the others needs a second round.
        body["priority"] = json!(if i >= n - 3 {
            "routine"
        } else {
            ["routine", "high", "urgent"][i % 3]
        });
        let day =
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(i as u64);
        body["received_at"] = json!(format!("{day}T09:00:00Z"));
        if i >= n - 3 {
            body["tags"] = json!(["late_batch"]);
        }
        made.push(w.intake_with(&w.supervisor, &body).await);
    }
    let s = w.supervisor.clone();
    // Paused (twice), closed, closed and reopened, corrected, noted, extended.
    let mut notes = std::collections::HashMap::new();
    for i in [5, 6] {
        let accepted = w.accepted(&s, &made[i]).await;
        made[i] = w
            .act(
                &s,
                &accepted,
                "request_information",
                json!({"message": "Which period?"}),
            )
            .await;
    }
    made[7] = w
        .act(&s, &made[7], "withdraw", json!({"reason": "Withdrawn."}))
        .await;
    let closed = w
        .act(&s, &made[8], "withdraw", json!({"reason": "Withdrawn."}))
        .await;
    made[8] = w
        .act(&s, &closed, "reopen", json!({"reason": "New facts."}))
        .await;
    let res = w
        .correct_raw(&s, &made[9], json!({"subject": "Zorvath Quillon Tally09"}))
        .await;
    assert_eq!(res.status(), 200);
    made[10] = w
        .act(
            &s,
            &made[10],
            "add_note",
            json!({"text": "Quillon Kestrel"}),
        )
        .await;
    notes.insert(
        made[10]["id"].as_str().unwrap().to_string(),
        "Quillon Kestrel",
    );
    made[11] = w
        .act(
            &s,
            &made[11],
            "extend_deadline",
            json!({"due_on": "2027-06-30", "reason": "Volume."}),
        )
        .await;

    let default = w.intake_body();
    let fixed: Vec<String> = ["description", "national_case_reference"]
        .iter()
        .map(|k| default[k].as_str().unwrap().to_string())
        .chain([default["requester"]["name"].as_str().unwrap().to_string()])
        .collect();
    let holds = |(id, subject, reference): &(String, String, String), query: &str| {
        let mut texts: Vec<&str> = vec![subject, reference];
        texts.extend(fixed.iter().map(String::as_str));
        texts.extend(notes.get(id).copied());
        let doc = document(texts);
        let mine: Vec<&str> = doc.split(' ').collect();
        words(query)
            .iter()
            .all(|q| mine.iter().any(|m| m.starts_with(q.as_str())))
    };
    let searches = [
        "zorvath",
        "Kestrel",
        "kes",
        "marlin zorv",
        "uberzug",
        "مرلين",
        "КЕСТРЕЛ",
        "quillon",
        "documentary keshet",
        "zorvath nowhere",
        "tally",
        "tally kestrel",
        "tally1 marlin",
        "nowhere",
    ];
    let filters = [
        "",
        "&priority=urgent",
        "&tag=late_batch",
        "&state=awaiting_requester",
        "&state=in_progress",
        "&order=desc",
        "&due_before=2026-03-01",
    ];
    for filter in filters {
        let queue = every_page(&w, &format!("limit=200{filter}")).await;
        for search in searches {
            let wanted: Vec<String> = queue
                .iter()
                .filter(|r| holds(r, search))
                .map(|r| r.0.clone())
                .collect();
            let query = format!(
                "limit=4{filter}&q={}",
                url_escape(search).collect::<String>()
            );
            let got: Vec<String> = every_page(&w, &query)
                .await
                .into_iter()
                .map(|r| r.0)
                .collect();
            assert_eq!(got, wanted, "{query}");
        }
    }
    // What the search found must be there for the check above to mean anything.
    let found = every_page(&w, "limit=4&tag=late_batch&q=zorvath").await;
    assert_eq!(found.len(), 3);
    assert_eq!(every_page(&w, "q=quillon").await.len(), 2);

    // The words table holds exactly each open request's words at its place in the queue.
    let settings = settings(&w.app.db, &[]);
    let db = rfa_tracker::db::Database::connect(&settings.database).expect("database");
    let (held, expected) = db
        .run(|c| {
            use rfa_tracker::db::schema::{rfa_open_words as o, rfa_search as s};
            let mut held: Vec<(String, bool, chrono::NaiveDate, String)> = o::table
                .select((o::word, o::paused, o::due_key, o::rfa_id))
                .load(c)?;
            held.sort();
            let open: Vec<(String, String, chrono::NaiveDate, Option<chrono::NaiveDate>)> =
                rfas::table
                    .filter(rfas::state.ne("closed"))
                    .select((rfas::id, rfas::state, rfas::due_on, rfas::paused_due_key))
                    .load(c)?;
            let mut expected = Vec::new();
            for (id, _, due_on, paused_key) in open {
                let body: String = s::table.find(&id).select(s::body).first(c)?;
                for word in body.split(' ').filter(|w| !w.is_empty()) {
                    let key = paused_key.unwrap_or(due_on);
                    expected.push((word.to_string(), paused_key.is_some(), key, id.clone()));
                }
            }
            expected.sort();
            Ok((held, expected))
        })
        .await
        .expect("read");
    assert!(held.iter().any(|r| r.1), "paused requests have words");
    assert_eq!(held, expected);
}
