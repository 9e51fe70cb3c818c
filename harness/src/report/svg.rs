//! Inline SVG drawing for the HTML reports: horizontal bars with labels,
//! drawn as text so the page needs no script and no external asset.
//!
//! Every label and tooltip passes through [`esc`]; callers give plain text.

use std::fmt::Write as _;

/// Escape text for HTML and SVG (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One coloured piece of a bar: its length in the chart's unit, a fill
/// colour and a tooltip.
pub struct Segment {
    pub value: f64,
    pub colour: &'static str,
    pub title: String,
}

/// One row of a stacked bar chart: a label left of the bar, segments laid
/// end to end, and a note right of it.
pub struct Bar {
    pub label: String,
    pub segments: Vec<Segment>,
    pub note: String,
}

/// Geometry shared by the charts (pixels).
const LABEL_W: f64 = 170.0;
const BAR_W: f64 = 520.0;
const NOTE_W: f64 = 260.0;
const ROW_H: f64 = 22.0;

/// A stacked horizontal bar chart; `full` is the value that spans the whole
/// bar width (the largest row total, for example).
pub fn stacked_bars(class: &str, title: &str, bars: &[Bar], full: f64) -> String {
    let width = LABEL_W + BAR_W + NOTE_W;
    let height = ROW_H * bars.len() as f64 + 8.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"{}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\"><title>{}</title>",
        esc(class),
        esc(title)
    );
    let scale = if full > 0.0 { BAR_W / full } else { 0.0 };
    for (i, bar) in bars.iter().enumerate() {
        let y = 4.0 + ROW_H * i as f64;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text>",
            LABEL_W - 6.0,
            y + 14.0,
            esc(&bar.label)
        );
        let mut x = LABEL_W;
        for seg in bar.segments.iter().filter(|seg| seg.value > 0.0) {
            let w = seg.value * scale;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}</title></rect>",
                y + 2.0,
                ROW_H - 6.0,
                seg.colour,
                esc(&seg.title)
            );
            x += w;
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#444\">{}</text>",
            LABEL_W + BAR_W + 6.0,
            y + 14.0,
            esc(&bar.note)
        );
    }
    s.push_str("</svg>");
    s
}

/// One row of a range plot: marks at positions already mapped to 0..=1.
pub struct Range {
    pub label: String,
    /// The box: from its start to its end (p50 to p90, say).
    pub span: (f64, f64),
    /// Ticks inside or past the box (p99, max), with their tooltips.
    pub ticks: Vec<(f64, String)>,
    /// Where the whisker ends (the maximum).
    pub whisker: f64,
    pub title: String,
    pub note: String,
}

/// Ranges on a shared axis, with labelled grid lines at `grid` (position in
/// 0..=1, label).
pub fn ranges(class: &str, title: &str, rows: &[Range], grid: &[(f64, String)]) -> String {
    let width = LABEL_W + BAR_W + NOTE_W;
    let height = ROW_H * rows.len() as f64 + 26.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"{}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\"><title>{}</title>",
        esc(class),
        esc(title)
    );
    let bottom = ROW_H * rows.len() as f64 + 6.0;
    for (at, label) in grid {
        let x = LABEL_W + at.clamp(0.0, 1.0) * BAR_W;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"2\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#666\">{}</text>",
            bottom + 14.0,
            esc(label)
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = 4.0 + ROW_H * i as f64;
        let mid = y + ROW_H / 2.0;
        let px = |v: f64| LABEL_W + v.clamp(0.0, 1.0) * BAR_W;
        let _ = write!(
            s,
            "<g><title>{}</title><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text>\
             <line x1=\"{:.1}\" y1=\"{mid:.1}\" x2=\"{:.1}\" y2=\"{mid:.1}\" stroke=\"#777\"/>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#5b8def\" stroke=\"#2c5fc4\"/>",
            esc(&r.title),
            LABEL_W - 6.0,
            y + 14.0,
            esc(&r.label),
            px(0.0),
            px(r.whisker),
            px(r.span.0),
            y + 4.0,
            (px(r.span.1) - px(r.span.0)).max(2.0),
            ROW_H - 8.0
        );
        for (at, tip) in &r.ticks {
            let x = px(*at);
            let _ = write!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#c0392b\" stroke-width=\"2\"><title>{}</title></line>",
                y + 2.0,
                y + ROW_H - 2.0,
                esc(tip)
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#444\">{}</text></g>",
            LABEL_W + BAR_W + 6.0,
            y + 14.0,
            esc(&r.note)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_and_labels_escaped() {
        let bars = vec![Bar {
            label: "<ch>".into(),
            segments: vec![
                Segment { value: 3.0, colour: "#2a2", title: "3 covered".into() },
                Segment { value: 1.0, colour: "#e90", title: "1 pending".into() },
            ],
            note: "3/4".into(),
        }];
        let svg = stacked_bars("c", "t", &bars, 4.0);
        assert!(svg.contains("&lt;ch&gt;"));
        assert!(!svg.contains("<ch>"));
        // 3 of 4 units of a 520-pixel bar, then the rest.
        assert!(svg.contains("width=\"390.0\""), "{svg}");
        assert!(svg.contains("width=\"130.0\""), "{svg}");
    }
}
