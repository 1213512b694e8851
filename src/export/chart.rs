//! Bar charts for the annual report, as SVG we write ourselves (every label where a reader
//! expects it, the value on each bar, a title and axis titles) and as PNG rendered from the
//! same SVG. The two series differ in fill pattern as well as colour, so the chart reads in
//! greyscale and for colour-blind readers.

use std::fmt::Write;

use crate::error::AppError;

/// A vertical bar chart: one group of bars per category, one bar per series.
pub struct Bars {
    pub title: String,
    pub x_title: String,
    pub y_title: String,
    pub series: Vec<&'static str>,
    /// (category label, one value per series)
    pub groups: Vec<(String, Vec<i64>)>,
    /// Bars across, one row per category, for long labels (jurisdictions' names).
    pub horizontal: bool,
}

/// About how wide a text is at a font size (DejaVu Sans averages a little over half an em).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.58
}

const FONT: &str = "DejaVu Sans, Arial, Helvetica, sans-serif";
/// Dark solid blue, then light orange with dark diagonal hatching: distinct in luminance and
/// in pattern.
const FILLS: [&str; 2] = ["#1d4f91", "url(#hatch)"];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round step for the value axis: 1, 2 or 5 times a power of ten, about five lines.
fn step_for(top: i64) -> i64 {
    let rough = (top.max(1) as f64 / 5.0).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(rough);
    step as i64
}

impl Bars {
    pub fn svg(&self) -> String {
        if self.horizontal {
            return self.svg_across();
        }
        let n = self.groups.len().max(1);
        let bar = 26.0;
        let gap = 24.0;
        let group_w = bar * self.series.len() as f64 + gap;
        let (left, right, top_m, bottom) = (72.0, 24.0, 86.0, 64.0);
        let plot_w = group_w * n as f64;
        let width = (left + plot_w + right)
            .max(520.0)
            .max(text_width(&self.title, 17.0) + 40.0);
        let plot_h = 280.0;
        let height = top_m + plot_h + bottom;
        let max = self
            .groups
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .max()
            .unwrap_or(0);
        let step = step_for(max);
        let axis_top = ((max + step - 1) / step).max(1) * step;
        let y = |v: i64| top_m + plot_h - plot_h * v as f64 / axis_top as f64;
        let mut s = self.head(width, height, left);
        // Value axis: grid lines and their figures.
        let mut v = 0;
        while v <= axis_top {
            let yy = y(v);
            let _ = write!(
                s,
                r##"<line x1="{left:.0}" y1="{yy:.1}" x2="{:.0}" y2="{yy:.1}" stroke="#d0d0d0"/><text x="{:.0}" y="{:.1}" text-anchor="end" font-size="12" fill="#0b0c0c">{v}</text>"##,
                left + plot_w,
                left - 8.0,
                yy + 4.0
            );
            v += step;
        }
        let _ = write!(
            s,
            r##"<text transform="translate(20 {:.0}) rotate(-90)" text-anchor="middle" font-size="13" fill="#0b0c0c">{}</text>"##,
            top_m + plot_h / 2.0,
            escape(&self.y_title)
        );
        // Bars, each with its value above it, and the category under its group.
        for (g, (label, values)) in self.groups.iter().enumerate() {
            let gx = left + gap / 2.0 + group_w * g as f64;
            for (i, value) in values.iter().enumerate() {
                let x = gx + bar * i as f64;
                let top = y(*value);
                let _ = write!(
                    s,
                    r##"<rect x="{x:.1}" y="{top:.1}" width="{bar:.0}" height="{:.1}" fill="{}" stroke="#0b0c0c" stroke-width="0.8"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#0b0c0c">{value}</text>"##,
                    top_m + plot_h - top,
                    FILLS[i % 2],
                    x + bar / 2.0,
                    top - 4.0
                );
            }
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.0}" text-anchor="middle" font-size="12" fill="#0b0c0c">{}</text>"##,
                gx + bar * values.len() as f64 / 2.0,
                top_m + plot_h + 18.0,
                escape(label)
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{left:.0}" y1="{:.0}" x2="{:.0}" y2="{:.0}" stroke="#0b0c0c"/><text x="{:.0}" y="{:.0}" text-anchor="middle" font-size="13" fill="#0b0c0c">{}</text></svg>"##,
            top_m + plot_h,
            left + plot_w,
            top_m + plot_h,
            left + plot_w / 2.0,
            top_m + plot_h + 46.0,
            escape(&self.x_title)
        );
        s
    }
}

