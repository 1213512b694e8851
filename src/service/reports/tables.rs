//! A report as the tables a publication prints: plain labels in the first column, figures in
//! the others, a totals row where the rows add up. The figures page, the CSV and the XLSX
//! export are all drawn from these, so they cannot disagree.

use std::collections::BTreeMap;

use super::{AnyFigures, DayStats, Report};
use crate::domain::lifecycle::{ClosingOutcome, Priority};
use crate::domain::registry::AuthorityKind;
use crate::domain::words::{outcome, plain};

/// A figure: a count, or a statistic with a decimal; `None` where there is nothing to
/// measure (no closings, no median).
pub type Figure = Option<f64>;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub label: String,
    pub values: Vec<Figure>,
    /// What the row stands for where a reader may open it: a jurisdiction's id.
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// A short name for a sheet or an anchor: `jurisdictions`.
    pub key: &'static str,
    pub title: &'static str,
    /// The XLSX sheet's name (at most 31 characters).
    pub sheet: &'static str,
    /// The label column first, then one per figure.
    pub columns: Vec<&'static str>,
    pub rows: Vec<Row>,
    pub total: Option<Row>,
    /// What a reader needs to know to read the table right.
    pub note: Option<&'static str>,
}

/// A figure as the tables print it: `87`, `12.5`, or `–` for nothing to measure.
pub fn shown(f: Figure) -> String {
    match f {
        None => "–".into(),
        Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
    }
}

fn count(n: i64) -> Figure {
    Some(n as f64)
}

const NOT_RECORDED: &str = "Not recorded";

fn outcome_label(wire: &str) -> String {
    ClosingOutcome::parse(wire)
        .map(|o| plain(outcome(o)))
        .unwrap_or_else(|| NOT_RECORDED.into())
}

fn priority_label(wire: &str) -> String {
    Priority::parse(wire)
        .map(|p| plain(p.as_str()))
        .unwrap_or_else(|| NOT_RECORDED.into())
}

fn authority_label(wire: &str) -> String {
    AuthorityKind::parse(wire)
        .map(|k| plain(k.describe()))
        .unwrap_or_else(|| NOT_RECORDED.into())
}

fn vocabulary_label(wire: &str) -> String {
    if wire.is_empty() {
        NOT_RECORDED.into()
    } else {
        plain(wire)
    }
}

/// A one-figure breakdown, its rows in the order of the vocabulary given (the order people
/// know: urgent before routine), anything else after, by label.
struct Breakdown<'a> {
    key: &'static str,
    title: &'static str,
    sheet: &'static str,
    heading: &'static str,
    figure: &'static str,
    label: fn(&str) -> String,
    order: &'a [&'a str],
    /// Whether the rows add up (each request counts once).
    total: bool,
    note: Option<&'static str>,
}

fn breakdown(b: Breakdown<'_>, counts: &BTreeMap<String, i64>) -> Table {
    let Breakdown {
        key,
        title,
        sheet,
        heading,
        figure,
        label,
        order,
        total,
        note,
    } = b;
    let rank = |k: &str| order.iter().position(|o| *o == k).unwrap_or(order.len());
    let mut entries: Vec<(&String, &i64)> = counts.iter().filter(|(_, n)| **n != 0).collect();
    entries.sort_by(|a, b| {
        rank(a.0)
            .cmp(&rank(b.0))
            .then_with(|| label(a.0).cmp(&label(b.0)))
    });
    let rows = entries
        .into_iter()
        .map(|(k, n)| Row {
            label: label(k),
            values: vec![count(*n)],
            key: None,
        })
        .collect();
    Table {
        key,
        title,
        sheet,
        columns: vec![heading, figure],
        rows,
        total: total.then(|| Row {
            label: "Total".into(),
            values: vec![count(counts.values().sum())],
            key: None,
        }),
        note,
    }
}

fn stats_row(label: &str, s: &DayStats) -> Row {
    Row {
        label: label.into(),
        values: vec![s.median, s.mean, s.p90],
        key: None,
    }
}

