//! `rfa-tracker demo-data`: a plausible, clearly fictitious data set shaped like the
//! mechanism's published figures (16 jurisdictions; 13 requests received in 2018, 87 in 2023,
//! 326 from 2018 to 2023 of which 263 closed by the end of 2023; 45 from January to April
//! 2024), with assignments, pauses, reopenings and every outcome.
//!
//! From May 2024 to the day before it runs, requests keep arriving at about the 2023 rate,
//! so the queue has current work and this year's figures are not empty: what was still open
//! at the end of April 2024 is worked off from May 2024, most later requests are closed
//! within their target days, and of the requests still open at most [`LATE_AT_MOST`] is
//! past its due day (with the default targets). Nothing is received, or happens, after the
//! moment it runs (the services' clock, `Rules::now`).
//!
//! Everything goes through the same service functions as the API: the registry and users
//! through their services, every RFA through `rfas::intake_in` and `rfas::apply` with a
//! clock of its own, so the events, their report facts and the hash chain are real.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::ids::{AuthorityId, JurisdictionId, UserId};
use crate::domain::lifecycle::{
    AssistanceType, Channel, ClosingOutcome, Confidentiality, Priority, ResponseKind,
};
use crate::domain::policy::Principal;
use crate::domain::registry::{
    AssessmentOutcome, AuthorityKind, CompetenceBasis, Crime, DeathPenaltyStatus, ProceedingType,
};
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::service::accounts::Authenticated;
use crate::service::chain::Appender;
use crate::service::rfas::{self, Command, Conduct, NewRfa, Requester};
use crate::service::{Rules, Services, accounts, registry};

/// Requests received per year (the published shape).
pub const RECEIVED_PER_YEAR: [(i32, usize); 6] = [
    (2018, 13),
    (2019, 33),
    (2020, 45),
    (2021, 62),
    (2022, 86),
    (2023, 87),
];
/// Closed (processed) by the end of 2023, of the 326 received 2018–2023.
pub const CLOSED_BY_END_2023: usize = 263;
/// Received from January to April 2024.
pub const RECEIVED_JAN_APR_2024: usize = 45;
/// The first day of the requests after the published figures (year, month, day).
pub const RECENT_FROM: (i32, u32, u32) = (2024, 5, 1);
/// From `RECENT_FROM` to the day before the run, the chance that a request arrives on a day
/// (7 or 8 a month; 87 came in 2023).
pub const DAILY_CHANCE: f64 = 0.25;
/// Open requests left past their due day: the newest late one; older late ones have caught
/// up (were closed the day before the run).
pub const LATE_AT_MOST: usize = 1;
/// The fewest days from receipt to closing that a story fits in (up to two days to log it,
/// then at least eight for its steps: see [`walk`]).
const SHORTEST_DAYS: i64 = 10;

const JURISDICTIONS: [(&str, &str); 16] = [
    ("Demo Republic of Aldoria", "AT"),
    ("Demo Kingdom of Belvaria", "BE"),
    ("Demo Confederation of Calderra", "CH"),
    ("Demo Republic of Dunmere", "CZ"),
    ("Demo Federal State of Eastmark", "DE"),
    ("Demo Kingdom of Fjordhavn", "DK"),
    ("Demo Kingdom of Galdoria", "ES"),
    ("Demo Republic of Halvenmaa", "FI"),
    ("Demo Republic of Isembard", "FR"),
    ("Demo Kingdom of Juttland", "NL"),
    ("Demo Kingdom of Kvalfjord", "NO"),
    ("Demo Kingdom of Lindmark", "SE"),
    ("Demo United Provinces of Morvane", "GB"),
    ("Demo Republic of Northwick", "IE"),
    ("Demo Republic of Orsino", "IT"),
    ("Demo Grand Duchy of Pellin", "LU"),
];

pub struct Summary {
    pub jurisdictions: usize,
    pub rfas: usize,
    pub users: Vec<(String, String, String)>,
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    day.and_hms_opt(hour, minute, 0).unwrap_or_default()
}

