//! The self-contained HTML report of a run (one file, no external assets).
//!
//! Findings first: failures on manual-backed expectations, then failures on
//! real-device or inferred expectations (open questions until a unit settles
//! them), then errors of the rig, golden differences, and the rest. With a
//! baseline run, each scenario shows what changed: a new failure, a fix, a
//! new or removed scenario.
//!
//! [`HtmlReporter`] writes the page when a run ends; `mtg report` rewrites it
//! later from `run.json` ([`write`]), with another baseline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::svg::esc;
use super::{latency, manual, matrix, write_atomic, Context, ReportError, RunRecord, ScenarioRecord};
use crate::runner::events::{Event, Sink};
use crate::runner::Verdict;
use crate::scenario::Basis;

/// Writes `report.html` when the run finishes (it inlines the transcripts
/// and diffs the run record wrote, so it comes after that reporter).
pub struct HtmlReporter {
    dir: PathBuf,
    baseline: Option<RunRecord>,
    record: Mutex<RunRecord>,
    context: Context,
}

impl HtmlReporter {
    pub fn new(dir: &Path, baseline: Option<RunRecord>) -> HtmlReporter {
        HtmlReporter {
            dir: dir.to_path_buf(),
            baseline,
            record: Mutex::new(RunRecord::default()),
            context: Context::default(),
        }
    }

    /// Show the manual's words behind failed manual-backed steps.
    pub fn with_context(mut self, context: Context) -> HtmlReporter {
        self.context = context;
        self
    }
}

impl Sink for HtmlReporter {
    fn event(&self, event: &Event<'_>) {
        let mut record = self.record.lock().unwrap_or_else(PoisonError::into_inner);
        record.apply_in(event, &self.context);
        if let Event::RunFinished { .. } = event {
            if let Err(e) = write(&self.dir, &record, self.baseline.as_ref()) {
                eprintln!("error: {e}");
            }
        }
    }
}

/// Write `dir/report.html` for `run`, compared with `baseline` when given.
pub fn write(dir: &Path, run: &RunRecord, baseline: Option<&RunRecord>) -> Result<(), ReportError> {
    write_atomic(&dir.join("report.html"), render(run, dir, baseline).as_bytes())
}

/// How a scenario changed against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Passed (or was absent) in the baseline, fails now.
    Regressed,
    /// Failed in the baseline, passes now.
    Fixed,
    /// Not in the baseline.
    New,
    Unchanged,
    /// In the baseline, not in this run.
    Removed,
}

impl Change {
    fn label(self) -> &'static str {
        match self {
            Change::Regressed => "regressed",
            Change::Fixed => "fixed",
            Change::New => "new",
            Change::Unchanged => "",
            Change::Removed => "baseline only",
        }
    }
}

fn bad(r: &ScenarioRecord) -> bool {
    r.failed() || r.verdict == Verdict::Error || r.golden == "differs"
}

/// Compare each scenario with the baseline.
pub fn changes(run: &RunRecord, baseline: &RunRecord) -> BTreeMap<String, Change> {
    let before: BTreeMap<&str, &ScenarioRecord> = baseline.results.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut out = BTreeMap::new();
    for r in &run.results {
        let change = match before.get(r.id.as_str()) {
            None => Change::New,
            Some(b) if bad(r) && !bad(b) => Change::Regressed,
            Some(b) if !bad(r) && bad(b) => Change::Fixed,
            Some(_) => Change::Unchanged,
        };
        out.insert(r.id.clone(), change);
    }
    for b in &baseline.results {
        if !run.results.iter().any(|r| r.id == b.id) && !run.not_run.contains(&b.id) {
            out.insert(b.id.clone(), Change::Removed);
        }
    }
    out
}

/// Order of importance for a reader: findings on manual text first.
fn rank(r: &ScenarioRecord) -> u8 {
    match (&r.verdict, r.basis) {
        _ if r.waived() => 4,
        (Verdict::Fail, Some(Basis::Manual) | None) => 0,
        (Verdict::Fail, _) => 1,
        (Verdict::Error, _) => 2,
        _ if r.golden == "differs" => 3,
        (Verdict::Skipped(_), _) => 5,
        _ => 4,
    }
}