/// Every table of a report, in the order the page shows them.
pub fn tables(report: &Report) -> Vec<Table> {
    let f = match &report.figures {
        AnyFigures::Cumulative(c) => {
            return vec![Table {
                key: "totals",
                title: "Totals",
                sheet: "Totals",
                columns: vec!["Figure", "Requests"],
                rows: vec![
                    Row {
                        label: "Received".into(),
                        values: vec![count(c.received)],
                        key: None,
                    },
                    Row {
                        label: "Processed".into(),
                        values: vec![count(c.processed)],
                        key: None,
                    },
                    Row {
                        label: "Jurisdictions that sent requests".into(),
                        values: vec![count(c.jurisdictions_with_requests)],
                        key: None,
                    },
                ],
                total: None,
                note: None,
            }];
        }
        AnyFigures::Period(f) => f,
    };
    let jurisdictions = Table {
        key: "jurisdictions",
        title: "By jurisdiction",
        sheet: "By jurisdiction",
        columns: vec![
            "Jurisdiction",
            "Pending at start",
            "Received",
            "Reopened",
            "Processed",
            "Pending at end",
        ],
        rows: f
            .by_jurisdiction
            .iter()
            .map(|j| Row {
                label: j.name.clone(),
                values: [
                    j.pending_start,
                    j.received,
                    j.reopened,
                    j.processed,
                    j.pending_end,
                ]
                .into_iter()
                .map(count)
                .collect(),
                key: Some(j.jurisdiction_id.clone()),
            })
            .collect(),
        total: Some(Row {
            label: "Total".into(),
            values: [
                f.pending_start,
                f.received,
                f.reopened,
                f.processed,
                f.pending_end,
            ]
            .into_iter()
            .map(count)
            .collect(),
            key: None,
        }),
        note: None,
    };
    let totals = Table {
        key: "totals",
        title: "Totals",
        sheet: "Totals",
        columns: vec!["Figure", "Requests"],
        rows: [
            ("Pending at the start of the period", f.pending_start),
            ("Received", f.received),
            ("Reopened", f.reopened),
            ("Processed", f.processed),
            ("Pending at the end of the period", f.pending_end),
            (
                "Jurisdictions that sent requests",
                f.jurisdictions_with_requests,
            ),
        ]
        .into_iter()
        .map(|(label, n)| Row {
            label: label.into(),
            values: vec![count(n)],
            key: None,
        })
        .collect(),
        total: None,
        note: None,
    };
    let outcomes: Vec<&str> = ClosingOutcome::ALL.iter().map(|o| o.as_str()).collect();
    let priorities: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).collect();
    let several = Some(
        "A request can count in more than one row, so the rows add up to more than the requests received.",
    );
    let days = &f.processing_days;
    vec![
        totals,
        jurisdictions,
        breakdown(
            Breakdown {
                key: "outcomes",
                sheet: "By outcome",
                title: "Processed, by outcome",
                heading: "Outcome",
                figure: "Processed",
                label: outcome_label,
                order: &outcomes,
                total: true,
                note: None,
            },
            &f.by_outcome,
        ),
        breakdown(
            Breakdown {
                key: "assistance",
                sheet: "By assistance type",
                title: "Received, by type of assistance asked",
                heading: "Type of assistance",
                figure: "Received",
                label: vocabulary_label,
                order: &[],
                total: false,
                note: several,
            },
            &f.by_assistance_type,
        ),
        breakdown(
            Breakdown {
                key: "priority",
                sheet: "By priority",
                title: "Received, by priority",
                heading: "Priority",
                figure: "Received",
                label: priority_label,
                order: &priorities,
                total: true,
                note: None,
            },
            &f.by_priority,
        ),
        breakdown(
            Breakdown {
                key: "crimes",
                sheet: "By crime",
                title: "Received, by crime alleged",
                heading: "Crime",
                figure: "Received",
                label: vocabulary_label,
                order: &[],
                total: false,
                note: several,
            },
            &f.by_crime,
        ),
        breakdown(
            Breakdown {
                key: "proceedings",
                sheet: "By proceedings",
                title: "Received, by type of proceedings",
                heading: "Proceedings",
                figure: "Received",
                label: vocabulary_label,
                order: &[],
                total: true,
                note: None,
            },
            &f.by_proceeding_type,
        ),
        breakdown(
            Breakdown {
                key: "channels",
                sheet: "By channel",
                title: "Received, by channel",
                heading: "Channel",
                figure: "Received",
                label: vocabulary_label,
                order: &[],
                total: true,
                note: None,
            },
            &f.by_channel,
        ),
        breakdown(
            Breakdown {
                key: "authorities",
                sheet: "By authority kind",
                title: "Received, by kind of requesting authority",
                heading: "Authority",
                figure: "Received",
                label: authority_label,
                order: &[],
                total: true,
                note: None,
            },
            &f.by_authority_kind,
        ),
        Table {
            key: "days",
            title: "Processing time in days",
            sheet: "Processing days",
            columns: vec!["Measured", "Median", "Mean", "90th percentile"],
            rows: vec![
                stats_row("Including time awaiting the requester", &days.with_paused),
                stats_row(
                    "Excluding time awaiting the requester",
                    &days.without_paused,
                ),
            ],
            total: None,
            note: Some(
                "Calendar days from the day of receipt to the day of closing, over the requests processed in the period.",
            ),
        },
    ]
}

