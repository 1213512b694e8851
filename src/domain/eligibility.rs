//! The mandate's conditions for assisting a jurisdiction, as one pure function from facts to
//! an explainable decision. See docs/eligibility.md for the rules in words and where they
//! come from.
//!
//! Four criteria, each `pass`, `fail` or `needs_review` with a reason and the facts used:
//! mandate scope, competence, human rights, death penalty. Any `fail` makes the request
//! `ineligible`; otherwise any `needs_review` makes it `needs_review`; otherwise `eligible`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::domain::registry::{
    AssessmentOutcome, AuthorityKind, CompetenceBasis, Crime, DeathPenaltyStatus, ProceedingType,
};

/// Changes whenever a rule changes, so a stored decision says which rules made it.
pub const RULESET_VERSION: &str = "2026.1";

/// Where the mandate's crimes were committed.
pub const MANDATE_COUNTRY: &str = "SY";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CriterionResult {
    Pass,
    NeedsReview,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Eligible,
    NeedsReview,
    Ineligible,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Eligible => "eligible",
            Outcome::NeedsReview => "needs_review",
            Outcome::Ineligible => "ineligible",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Outcome::Eligible, Outcome::NeedsReview, Outcome::Ineligible]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    MandateScope,
    Competence,
    HumanRights,
    DeathPenalty,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CriterionDecision {
    pub criterion: Criterion,
    pub result: CriterionResult,
    /// Why, in words a supervisor can check.
    pub reason: String,
    /// The facts the rule looked at.
    #[schema(value_type = Object)]
    pub facts: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub outcome: Outcome,
    pub criteria: Vec<CriterionDecision>,
    pub ruleset_version: String,
    /// The date the rules were applied for (assessments and assurances are valid on dates).
    pub evaluated_on: NaiveDate,
}

/// An assessment of the jurisdiction's respect for international human-rights standards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub outcome: AssessmentOutcome,
    pub assessed_on: NaiveDate,
    pub review_due: NaiveDate,
}

/// A written assurance that the death penalty will not be sought or applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assurance {
    pub reference: String,
    pub given_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    /// The crimes it covers; empty means every crime.
    pub scope: Vec<Crime>,
}

impl Assurance {
    fn valid_on(&self, day: NaiveDate) -> bool {
        self.given_on <= day && self.expires_on.is_none_or(|e| day <= e)
    }

    fn covers(&self, crimes: &[Crime]) -> bool {
        self.scope.is_empty() || crimes.iter().all(|c| self.scope.contains(c))
    }
}

/// What the request says.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub crimes: Vec<Crime>,
    pub conduct_country: String,
    pub conduct_from: NaiveDate,
    pub conduct_to: Option<NaiveDate>,
    pub proceeding: ProceedingType,
    pub authority_kind: AuthorityKind,
    pub authority_active: bool,
    /// Assurances given for this request itself.
    pub assurances: Vec<Assurance>,
}

/// What the registry says about the requesting jurisdiction.
#[derive(Debug, Clone)]
pub struct JurisdictionFacts {
    pub country_code: String,
    pub active: bool,
    pub bases: Vec<(CompetenceBasis, Vec<Crime>)>,
    /// All assessments in the order they were recorded; the latest by assessment date (made
    /// by the evaluation date) counts, and among those of one date the last recorded.
    pub assessments: Vec<Assessment>,
    pub death_penalty: DeathPenaltyStatus,
    pub standing_assurances: Vec<Assurance>,
}

#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub mandate_start: NaiveDate,
}

pub fn evaluate(
    request: &RequestFacts,
    jurisdiction: &JurisdictionFacts,
    rules: &Rules,
    on: NaiveDate,
) -> Decision {
    let criteria = vec![
        mandate_scope(request, rules),
        competence(request, jurisdiction),
        human_rights(jurisdiction, on),
        death_penalty(request, jurisdiction, on),
    ];
    Decision {
        outcome: combine(criteria.iter().map(|c| c.result)),
        criteria,
        ruleset_version: RULESET_VERSION.to_string(),
        evaluated_on: on,
    }
}