/// Render the page. Transcripts and diffs are read from `dir` and inlined.
pub fn render(run: &RunRecord, dir: &Path, baseline: Option<&RunRecord>) -> String {
    let changes = baseline.map(|b| changes(run, b)).unwrap_or_default();
    let mut rows: Vec<&ScenarioRecord> = run.results.iter().collect();
    rows.sort_by(|a, b| {
        let ca = changes.get(&a.id).copied().unwrap_or(Change::Unchanged);
        let cb = changes.get(&b.id).copied().unwrap_or(Change::Unchanged);
        (ca, rank(a), &a.id).cmp(&(cb, rank(b), &b.id))
    });
    let count = |f: &dyn Fn(&ScenarioRecord) -> bool| run.results.iter().filter(|r| f(r)).count();
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mtg run: {}</title>\n<style>{STYLE}{}{}</style></head><body>\n",
        esc(&run.target),
        matrix::STYLE,
        manual::STYLE
    );
    let _ = writeln!(s, "<h1>Conformance run against <code>{}</code></h1>", esc(&run.target));
    let state = if run.interrupted {
        "interrupted"
    } else if run.finished {
        "finished"
    } else {
        "in progress"
    };
    let _ = writeln!(
        s,
        "<p class=\"meta\">{} · started {} · scenarios from <code>{}</code> · run {state}</p>",
        esc(&run.tool),
        esc(&run.started_date()),
        esc(&run.scenarios_root)
    );
    if let Some(servers) = &run.fixtures {
        let _ = writeln!(s, "<p class=\"meta\">servers on the far side: <code>{}</code></p>", esc(servers));
    }
    let _ = writeln!(
        s,
        "<ul class=\"totals\"><li class=\"pass\">{} passed</li><li class=\"fail\">{} findings on manual text</li>\
         <li class=\"open\">{} on inferred or real-device expectations</li><li class=\"error\">{} rig errors</li>\
         <li class=\"differs\">{} golden differences</li><li class=\"skip\">{} skipped</li><li>{} not run</li></ul>",
        count(&|r| r.verdict == Verdict::Pass && r.golden != "differs"),
        count(&|r| r.failed() && matches!(r.basis, Some(Basis::Manual) | None)),
        count(&|r| r.failed() && matches!(r.basis, Some(Basis::Inferred | Basis::RealDevice))),
        count(&|r| r.verdict == Verdict::Error),
        count(&|r| r.golden == "differs"),
        count(&|r| matches!(r.verdict, Verdict::Skipped(_))),
        run.not_run.len()
    );
    if let Some(family) = run.family_line() {
        let answers = run.identity.as_ref().map_or(String::new(), |i| {
            format!(
                " — AT+CGMR: <code>{}</code>, AT#VVERSION: <code>{}</code>",
                esc(i.cgmr.as_deref().unwrap_or("(no answer)")),
                esc(i.vversion.as_deref().unwrap_or("(no answer)"))
            )
        });
        let _ = writeln!(s, "<p class=\"family\">Unit: {}{answers}</p>", esc(&family));
    }
    let by: Vec<String> = run.by_basis().iter().map(|(b, n)| format!("{n} {b}")).collect();
    let _ = writeln!(
        s,
        "<p class=\"by-basis\">Failures by the basis of the failed expectation: {}; {} waived.</p>",
        by.join(", "),
        run.waived
    );
    if let Some(e) = &run.rig_error {
        let _ = writeln!(s, "<p class=\"error\">Rig error: {}</p>", esc(&crate::redact::redact(e)));
    }
    if !run.flaky.is_empty() {
        let _ = writeln!(
            s,
            "<p class=\"flaky\">Flaky (passed and failed when repeated; every failure is listed below): {}</p>",
            esc(&run.flaky.join(", "))
        );
    }
    if !run.unmatched_waivers.is_empty() {
        let _ = writeln!(
            s,
            "<p class=\"waivers\">Waivers that matched nothing: {}</p>",
            esc(&run.unmatched_waivers.join(", "))
        );
    }
    if let Some(b) = baseline {
        let n = |c: Change| changes.values().filter(|v| **v == c).count();
        let _ = writeln!(
            s,
            "<p class=\"baseline\">Compared with the baseline run against <code>{}</code> (started {}): \
             <b>{} regressed</b>, {} fixed, {} new, {} in the baseline only.</p>",
            esc(&b.target),
            esc(&b.started_date()),
            n(Change::Regressed),
            n(Change::Fixed),
            n(Change::New),
            n(Change::Removed)
        );
    }
    let _ = writeln!(s, "<p class=\"profile\">Firmware profile: {}</p>", esc(&super::console::profile_summary(run)));
    s.push_str(&overview(&[matrix::Column { record: run, page: String::new() }]));
    s.push_str("<h2>Scenarios</h2>\n");
    s.push_str("<table><thead><tr><th>scenario</th><th>verdict</th><th>expectation</th><th>golden</th><th>time</th><th>profile</th>");
    if baseline.is_some() {
        s.push_str("<th>change</th>");
    }
    s.push_str("<th>detail</th></tr></thead><tbody>\n");
    for r in &rows {
        let class = match (&r.verdict, r.basis) {
            _ if r.waived() => "waived",
            (Verdict::Pass, _) if r.golden == "differs" => "differs",
            (Verdict::Pass, _) => "pass",
            (Verdict::Fail, Some(Basis::Inferred | Basis::RealDevice)) => "open",
            (Verdict::Fail, _) => "fail",
            (Verdict::Error, _) => "error",
            (Verdict::Skipped(_), _) => "skip",
        };
        let detail = match &r.verdict {
            Verdict::Skipped(reason) => reason.clone(),
            _ => r.message.clone().unwrap_or_default(),
        };
        let detail = match r.waiver.as_ref().filter(|_| r.waived()) {
            Some(w) => format!("{} — {detail}", w.describe()),
            None => detail,
        };
        let _ = write!(
            s,
            "<tr class=\"{class}\"><td><a href=\"#{id}\">{id}</a><div class=\"src\">{src}</div></td><td>{v}</td><td>{basis}</td><td>{g}</td><td{started}>{t}&nbsp;ms</td>",
            id = esc(&r.id),
            src = esc(&r.source),
            v = esc(&r.shown_verdict()),
            basis = r.basis.map(|b| b.to_string()).unwrap_or_default(),
            g = esc(&r.golden),
            t = r.duration_ms,
            started = r.started.as_deref().map(|t| format!(" title=\"started {}\"", esc(t))).unwrap_or_default()
        );
        // The profile the answers matched; the notes name each erratum met in
        // the other profile's form.
        let _ = write!(
            s,
            "<td class=\"profile\" title=\"{}\">{}</td>",
            esc(&r.profile.notes.join("\n")),
            esc(&r.profile.label())
        );
        if baseline.is_some() {
            let c = changes.get(&r.id).copied().unwrap_or(Change::Unchanged);
            let _ = write!(s, "<td class=\"change {}\">{}</td>", c.label(), c.label());
        }
        let _ = writeln!(s, "<td>{}{}</td></tr>", esc(&detail), words_html(r));
    }
    for (id, c) in &changes {
        if *c == Change::Removed {
            let _ = writeln!(
                s,
                "<tr class=\"skip\"><td>{}</td><td colspan=\"5\">not in this run</td><td class=\"change removed\">removed</td><td></td></tr>",
                esc(id)
            );
        }
    }
    s.push_str("</tbody></table>\n");
    if !run.not_run.is_empty() {
        let _ = writeln!(s, "<h2>Not run</h2><p>{}</p>", esc(&run.not_run.join(", ")));
    }
    s.push_str("<h2>Transcripts</h2>\n");
    for r in &rows {
        let open = if bad(r) { " open" } else { "" };
        let _ = writeln!(
            s,
            "<details id=\"{id}\"{open}><summary>{id} — {title} <span class=\"src\">({file}{started})</span></summary>",
            id = esc(&r.id),
            title = esc(&r.title),
            file = esc(&r.file),
            started = r.started.as_deref().map(|t| format!(", started {}", esc(t))).unwrap_or_default()
        );
        if let Ok(diff) = std::fs::read_to_string(dir.join("diffs").join(format!("{}.diff", r.id))) {
            let _ = writeln!(s, "<h3>Difference from the golden</h3><pre class=\"diff\">{}</pre>", diff_html(&diff));
        }
        if let Some(t) = &r.transcript {
            match std::fs::read_to_string(dir.join(t)) {
                Ok(text) => {
                    let _ = writeln!(s, "<pre>{}</pre>", transcript_html(&text));
                }
                Err(e) => {
                    let _ = writeln!(s, "<p>transcript {}: {}</p>", esc(t), esc(&e.to_string()));
                }
            }
        }
        s.push_str("</details>\n");
    }
    s.push_str("</body></html>\n");
    s
}