/// The facts that say what a report is, for the top of the page, the CSV and the XLSX
/// sheet "About".
pub fn about(report: &Report) -> Vec<(&'static str, String)> {
    let day = |d: chrono::NaiveDate| d.format("%-d %B %Y").to_string();
    let period = match (report.report, report.from) {
        (super::ReportSpec::Cumulative { .. }, Some(from)) => format!(
            "From the first day of receipt recorded, {}, to {}",
            day(from),
            day(report.to)
        ),
        (super::ReportSpec::Cumulative { .. }, None) => {
            format!("Every year through {}", day(report.to))
        }
        (_, from) => format!("{} to {}", day(from.unwrap_or(report.to)), day(report.to)),
    };
    let mut facts = vec![
        ("Report", format!("Figures for {}", report.report.title())),
        ("Period", period),
        ("Time zone", report.time_zone.clone()),
        (
            "As of",
            report.as_of.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        ("Events covered", format!("1 to {}", report.covered_seq)),
    ];
    if let AnyFigures::Period(f) = &report.figures {
        facts.push(("Identity", identity_words(f.identity_holds)));
    }
    facts
}

/// The identity check in words.
pub fn identity_words(holds: bool) -> String {
    if holds {
        "Checked: pending at start + received + reopened − processed = pending at end, overall and for every jurisdiction.".into()
    } else {
        "Does not hold: pending at start + received + reopened − processed differs from pending at end. Do not publish these figures; report it.".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_print_as_people_write_them() {
        assert_eq!(shown(Some(87.0)), "87");
        assert_eq!(shown(Some(12.5)), "12.5");
        assert_eq!(shown(None), "–");
        assert_eq!(
            outcome_label("declined_ineligible"),
            "Declined as not eligible"
        );
        assert_eq!(
            authority_label("law_enforcement"),
            "Law-enforcement authority"
        );
        assert_eq!(vocabulary_label(""), "Not recorded");
    }

    #[test]
    fn breakdowns_keep_the_vocabulary_order_and_add_up() {
        let counts: BTreeMap<String, i64> =
            [("routine".to_string(), 5), ("urgent".to_string(), 2)].into();
        let order = ["urgent", "high", "routine"];
        let t = breakdown(
            Breakdown {
                key: "p",
                sheet: "P",
                title: "P",
                heading: "Priority",
                figure: "Received",
                label: priority_label,
                order: &order,
                total: true,
                note: None,
            },
            &counts,
        );
        let labels: Vec<&str> = t.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["Urgent", "Routine"]);
        assert_eq!(t.total.unwrap().values, vec![Some(7.0)]);
    }
}