impl Bars {
    /// The opening of the SVG: its size, title and description (every value, for screen
    /// readers), the hatching, the white ground, the title and the legend.
    fn head(&self, width: f64, height: f64, left: f64) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-labelledby="chart-title chart-desc" font-family="{FONT}">"#
        );
        let desc: Vec<String> = self
            .groups
            .iter()
            .map(|(label, values)| {
                let parts: Vec<String> = self
                    .series
                    .iter()
                    .zip(values)
                    .map(|(s, v)| format!("{v} {s}"))
                    .collect();
                format!("{label}: {}", parts.join(", "))
            })
            .collect();
        let _ = write!(
            s,
            r#"<title id="chart-title">{}</title><desc id="chart-desc">{}</desc>"#,
            escape(&self.title),
            escape(&desc.join("; "))
        );
        s.push_str(r##"<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f5b25c"/><line x1="0" y1="0" x2="0" y2="6" stroke="#5a3200" stroke-width="2"/></pattern></defs>"##);
        let _ = write!(
            s,
            r##"<rect width="100%" height="100%" fill="#ffffff"/><text x="{:.0}" y="30" text-anchor="middle" font-size="17" font-weight="bold" fill="#0b0c0c">{}</text>"##,
            width / 2.0,
            escape(&self.title)
        );
        // Legend, under the title.
        let mut lx = left;
        for (i, name) in self.series.iter().enumerate() {
            let _ = write!(
                s,
                r##"<rect x="{lx:.0}" y="48" width="16" height="16" fill="{}" stroke="#0b0c0c"/><text x="{:.0}" y="61" font-size="13" fill="#0b0c0c">{}</text>"##,
                FILLS[i % 2],
                lx + 22.0,
                escape(name)
            );
            lx += 40.0 + 8.0 * name.len() as f64;
        }
        s
    }

    /// Bars across: each category's label at the left, its bar and value to the right.
    fn svg_across(&self) -> String {
        let label_w = self
            .groups
            .iter()
            .map(|(l, _)| text_width(l, 12.0))
            .fold(0.0, f64::max)
            .min(420.0);
        let (left, right, top_m, bottom) = (label_w + 24.0, 48.0, 86.0, 64.0);
        let row_h = 26.0;
        let plot_w = 520.0;
        let plot_h = row_h * self.groups.len().max(1) as f64;
        let width = (left + plot_w + right).max(text_width(&self.title, 17.0) + 40.0);
        let height = top_m + plot_h + bottom;
        let max = self
            .groups
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .max()
            .unwrap_or(0);
        let step = step_for(max);
        let axis_top = ((max + step - 1) / step).max(1) * step;
        let x = |v: i64| left + plot_w * v as f64 / axis_top as f64;
        let mut s = self.head(width, height, left);
        let mut v = 0;
        while v <= axis_top {
            let xx = x(v);
            let _ = write!(
                s,
                r##"<line x1="{xx:.1}" y1="{top_m:.0}" x2="{xx:.1}" y2="{:.0}" stroke="#d0d0d0"/><text x="{xx:.1}" y="{:.0}" text-anchor="middle" font-size="12" fill="#0b0c0c">{v}</text>"##,
                top_m + plot_h,
                top_m + plot_h + 18.0
            );
            v += step;
        }
        for (i, (label, values)) in self.groups.iter().enumerate() {
            let y = top_m + row_h * i as f64;
            let value = values.first().copied().unwrap_or(0);
            let _ = write!(
                s,
                r##"<text x="{:.0}" y="{:.1}" text-anchor="end" font-size="12" fill="#0b0c0c">{}</text><rect x="{left:.0}" y="{:.1}" width="{:.1}" height="{:.0}" fill="{}" stroke="#0b0c0c" stroke-width="0.8"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#0b0c0c">{value}</text>"##,
                left - 8.0,
                y + row_h / 2.0 + 4.0,
                escape(label),
                y + 4.0,
                x(value) - left,
                row_h - 8.0,
                FILLS[0],
                x(value) + 4.0,
                y + row_h / 2.0 + 4.0
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{left:.0}" y1="{top_m:.0}" x2="{left:.0}" y2="{:.0}" stroke="#0b0c0c"/><text x="{:.0}" y="{:.0}" text-anchor="middle" font-size="13" fill="#0b0c0c">{}</text></svg>"##,
            top_m + plot_h,
            left + plot_w / 2.0,
            top_m + plot_h + 46.0,
            escape(&self.y_title)
        );
        s
    }
}

/// Received against processed per year.
pub fn annual(years: &[(i32, i64, i64)]) -> Bars {
    let span = match (years.first(), years.last()) {
        (Some(a), Some(b)) if a.0 != b.0 => format!(", {}–{}", a.0, b.0),
        (Some(a), _) => format!(", {}", a.0),
        _ => String::new(),
    };
    Bars {
        title: format!("Requests for assistance received and processed per year{span}"),
        x_title: "Year".into(),
        y_title: "Requests".into(),
        series: vec!["Received", "Processed"],
        groups: years
            .iter()
            .map(|(y, r, p)| (y.to_string(), vec![*r, *p]))
            .collect(),
        horizontal: false,
    }
}

/// Requests received per jurisdiction in a period, largest first.
pub fn by_jurisdiction(period: &str, rows: &[(String, i64)]) -> Bars {
    Bars {
        title: format!("Requests received by jurisdiction, {period}"),
        x_title: "Jurisdiction".into(),
        y_title: "Requests received".into(),
        series: vec!["Received"],
        groups: rows.iter().map(|(n, v)| (n.clone(), vec![*v])).collect(),
        horizontal: true,
    }
}

/// The SVG rendered as PNG at twice its size (sharp on slides), with the system's fonts.
pub fn png(svg: &str) -> Result<Vec<u8>, AppError> {
    use resvg::{tiny_skia, usvg};
    let fail = |what: &str| AppError::internal(format!("chart png: {what}"));
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    if options.fontdb.is_empty() {
        return Err(fail("no fonts are installed (install fonts-dejavu-core)"));
    }
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| fail(&e.to_string()))?;
    let size = tree.size().to_int_size();
    let scale = 2.0;
    let mut pixmap = tiny_skia::Pixmap::new(size.width() * 2, size.height() * 2)
        .ok_or_else(|| fail("empty chart"))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| fail(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_steps() {
        assert_eq!(step_for(0), 1);
        assert_eq!(step_for(87), 20);
        assert_eq!(step_for(326), 100);
        assert_eq!(step_for(9), 2);
    }

    #[test]
    fn every_year_is_labelled_once_with_its_values() {
        let svg = annual(&[(2022, 43, 31), (2023, 87, 79)]).svg();
        for label in [">2022<", ">2023<", ">87<", ">79<", ">43<", ">31<", ">Year<"] {
            assert_eq!(svg.matches(label).count(), 1, "{label} in {svg}");
        }
        assert!(!svg.contains(">2024<"), "no year after the last");
        assert!(svg.contains("2022–2023"));
    }
}