// A script that reads top to bottom (registry, people, arrivals, stories, reopenings), so
// it stays one function.
pub async fn generate(svc: &Services) -> Result<Summary, AppError> {
    let existing = svc
        .db
        .run(|c| Ok(crate::db::rfas::events_after(c, 0, 1)?.len()))
        .await?;
    if existing > 0 {
        return Err(AppError::Conflict(
            "The database already holds requests; demo data goes only into an empty one.".into(),
        ));
    }
    let admin = svc
        .db
        .run(|c| {
            let admins = crate::db::users::list(c, None, 1)?;
            admins
                .into_iter()
                .next()
                .map(|u| u.id)
                .ok_or_else(|| AppError::internal("no administrator"))
        })
        .await?;
    // The binary writes as the first administrator (and later the demo supervisor).
    let admin = Authenticated::trusted(Principal {
        user_id: admin,
        roles: vec![Role::Admin],
        jurisdictions: vec![],
    });
    let mut rng = StdRng::seed_from_u64(2018);

    // The registry.
    let mut places = Vec::new();
    for (i, (name, code)) in JURISDICTIONS.iter().enumerate() {
        // One retentionist jurisdiction (its requests are declined as ineligible), one that
        // abolished the death penalty in practice only, with a standing assurance.
        let status = match i {
            13 => DeathPenaltyStatus::Retentionist,
            7 => DeathPenaltyStatus::AbolishedInPractice,
            _ => DeathPenaltyStatus::AbolishedAllCrimes,
        };
        let j = registry::create_jurisdiction(
            svc,
            admin.clone().into(),
            registry::CreateJurisdiction {
                name: name.to_string(),
                country_code: code.to_string(),
                death_penalty_status: status,
                competence_bases: vec![registry::CompetenceBasisEntry {
                    basis: CompetenceBasis::UniversalJurisdiction,
                    crimes: vec![
                        Crime::WarCrimes,
                        Crime::CrimesAgainstHumanity,
                        Crime::Genocide,
                        Crime::Torture,
                        Crime::EnforcedDisappearance,
                    ],
                }],
                active: None,
            },
        )
        .await?;
        registry::add_assessment(
            svc,
            admin.clone().into(),
            JurisdictionId::from_stored(j.id.clone()),
            registry::NewAssessment {
                outcome: AssessmentOutcome::Meets,
                assessed_on: NaiveDate::from_ymd_opt(2017, 6, 1).unwrap_or_default(),
                review_due: NaiveDate::from_ymd_opt(2030, 6, 1).unwrap_or_default(),
                assessor: "Demo legal office".into(),
                summary: "Fictitious assessment for demonstration.".into(),
            },
        )
        .await?;
        if status == DeathPenaltyStatus::AbolishedInPractice {
            registry::add_assurance(
                svc,
                admin.clone().into(),
                JurisdictionId::from_stored(j.id.clone()),
                registry::NewAssurance {
                    reference: "DEMO/NV/2017/1".into(),
                    given_on: NaiveDate::from_ymd_opt(2017, 9, 1).unwrap_or_default(),
                    scope: vec![],
                    expires_on: None,
                },
            )
            .await?;
        }
        let mut authorities = Vec::new();
        for (kind, label) in [
            (AuthorityKind::Prosecution, "War Crimes Prosecution Office"),
            (
                AuthorityKind::InvestigatingJudge,
                "Investigating Judge for International Crimes",
            ),
            (AuthorityKind::LawEnforcement, "Police War Crimes Unit"),
        ] {
            let a = registry::create_authority(
                svc,
                admin.clone().into(),
                JurisdictionId::from_stored(j.id.clone()),
                registry::CreateAuthority {
                    name: label.into(),
                    kind,
                    contact_email: Some(format!(
                        "{}@{}.demo.invalid",
                        kind.as_str().replace('_', "-"),
                        code.to_ascii_lowercase()
                    )),
                    active: None,
                },
            )
            .await?;
            authorities.push(a.id);
        }
        places.push((j.id, authorities, status));
    }

    // People.
    let mut users = Vec::new();
    let make = |email: &str, name: &str, roles: Vec<Role>, jurisdictions: Vec<String>| {
        let (email, name) = (email.to_string(), name.to_string());
        let admin = admin.clone();
        async move {
            let u = accounts::create_user(
                svc,
                admin.into(),
                accounts::CreateUser {
                    email,
                    display_name: name,
                    roles,
                    jurisdiction_ids: jurisdictions,
                    password: None,
                    active: None,
                },
            )
            .await?;
            Ok::<_, AppError>(u)
        }
    };
    let supervisor = make(
        "supervisor@demo.rfa-tracker.local",
        "Demo Supervisor",
        vec![Role::Supervisor],
        vec![],
    )
    .await?;
    let liaison = make(
        "liaison@demo.rfa-tracker.local",
        "Demo Liaison Officer",
        vec![Role::LiaisonOfficer],
        places.iter().take(4).map(|p| p.0.clone()).collect(),
    )
    .await?;
    let reporting = make(
        "reporting@demo.rfa-tracker.local",
        "Demo Reporting Officer",
        vec![Role::Reporting],
        vec![],
    )
    .await?;
    for u in [&supervisor, &liaison, &reporting] {
        users.push((
            u.email.clone(),
            u.initial_password.clone().unwrap_or_default(),
            u.roles[0].to_string(),
        ));
    }
    let sup = Principal {
        user_id: supervisor.id.clone(),
        roles: vec![Role::Supervisor],
        jurisdictions: vec![],
    };

    // When each request arrives: sorted, so the earliest 263 of 2018–2023 are those closed by
    // the end of 2023.
    let mut arrivals: Vec<NaiveDateTime> = Vec::new();
    for (year, n) in RECEIVED_PER_YEAR {
        for _ in 0..n {
            let day = NaiveDate::from_yo_opt(year, rng.random_range(1..=365)).unwrap_or_default();
            arrivals.push(at(day, rng.random_range(7..18), rng.random_range(0..60)));
        }
    }
    arrivals.sort();
    let mut early_2024: Vec<NaiveDateTime> = (0..RECEIVED_JAN_APR_2024)
        .map(|_| {
            let day = NaiveDate::from_yo_opt(2024, rng.random_range(1..=120)).unwrap_or_default();
            at(day, rng.random_range(7..18), rng.random_range(0..60))
        })
        .collect();
    early_2024.sort();
    let end_2023 = NaiveDate::from_ymd_opt(2023, 12, 29).unwrap_or_default();
    let end_april = NaiveDate::from_ymd_opt(2024, 4, 29).unwrap_or_default();
    // Demo requests notify nobody.
    let mut ctx: Rules = svc.rules;
    ctx.mail = crate::mail::Kinds::NONE;

    // Everything ends before now; the stories since May 2024 are told as seen from today.
    let now = svc.rules.now();
    let today = now.date();
    // A sequence of its own, so the published years stay as they were.
    let mut later = StdRng::seed_from_u64(2024);
    let recent_from =
        NaiveDate::from_ymd_opt(RECENT_FROM.0, RECENT_FROM.1, RECENT_FROM.2).unwrap_or_default();
    // The backlog (open at the end of April 2024) is taken up from May 2024.
    let mut backlog = || {
        let start = recent_from + Duration::days(later.random_range(0..60));
        let close_by = start + Duration::days(later.random_range(20..=200));
        (close_by < today).then_some((close_by, start))
    };

    let mut plans = Vec::new();
    for (i, received) in arrivals.iter().enumerate() {
        // Every jurisdiction sends at least one request in the first years.
        let place = if i < 16 { i } else { rng.random_range(0..16) };
        // The rest of 2018–2023 is still open on 31 December 2023; half of it is closed by
        // the end of April 2024, the other half later.
        let fate = if i < CLOSED_BY_END_2023 {
            Some((end_2023, None))
        } else if i % 2 == 0 {
            Some((end_april, NaiveDate::from_ymd_opt(2024, 1, 3)))
        } else {
            backlog().map(|(by, start)| (by, Some(start)))
        };
        plans.push(Arrival {
            received: *received,
            place,
            n: i,
            seed: None,
            fate: Fate::Fixed(fate),
        });
    }
    for (k, received) in early_2024.iter().enumerate() {
        let fate = if k % 3 == 0 {
            Some((end_april, None))
        } else {
            backlog().map(|(by, start)| (by, Some(start)))
        };
        plans.push(Arrival {
            received: *received,
            place: rng.random_range(0..16),
            n: arrivals.len() + k,
            seed: None,
            fate: Fate::Fixed(fate),
        });
    }
    let recent = recent_arrivals(recent_from, today);
    let recent_count = recent.len();
    let first = plans.len();
    plans.extend(recent.into_iter().enumerate().map(|(k, mut a)| {
        a.n = first + k;
        a
    }));
    // Every request's intake from its seed (those of the published years drawn in the same
    // order as ever); a later one's target, so its fate, comes with its priority.
    let requests: Vec<NewRfa> = plans
        .iter_mut()
        .map(|p| {
            let seed = *p.seed.get_or_insert_with(|| rng.random());
            let (jurisdiction_id, authorities, _) = &places[p.place];
            demo_request(
                &mut StdRng::seed_from_u64(seed),
                jurisdiction_id,
                authorities,
                p.received,
                p.n,
            )
        })
        .collect();
    let paces: Vec<(NaiveDate, i64, f64)> = plans[first..]
        .iter()
        .zip(&requests[first..])
        .filter_map(|(p, r)| match p.fate {
            Fate::Recent { pace } => Some((
                p.received.date(),
                i64::from(svc.rules.targets.days(r.priority)),
                pace,
            )),
            Fate::Fixed(_) => None,
        })
        .collect();
    let recent_fates = recent_fates(&paces, today);

    let mut closed_2023 = Vec::new();
    let mut closed_recently = Vec::new();
    for (k, (arrival, request)) in plans.into_iter().zip(requests).enumerate() {
        let status = places[arrival.place].2;
        let seed = arrival.seed.unwrap_or_default();
        let (close_by, not_before) = match arrival.fate {
            Fate::Fixed(Some((by, start))) => (Some(by), start),
            Fate::Fixed(None) => (None, None),
            Fate::Recent { .. } => (recent_fates[k - first], None),
        };
        let sup = sup.clone();
        let supervisor_id = UserId::from_stored(supervisor.id.clone());
        let received = arrival.received;
        let id = svc
            .db
            .run(move |c| {
                c.write(|c| {
                    let mut rng = StdRng::seed_from_u64(seed);
                    let plan = Plan {
                        received,
                        close_by,
                        not_before,
                        status,
                        until: now,
                    };
                    walk(c, &ctx, &sup, &supervisor_id, request, plan, &mut rng)
                })
            })
            .await?;
        if let Some((id, closed_on)) = id {
            if closed_on.year() == 2023 {
                closed_2023.push(id);
            } else if k >= first && closed_on + Duration::days(60) < today {
                closed_recently.push((id, closed_on));
            }
        }
    }

    // Reopenings in 2024: three requests closed in 2023 come back; one is closed again by
    // the end of April, the other two in the summer.
    for (k, id) in closed_2023.iter().rev().take(3).enumerate() {
        let reopened_at = at(
            NaiveDate::from_ymd_opt(2024, 2, 5 + k as u32).unwrap_or_default(),
            10,
            0,
        );
        let (again, outcome) = match k {
            0 => (30, ClosingOutcome::PartiallyFulfilled),
            _ => (120 + 30 * k as i64, ClosingOutcome::Fulfilled),
        };
        reopen(svc, &ctx, &sup, id, reopened_at, again, outcome, now).await?;
    }
    // And two of the later ones, closed at least two months ago.
    for (k, (id, closed_on)) in closed_recently.iter().rev().take(2).enumerate() {
        let reopened_at = at(*closed_on + Duration::days(14 + 7 * k as i64), 10, 0);
        reopen(
            svc,
            &ctx,
            &sup,
            id,
            reopened_at,
            21,
            ClosingOutcome::Fulfilled,
            now,
        )
        .await?;
    }
    Ok(Summary {
        jurisdictions: places.len(),
        rfas: arrivals.len() + early_2024.len() + recent_count,
        users,
    })
}