/// Any fail → ineligible; else any needs_review → needs_review; else eligible.
pub fn combine(results: impl IntoIterator<Item = CriterionResult>) -> Outcome {
    match results.into_iter().max() {
        Some(CriterionResult::Fail) => Outcome::Ineligible,
        Some(CriterionResult::NeedsReview) => Outcome::NeedsReview,
        Some(CriterionResult::Pass) | None => Outcome::Eligible,
    }
}

fn decided(
    criterion: Criterion,
    result: CriterionResult,
    reason: String,
    facts: Value,
) -> CriterionDecision {
    CriterionDecision {
        criterion,
        result,
        reason,
        facts,
    }
}

fn mandate_crimes(crimes: &[Crime]) -> Vec<Crime> {
    crimes
        .iter()
        .copied()
        .filter(|c| *c != Crime::Other)
        .collect()
}

fn mandate_scope(r: &RequestFacts, rules: &Rules) -> CriterionDecision {
    use CriterionResult::*;
    let facts = json!({
        "conduct_country": r.conduct_country,
        "conduct_from": r.conduct_from,
        "conduct_to": r.conduct_to,
        "mandate_start": rules.mandate_start,
        "crimes": r.crimes,
    });
    let d =
        |result, reason: String| decided(Criterion::MandateScope, result, reason, facts.clone());
    if r.conduct_country != MANDATE_COUNTRY {
        return d(
            Fail,
            format!(
                "The alleged conduct took place in {}, not in Syria.",
                r.conduct_country
            ),
        );
    }
    let last_day = r.conduct_to.unwrap_or(r.conduct_from);
    if last_day < rules.mandate_start {
        let when = match r.conduct_to {
            Some(_) => "ended".to_string(),
            // No last day was given: the conduct is taken to be on its first day alone.
            None => format!(
                "was on {} (no last day was given), which is",
                r.conduct_from
            ),
        };
        return d(
            Fail,
            format!(
                "The alleged conduct {when} before {}, when the mandate begins.",
                rules.mandate_start
            ),
        );
    }
    let in_mandate = mandate_crimes(&r.crimes);
    if in_mandate.is_empty() {
        return d(
            NeedsReview,
            "No crime within the mandate is named (only `other`, or none): someone must check the conduct falls within it.".into(),
        );
    }
    if r.conduct_from < rules.mandate_start {
        return d(
            NeedsReview,
            format!(
                "The alleged conduct began before {} and continued after it: only the part from that date is within the mandate.",
                rules.mandate_start
            ),
        );
    }
    if in_mandate.len() < r.crimes.len() {
        return d(
            NeedsReview,
            "Some alleged crimes are `other`: check they are within the mandate.".into(),
        );
    }
    d(
        Pass,
        format!(
            "Conduct in Syria from {} onwards, alleged crimes within the mandate.",
            rules.mandate_start
        ),
    )
}

