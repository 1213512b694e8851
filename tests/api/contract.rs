//! The contract for the lifecycle actions: each action is its own operation in the OpenAPI
//! document, with a body schema the server reads exactly, and the values the schemas list
//! are the ones the server accepts (and docs/lifecycle.md lists).

use std::collections::BTreeSet;

use rfa_tracker::domain::lifecycle::{Priority, ResponseKind, RfaAction};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, assert_problem};
use crate::rfas::{World, body_for};

both_backends!(
    each_action_documents_its_own_body,
    documented_values_are_the_accepted_ones,
);

const ACTIONS_PATH: &str = "/api/v1/rfas/{id}/actions/";

async fn openapi(w: &World) -> Value {
    let res = w.app.get("/api/v1/openapi.json", None).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// `schema`, or what its `$ref` names.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").expect("local $ref");
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "dangling $ref {r}");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// Whether `v` is valid against `schema`, for the keywords the action bodies use; any other
/// keyword fails the test, so a constraint cannot go unchecked.
fn valid(doc: &Value, schema: &Value, v: &Value) -> bool {
    let s = resolve(doc, schema);
    for key in s.as_object().expect("schema object").keys() {
        assert!(
            [
                "type",
                "enum",
                "required",
                "properties",
                "additionalProperties",
                "description",
                "minLength",
                "minItems",
                "maxItems",
                "format",
                "items",
                "oneOf",
            ]
            .contains(&key.as_str()),
            "the test does not know the keyword {key}"
        );
    }
    if let Some(options) = s["oneOf"].as_array() {
        return options.iter().filter(|o| valid(doc, o, v)).count() == 1;
    }
    if let Some(values) = s["enum"].as_array()
        && !values.contains(v)
    {
        return false;
    }
    if !s["type"].is_null() {
        let types: Vec<&str> = match &s["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            other => panic!("type {other}"),
        };
        let is = |t: &str| match t {
            "string" => v.is_string(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            other => panic!("type {other}"),
        };
        if !types.into_iter().any(is) {
            return false;
        }
    }
    let at_least = |key: &str, n: usize| s[key].as_u64().is_none_or(|m| n as u64 >= m);
    let at_most = |key: &str, n: usize| s[key].as_u64().is_none_or(|m| n as u64 <= m);
    match v {
        Value::String(text) => {
            let format_ok = match s["format"].as_str() {
                None => true,
                Some("date") => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
                Some("uuid") => text.len() == 36 && uuid::Uuid::try_parse(text).is_ok(),
                Some(other) => panic!("format {other}"),
            };
            format_ok && at_least("minLength", text.chars().count())
        }
        Value::Array(items) => {
            at_least("minItems", items.len())
                && at_most("maxItems", items.len())
                && items.iter().all(|i| valid(doc, &s["items"], i))
        }
        Value::Object(map) => {
            let required = s["required"].as_array().cloned().unwrap_or_default();
            required
                .iter()
                .all(|r| map.contains_key(r.as_str().unwrap()))
                && map.iter().all(|(k, value)| match s["properties"].get(k) {
                    Some(p) => valid(doc, p, value),
                    None => s["additionalProperties"] != json!(false),
                })
        }
        _ => true,
    }
}

/// The body schema documented for an action, and whether the body may be left out.
fn body_schema<'a>(doc: &'a Value, action: &str) -> (&'a Value, bool) {
    let body = &doc["paths"][format!("{ACTIONS_PATH}{action}")]["post"]["requestBody"];
    let schema = &body["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{action} has no JSON body schema: {body}"
    );
    (schema, body["required"] != json!(true))
}

/// The named object schema of an action's body (the branch that is not `null`).
fn named_body<'a>(doc: &'a Value, action: &str) -> &'a Value {
    let (schema, _) = body_schema(doc, action);
    let named = match schema["oneOf"].as_array() {
        Some(options) => options.iter().find(|o| o["type"] != "null").unwrap(),
        None => schema,
    };
    assert!(named["$ref"].is_string(), "{action}: {schema}");
    resolve(doc, named)
}

