//! The RFA lifecycle as data: states, actions, the one transition table, and deadline
//! arithmetic. No I/O.
//!
//! `received` → `under_review` → `in_progress` ⇄ `awaiting_requester` → `closed`, and
//! `closed` → (reopen) → `in_progress`. Declining and withdrawing are closings.

use chrono::{Days, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::policy::Action;

vocabulary!(
    State {
        Received = "received",
        UnderReview = "under_review",
        InProgress = "in_progress",
        AwaitingRequester = "awaiting_requester",
        Closed = "closed",
    }
);

vocabulary!(
    /// What a closing records.
    ClosingOutcome {
        Fulfilled = "fulfilled",
        PartiallyFulfilled = "partially_fulfilled",
        DeclinedIneligible = "declined_ineligible",
        DeclinedOther = "declined_other",
        Withdrawn = "withdrawn",
    }
);

vocabulary!(
    Priority {
        Urgent = "urgent",
        High = "high",
        Routine = "routine",
    }
);

vocabulary!(
    /// Everything that can be done to an RFA after intake.
    RfaAction {
        StartReview = "start_review",
        Accept = "accept",
        Decline = "decline",
        RequestInformation = "request_information",
        Resume = "resume",
        RecordResponse = "record_response",
        Close = "close",
        Withdraw = "withdraw",
        Reopen = "reopen",
        Assign = "assign",
        SetPriority = "set_priority",
        ExtendDeadline = "extend_deadline",
        AddNote = "add_note",
        EvaluateEligibility = "evaluate_eligibility",
        OverrideEligibility = "override_eligibility",
        RecordAssurance = "record_assurance",
    }
);

impl Priority {
    /// Sort rank: urgent first.
    pub fn rank(self) -> i32 {
        match self {
            Priority::Urgent => 0,
            Priority::High => 1,
            Priority::Routine => 2,
        }
    }
}

impl State {
    pub fn is_open(self) -> bool {
        self != State::Closed
    }
}

use RfaAction as A;
use State as S;

/// The transition table: in which states an action may be taken, and the state it leads to
/// (`None` = the state does not change).
const TRANSITIONS: &[(RfaAction, &[State], Option<State>)] = &[
    (A::StartReview, &[S::Received], Some(S::UnderReview)),
    (A::Accept, &[S::UnderReview], Some(S::InProgress)),
    (A::Decline, &[S::Received, S::UnderReview], Some(S::Closed)),
    (
        A::RequestInformation,
        &[S::InProgress],
        Some(S::AwaitingRequester),
    ),
    (A::Resume, &[S::AwaitingRequester], Some(S::InProgress)),
    (
        A::RecordResponse,
        &[S::InProgress, S::AwaitingRequester],
        None,
    ),
    (
        A::Close,
        &[S::InProgress, S::AwaitingRequester],
        Some(S::Closed),
    ),
    (
        A::Withdraw,
        &[
            S::Received,
            S::UnderReview,
            S::InProgress,
            S::AwaitingRequester,
        ],
        Some(S::Closed),
    ),
    (A::Reopen, &[S::Closed], Some(S::InProgress)),
    (
        A::Assign,
        &[
            S::Received,
            S::UnderReview,
            S::InProgress,
            S::AwaitingRequester,
        ],
        None,
    ),
    (
        A::SetPriority,
        &[
            S::Received,
            S::UnderReview,
            S::InProgress,
            S::AwaitingRequester,
        ],
        None,
    ),
    (
        A::ExtendDeadline,
        &[
            S::Received,
            S::UnderReview,
            S::InProgress,
            S::AwaitingRequester,
        ],
        None,
    ),
    (
        A::AddNote,
        &[
            S::Received,
            S::UnderReview,
            S::InProgress,
            S::AwaitingRequester,
            S::Closed,
        ],
        None,
    ),
    (
        A::EvaluateEligibility,
        &[
            S::Received,
            S::UnderReview,
            S::InProgress,
            S::AwaitingRequester,
        ],
        None,
    ),
    (A::OverrideEligibility, &[S::Received, S::UnderReview], None),
    (
        A::RecordAssurance,
        &[
            S::Received,
            S::UnderReview,
            S::InProgress,
            S::AwaitingRequester,
        ],
        None,
    ),
];

/// The state an action leads to from `from`, or `None` when it is not allowed there.
pub fn transition(from: State, action: RfaAction) -> Option<State> {
    TRANSITIONS
        .iter()
        .find(|(a, _, _)| *a == action)
        .filter(|(_, states, _)| states.contains(&from))
        .map(|(_, _, to)| to.unwrap_or(from))
}

/// Actions the state allows, before asking who is asking.
pub fn allowed_in(state: State) -> Vec<RfaAction> {
    RfaAction::ALL
        .iter()
        .copied()
        .filter(|a| transition(state, *a).is_some())
        .collect()
}

/// The permission each action needs (SPEC section 5).
/// The intake details can be corrected until the request is accepted.
pub fn intake_correctable(state: State) -> bool {
    matches!(state, State::Received | State::UnderReview)
}

pub fn permission(action: RfaAction) -> Action {
    match action {
        A::StartReview => Action::StartReview,
        A::Accept => Action::Accept,
        A::Decline => Action::Decline,
        A::RequestInformation => Action::RequestInformation,
        A::Resume => Action::Resume,
        A::RecordResponse => Action::RecordResponse,
        A::Close => Action::Close,
        A::Withdraw => Action::Withdraw,
        A::Reopen => Action::Reopen,
        A::Assign => Action::Assign,
        A::SetPriority => Action::SetPriority,
        A::ExtendDeadline => Action::ExtendDeadline,
        A::AddNote => Action::AddNote,
        A::EvaluateEligibility => Action::EvaluateEligibility,
        A::OverrideEligibility => Action::OverrideEligibility,
        A::RecordAssurance => Action::RecordAssurance,
    }
}

/// Which closing outcomes each closing action may record.
pub fn closing_outcomes(action: RfaAction) -> &'static [ClosingOutcome] {
    match action {
        A::Close => &[
            ClosingOutcome::Fulfilled,
            ClosingOutcome::PartiallyFulfilled,
        ],
        A::Decline => &[
            ClosingOutcome::DeclinedIneligible,
            ClosingOutcome::DeclinedOther,
        ],
        A::Withdraw => &[ClosingOutcome::Withdrawn],
        _ => &[],
    }
}

