//! Who may do what (SPEC section 5), as data and one pure function. Every handler asks
//! `authorize`; no handler checks a role by itself.

use crate::domain::roles::Role;

/// Everything a user can ask of the service that needs a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    // Accounts and registry
    ManageUsers,
    ReadRegistry,
    WriteRegistry,
    // Requests for assistance
    LogRfa,
    ReadRfa,
    EditIntake,
    RequestInformation,
    Resume,
    RecordResponse,
    AddNote,
    RecordAssurance,
    EvaluateEligibility,
    Withdraw,
    StartReview,
    Accept,
    Decline,
    Assign,
    SetPriority,
    ExtendDeadline,
    Close,
    Reopen,
    OverrideEligibility,
    BulkTriage,
    /// Add a document to a request's case file.
    AddDocument,
    /// Withdraw a document (it is kept, with the reason).
    WithdrawDocument,
    /// Download the case list as a spreadsheet.
    ExportQueue,
    /// The supervisors' overview: open work by state, deadline and assignee.
    ReadOverview,
    /// See colleagues by name (the people a case names, the assignee picker).
    ReadPeople,
    // Figures and audit
    ReadReports,
    VerifyAudit,
    /// See and retry outgoing mail.
    ManageOutbox,
}

/// How far a permission reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// Only RFAs of the jurisdictions the user liaises with.
    OwnJurisdictions,
    /// Everything.
    All,
}

use Reach::{All, OwnJurisdictions as Own};

/// One row per action: reach for liaison_officer, supervisor, reporting, admin (in that
/// order, as in the specification's table). `None` means not permitted.
const TABLE: &[(Action, [Option<Reach>; 4])] = &[
    (Action::LogRfa, [Some(Own), Some(All), None, None]),
    (Action::ReadRfa, [Some(Own), Some(All), None, None]),
    (Action::EditIntake, [Some(Own), Some(All), None, None]),
    (
        Action::RequestInformation,
        [Some(Own), Some(All), None, None],
    ),
    (Action::Resume, [Some(Own), Some(All), None, None]),
    (Action::RecordResponse, [Some(Own), Some(All), None, None]),
    (Action::AddNote, [Some(Own), Some(All), None, None]),
    (Action::RecordAssurance, [Some(Own), Some(All), None, None]),
    (
        Action::EvaluateEligibility,
        [Some(Own), Some(All), None, None],
    ),
    (Action::Withdraw, [Some(Own), Some(All), None, None]),
    (Action::StartReview, [None, Some(All), None, None]),
    (Action::Accept, [None, Some(All), None, None]),
    (Action::Decline, [None, Some(All), None, None]),
    (Action::Assign, [None, Some(All), None, None]),
    (Action::SetPriority, [None, Some(All), None, None]),
    (Action::ExtendDeadline, [None, Some(All), None, None]),
    (Action::Close, [None, Some(All), None, None]),
    (Action::Reopen, [None, Some(All), None, None]),
    (Action::OverrideEligibility, [None, Some(All), None, None]),
    (Action::BulkTriage, [None, Some(All), None, None]),
    (Action::AddDocument, [Some(Own), Some(All), None, None]),
    (Action::WithdrawDocument, [None, Some(All), None, None]),
    (Action::ExportQueue, [None, Some(All), None, None]),
    (Action::ReadOverview, [None, Some(All), None, None]),
    (Action::ReadPeople, [Some(Own), Some(All), None, None]),
    (Action::ReadReports, [None, Some(All), Some(All), None]),
    (Action::ManageUsers, [None, None, None, Some(All)]),
    (
        Action::ReadRegistry,
        [Some(All), Some(All), None, Some(All)],
    ),
    (Action::WriteRegistry, [None, None, None, Some(All)]),
    (Action::VerifyAudit, [None, None, None, Some(All)]),
    (Action::ManageOutbox, [None, None, None, Some(All)]),
];

fn column(role: Role) -> usize {
    match role {
        Role::LiaisonOfficer => 0,
        Role::Supervisor => 1,
        Role::Reporting => 2,
        Role::Admin => 3,
    }
}

/// The widest reach any of the roles gives for the action.
pub fn reach(roles: &[Role], action: Action) -> Option<Reach> {
    let row = TABLE.iter().find(|(a, _)| *a == action)?;
    roles.iter().filter_map(|r| row.1[column(*r)]).max()
}

/// The signed-in user as the policy sees them.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: String,
    pub roles: Vec<Role>,
    /// Jurisdictions a liaison officer covers.
    pub jurisdictions: Vec<String>,
}

/// What the action is done to.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// Not tied to a jurisdiction (the user list, the registry, reports), or a list that the
    /// query itself narrows to the user's reach.
    Service,
    /// An RFA (or its events) of this jurisdiction.
    Rfa { jurisdiction_id: &'a str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// 403: the user can see the resource but may not do this.
    Forbidden,
    /// 404: the user may not even know the resource exists.
    Hidden,
}