fn competence(r: &RequestFacts, j: &JurisdictionFacts) -> CriterionDecision {
    use CriterionResult::*;
    let crimes = mandate_crimes(&r.crimes);
    // A territorial basis reaches only conduct on the jurisdiction's own territory.
    let usable: Vec<&(CompetenceBasis, Vec<Crime>)> = j
        .bases
        .iter()
        .filter(|(basis, _)| {
            *basis != CompetenceBasis::Territorial || j.country_code == r.conduct_country
        })
        .collect();
    let uncovered: Vec<Crime> = crimes
        .iter()
        .copied()
        .filter(|c| !usable.iter().any(|(_, covered)| covered.contains(c)))
        .collect();
    let facts = json!({
        "jurisdiction_active": j.active,
        "competence_bases": j.bases.iter().map(|(b, c)| json!({"basis": b, "crimes": c})).collect::<Vec<_>>(),
        "crimes": r.crimes,
        "uncovered_crimes": uncovered,
        "authority_kind": r.authority_kind,
        "authority_active": r.authority_active,
        "proceeding_type": r.proceeding,
    });
    let d = |result, reason: String| decided(Criterion::Competence, result, reason, facts.clone());
    if !j.active {
        return d(
            Fail,
            "The jurisdiction is marked inactive in the registry.".into(),
        );
    }
    if crimes.is_empty() {
        return d(
            NeedsReview,
            "No crime within the mandate is named, so competence over it cannot be checked.".into(),
        );
    }
    if uncovered.len() == crimes.len() {
        return d(
            Fail,
            "No competence basis of the jurisdiction covers the alleged crimes.".into(),
        );
    }
    if !uncovered.is_empty() {
        return d(
            NeedsReview,
            format!(
                "No competence basis covers {}: check whether the jurisdiction can pursue them.",
                uncovered
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if !r.authority_active {
        return d(
            NeedsReview,
            "The requesting authority is marked inactive in the registry.".into(),
        );
    }
    // Every authority kind in the registry is one the mandate allows (a court, prosecution,
    // investigating judge, law-enforcement or other judicial body), and every proceeding
    // type is criminal or concerns liability for the crimes.
    let proceeding = match r.proceeding {
        ProceedingType::NonCriminalLiability => {
            "non-criminal proceedings on liability for the crimes"
        }
        _ => "criminal proceedings",
    };
    d(
        Pass,
        format!(
            "A competence basis covers every alleged crime; a {} asks in {proceeding}.",
            r.authority_kind.describe()
        ),
    )
}

fn human_rights(j: &JurisdictionFacts, on: NaiveDate) -> CriterionDecision {
    use CriterionResult::*;
    // The latest made by the evaluation date; among several of one date, the one recorded
    // last (assessments are given in recording order).
    let latest = j.assessments.iter().filter(|a| a.assessed_on <= on).fold(
        None::<&Assessment>,
        |best, a| match best {
            Some(b) if b.assessed_on > a.assessed_on => Some(b),
            _ => Some(a),
        },
    );
    let facts = json!({
        "latest_assessment": latest.map(|a| json!({
            "outcome": a.outcome, "assessed_on": a.assessed_on, "review_due": a.review_due,
        })),
        "evaluated_on": on,
    });
    let d = |result, reason: String| decided(Criterion::HumanRights, result, reason, facts.clone());
    let Some(a) = latest else {
        return d(
            NeedsReview,
            "No human-rights assessment of the jurisdiction is on record.".into(),
        );
    };
    match a.outcome {
        AssessmentOutcome::Fails => d(
            Fail,
            format!(
                "The latest assessment ({}) found that the jurisdiction does not respect international human-rights standards.",
                a.assessed_on
            ),
        ),
        AssessmentOutcome::Concerns => d(
            NeedsReview,
            format!("The latest assessment ({}) raised concerns.", a.assessed_on),
        ),
        AssessmentOutcome::Meets if a.review_due < on => d(
            NeedsReview,
            format!(
                "The latest assessment ({}) was due for review on {} and has lapsed.",
                a.assessed_on, a.review_due
            ),
        ),
        AssessmentOutcome::Meets => d(
            Pass,
            format!(
                "The latest assessment ({}) found the standards respected; review due {}.",
                a.assessed_on, a.review_due
            ),
        ),
    }
}

fn death_penalty(r: &RequestFacts, j: &JurisdictionFacts, on: NaiveDate) -> CriterionDecision {
    use CriterionResult::*;
    let own = r.assurances.iter().find(|a| a.valid_on(on));
    let standing = j
        .standing_assurances
        .iter()
        .find(|a| a.valid_on(on) && a.covers(&r.crimes));
    let facts = json!({
        "death_penalty_status": j.death_penalty,
        "request_assurance": own.map(|a| &a.reference),
        "standing_assurance": standing.map(|a| &a.reference),
        "evaluated_on": on,
    });
    let d =
        |result, reason: String| decided(Criterion::DeathPenalty, result, reason, facts.clone());
    if j.death_penalty == DeathPenaltyStatus::AbolishedAllCrimes {
        return d(
            Pass,
            "The jurisdiction has abolished the death penalty for all crimes.".into(),
        );
    }
    if let Some(a) = own {
        return d(
            Pass,
            format!(
                "A written assurance for this request is on record ({}).",
                a.reference
            ),
        );
    }
    if let Some(a) = standing {
        return d(
            Pass,
            format!(
                "A standing assurance of the jurisdiction covers these crimes ({}).",
                a.reference
            ),
        );
    }
    match j.death_penalty {
        DeathPenaltyStatus::Retentionist => d(
            Fail,
            "The jurisdiction retains the death penalty and no assurance covers this request."
                .into(),
        ),
        status => d(
            NeedsReview,
            format!(
                "The death penalty is {} there and no assurance covers this request: obtain one.",
                status.describe()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Crime::*;
    use CriterionResult::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rules() -> Rules {
        Rules {
            mandate_start: day("2011-03-01"),
        }
    }

    fn request() -> RequestFacts {
        RequestFacts {
            crimes: vec![WarCrimes, Torture],
            conduct_country: "SY".into(),
            conduct_from: day("2013-05-01"),
            conduct_to: Some(day("2014-01-31")),
            proceeding: ProceedingType::Prosecution,
            authority_kind: AuthorityKind::Prosecution,
            authority_active: true,
            assurances: vec![],
        }
    }

    fn jurisdiction() -> JurisdictionFacts {
        JurisdictionFacts {
            country_code: "DE".into(),
            active: true,
            bases: vec![(
                CompetenceBasis::UniversalJurisdiction,
                vec![
                    WarCrimes,
                    CrimesAgainstHumanity,
                    Genocide,
                    Torture,
                    EnforcedDisappearance,
                ],
            )],
            assessments: vec![Assessment {
                outcome: AssessmentOutcome::Meets,
                assessed_on: day("2024-01-10"),
                review_due: day("2027-01-10"),
            }],
            death_penalty: DeathPenaltyStatus::AbolishedAllCrimes,
            standing_assurances: vec![],
        }
    }

    const ON: &str = "2026-11-28";

    fn result_of(
        r: &RequestFacts,
        j: &JurisdictionFacts,
        c: Criterion,
    ) -> (CriterionResult, String) {
        let d = evaluate(r, j, &rules(), day(ON));
        let c = d.criteria.iter().find(|x| x.criterion == c).unwrap();
        (c.result, c.reason.clone())
    }

    #[test]
    fn a_clean_case_is_eligible_and_explained() {
        let d = evaluate(&request(), &jurisdiction(), &rules(), day(ON));
        assert_eq!(d.outcome, Outcome::Eligible);
        assert_eq!(d.criteria.len(), 4);
        assert!(
            d.criteria
                .iter()
                .all(|c| c.result == Pass && !c.reason.is_empty())
        );
        assert_eq!(d.ruleset_version, RULESET_VERSION);
        assert_eq!(d.criteria[0].facts["mandate_start"], "2011-03-01");
    }

    #[test]
    fn mandate_scope_branches() {
        type Change = Box<dyn Fn(&mut RequestFacts)>;
        let cases: Vec<(&str, Change, CriterionResult)> = vec![
            (
                "elsewhere",
                Box::new(|r| r.conduct_country = "IQ".into()),
                Fail,
            ),
            (
                "ended before the start",
                Box::new(|r| {
                    r.conduct_from = day("2009-01-01");
                    r.conduct_to = Some(day("2011-02-28"));
                }),
                Fail,
            ),
            (
                "single day before",
                Box::new(|r| {
                    r.conduct_from = day("2010-06-01");
                    r.conduct_to = None;
                }),
                Fail,
            ),
            (
                "straddles the start",
                Box::new(|r| {
                    r.conduct_from = day("2010-06-01");
                    r.conduct_to = Some(day("2012-01-01"));
                }),
                NeedsReview,
            ),
            (
                "starts on the first day",
                Box::new(|r| {
                    r.conduct_from = day("2011-03-01");
                    r.conduct_to = None;
                }),
                Pass,
            ),
            (
                "only other crimes",
                Box::new(|r| r.crimes = vec![Other]),
                NeedsReview,
            ),
            ("no crimes", Box::new(|r| r.crimes = vec![]), NeedsReview),
            (
                "some other crimes",
                Box::new(|r| r.crimes = vec![Genocide, Other]),
                NeedsReview,
            ),
            (
                "mandate crimes",
                Box::new(|r| r.crimes = vec![EnforcedDisappearance]),
                Pass,
            ),
        ];
        for (name, change, expected) in cases {
            let mut r = request();
            change(&mut r);
            assert_eq!(
                result_of(&r, &jurisdiction(), Criterion::MandateScope).0,
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn a_conduct_without_a_last_day_is_said_to_be_on_its_first() {
        let mut r = request();
        r.conduct_from = day("2005-01-01");
        r.conduct_to = None;
        let (res, reason) = result_of(&r, &jurisdiction(), Criterion::MandateScope);
        assert_eq!(res, Fail);
        assert!(
            reason.contains("was on 2005-01-01 (no last day was given)"),
            "{reason}"
        );
        r.conduct_to = Some(day("2010-12-31"));
        let (res, reason) = result_of(&r, &jurisdiction(), Criterion::MandateScope);
        assert_eq!(res, Fail);
        assert!(
            reason.starts_with("The alleged conduct ended before"),
            "{reason}"
        );
    }

    #[test]
    fn competence_branches() {
        let mut inactive = jurisdiction();
        inactive.active = false;
        assert_eq!(
            result_of(&request(), &inactive, Criterion::Competence).0,
            Fail
        );

        let mut no_bases = jurisdiction();
        no_bases.bases = vec![];
        assert_eq!(
            result_of(&request(), &no_bases, Criterion::Competence).0,
            Fail
        );

        let mut partial = jurisdiction();
        partial.bases = vec![(CompetenceBasis::ActivePersonality, vec![WarCrimes])];
        let (res, reason) = result_of(&request(), &partial, Criterion::Competence);
        assert_eq!(res, NeedsReview);
        assert!(reason.contains("torture"), "{reason}");

        // Territorial competence of a foreign state does not reach conduct in Syria…
        let mut territorial = jurisdiction();
        territorial.bases = vec![(CompetenceBasis::Territorial, vec![WarCrimes, Torture])];
        assert_eq!(
            result_of(&request(), &territorial, Criterion::Competence).0,
            Fail
        );
        // …but Syria's own does.
        territorial.country_code = "SY".into();
        assert_eq!(
            result_of(&request(), &territorial, Criterion::Competence).0,
            Pass
        );

        let mut other_only = request();
        other_only.crimes = vec![Other];
        assert_eq!(
            result_of(&other_only, &jurisdiction(), Criterion::Competence).0,
            NeedsReview
        );

        let mut inactive_authority = request();
        inactive_authority.authority_active = false;
        assert_eq!(
            result_of(&inactive_authority, &jurisdiction(), Criterion::Competence).0,
            NeedsReview
        );

        for &kind in AuthorityKind::ALL {
            for &proceeding in ProceedingType::ALL {
                let mut r = request();
                r.authority_kind = kind;
                r.proceeding = proceeding;
                assert_eq!(
                    result_of(&r, &jurisdiction(), Criterion::Competence).0,
                    Pass,
                    "{kind:?} {proceeding:?}"
                );
            }
        }
    }

    #[test]
    fn human_rights_branches() {
        let with = |outcome, review_due: &str| {
            let mut j = jurisdiction();
            j.assessments = vec![
                Assessment {
                    outcome: AssessmentOutcome::Fails,
                    assessed_on: day("2015-01-01"),
                    review_due: day("2016-01-01"),
                },
                Assessment {
                    outcome,
                    assessed_on: day("2024-01-01"),
                    review_due: day(review_due),
                },
            ];
            j
        };
        assert_eq!(
            result_of(
                &request(),
                &with(AssessmentOutcome::Meets, "2027-01-01"),
                Criterion::HumanRights
            )
            .0,
            Pass
        );
        assert_eq!(
            result_of(
                &request(),
                &with(AssessmentOutcome::Meets, ON),
                Criterion::HumanRights
            )
            .0,
            Pass,
            "due today is not past"
        );
        assert_eq!(
            result_of(
                &request(),
                &with(AssessmentOutcome::Meets, "2026-11-27"),
                Criterion::HumanRights
            )
            .0,
            NeedsReview
        );
        assert_eq!(
            result_of(
                &request(),
                &with(AssessmentOutcome::Concerns, "2027-01-01"),
                Criterion::HumanRights
            )
            .0,
            NeedsReview
        );
        assert_eq!(
            result_of(
                &request(),
                &with(AssessmentOutcome::Fails, "2027-01-01"),
                Criterion::HumanRights
            )
            .0,
            Fail
        );
        // Same date: the one recorded last is the correction that counts.
        let mut corrected = jurisdiction();
        corrected.assessments.push(Assessment {
            outcome: AssessmentOutcome::Fails,
            assessed_on: day("2024-01-10"),
            review_due: day("2027-01-10"),
        });
        assert_eq!(
            result_of(&request(), &corrected, Criterion::HumanRights).0,
            Fail
        );
        // An assessment made after the evaluation date does not count yet.
        let mut later = jurisdiction();
        later.assessments.push(Assessment {
            outcome: AssessmentOutcome::Fails,
            assessed_on: day("2026-12-01"),
            review_due: day("2027-12-01"),
        });
        assert_eq!(
            result_of(&request(), &later, Criterion::HumanRights).0,
            Pass
        );
        let mut none = jurisdiction();
        none.assessments.clear();
        assert_eq!(
            result_of(&request(), &none, Criterion::HumanRights).0,
            NeedsReview
        );
    }

    #[test]
    fn death_penalty_branches() {
        let assurance = |given: &str, expires: Option<&str>, scope: Vec<Crime>| Assurance {
            reference: "A-1".into(),
            given_on: day(given),
            expires_on: expires.map(day),
            scope,
        };
        for (status, expected) in [
            (DeathPenaltyStatus::AbolishedAllCrimes, Pass),
            (DeathPenaltyStatus::AbolishedOrdinaryCrimes, NeedsReview),
            (DeathPenaltyStatus::AbolishedInPractice, NeedsReview),
            (DeathPenaltyStatus::Retentionist, Fail),
        ] {
            let mut j = jurisdiction();
            j.death_penalty = status;
            assert_eq!(
                result_of(&request(), &j, Criterion::DeathPenalty).0,
                expected,
                "{status:?}"
            );
        }
        let mut j = jurisdiction();
        j.death_penalty = DeathPenaltyStatus::Retentionist;
        // An assurance for this request.
        let mut r = request();
        r.assurances = vec![assurance("2026-01-01", None, vec![])];
        assert_eq!(result_of(&r, &j, Criterion::DeathPenalty).0, Pass);
        // One given in the future does not count yet.
        r.assurances = vec![assurance("2026-12-01", None, vec![])];
        assert_eq!(result_of(&r, &j, Criterion::DeathPenalty).0, Fail);
        // Standing assurances: valid and covering → pass; expired or too narrow → no.
        for (standing, expected) in [
            (
                assurance("2020-01-01", Some("2030-01-01"), vec![WarCrimes, Torture]),
                Pass,
            ),
            (assurance("2020-01-01", None, vec![]), Pass),
            (assurance("2020-01-01", Some("2025-01-01"), vec![]), Fail),
            (assurance("2020-01-01", None, vec![WarCrimes]), Fail),
        ] {
            let mut j = j.clone();
            j.standing_assurances = vec![standing];
            assert_eq!(
                result_of(&request(), &j, Criterion::DeathPenalty).0,
                expected
            );
        }
    }

    #[test]
    fn outcome_combines_the_worst_result() {
        // Exhaustive over every combination of four criteria: the property the engine promises.
        let all = [Pass, NeedsReview, Fail];
        for a in all {
            for b in all {
                for c in all {
                    for d in all {
                        let results = [a, b, c, d];
                        let outcome = combine(results);
                        if results.contains(&Fail) {
                            assert_eq!(outcome, Outcome::Ineligible);
                        } else if results.contains(&NeedsReview) {
                            assert_eq!(outcome, Outcome::NeedsReview);
                        } else {
                            assert_eq!(outcome, Outcome::Eligible);
                        }
                    }
                }
            }
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn crime() -> impl Strategy<Value = Crime> {
            proptest::sample::select(Crime::ALL.to_vec())
        }

        fn date() -> impl Strategy<Value = NaiveDate> {
            (2005i32..2030, 1u32..=12, 1u32..=28)
                .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
        }

        fn assurance() -> impl Strategy<Value = Assurance> {
            (
                date(),
                proptest::option::of(date()),
                proptest::collection::vec(crime(), 0..3),
            )
                .prop_map(|(given_on, expires_on, scope)| Assurance {
                    reference: "R".into(),
                    given_on,
                    expires_on,
                    scope,
                })
        }

        fn request_facts() -> impl Strategy<Value = RequestFacts> {
            (
                proptest::collection::vec(crime(), 0..4),
                proptest::sample::select(vec!["SY", "IQ", "DE"]),
                date(),
                proptest::option::of(date()),
                proptest::sample::select(ProceedingType::ALL.to_vec()),
                proptest::sample::select(AuthorityKind::ALL.to_vec()),
                any::<bool>(),
                proptest::collection::vec(assurance(), 0..2),
            )
                .prop_map(
                    |(crimes, country, from, to, proceeding, kind, active, assurances)| {
                        RequestFacts {
                            crimes,
                            conduct_country: country.into(),
                            conduct_from: from,
                            conduct_to: to,
                            proceeding,
                            authority_kind: kind,
                            authority_active: active,
                            assurances,
                        }
                    },
                )
        }

        fn jurisdiction_facts() -> impl Strategy<Value = JurisdictionFacts> {
            let basis = (
                proptest::sample::select(CompetenceBasis::ALL.to_vec()),
                proptest::collection::vec(crime(), 0..4),
            );
            let assessment = (
                proptest::sample::select(AssessmentOutcome::ALL.to_vec()),
                date(),
                date(),
            )
                .prop_map(|(outcome, assessed_on, review_due)| Assessment {
                    outcome,
                    assessed_on,
                    review_due,
                });
            (
                proptest::sample::select(vec!["SY", "DE"]),
                any::<bool>(),
                proptest::collection::vec(basis, 0..3),
                proptest::collection::vec(assessment, 0..3),
                proptest::sample::select(DeathPenaltyStatus::ALL.to_vec()),
                proptest::collection::vec(assurance(), 0..2),
            )
                .prop_map(
                    |(country, active, bases, assessments, death_penalty, standing)| {
                        JurisdictionFacts {
                            country_code: country.into(),
                            active,
                            bases,
                            assessments,
                            death_penalty,
                            standing_assurances: standing,
                        }
                    },
                )
        }

        proptest! {
            /// Whatever the facts: one decision per criterion, each with a reason, and the
            /// outcome is ineligible exactly when one fails, needs_review exactly when none
            /// fails and one needs review.
            #[test]
            fn outcome_follows_the_criteria(r in request_facts(), j in jurisdiction_facts(), on in date()) {
                let d = evaluate(&r, &j, &rules(), on);
                prop_assert_eq!(d.criteria.len(), 4);
                prop_assert!(d.criteria.iter().all(|c| !c.reason.is_empty()));
                let any_fail = d.criteria.iter().any(|c| c.result == Fail);
                let any_review = d.criteria.iter().any(|c| c.result == NeedsReview);
                prop_assert_eq!(d.outcome == Outcome::Ineligible, any_fail);
                prop_assert_eq!(d.outcome == Outcome::NeedsReview, !any_fail && any_review);
                prop_assert_eq!(d.outcome == Outcome::Eligible, !any_fail && !any_review);
            }
        }
    }
}
