//! Server-rendered SVG charts for the monitor: a trend line and horizontal bars, sized and
//! lettered for a projector, labelled in Chinese, no JavaScript. Labels are escaped here; the
//! SVG text is safe to embed in a page as is.

use std::fmt::Write;

const WIDTH: i64 = 960;
const LINE_HEIGHT: i64 = 360;
const MARGIN_LEFT: i64 = 80;
const MARGIN_RIGHT: i64 = 24;
const MARGIN_TOP: i64 = 48;
const MARGIN_BOTTOM: i64 = 56;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A round upper bound for an axis (1, 2 or 5 times a power of ten).
fn nice_max(max: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m >= max.max(1) {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// A line of daily values; `points` are (label, value) in order. Every seventh label is shown,
/// and the last one (unless it would crowd the one before).
pub fn line_chart(title: &str, points: &[(String, i64)]) -> String {
    let mut svg = String::new();
    let top = nice_max(points.iter().map(|p| p.1).max().unwrap_or(0));
    let plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_h = LINE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {LINE_HEIGHT}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text x="{MARGIN_LEFT}" y="30" class="chart-title">{t}</text>"#,
        t = escape(title)
    );
    for i in 0..=4 {
        let y = MARGIN_TOP + plot_h - plot_h * i / 4;
        let _ = write!(
            svg,
            r#"<line x1="{MARGIN_LEFT}" x2="{}" y1="{y}" y2="{y}" class="grid"/><text x="{}" y="{}" text-anchor="end" class="axis">{}</text>"#,
            WIDTH - MARGIN_RIGHT,
            MARGIN_LEFT - 8,
            y + 6,
            top * i / 4
        );
    }
    let n = i64::try_from(points.len()).unwrap_or(1).max(1);
    let x_of = |i: i64| MARGIN_LEFT + if n > 1 { plot_w * i / (n - 1) } else { plot_w / 2 };
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{},{}", x_of(i as i64), MARGIN_TOP + plot_h - plot_h * v / top))
        .collect();
    if !path.is_empty() {
        let _ = write!(svg, r#"<polyline points="{}" class="line"/>"#, path.join(" "));
    }
    for (i, (label, _)) in points.iter().enumerate() {
        let last = i + 1 == points.len();
        if (i % 7 == 0 && points.len() - i > 5) || last {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle" class="axis">{}</text>"#,
                x_of(i as i64),
                LINE_HEIGHT - 20,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, one per (label, value), largest scale first-to-last as given.
pub fn bar_chart(title: &str, bars: &[(String, i64)]) -> String {
    let row = 40;
    let height = MARGIN_TOP + row * i64::try_from(bars.len()).unwrap_or(0) + 16;
    let label_w = 200;
    let plot_w = WIDTH - label_w - MARGIN_RIGHT - 90;
    let top = nice_max(bars.iter().map(|b| b.1).max().unwrap_or(0));
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text x="16" y="30" class="chart-title">{t}</text>"#,
        t = escape(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = MARGIN_TOP + row * i as i64;
        let w = plot_w * value / top;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="label">{}</text><rect x="{label_w}" y="{}" width="{w}" height="{}" class="bar"/><text x="{}" y="{}" class="value">{value}</text>"#,
            label_w - 12,
            y + 26,
            escape(label),
            y + 6,
            row - 12,
            label_w + w + 8,
            y + 26,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_the_axis_is_round() {
        let svg = bar_chart("访问量", &[("<b>乡".into(), 37), ("柳园镇".into(), 0)]);
        assert!(svg.contains("&lt;b&gt;乡"));
        assert!(!svg.contains("<b>"));
        assert_eq!(nice_max(37), 50);
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(16_717), 20_000);
    }

    #[test]
    fn a_line_has_one_point_per_day() {
        let points: Vec<_> = (1..=10).map(|d| (format!("11-{d:02}"), d * 10)).collect();
        let svg = line_chart("每日访问", &points);
        let line = svg.split("points=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or_default();
        assert_eq!(line.split(' ').count(), 10);
        assert!(svg.contains("11-01") && svg.contains("11-10"));
        assert!(!svg.contains("11-08"), "a label this close to the last one is left out");
    }
}