pub fn authorize(p: &Principal, action: Action, resource: Resource<'_>) -> Decision {
    match resource {
        Resource::Service => match reach(&p.roles, action) {
            Some(_) => Decision::Allow,
            None => Decision::Forbidden,
        },
        Resource::Rfa { jurisdiction_id } => {
            let within = |r: Option<Reach>| match r {
                Some(All) => true,
                Some(Own) => p.jurisdictions.iter().any(|j| j == jurisdiction_id),
                None => false,
            };
            // Users without read access to the RFA must not learn it exists — except roles
            // that have no RFA access at all, who are simply told "not for you".
            let read = reach(&p.roles, Action::ReadRfa);
            if read.is_none() {
                return Decision::Forbidden;
            }
            if !within(read) {
                return Decision::Hidden;
            }
            if within(reach(&p.roles, action)) {
                Decision::Allow
            } else {
                Decision::Forbidden
            }
        }
    }
}

/// The scope of a listing: all RFAs, only those of some jurisdictions, or none at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    All,
    Jurisdictions(Vec<String>),
}

pub fn rfa_list_scope(p: &Principal) -> Option<ListScope> {
    match reach(&p.roles, Action::ReadRfa)? {
        All => Some(ListScope::All),
        Own => Some(ListScope::Jurisdictions(p.jurisdictions.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[Role], jurisdictions: &[&str]) -> Principal {
        Principal {
            user_id: "u".into(),
            roles: roles.to_vec(),
            jurisdictions: jurisdictions.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The specification's table, cell by cell: L = liaison (own jurisdictions), Y = yes, - = no.
    #[test]
    fn table_matches_the_specification() {
        use Action::*;
        let spec: &[(Action, &str)] = &[
            (LogRfa, "LY--"),
            (ReadRfa, "LY--"),
            (EditIntake, "LY--"),
            (RequestInformation, "LY--"),
            (Resume, "LY--"),
            (RecordResponse, "LY--"),
            (AddNote, "LY--"),
            (RecordAssurance, "LY--"),
            (EvaluateEligibility, "LY--"),
            (Withdraw, "LY--"),
            (StartReview, "-Y--"),
            (Accept, "-Y--"),
            (Decline, "-Y--"),
            (Assign, "-Y--"),
            (SetPriority, "-Y--"),
            (ExtendDeadline, "-Y--"),
            (Close, "-Y--"),
            (Reopen, "-Y--"),
            (OverrideEligibility, "-Y--"),
            (BulkTriage, "-Y--"),
            (AddDocument, "LY--"),
            (WithdrawDocument, "-Y--"),
            (ExportQueue, "-Y--"),
            (ReadOverview, "-Y--"),
            (ReadPeople, "LY--"),
            (ReadReports, "-YY-"),
            (ManageUsers, "---Y"),
            (ReadRegistry, "YY-Y"),
            (WriteRegistry, "---Y"),
            (VerifyAudit, "---Y"),
            (ManageOutbox, "---Y"),
        ];
        assert_eq!(spec.len(), TABLE.len(), "every action has a row");
        let roles = [
            Role::LiaisonOfficer,
            Role::Supervisor,
            Role::Reporting,
            Role::Admin,
        ];
        for (action, cells) in spec {
            for (role, cell) in roles.iter().zip(cells.chars()) {
                let expected = match cell {
                    'L' => Some(Own),
                    'Y' => Some(All),
                    _ => None,
                };
                assert_eq!(reach(&[*role], *action), expected, "{action:?} for {role}");
            }
        }
    }

    #[test]
    fn several_roles_take_the_widest_reach() {
        assert_eq!(
            reach(&[Role::LiaisonOfficer, Role::Supervisor], Action::ReadRfa),
            Some(All)
        );
        assert_eq!(
            reach(&[Role::Reporting, Role::Admin], Action::ReadRfa),
            None
        );
        assert_eq!(reach(&[], Action::ReadRegistry), None);
    }

    #[test]
    fn liaison_officers_do_not_learn_of_other_jurisdictions_rfas() {
        let liaison = user(&[Role::LiaisonOfficer], &["fr"]);
        let own = Resource::Rfa {
            jurisdiction_id: "fr",
        };
        let other = Resource::Rfa {
            jurisdiction_id: "de",
        };
        assert_eq!(authorize(&liaison, Action::ReadRfa, own), Decision::Allow);
        assert_eq!(authorize(&liaison, Action::AddNote, own), Decision::Allow);
        assert_eq!(
            authorize(&liaison, Action::Accept, own),
            Decision::Forbidden
        );
        assert_eq!(
            authorize(&liaison, Action::ReadRfa, other),
            Decision::Hidden
        );
        assert_eq!(authorize(&liaison, Action::Accept, other), Decision::Hidden);
    }

    #[test]
    fn roles_without_rfa_access_are_forbidden_not_misled() {
        let reporting = user(&[Role::Reporting], &[]);
        let rfa = Resource::Rfa {
            jurisdiction_id: "fr",
        };
        assert_eq!(
            authorize(&reporting, Action::ReadRfa, rfa),
            Decision::Forbidden
        );
        assert_eq!(
            authorize(&reporting, Action::ReadReports, Resource::Service),
            Decision::Allow
        );
        assert_eq!(rfa_list_scope(&reporting), None);
        let supervisor = user(&[Role::Supervisor], &[]);
        assert_eq!(authorize(&supervisor, Action::Accept, rfa), Decision::Allow);
        assert_eq!(rfa_list_scope(&supervisor), Some(ListScope::All));
    }
}
