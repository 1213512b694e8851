//! The service's vocabulary in the words a caseworker reads, and the tag colour that goes
//! with each (the words always say what the colour says).

use chrono::NaiveDate;

use crate::domain::eligibility::{Criterion, CriterionResult, Outcome};
use crate::domain::lifecycle::{ClosingOutcome, Priority, RfaAction, State};
pub use crate::domain::words::{day, outcome, plain};

pub fn state(s: State) -> (&'static str, &'static str) {
    match s {
        State::Received => ("Received", "grey"),
        State::UnderReview => ("Under review", "purple"),
        State::InProgress => ("In progress", ""),
        State::AwaitingRequester => ("Awaiting requester", "yellow"),
        State::Closed => ("Closed", "green"),
    }
}

pub fn priority(p: Priority) -> (&'static str, &'static str) {
    match p {
        Priority::Urgent => ("Urgent", "red"),
        Priority::High => ("High", "orange"),
        Priority::Routine => ("Routine", "grey"),
    }
}

pub fn eligibility(o: Outcome) -> (&'static str, &'static str) {
    match o {
        Outcome::Eligible => ("Eligible", "green"),
        Outcome::NeedsReview => ("Needs review", "yellow"),
        Outcome::Ineligible => ("Not eligible", "red"),
    }
}

/// The outcome's badge once a supervisor has overridden it with a justification.
pub fn eligibility_overridden(o: Outcome) -> (&'static str, &'static str) {
    match o {
        Outcome::Eligible => ("Eligible", "green"),
        Outcome::NeedsReview => ("Needs review, overridden", "purple"),
        Outcome::Ineligible => ("Not eligible, overridden", "purple"),
    }
}

pub fn criterion(r: CriterionResult) -> (&'static str, &'static str) {
    match r {
        CriterionResult::Pass => ("Met", "pass"),
        CriterionResult::Fail => ("Not met", "fail"),
        CriterionResult::NeedsReview => ("Needs review", "needs_review"),
    }
}

pub fn criterion_name(c: Criterion) -> &'static str {
    match c {
        Criterion::MandateScope => "Crimes within the mandate",
        Criterion::Competence => "Jurisdiction over the crimes",
        Criterion::HumanRights => "Respect for human-rights standards",
        Criterion::DeathPenalty => "No death penalty",
    }
}

/// What happened, as a timeline entry's heading.
pub fn event(action: &str) -> String {
    match action {
        "intake" => "Request logged".into(),
        "edit_intake" => "Intake details corrected".into(),
        "add_document" => "Document added".into(),
        "withdraw_document" => "Document withdrawn".into(),
        "evaluate_eligibility" => "Eligibility evaluated".into(),
        "start_review" => "Review started".into(),
        "accept" => "Accepted".into(),
        "decline" => "Declined".into(),
        "request_information" => "Information requested from the requester".into(),
        "resume" => "Work resumed".into(),
        "record_response" => "Response sent".into(),
        "close" => "Closed".into(),
        "withdraw" => "Withdrawn".into(),
        "reopen" => "Reopened".into(),
        "assign" => "Assigned".into(),
        "set_priority" => "Priority changed".into(),
        "extend_deadline" => "Deadline extended".into(),
        "add_note" => "Note".into(),
        "override_eligibility" => "Eligibility overridden".into(),
        "record_assurance" => "Assurance recorded".into(),
        other => plain(other),
    }
}

/// An action as the button that leads to its confirm page, and as the banner after it.
pub fn action(a: RfaAction) -> (&'static str, &'static str) {
    match a {
        RfaAction::StartReview => ("Start review", "The review has started."),
        RfaAction::Accept => ("Accept", "The request is accepted."),
        RfaAction::Decline => ("Decline", "The request is declined."),
        RfaAction::RequestInformation => (
            "Ask the requester",
            "The requester has been asked; the deadline is paused.",
        ),
        RfaAction::Resume => ("Resume", "Work has resumed."),
        RfaAction::RecordResponse => ("Record a response", "The response is recorded."),
        RfaAction::Close => ("Close", "The request is closed."),
        RfaAction::Withdraw => ("Withdraw", "The request is recorded as withdrawn."),
        RfaAction::Reopen => ("Reopen", "The request is open again."),
        RfaAction::Assign => ("Assign", "The request is assigned."),
        RfaAction::SetPriority => ("Set priority", "The priority is changed."),
        RfaAction::ExtendDeadline => ("Extend deadline", "The deadline is extended."),
        RfaAction::AddNote => ("Add a note", "The note is added."),
        RfaAction::EvaluateEligibility => {
            ("Evaluate eligibility", "Eligibility is evaluated again.")
        }
        RfaAction::OverrideEligibility => ("Override eligibility", "The override is recorded."),
        RfaAction::RecordAssurance => ("Record an assurance", "The assurance is recorded."),
    }
}

/// A due date in words, as of `today`: "Overdue by 12 days", "Due today", "Due in 3 days",
/// "Paused" while awaiting the requester, nothing to say once closed.
/// Where a request stands against its deadline; a closed one, how it ended.
pub fn due(
    state: State,
    outcome: Option<ClosingOutcome>,
    due_on: NaiveDate,
    today: NaiveDate,
) -> (String, &'static str) {
    let days = |n: i64| {
        if n == 1 {
            "1 day".to_string()
        } else {
            format!("{n} days")
        }
    };
    match state {
        State::Closed => (
            outcome.map_or_else(|| "Closed".into(), |o| plain(self::outcome(o))),
            "grey",
        ),
        State::AwaitingRequester => ("Paused".into(), "yellow"),
        _ => {
            let left = (due_on - today).num_days();
            match left {
                n if n < 0 => (format!("Overdue by {}", days(-n)), "red"),
                0 => ("Due today".into(), "orange"),
                n => (format!("Due in {}", days(n)), ""),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_in_words() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let on = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        assert_eq!(
            due(State::InProgress, None, on(1), today).0,
            "Overdue by 9 days"
        );
        assert_eq!(
            due(State::InProgress, None, on(9), today).0,
            "Overdue by 1 day"
        );
        assert_eq!(due(State::Received, None, on(10), today).0, "Due today");
        assert_eq!(
            due(State::UnderReview, None, on(13), today).0,
            "Due in 3 days"
        );
        assert_eq!(
            due(State::AwaitingRequester, None, on(1), today).0,
            "Paused"
        );
        let declined = Some(ClosingOutcome::DeclinedIneligible);
        assert_eq!(
            due(State::Closed, declined, on(1), today).0,
            "Declined as not eligible"
        );
        assert_eq!(plain("crimes_against_humanity"), "Crimes against humanity");
        assert_eq!(day(on(3)), "3 March 2026");
    }
}
