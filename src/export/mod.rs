//! The figures as files: CSV, XLSX and an SVG chart, made from the service's read models
//! (`service::reports`). No HTTP here either: the API and the command line both write them.

use crate::error::AppError;
use crate::service::reports::{Report, rows};

pub fn to_csv(report: &Report) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::internal(format!("csv: {e}"));
    w.write_record(["section", "key", "figure", "value"])
        .map_err(fail)?;
    for r in rows(&report.figures) {
        w.write_record(r.iter().map(|c| cell(c).into_owned()))
            .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| AppError::internal(format!("csv: {e}")))
}

/// A CSV of a table: a header row, then the rows, each cell neutralised (`cell`).
pub fn table_csv(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::internal(format!("csv: {e}"));
    w.write_record(header).map_err(fail)?;
    for r in rows {
        w.write_record(r.iter().map(|c| cell(c).into_owned()))
            .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| AppError::internal(format!("csv: {e}")))
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

pub fn to_xlsx(report: &Report) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
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
    let about = book.add_worksheet();
    about.set_name("About").map_err(fail)?;
    let facts = [
        ("report", report.report.kind().to_string()),
        ("from", report.from.to_string()),
        ("to", report.to.to_string()),
        ("time_zone", report.time_zone.clone()),
        ("as_of", report.as_of.to_rfc3339()),
        ("covered_seq", report.covered_seq.to_string()),
    ];
    for (i, (k, v)) in facts.iter().enumerate() {
        about
            .write_string_with_format(i as u32, 0, *k, &bold)
            .map_err(fail)?;
        about.write_string(i as u32, 1, v).map_err(fail)?;
    }
    book.save_to_buffer().map_err(fail)
}

/// An SVG bar chart of received against processed per year.
pub fn chart(years: &[(i32, i64, i64)]) -> Result<String, AppError> {
    use plotters::prelude::*;
    let fail = |e: String| AppError::internal(format!("chart: {e}"));
    let mut svg = String::new();
    {
        let width = 120 + 70 * years.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (width.max(480), 400)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        let top = years
            .iter()
            .map(|(_, r, p)| (*r).max(*p))
            .max()
            .unwrap_or(0)
            .max(1);
        let first = years.first().map(|y| y.0).unwrap_or(2000);
        let last = years.last().map(|y| y.0).unwrap_or(first);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Requests for assistance received and processed per year",
                ("sans-serif", 18),
            )
            .margin(16)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d((first * 2 - 1)..(last * 2 + 2), 0i64..(top + top / 10 + 1))
            .map_err(|e| fail(e.to_string()))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(years.len().max(1) * 2 + 2)
            .x_label_formatter(&|x| {
                if x % 2 == 0 {
                    "".into()
                } else {
                    ((x + 1) / 2).to_string()
                }
            })
            .y_desc("requests")
            .draw()
            .map_err(|e| fail(e.to_string()))?;
        let received = RGBColor(31, 94, 164);
        let processed = RGBColor(230, 140, 30);
        chart
            .draw_series(
                years.iter().map(|(y, r, _)| {
                    Rectangle::new([(y * 2 - 1, 0), (y * 2, *r)], received.filled())
                }),
            )
            .map_err(|e| fail(e.to_string()))?
            .label("received")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], received.filled()));
        chart
            .draw_series(
                years.iter().map(|(y, _, p)| {
                    Rectangle::new([(y * 2, 0), (y * 2 + 1, *p)], processed.filled())
                }),
            )
            .map_err(|e| fail(e.to_string()))?
            .label("processed")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 10, y + 5)], processed.filled())
            });
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| fail(e.to_string()))?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(svg)
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