/// The values a property of an action's body may take, as the document lists them.
fn listed(doc: &Value, action: &str, field: &str) -> Vec<String> {
    let property = resolve(doc, &named_body(doc, action)["properties"][field]);
    property["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{action}.{field} lists no values: {property}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

async fn each_action_documents_its_own_body(backend: Backend) {
    let w = World::new(backend).await;
    let doc = openapi(&w).await;
    // One operation per action, and no template beside them.
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|p| p.strip_prefix(ACTIONS_PATH))
        .collect();
    let actions: BTreeSet<&str> = RfaAction::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(documented, actions);
    let mut operation_ids = BTreeSet::new();
    let rfa = w.intake().await;
    let docs = std::fs::read_to_string("docs/lifecycle.md").unwrap();
    for action in RfaAction::ALL.iter().map(|a| a.as_str()) {
        let op = &doc["paths"][format!("{ACTIONS_PATH}{action}")]["post"];
        assert!(operation_ids.insert(op["operationId"].as_str().unwrap()));
        let names_action = |text: &Value| {
            text.as_str()
                .is_some_and(|t| t.starts_with(&format!("`{action}`")))
        };
        assert!(names_action(&op["summary"]), "{action}: {}", op["summary"]);
        let (schema, optional) = body_schema(&doc, action);
        let named = named_body(&doc, action);
        assert!(names_action(&named["description"]), "{action}: {named}");
        assert_eq!(named["additionalProperties"], false, "{action}");
        // The body a client would send is valid; an unknown field is not, and the server
        // refuses it before looking at the request's state.
        assert!(
            valid(&doc, schema, &body_for(&w, action)),
            "{action}: {}",
            body_for(&w, action)
        );
        let mut unknown = body_for(&w, action);
        unknown["colour"] = json!("blue");
        assert!(!valid(&doc, schema, &unknown), "{action}");
        assert_problem(w.act_raw(&w.supervisor, &rfa, action, unknown).await, 422).await;
        // `{}`, `null` and no body are the same to the server: valid (and the body optional)
        // exactly when the action has no required fields; otherwise refused before the state.
        let bodyless = named["required"].as_array().is_none_or(|r| r.is_empty());
        assert_eq!(optional, bodyless, "{action}");
        for nothing in [json!({}), Value::Null] {
            assert_eq!(
                valid(&doc, schema, &nothing),
                bodyless,
                "{action} {nothing}"
            );
            if !bodyless {
                let res = w.act_raw(&w.supervisor, &rfa, action, nothing).await;
                assert_problem(res, 422).await;
            }
        }
        // docs/lifecycle.md names every value a field may take.
        for (field, property) in named["properties"].as_object().into_iter().flatten() {
            for value in resolve(&doc, property)["enum"]
                .as_array()
                .into_iter()
                .flatten()
            {
                assert!(
                    docs.contains(&format!("`{}`", value.as_str().unwrap())),
                    "docs/lifecycle.md does not list {action}.{field} = {value}"
                );
            }
        }
    }
    // Nothing above reached the request.
    let now: Value = w.get(&w.supervisor, &rfa).await.json().await.unwrap();
    assert_eq!(now["version"], rfa["version"]);
    // The bulk body's `fields` is the body of the action it names, as documented.
    let bulk = resolve(&doc, &doc["components"]["schemas"]["BulkRequest"]);
    assert_eq!(
        bulk["properties"]["action"]["enum"],
        json!(["assign", "set_priority"])
    );
    let fields = &bulk["properties"]["fields"];
    assert_eq!(
        fields["oneOf"],
        json!([{"$ref": "#/components/schemas/AssignBody"}, {"$ref": "#/components/schemas/SetPriorityBody"}])
    );
    assert!(valid(&doc, fields, &body_for(&w, "assign")));
    assert!(valid(&doc, fields, &body_for(&w, "set_priority")));
    assert!(!valid(&doc, fields, &json!({"text": "a note"})));
}

async fn documented_values_are_the_accepted_ones(backend: Backend) {
    let w = World::new(backend).await;
    let s = w.supervisor.clone();
    let doc = openapi(&w).await;
    let in_progress = async || {
        let r = w
            .act(&s, &w.intake().await, "start_review", json!({}))
            .await;
        let r = w
            .act(&s, &r, "assign", json!({"assignee_id": w.supervisor_id}))
            .await;
        w.act(&s, &r, "accept", json!({})).await
    };

    // record_response: every kind the code has, each accepted; another is refused.
    let kinds = listed(&doc, "record_response", "kind");
    let all: Vec<&str> = ResponseKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(kinds, all);
    let response = |kind: &str| json!({"kind": kind, "description": "Records sent.", "shared_on": "2025-06-02"});
    let mut rfa = in_progress().await;
    for kind in &kinds {
        rfa = w.act(&s, &rfa, "record_response", response(kind)).await;
    }
    let events = w.events(&s, &rfa).await;
    let recorded: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "record_response")
        .map(|e| e["details"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(recorded, all);
    let res = w
        .act_raw(&s, &rfa, "record_response", response("parcel"))
        .await;
    assert_problem(res, 422).await;

    // close: the outcomes listed close a request; the other closing outcomes are refused.
    let outcomes = listed(&doc, "close", "outcome");
    assert_eq!(outcomes, ["fulfilled", "partially_fulfilled"]);
    for outcome in &outcomes {
        let r = in_progress().await;
        let r = w.act(&s, &r, "record_response", response("other")).await;
        let closed = w.act(&s, &r, "close", json!({"outcome": outcome})).await;
        assert_eq!(closed["outcome"], json!(outcome));
    }
    for outcome in ["declined_other", "withdrawn", "finished"] {
        let res = w
            .act_raw(&s, &rfa, "close", json!({"outcome": outcome}))
            .await;
        assert_problem(res, 422).await;
    }

    // decline: likewise, from a request just received.
    let outcomes = listed(&doc, "decline", "outcome");
    assert_eq!(outcomes, ["declined_ineligible", "declined_other"]);
    for outcome in &outcomes {
        let declined = w
            .act(
                &s,
                &w.intake().await,
                "decline",
                json!({"outcome": outcome, "reason": "Out of scope."}),
            )
            .await;
        assert_eq!(declined["outcome"], json!(outcome));
    }
    let received = w.intake().await;
    for outcome in ["fulfilled", "withdrawn"] {
        let body = json!({"outcome": outcome, "reason": "Out of scope."});
        assert_problem(w.act_raw(&s, &received, "decline", body).await, 422).await;
    }

    // set_priority, one request at a time and in bulk: every priority the code has.
    let priorities = listed(&doc, "set_priority", "priority");
    let all: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(priorities, all);
    let mut r = received;
    for priority in &priorities {
        r = w
            .act(&s, &r, "set_priority", json!({"priority": priority}))
            .await;
        assert_eq!(r["priority"], json!(priority));
        let res = w
            .app
            .post(
                "/api/v1/rfas/bulk",
                Some(&s),
                &json!({"ids": [r["id"]], "action": "set_priority", "fields": {"priority": priority}, "dry_run": true}),
            )
            .await;
        assert_eq!(res.status(), 200);
        let result: Value = res.json().await.unwrap();
        assert_eq!(result["succeeded"], 1, "{result}");
    }
    let res = w
        .act_raw(&s, &r, "set_priority", json!({"priority": "low"}))
        .await;
    assert_problem(res, 422).await;
    // Bulk takes only the actions it documents.
    let res = w
        .app
        .post(
            "/api/v1/rfas/bulk",
            Some(&s),
            &json!({"ids": [r["id"]], "action": "add_note", "fields": {"text": "t"}}),
        )
        .await;
    assert_problem(res, 422).await;
}