/// Target days per priority (configuration).
#[derive(Debug, Clone, Copy)]
pub struct Targets {
    pub urgent_days: u32,
    pub high_days: u32,
    pub routine_days: u32,
}

impl Targets {
    pub fn days(&self, p: Priority) -> u32 {
        match p {
            Priority::Urgent => self.urgent_days,
            Priority::High => self.high_days,
            Priority::Routine => self.routine_days,
        }
    }
}

/// The parts a due date is computed from, so an RFA can explain it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DueParts {
    /// The day the request reached the mechanism, in the reporting time zone.
    pub received_on: NaiveDate,
    pub priority: Priority,
    pub target_days: u32,
    /// Whole days spent awaiting the requester, completed pauses and the current one.
    pub paused_days: u32,
    /// The latest extension's date, replacing received_on + target_days.
    pub extended_to: Option<NaiveDate>,
}

impl DueParts {
    /// received_on + target (or the extension) + paused days.
    pub fn due_on(&self) -> NaiveDate {
        let base = self.extended_to.unwrap_or_else(|| {
            self.received_on
                .checked_add_days(Days::new(u64::from(self.target_days)))
                .unwrap_or(self.received_on)
        });
        base.checked_add_days(Days::new(u64::from(self.paused_days)))
            .unwrap_or(base)
    }
}

/// Whole days of a pause from `from` to `to` (both days in the reporting time zone).
pub fn pause_days(from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from((to - from).num_days().max(0)).unwrap_or(u32::MAX)
}