/// Reopens a closed request and closes it again `again` days later, as fulfilled after a
/// follow-up response or as partially fulfilled (unless that would be after `until`: then it
/// stays open).
#[allow(clippy::too_many_arguments)]
async fn reopen(
    svc: &Services,
    ctx: &Rules,
    sup: &Principal,
    id: &str,
    reopened_at: NaiveDateTime,
    again: i64,
    outcome: ClosingOutcome,
    until: NaiveDateTime,
) -> Result<(), AppError> {
    let (ctx, sup, id) = (*ctx, sup.clone(), id.to_string());
    svc.db
        .run(move |c| {
            c.write(|c| {
                let mut chain = Appender::lock(c)?;
                let row = crate::db::rfas::find(c, &id)?
                    .ok_or_else(|| AppError::internal("demo RFA gone"))?;
                let cmd = Command::Reopen {
                    reason: "The requester asked for follow-up material.".into(),
                };
                let row = rfas::apply(c, &ctx, &mut chain, &sup, row, &cmd, reopened_at)?;
                let closed_at = reopened_at + Duration::days(again);
                if closed_at < until {
                    // Fulfilled: the follow-up material was sent first.
                    let (row, reason) = if outcome == ClosingOutcome::Fulfilled {
                        let sent = closed_at - Duration::days(2);
                        let cmd = Command::RecordResponse {
                            kind: ResponseKind::InformationPackage,
                            description: "Demo follow-up package".into(),
                            shared_on: sent.date(),
                            documents: Vec::new(),
                        };
                        let row = rfas::apply(c, &ctx, &mut chain, &sup, row, &cmd, sent)?;
                        (row, "Follow-up answered.")
                    } else {
                        (row, "Follow-up answered in part.")
                    };
                    let cmd = Command::Close {
                        outcome,
                        reason: Some(reason.into()),
                    };
                    rfas::apply(c, &ctx, &mut chain, &sup, row, &cmd, closed_at)?;
                }
                Ok::<_, AppError>(())
            })
        })
        .await
}