/// The pictures of a report: the scenario × unit matrix of `columns`, the
/// manual coverage their scenarios reach together, and step latency by
/// command across them all.
pub fn overview(columns: &[matrix::Column<'_>]) -> String {
    let coverage = manual::union(columns.iter().map(|c| c.record.manual.as_slice()));
    let latency = latency::per_command(columns.iter().map(|c| c.record));
    format!(
        "<nav class=\"sections\"><a href=\"#matrix\">matrix</a> · <a href=\"#coverage\">coverage</a> · \
         <a href=\"#latency\">latency</a></nav>\n{}{}{}",
        matrix::section(columns),
        manual::section(&coverage),
        latency::section(&latency)
    )
}

/// The manual's words a failed manual-backed step rests on.
fn words_html(r: &ScenarioRecord) -> String {
    if r.words.is_empty() {
        return String::new();
    }
    let quotes: Vec<String> = r
        .words
        .iter()
        .map(|q| format!("<li>p.{} <code>{}</code>: “{}”</li>", q.page, esc(&q.entry), esc(&q.text)))
        .collect();
    format!("<div class=\"words\">The manual's words this step rests on:<ul>{}</ul></div>", quotes.join(""))
}

fn diff_html(diff: &str) -> String {
    diff.lines()
        .map(|l| {
            let class = match l.chars().next() {
                Some('+') if !l.starts_with("+++") => "add",
                Some('-') if !l.starts_with("---") => "del",
                _ => "ctx",
            };
            format!("<span class=\"{class}\">{}</span>", esc(l))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn transcript_html(text: &str) -> String {
    text.lines()
        .map(|l| {
            let class = if l.contains("FAIL") || l.contains("(UNEXPECTED)") {
                "bad"
            } else if l.starts_with("==") {
                "step"
            } else if l.trim_start().starts_with('>') {
                "tx"
            } else {
                "rx"
            };
            format!("<span class=\"{class}\">{}</span>", esc(l))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
code,pre{font-family:ui-monospace,monospace}\
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\
.src{color:#777;font-size:12px}.meta{color:#555}\
.totals{list-style:none;padding:0;display:flex;gap:1.5em;flex-wrap:wrap}\
tr.fail td:first-child{border-left:4px solid #c00}tr.open td:first-child{border-left:4px solid #e90}\
tr.error td:first-child{border-left:4px solid #609}tr.differs td:first-child{border-left:4px solid #06c}\
tr.pass td:first-child{border-left:4px solid #2a2}tr.skip{color:#888}\
tr.waived td:first-child{border-left:4px solid #999}.words{margin-top:.4em;color:#333;font-size:13px}.words ul{margin:.2em 0}\
.change.regressed{color:#c00;font-weight:bold}.change.fixed{color:#2a2}\
.add{color:#070}.del{color:#b00}.bad{color:#b00;font-weight:bold}.step{color:#555;font-weight:bold}.tx{color:#035}\
details{margin:.4em 0}summary{cursor:pointer}";

#[cfg(test)]
mod tests {
    use super::*;

    fn record(results: Vec<(&str, Verdict)>) -> RunRecord {
        RunRecord {
            tool: "mtg".into(),
            started_unix: 0,
            started: None,
            target: "emu:".into(),
            scenarios_root: "scenarios".into(),
            finished: true,
            interrupted: false,
            results: results
                .into_iter()
                .map(|(id, verdict)| ScenarioRecord {
                    id: id.into(),
                    title: format!("title of {id}"),
                    source: "ch. 2".into(),
                    file: format!("{id}.yaml"),
                    verdict,
                    message: Some("step 2 (x.yaml:4): expected \"OK\", got \"ERROR\"".into()),
                    failed_step: None,
                    basis: Some(Basis::Manual),
                    started: Some("2026-12-02T05:40:12.345Z".into()),
                    duration_ms: 3,
                    golden: "matches".into(),
                    transcript: None,
                    steps: vec![],
                    waiver: None,
                    words: vec![],
                    profile: Default::default(),
                })
                .collect(),
            not_run: vec![],
            ..RunRecord::default()
        }
    }

    #[test]
    fn compares_with_a_baseline() {
        let before =
            record(vec![("a", Verdict::Pass), ("b", Verdict::Fail), ("c", Verdict::Pass), ("gone", Verdict::Pass)]);
        let now = record(vec![("a", Verdict::Fail), ("b", Verdict::Pass), ("c", Verdict::Pass), ("d", Verdict::Pass)]);
        let c = changes(&now, &before);
        assert_eq!(c["a"], Change::Regressed);
        assert_eq!(c["b"], Change::Fixed);
        assert_eq!(c["c"], Change::Unchanged);
        assert_eq!(c["d"], Change::New);
        assert_eq!(c["gone"], Change::Removed);
        let page = render(&now, Path::new("/nonexistent"), Some(&before));
        assert!(page.contains("<b>1 regressed</b>, 1 fixed, 1 new, 1 in the baseline only"), "{page}");
        // Regressions come first and markup in messages is escaped.
        assert!(page.find("href=\"#a\"").unwrap() < page.find("href=\"#c\"").unwrap());
        assert!(page.contains("expected &quot;OK&quot;"));
        // Times are dates, also for a record that only has `started_unix`.
        assert!(page.contains("started 1970-01-01T00:00:00Z · scenarios from"), "{page}");
        assert!(page.contains("(started 1970-01-01T00:00:00Z)"), "{page}");
        assert!(page.contains("(a.yaml, started 2026-12-02T05:40:12.345Z)"), "{page}");
    }
}