/// Overdue: open, not waiting for the requester, and past the due day.
pub fn overdue(state: State, due_on: NaiveDate, today: NaiveDate) -> bool {
    matches!(state, S::Received | S::UnderReview | S::InProgress) && today > due_on
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_walks_as_specified() {
        let path = [
            (S::Received, A::StartReview, S::UnderReview),
            (S::UnderReview, A::Accept, S::InProgress),
            (S::InProgress, A::RequestInformation, S::AwaitingRequester),
            (S::AwaitingRequester, A::Resume, S::InProgress),
            (S::InProgress, A::RecordResponse, S::InProgress),
            (S::InProgress, A::Close, S::Closed),
            (S::Closed, A::Reopen, S::InProgress),
            (S::InProgress, A::Withdraw, S::Closed),
        ];
        for (from, action, to) in path {
            assert_eq!(transition(from, action), Some(to), "{from:?} {action:?}");
        }
    }

    #[test]
    fn refused_transitions() {
        for (from, action) in [
            (S::Received, A::Accept),
            (S::Received, A::Close),
            (S::InProgress, A::StartReview),
            (S::Closed, A::Close),
            (S::Closed, A::Assign),
            (S::InProgress, A::Decline),
            (S::InProgress, A::OverrideEligibility),
            (S::UnderReview, A::Resume),
            (S::Received, A::Reopen),
        ] {
            assert_eq!(transition(from, action), None, "{from:?} {action:?}");
        }
        // Every action is in the table, and notes are allowed everywhere.
        for a in RfaAction::ALL {
            assert!(TRANSITIONS.iter().any(|(x, _, _)| x == a), "{a:?}");
        }
        for s in State::ALL {
            assert!(allowed_in(*s).contains(&A::AddNote));
        }
    }

    #[test]
    fn closings_record_their_outcomes() {
        assert!(closing_outcomes(A::Close).contains(&ClosingOutcome::Fulfilled));
        assert!(!closing_outcomes(A::Close).contains(&ClosingOutcome::Withdrawn));
        assert_eq!(closing_outcomes(A::Withdraw), &[ClosingOutcome::Withdrawn]);
        for a in [A::Close, A::Decline, A::Withdraw] {
            assert_eq!(
                transition(S::InProgress, a).or(transition(S::UnderReview, a)),
                Some(S::Closed)
            );
        }
    }

    #[test]
    fn due_dates_explain_themselves() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let mut parts = DueParts {
            received_on: d("2026-01-30"),
            priority: Priority::High,
            target_days: 30,
            paused_days: 0,
            extended_to: None,
        };
        assert_eq!(parts.due_on(), d("2026-03-01"));
        parts.paused_days = 5;
        assert_eq!(parts.due_on(), d("2026-03-06"));
        parts.extended_to = Some(d("2026-04-01"));
        assert_eq!(parts.due_on(), d("2026-04-06"));
        assert_eq!(pause_days(d("2026-02-01"), d("2026-02-04")), 3);
        assert_eq!(pause_days(d("2026-02-04"), d("2026-02-01")), 0);
    }

    #[test]
    fn overdue_is_open_unpaused_and_late() {
        let due = "2026-03-01".parse().unwrap();
        let after = "2026-03-02".parse().unwrap();
        assert!(overdue(S::InProgress, due, after));
        assert!(!overdue(S::InProgress, due, due));
        assert!(!overdue(S::AwaitingRequester, due, after));
        assert!(!overdue(S::Closed, due, after));
    }
}

vocabulary!(
    /// How a request reached the mechanism.
    Channel {
        Email = "email",
        Diplomatic = "diplomatic",
        Portal = "portal",
        InPerson = "in_person",
        Other = "other",
    }
);

vocabulary!(
    AssistanceType {
        InformationAndEvidence = "information_and_evidence",
        AnalyticalProduct = "analytical_product",
        InvestigativeSupport = "investigative_support",
        WitnessIdentification = "witness_identification",
        Expertise = "expertise",
        Other = "other",
    }
);

vocabulary!(
    /// How widely the request's content may be shared inside the mechanism.
    Confidentiality {
        Restricted = "restricted",
        Confidential = "confidential",
        StrictlyConfidential = "strictly_confidential",
    }
);

vocabulary!(
    /// What was sent to the requester in answer.
    ResponseKind {
        InformationPackage = "information_package",
        AnalyticalProduct = "analytical_product",
        InvestigativeSupport = "investigative_support",
        Other = "other",
    }
);