/// One request to write: when it arrives, where from, and how its story ends.
struct Arrival {
    received: NaiveDateTime,
    /// Index into the jurisdictions.
    place: usize,
    /// Its number among the demo requests (in its subject and case reference).
    n: usize,
    /// Its own seed (since May 2024), or `None`: the next of the main sequence.
    seed: Option<u64>,
    fate: Fate,
}

#[derive(Clone, Copy)]
enum Fate {
    /// Closed by a day, with nothing done after intake before the second one (a backlog),
    /// or `None`: left open.
    Fixed(Option<(NaiveDate, Option<NaiveDate>)>),
    /// Since May 2024: closed after a share of its target days (`pace`, 0 to 1), as seen
    /// from the day of the run (see [`recent_fates`]).
    Recent { pace: f64 },
}

/// The requests from `from` to the day before `today`: on each day one arrives with
/// [`DAILY_CHANCE`], in office hours (UTC). Every draw is made every day, so a later run
/// writes the same earlier requests.
fn recent_arrivals(from: NaiveDate, today: NaiveDate) -> Vec<Arrival> {
    let mut rng = StdRng::seed_from_u64(2025);
    let mut out = Vec::new();
    for day in from.iter_days().take_while(|d| *d < today) {
        let arrives = rng.random_bool(DAILY_CHANCE);
        let (hour, minute) = (rng.random_range(7..18), rng.random_range(0..60));
        let (place, seed, pace) = (rng.random_range(0..16), rng.random(), rng.random());
        if arrives {
            out.push(Arrival {
                received: at(day, hour, minute),
                place,
                n: 0,
                seed: Some(seed),
                fate: Fate::Recent { pace },
            });
        }
    }
    out
}

