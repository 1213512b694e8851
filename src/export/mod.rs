//! The figures as files: CSV, XLSX, and charts as SVG and PNG (`chart`), made from the
//! service's read models (`service::reports`). No HTTP here either: the API, the screens and
//! the command line all write them.

pub mod chart;

use crate::error::AppError;
use crate::service::reports::tables::{Figure, about, shown, tables};
use crate::service::reports::{Report, rows};

/// How a report is laid out in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The tables of the figures page, one after another (CSV) or one per sheet (XLSX).
    #[default]
    Tables,
    /// One row per figure, `section, key, figure, value`: the machine format scripts read.
    Long,
}

impl Layout {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tables" => Some(Layout::Tables),
            "long" => Some(Layout::Long),
            _ => None,
        }
    }
}

fn csv_failed(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("csv: {e}"))
}

/// A figure as a CSV cell: the number, or nothing where there is nothing to measure.
fn number_cell(f: Figure) -> String {
    f.map(|x| shown(Some(x))).unwrap_or_default()
}

/// The report as CSV. `extra` adds facts to the "About" block (a snapshot's label and
/// digest).
pub fn to_csv(
    report: &Report,
    layout: Layout,
    extra: &[(&'static str, String)],
) -> Result<Vec<u8>, AppError> {
    if layout == Layout::Long {
        let rows: Vec<Vec<String>> = rows(&report.figures).into_iter().map(Vec::from).collect();
        return table_csv(&["section", "key", "figure", "value"], &rows);
    }
    // A UTF-8 byte-order mark first: spreadsheet programs then read names in every script
    // (Arabic, Cyrillic, diacritics) as UTF-8 when the file is opened by a double click.
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer("\u{feff}".as_bytes().to_vec());
    let mut put = |record: Vec<String>| {
        w.write_record(record.iter().map(|c| cell(c).into_owned()))
            .map_err(csv_failed)
    };
    put(vec!["About".into()])?;
    for (k, v) in about(report).into_iter().chain(extra.iter().cloned()) {
        put(vec![k.into(), v])?;
    }
    for t in tables(report) {
        put(vec![])?;
        put(vec![t.title.into()])?;
        put(t.columns.iter().map(|c| c.to_string()).collect())?;
        for r in t.rows.iter().chain(t.total.iter()) {
            let mut record = vec![r.label.clone()];
            record.extend(r.values.iter().map(|v| number_cell(*v)));
            put(record)?;
        }
        if let Some(note) = t.note {
            put(vec![note.into()])?;
        }
    }
    w.into_inner().map_err(csv_failed)
}

/// A CSV of a table: a header row, then the rows, each cell neutralised (`cell`).
pub fn table_csv(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(csv_failed)?;
    for r in rows {
        w.write_record(r.iter().map(|c| cell(c).into_owned()))
            .map_err(csv_failed)?;
    }
    w.into_inner().map_err(csv_failed)
}

/// A cell a spreadsheet would read as a formula (it starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return) is written with a leading apostrophe, so that it stays text.
/// Numbers keep their sign: `-3` is a number, not a formula.
pub fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && value.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// The report as a workbook: the sheet "About", then one sheet per table with a bold header
/// row, numbers as numbers, a bold totals row and columns wide enough to read.
pub fn to_xlsx(
    report: &Report,
    layout: Layout,
    extra: &[(&'static str, String)],
) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let about_sheet = book.add_worksheet();
    about_sheet.set_name("About").map_err(fail)?;
    for (i, (k, v)) in about(report)
        .into_iter()
        .chain(extra.iter().cloned())
        .enumerate()
    {
        about_sheet
            .write_string_with_format(i as u32, 0, k, &bold)
            .map_err(fail)?;
        about_sheet
            .write_string_with_format(i as u32, 1, &v, &wrap)
            .map_err(fail)?;
    }
    about_sheet.set_column_width(0, 18).map_err(fail)?;
    about_sheet.set_column_width(1, 90).map_err(fail)?;
    let tables = match layout {
        Layout::Tables => tables(report),
        Layout::Long => vec![],
    };
    for t in &tables {
        let sheet = book.add_worksheet();
        sheet.set_name(t.sheet).map_err(fail)?;
        for (col, h) in t.columns.iter().enumerate() {
            sheet
                .write_string_with_format(0, col as u16, *h, &bold)
                .map_err(fail)?;
        }
        let mut widest = t.columns[0].chars().count();
        let mut row = 1u32;
        for (r, is_total) in t
            .rows
            .iter()
            .map(|r| (r, false))
            .chain(t.total.iter().map(|r| (r, true)))
        {
            widest = widest.max(r.label.chars().count());
            if is_total {
                sheet.write_string_with_format(row, 0, &r.label, &bold)
            } else {
                sheet.write_string(row, 0, &r.label)
            }
            .map_err(fail)?;
            for (i, v) in r.values.iter().enumerate() {
                let col = i as u16 + 1;
                match (v, is_total) {
                    (Some(x), true) => sheet.write_number_with_format(row, col, *x, &bold),
                    (Some(x), false) => sheet.write_number(row, col, *x),
                    (None, _) => sheet.write_blank(row, col, &Format::new()),
                }
                .map_err(fail)?;
            }
            row += 1;
        }
        if let Some(note) = t.note {
            sheet.write_string(row + 1, 0, note).map_err(fail)?;
        }
        sheet
            .set_column_width(0, (widest as f64 + 2.0).min(60.0))
            .map_err(fail)?;
        for (i, h) in t.columns.iter().enumerate().skip(1) {
            sheet
                .set_column_width(i as u16, (h.chars().count() as f64 + 2.0).max(10.0))
                .map_err(fail)?;
        }
    }
    if layout == Layout::Long {
        let sheet = book.add_worksheet();
        sheet.set_name("Figures").map_err(fail)?;
        for (col, h) in ["section", "key", "figure", "value"].iter().enumerate() {
            sheet
                .write_string_with_format(0, col as u16, *h, &bold)
                .map_err(fail)?;
        }
        for (i, r) in rows(&report.figures).iter().enumerate() {
            let row = (i + 1) as u32;
            for (col, cell) in r.iter().enumerate().take(3) {
                sheet.write_string(row, col as u16, cell).map_err(fail)?;
            }
            match r[3].parse::<f64>() {
                Ok(n) => sheet.write_number(row, 3, n).map_err(fail)?,
                Err(_) => sheet.write_string(row, 3, &r[3]).map_err(fail)?,
            };
        }
        sheet.set_column_width(0, 20).map_err(fail)?;
        sheet.set_column_width(1, 36).map_err(fail)?;
        sheet.set_column_width(2, 18).map_err(fail)?;
    }
    book.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formulas_stay_text_and_numbers_stay_numbers() {
        for risky in [
            "=1+1",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(cell(risky), format!("'{risky}"));
        }
        for plain in ["Detention records", "-3", "+4.5", "", "RFA-2026-00001"] {
            assert_eq!(cell(plain), plain);
        }
    }
}
