//! The scenario × unit matrix: one row per scenario, one column per unit
//! (or target, or firmware build: whatever each record ran on), each cell the
//! scenario's verdict there, colour-coded and linked to its transcript.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::merge::group_name;
use super::svg::esc;
use super::{RunRecord, ScenarioRecord};
use crate::runner::Verdict;
use crate::scenario::Basis;

/// A cell's verdict, worst first (a repeated scenario shows its worst run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Fail,
    /// A failure on an inferred or real-device expectation: an open question.
    Open,
    Error,
    Differs,
    Waived,
    Skipped,
    NotRun,
    Pass,
}

impl Cell {
    pub fn of(r: &ScenarioRecord) -> Cell {
        match (&r.verdict, r.basis) {
            _ if r.waived() => Cell::Waived,
            (Verdict::Fail, Some(Basis::Inferred | Basis::RealDevice)) => Cell::Open,
            (Verdict::Fail, _) => Cell::Fail,
            (Verdict::Error, _) => Cell::Error,
            (Verdict::Skipped(_), _) => Cell::Skipped,
            (Verdict::Pass, _) if r.golden == "differs" => Cell::Differs,
            (Verdict::Pass, _) => Cell::Pass,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Cell::Fail => "fail",
            Cell::Open => "fail (inferred)",
            Cell::Error => "error",
            Cell::Differs => "golden differs",
            Cell::Waived => "waived",
            Cell::Skipped => "skipped",
            Cell::NotRun => "not run",
            Cell::Pass => "pass",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Cell::Fail => "m-fail",
            Cell::Open => "m-open",
            Cell::Error => "m-error",
            Cell::Differs => "m-differs",
            Cell::Waived => "m-waived",
            Cell::Skipped => "m-skip",
            Cell::NotRun => "m-notrun",
            Cell::Pass => "m-pass",
        }
    }
}

/// One column: a record, and the page its transcripts are on (`""` for
/// this page, `unit-a/report.html` for a unit's own report).
pub struct Column<'a> {
    pub record: &'a RunRecord,
    pub page: String,
}

/// What a column is headed with: the unit (or target), and its firmware
/// family when it was identified.
fn heading(r: &RunRecord) -> String {
    match &r.family {
        Some(p) => format!("{} ({})", group_name(r), p.family),
        None => group_name(r),
    }
}

/// The matrix section. One column is drawn too (a single unit's verdicts at
/// a glance), with a sentence saying there is nothing to compare.
pub fn section(columns: &[Column<'_>]) -> String {
    let mut s = String::from("<section id=\"matrix\"><h2>Scenario × unit matrix</h2>\n");
    let ids: BTreeSet<&str> = columns
        .iter()
        .flat_map(|c| c.record.results.iter().map(|r| r.id.as_str()).chain(c.record.not_run.iter().map(String::as_str)))
        .collect();
    if ids.is_empty() {
        s.push_str("<p>No scenario ran.</p></section>\n");
        return s;
    }
    if columns.len() == 1 {
        s.push_str("<p>This report covers one unit, so the matrix is a single column; a rig run or <code>mtg report --merge</code> of several units' records shows one column per unit.</p>\n");
    }
    s.push_str("<table class=\"matrix\"><thead><tr><th>scenario</th>");
    for c in columns {
        let _ = write!(s, "<th title=\"{}\">{}</th>", esc(&c.record.target), esc(&heading(c.record)));
    }
    s.push_str("</tr></thead><tbody>\n");
    for id in &ids {
        let _ = write!(s, "<tr><th>{}</th>", esc(id));
        for c in columns {
            let runs: Vec<&ScenarioRecord> = c.record.results.iter().filter(|r| r.id == *id).collect();
            let cell = runs.iter().map(|r| Cell::of(r)).min();
            match cell {
                Some(cell) => {
                    let n = if runs.len() > 1 { format!(" ×{}", runs.len()) } else { String::new() };
                    let tip: Vec<String> =
                        runs.iter().filter_map(|r| r.message.as_deref()).map(crate::redact::redact).collect();
                    let _ = write!(
                        s,
                        "<td class=\"{}\" title=\"{}\"><a href=\"{}#{}\">{}{n}</a></td>",
                        cell.class(),
                        esc(&tip.join("\n")),
                        esc(&c.page),
                        esc(id),
                        cell.label()
                    );
                }
                None if c.record.not_run.iter().any(|n| n == id) => {
                    let _ = write!(s, "<td class=\"{}\">{}</td>", Cell::NotRun.class(), Cell::NotRun.label());
                }
                None => s.push_str("<td class=\"m-absent\">—</td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></section>\n");
    s
}

/// The matrix's colours.
pub const STYLE: &str = "table.matrix{width:auto}table.matrix td{text-align:center;min-width:7em}\
table.matrix th{font-weight:normal;text-align:left}table.matrix thead th{font-weight:bold;text-align:center}\
table.matrix a{color:inherit;text-decoration:none;display:block}\
.m-pass{background:#c8ecd0;color:#145a24}.m-fail{background:#f6c4c4;color:#8a0000;font-weight:bold}\
.m-open{background:#fde2b8;color:#7a4500}.m-error{background:#e2cdf0;color:#4b0f73}\
.m-differs{background:#cfe1f7;color:#0b4a8f}.m-waived{background:#e6e6e6;color:#444}\
.m-skip,.m-notrun{background:#f4f4f4;color:#888}.m-absent{color:#bbb}";