/// Of the requests since May 2024 (received on, target days, pace), when each is closed (by
/// that day) or `None`: still open on `today`. Six in seven take three quarters to all of
/// their target days, the others 5 to 60 days more, never under [`SHORTEST_DAYS`]; what is
/// not done by yesterday is open. Of the open ones past their due day, the newest
/// [`LATE_AT_MOST`] stay so and the older ones were closed yesterday (with targets of at
/// least `SHORTEST_DAYS`, as configured by default).
fn recent_fates(requests: &[(NaiveDate, i64, f64)], today: NaiveDate) -> Vec<Option<NaiveDate>> {
    const SLOW: f64 = 1.0 / 7.0;
    let yesterday = today - Duration::days(1);
    let mut late = 0;
    let mut fates = vec![None; requests.len()];
    for (k, &(received_on, target, pace)) in requests.iter().enumerate().rev() {
        let takes = if pace < SLOW {
            target + 5 + (55.0 * pace / SLOW) as i64
        } else {
            let least = target * 3 / 4;
            least + ((target - least) as f64 * (pace - SLOW) / (1.0 - SLOW)) as i64
        };
        let done = received_on + Duration::days(takes.max(SHORTEST_DAYS));
        let past_due = received_on + Duration::days(target) < today;
        let can_catch_up = received_on + Duration::days(SHORTEST_DAYS) <= yesterday;
        fates[k] = if done <= yesterday {
            Some(done)
        } else if past_due && late >= LATE_AT_MOST && can_catch_up {
            Some(yesterday)
        } else {
            late += usize::from(past_due);
            None
        };
    }
    fates
}

