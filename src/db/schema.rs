//! Table definitions (kept by hand, in step with `migrations/`). Only portable SQL types:
//! ids are Text, times are UTC Timestamp.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        active -> Bool,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        password_changed_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        must_change_password -> Bool,
        version -> BigInt,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    user_jurisdictions (user_id, jurisdiction_id) {
        user_id -> Text,
        jurisdiction_id -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(user_jurisdictions -> users (user_id));
diesel::table! {
    web_sessions (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        csrf_token -> Text,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(web_sessions -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_roles,
    user_jurisdictions,
    sessions,
    refresh_tokens,
    web_sessions,
);

diesel::table! {
    jurisdictions (id) {
        id -> Text,
        name -> Text,
        country_code -> Text,
        death_penalty_status -> Text,
        competence_bases -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    human_rights_assessments (id) {
        id -> Text,
        jurisdiction_id -> Text,
        outcome -> Text,
        assessed_on -> Date,
        review_due -> Date,
        assessor -> Text,
        summary -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    death_penalty_assurances (id) {
        id -> Text,
        jurisdiction_id -> Text,
        reference -> Text,
        given_on -> Date,
        scope -> Text,
        expires_on -> Nullable<Date>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    cooperation_frameworks (id) {
        id -> Text,
        jurisdiction_id -> Text,
        kind -> Text,
        reference -> Text,
        signed_on -> Date,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    authorities (id) {
        id -> Text,
        jurisdiction_id -> Text,
        name -> Text,
        kind -> Text,
        contact_email -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    registry_changes (id) {
        id -> Text,
        jurisdiction_id -> Text,
        entity -> Text,
        entity_id -> Text,
        action -> Text,
        actor_id -> Text,
        at -> Timestamp,
        details -> Text,
    }
}

diesel::joinable!(human_rights_assessments -> jurisdictions (jurisdiction_id));
diesel::joinable!(death_penalty_assurances -> jurisdictions (jurisdiction_id));
diesel::joinable!(cooperation_frameworks -> jurisdictions (jurisdiction_id));
diesel::joinable!(authorities -> jurisdictions (jurisdiction_id));
diesel::joinable!(registry_changes -> jurisdictions (jurisdiction_id));

diesel::allow_tables_to_appear_in_same_query!(
    jurisdictions,
    human_rights_assessments,
    death_penalty_assurances,
    cooperation_frameworks,
    authorities,
    registry_changes,
);

diesel::table! {
    rfas (id) {
        id -> Text,
        reference -> Text,
        jurisdiction_id -> Text,
        authority_id -> Text,
        received_at -> Timestamp,
        subject -> Text,
        description -> Text,
        intake -> Text,
        priority -> Text,
        priority_rank -> Integer,
        confidentiality -> Text,
        tags -> Text,
        state -> Text,
        outcome -> Nullable<Text>,
        assignee_id -> Nullable<Text>,
        eligibility_outcome -> Text,
        eligibility -> Text,
        eligibility_override -> Nullable<Text>,
        received_on -> Date,
        due_on -> Date,
        paused_days -> Integer,
        paused_since -> Nullable<Timestamp>,
        extended_to -> Nullable<Date>,
        extensions -> Text,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        idempotency_key -> Nullable<Text>,
        request_digest -> Nullable<Text>,
        paused_due_key -> Nullable<Date>,
    }
}

diesel::table! {
    /// Written by plain SQL (`db::sign_in`); listed here to keep the schema whole.
    sign_in_sources (source) {
        source -> Text,
        next_at -> BigInt,
        failed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sign_in_budget (id) {
        id -> Integer,
        next_at -> BigInt,
        strained_until -> BigInt,
    }
}

diesel::table! {
    sign_in_failures (user_id, source) {
        user_id -> Text,
        source -> Text,
        failures -> Integer,
        locks -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_failed_at -> Timestamp,
    }
}

diesel::table! {
    rfa_tags (tag, rfa_id) {
        rfa_id -> Text,
        tag -> Text,
    }
}

diesel::table! {
    /// The folded words each request is found by (`domain::search`). SQLite's table also has
    /// an integer `doc` (the FTS5 index's row id) and PostgreSQL's a generated `terms`
    /// tsvector; the service reads and writes neither.
    rfa_search (rfa_id) {
        rfa_id -> Text,
        body -> Text,
    }
}

diesel::table! {
    /// One row per word of each open request, at its place in the queue's due order
    /// (`db::search::in_due_order`); triggers keep it in step with `rfa_search` and `rfas`.
    rfa_open_words (word, paused, due_key, rfa_id) {
        word -> Text,
        paused -> Bool,
        due_key -> Date,
        rfa_id -> Text,
    }
}

diesel::table! {
    rfa_assurances (id) {
        id -> Text,
        rfa_id -> Text,
        reference -> Text,
        given_on -> Date,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    reference_counters (year) {
        year -> Integer,
        last -> Integer,
    }
}

diesel::table! {
    chain_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    rfa_events (seq) {
        seq -> BigInt,
        rfa_id -> Text,
        actor_id -> Text,
        at -> Timestamp,
        action -> Text,
        state_before -> Nullable<Text>,
        state_after -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
        report_kind -> Nullable<Text>,
        report_day -> Nullable<Date>,
        report_day_from -> Nullable<Date>,
        jurisdiction_id -> Nullable<Text>,
        outcome -> Nullable<Text>,
        priority -> Nullable<Text>,
        assistance_types -> Nullable<Text>,
        processing_days -> Nullable<Integer>,
        paused_days -> Nullable<Integer>,
    }
}

diesel::table! {
    report_snapshots (id) {
        id -> Text,
        kind -> Text,
        parameters -> Text,
        as_of -> Timestamp,
        covered_seq -> BigInt,
        figures -> Text,
        digest -> Text,
        label -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(rfa_tags -> rfas (rfa_id));
diesel::joinable!(rfa_search -> rfas (rfa_id));
diesel::joinable!(rfa_assurances -> rfas (rfa_id));
diesel::joinable!(rfa_events -> rfas (rfa_id));

diesel::allow_tables_to_appear_in_same_query!(
    rfas,
    rfa_tags,
    rfa_open_words,
    rfa_search,
    rfa_assurances,
    rfa_events
);

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        rfa_id -> Nullable<Text>,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        dedupe_key -> Nullable<Text>,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        rfa_id -> Text,
        kind -> Text,
        media_type -> Text,
        sha256 -> Text,
        size -> BigInt,
        file_name -> Text,
        description -> Nullable<Text>,
        language -> Nullable<Text>,
        added_by -> Text,
        added_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
        withdrawn_by -> Nullable<Text>,
        withdrawal_reason -> Nullable<Text>,
    }
}

diesel::table! {
    document_downloads (id) {
        id -> Text,
        document_id -> Text,
        user_id -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    document_blobs (sha256) {
        sha256 -> Text,
        size -> BigInt,
        chunks -> Integer,
        stored_at -> Timestamp,
    }
}

diesel::table! {
    document_chunks (sha256, seq) {
        sha256 -> Text,
        seq -> Integer,
        bytes -> Binary,
    }
}

diesel::joinable!(document_downloads -> documents (document_id));
diesel::allow_tables_to_appear_in_same_query!(documents, document_downloads);

diesel::table! {
    chain_checkpoints (id) {
        id -> Text,
        seq -> BigInt,
        head_hash -> Text,
        at -> Timestamp,
        trail_seq -> BigInt,
        trail_hash -> Text,
        access_seq -> BigInt,
        access_hash -> Text,
        key_id -> Text,
        public_key -> Text,
        signature -> Text,
    }
}

diesel::table! {
    trail_events (seq) {
        seq -> BigInt,
        subject_kind -> Text,
        subject_id -> Text,
        actor_id -> Text,
        at -> Timestamp,
        action -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    trail_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    access_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        user_id -> Nullable<Text>,
        action -> Text,
        rfa_id -> Nullable<Text>,
        detail -> Text,
        address -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    access_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    calendar_runs (day, jurisdiction_id) {
        day -> Date,
        jurisdiction_id -> Text,
        ran_at -> Timestamp,
        evaluated -> Integer,
        changed -> Integer,
    }
}