fn demo_request(
    rng: &mut StdRng,
    jurisdiction_id: &str,
    authorities: &[String],
    received: NaiveDateTime,
    n: usize,
) -> NewRfa {
    let topics = [
        "Detention facility records",
        "Chain of command analysis",
        "Witness identification support",
        "Documentary evidence on a named unit",
        "Open-source material on an attack",
        "Missing persons records",
    ];
    let types = AssistanceType::ALL;
    let first = types[rng.random_range(0..types.len())];
    let mut assistance_types = vec![first];
    if rng.random_bool(0.3) && first != AssistanceType::AnalyticalProduct {
        assistance_types.push(AssistanceType::AnalyticalProduct);
    }
    let conduct_year = rng.random_range(2012..=2017);
    NewRfa {
        jurisdiction_id: JurisdictionId::from_stored(jurisdiction_id.to_string()),
        authority_id: AuthorityId::from_stored(
            authorities[rng.random_range(0..authorities.len())].clone(),
        ),
        received_at: Utc.from_utc_datetime(&received),
        channel: [Channel::Email, Channel::Diplomatic, Channel::Portal][rng.random_range(0..3)],
        subject: format!(
            "{} (demo {})",
            topics[rng.random_range(0..topics.len())],
            n + 1
        ),
        description: "Fictitious request generated for demonstration.".into(),
        requester: Requester {
            name: format!("Demo Requester {}", n + 1),
            email: Some(format!("requester{}@demo.invalid", n + 1)),
        },
        assistance_types,
        proceeding_type: [
            ProceedingType::Investigation,
            ProceedingType::Prosecution,
            ProceedingType::Trial,
        ][rng.random_range(0..3)],
        crimes: vec![Crime::CrimesAgainstHumanity, Crime::Torture],
        conduct: Conduct {
            country_code: "SY".into(),
            from: NaiveDate::from_ymd_opt(conduct_year, 3, 1).unwrap_or_default(),
            to: NaiveDate::from_ymd_opt(conduct_year + 1, 2, 28),
        },
        national_case_reference: Some(format!("DEMO-{}-{}", received.year(), n + 1)),
        priority: [
            Priority::Routine,
            Priority::Routine,
            Priority::High,
            Priority::Urgent,
        ][rng.random_range(0..4)],
        confidentiality: Confidentiality::Confidential,
        tags: if rng.random_bool(0.2) {
            vec!["gender".into()]
        } else {
            vec![]
        },
    }
}

/// One request's clock while its story is written.
struct Story<'a> {
    id: String,
    clock: NaiveDateTime,
    jitter: Vec<i64>,
    ctx: &'a Rules,
    sup: &'a Principal,
}

impl Story<'_> {
    /// Whether steps `days` ahead (with their minutes) still come before `until`.
    fn fits(&self, days: i64, until: NaiveDateTime) -> bool {
        self.clock + Duration::days(days) + Duration::minutes(2 * 600) < until
    }

    /// Takes an action `days` (and some minutes) after the previous one.
    fn step(
        &mut self,
        c: &mut crate::db::DbConnection,
        chain: &mut Appender,
        cmd: Command,
        days: i64,
    ) -> Result<NaiveDateTime, AppError> {
        let minutes = self.jitter.pop().unwrap_or(30);
        self.clock += Duration::days(days) + Duration::minutes(minutes);
        let row = crate::db::rfas::find(c, &self.id)?
            .ok_or_else(|| AppError::internal("demo RFA gone"))?;
        rfas::apply(
            c,
            self.ctx,
            chain,
            self.sup,
            row,
            &cmd.checked()?,
            self.clock,
        )?;
        Ok(self.clock)
    }
}

/// Where one request's story goes.
struct Plan {
    received: NaiveDateTime,
    /// Closed by this day, or left open.
    close_by: Option<NaiveDate>,
    /// Nothing happens after intake before this day (a backlog).
    not_before: Option<NaiveDate>,
    status: DeathPenaltyStatus,
    /// Nothing happens after this moment (the run's now).
    until: NaiveDateTime,
}

/// Logs one request and takes it as far as its plan says, each step later than the last
/// (one story, told in order).
fn walk(
    c: &mut crate::db::DbConnection,
    ctx: &Rules,
    sup: &Principal,
    supervisor_id: &UserId,
    request: NewRfa,
    plan: Plan,
    rng: &mut StdRng,
) -> Result<Option<(String, NaiveDate)>, AppError> {
    let logged = (plan.received + Duration::hours(rng.random_range(1..48))).min(plan.until);
    let created = rfas::intake_in(c, ctx, sup, request, None, String::new(), Some(logged))?;
    let id = created.view.id;
    let mut chain = Appender::lock(c)?;
    let clock = match plan.not_before {
        Some(day) => logged.max(at(day, 8, 0)),
        None => logged,
    };
    let (close_by, status) = (plan.close_by, plan.status);
    // Random choices first, then the steps.
    let stage = rng.random_range(0..4);
    let roll: f64 = rng.random();
    let pause = rng.random_bool(0.3);
    let total: i64 = rng.random_range(20..=240);
    let jitter: Vec<i64> = (0..12).map(|_| rng.random_range(1..600)).collect();
    let mut s = Story {
        id: id.clone(),
        clock,
        jitter,
        ctx,
        sup,
    };
    // Open requests at the end of their story stop at some stage on the way: past triage once
    // they are two weeks old (an ineligible one waits under review for its decline), and never
    // later than now.
    let Some(limit) = close_by else {
        let stage = if status == DeathPenaltyStatus::Retentionist {
            stage.min(1)
        } else if (plan.until - s.clock).num_days() > 14 {
            stage.max(2)
        } else {
            stage
        };
        if stage >= 1 && s.fits(2, plan.until) {
            s.step(c, &mut chain, Command::StartReview, 2)?;
        } else {
            return Ok(None);
        }
        if stage >= 2 && s.fits(3, plan.until) {
            s.step(
                c,
                &mut chain,
                Command::Assign {
                    assignee: supervisor_id.clone(),
                },
                1,
            )?;
            s.step(c, &mut chain, Command::Accept, 2)?;
        } else {
            return Ok(None);
        }
        if stage >= 3 && s.fits(5, plan.until) {
            s.step(
                c,
                &mut chain,
                Command::RequestInformation {
                    message: "Please confirm the scope.".into(),
                },
                5,
            )?;
        }
        return Ok(None);
    };
    // How long it takes, kept before the deadline of its plan.
    let budget = ((limit - s.clock.date()).num_days() - 4).max(4);
    let unit = (total.min(budget) / 4).max(1);
    s.step(c, &mut chain, Command::StartReview, 1)?;
    let closed = if status == DeathPenaltyStatus::Retentionist {
        s.step(
            c,
            &mut chain,
            Command::Decline {
                outcome: ClosingOutcome::DeclinedIneligible,
                reason: "The death penalty could be applied.".into(),
            },
            unit,
        )?
    } else if roll < 0.06 {
        s.step(
            c,
            &mut chain,
            Command::Decline {
                outcome: ClosingOutcome::DeclinedOther,
                reason: "No relevant holdings.".into(),
            },
            unit,
        )?
    } else {
        s.step(
            c,
            &mut chain,
            Command::Assign {
                assignee: supervisor_id.clone(),
            },
            0,
        )?;
        s.step(c, &mut chain, Command::Accept, 1)?;
        if roll < 0.12 {
            s.step(
                c,
                &mut chain,
                Command::Withdraw {
                    reason: "The case was discontinued.".into(),
                },
                unit,
            )?
        } else {
            if pause {
                s.step(
                    c,
                    &mut chain,
                    Command::RequestInformation {
                        message: "Please send the indictment.".into(),
                    },
                    unit / 2,
                )?;
                s.step(c, &mut chain, Command::Resume, unit / 2)?;
            }
            let shared_on = s.clock.date() + Duration::days(unit);
            s.step(
                c,
                &mut chain,
                Command::RecordResponse {
                    kind: ResponseKind::InformationPackage,
                    description: "Demo package".into(),
                    shared_on,
                    documents: Vec::new(),
                },
                unit,
            )?;
            let outcome = if roll < 0.75 {
                ClosingOutcome::Fulfilled
            } else {
                ClosingOutcome::PartiallyFulfilled
            };
            s.step(
                c,
                &mut chain,
                Command::Close {
                    outcome,
                    reason: None,
                },
                1,
            )?
        }
    };
    Ok(Some((id, ctx.day_of(closed))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Every day of a run over three years: what is closed is closed in its time and before
    /// the run, and few of the open requests are past their due day.
    #[test]
    fn later_requests_are_mostly_done_in_time_and_never_after_the_run() {
        let from = day("2024-05-01");
        let all = recent_arrivals(from, day("2028-01-01"));
        let targets = [10, 30, 90, 90];
        let requests: Vec<(NaiveDate, i64, f64)> = all
            .iter()
            .enumerate()
            .map(|(k, a)| match a.fate {
                Fate::Recent { pace } => (a.received.date(), targets[k % 4], pace),
                Fate::Fixed(_) => unreachable!(),
            })
            .collect();
        let mut fewest_open = usize::MAX;
        for today in day("2024-07-01")
            .iter_days()
            .take_while(|d| *d < day("2028-01-01"))
        {
            let seen = recent_arrivals(from, today);
            let mine = &requests[..seen.len()];
            // The same requests whatever day it runs, and none on or after it.
            assert!(seen.iter().zip(&all).all(|(a, b)| a.received == b.received));
            assert!(seen.iter().all(|a| a.received.date() < today));
            let fates = recent_fates(mine, today);
            let mut open = 0;
            let mut late = 0;
            for (&(received_on, target, _), fate) in mine.iter().zip(&fates) {
                match fate {
                    Some(done) => {
                        assert!(*done < today, "{today}: closed by {done}");
                        assert!(*done >= received_on + Duration::days(SHORTEST_DAYS));
                    }
                    None => {
                        open += 1;
                        late += usize::from(received_on + Duration::days(target) < today);
                    }
                }
            }
            assert!(
                late <= LATE_AT_MOST,
                "{today}: {late} of {open} open are late"
            );
            let fresh = mine
                .iter()
                .zip(&fates)
                .filter(|((received_on, ..), fate)| {
                    fate.is_none() && *received_on + Duration::days(42) > today
                })
                .count();
            assert!(fresh >= 2, "{today}: {fresh} open from the last six weeks");
            fewest_open = fewest_open.min(open);
        }
        // Some work is always open.
        assert!(fewest_open >= 5, "{fewest_open}");
        // About the 2023 rate (87 a year).
        let per_year = all.len() as f64 / (day("2028-01-01") - from).num_days() as f64 * 365.0;
        assert!((80.0..=110.0).contains(&per_year), "{per_year}");
    }
}
