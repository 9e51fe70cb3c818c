//! Console output of `mtg run`: a header, live step progress on stderr (on
//! a terminal, one line rewritten in place), a line per finished scenario,
//! and the summary table on stdout at the end.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use super::RunRecord;
use crate::golden::Comparison;
use crate::runner::events::{Event, Sink};
use crate::runner::Verdict;
use crate::transcript::redact_secrets;

/// Progress and summary for people.
pub struct Console {
    /// stderr is a terminal: progress rewrites one line.
    tty: bool,
    /// Show every step as it starts.
    steps: bool,
    /// The output folder, named in the header and at the end.
    out: Option<PathBuf>,
    record: Mutex<RunRecord>,
}

impl Console {
    pub fn new(tty: bool, steps: bool, out: Option<PathBuf>) -> Console {
        Console { tty, steps, out, record: Mutex::new(RunRecord::default()) }
    }

    fn step(&self, scenario: &str, index: usize, total: usize, description: &str) {
        self.line(&format!("  {scenario} [{index}/{total}] {}", redact_secrets(description)));
    }

    /// A progress line: rewritten in place on a terminal.
    fn line(&self, line: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let shown: String = line.chars().take(110).collect();
            let _ = write!(err, "\r\x1b[2K{shown}");
        } else {
            let _ = writeln!(err, "{line}");
        }
    }
}

impl Sink for Console {
    fn event(&self, event: &Event<'_>) {
        let mut record = self.record.lock().unwrap_or_else(PoisonError::into_inner);
        record.apply(event);
        match *event {
            Event::RunStarted { target, selected, jobs, .. } => {
                let out = self.out.as_ref().map(|o| format!(", output in {}", o.display())).unwrap_or_default();
                eprintln!(
                    "mtg: running {} scenario(s) against {target} ({jobs} at a time), started {}{out}",
                    selected.len(),
                    record.started_date()
                );
            }
            Event::Identified { .. } => {
                if let Some(line) = record.family_line() {
                    eprintln!("mtg: {line}");
                }
            }
            Event::StepStarted { scenario, index, total, description, .. } if self.steps => {
                self.step(scenario, index, total, description);
            }
            // The reset before a scenario on a unit that keeps its state.
            Event::ResetStarted { scenario } if self.steps => self.line(&format!("  {scenario} reset")),
            Event::ResetFinished { scenario, error: Some(e), ms, .. } if self.steps => {
                self.line(&format!("  {scenario} reset failed after {ms} ms: {}", redact_secrets(e)));
            }
            Event::ScenarioFinished { scenario, outcome, golden, waiver, done, total, .. } => {
                let golden_note = match golden {
                    Some(Comparison::Differs(_)) => " (transcript differs from golden)",
                    Some(Comparison::Missing) => " (no golden yet)",
                    _ => "",
                };
                let mut detail =
                    outcome.message.as_deref().map(|m| format!(": {}", redact_secrets(m))).unwrap_or_default();
                let mut verdict = outcome.verdict.to_string();
                if let Some(w) = waiver.filter(|_| outcome.verdict == Verdict::Fail) {
                    detail = format!("{detail} ({})", w.describe());
                    if !w.expired {
                        verdict = "waived".into();
                    }
                }
                let clear = if self.tty && self.steps { "\r\x1b[2K" } else { "" };
                eprintln!("{clear}[{done:>4}/{total}] {verdict:<8} {}{golden_note}{detail}", scenario.id);
            }
            Event::RunFinished { interrupted, .. } => {
                println!("\n{}", summary(&record));
                if let Some(out) = &self.out {
                    println!("transcripts, diffs, run.json, junit.xml and report.html in {}", out.display());
                }
                if interrupted {
                    eprintln!("mtg: interrupted; the record lists what did not run");
                }
            }
            _ => {}
        }
    }
}

/// The summary table printed at the end of `mtg run`.
pub fn summary(record: &RunRecord) -> String {
    let mut s = String::new();
    let width = record.results.iter().map(|r| r.id.len()).max().unwrap_or(8).max(8);
    let _ = writeln!(
        s,
        "{:<width$}  {:<8}  {:<8}  {:>8}  {:<8}  detail",
        "scenario", "verdict", "golden", "time", "profile"
    );
    for r in &record.results {
        let detail = match (&r.verdict, &r.message) {
            (Verdict::Skipped(reason), _) => reason.clone(),
            (_, Some(m)) if r.waived() => {
                format!("{} — {m}", r.waiver.as_ref().map(|w| w.describe()).unwrap_or_default())
            }
            (_, Some(m)) => {
                let basis = r.basis.map(|b| format!(" [{b}]")).unwrap_or_default();
                format!("{m}{basis}")
            }
            _ => String::new(),
        };
        // Answers in the other profile's form, named by erratum.
        let notes = r.profile.notes.join("; ");
        let detail = [detail, notes].into_iter().filter(|d| !d.is_empty()).collect::<Vec<_>>().join("; ");
        let _ = writeln!(
            s,
            "{:<width$}  {:<8}  {:<8}  {:>6}ms  {:<8}  {detail}",
            r.id,
            r.shown_verdict(),
            r.golden,
            r.duration_ms,
            r.profile.label()
        );
    }
    if let Some(family) = record.family_line() {
        let _ = writeln!(s, "\nunit: {family}");
    }
    let failed = record.results.iter().filter(|r| r.failed()).count();
    if failed > 0 || record.waived > 0 {
        let by: Vec<String> = record.by_basis().iter().map(|(b, n)| format!("{n} {b}")).collect();
        let _ = writeln!(s, "\nfailures by basis: {}; {} waived", by.join(", "), record.waived);
    }
    for id in &record.flaky {
        let runs: Vec<_> = record.results.iter().filter(|r| r.id == *id).collect();
        let bad: Vec<String> = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.verdict != Verdict::Pass || r.golden == "differs")
            .map(|(i, r)| format!("run {}: {}", i + 1, r.message.as_deref().unwrap_or(&r.golden)))
            .collect();
        let _ =
            writeln!(s, "flaky: {id} ({} of {} runs bad) — {}", bad.len(), runs.len(), redact_secrets(&bad.join("; ")));
    }
    if let Some(e) = &record.rig_error {
        let _ = writeln!(s, "rig error: {}", redact_secrets(e));
    }
    if !record.unmatched_waivers.is_empty() {
        let _ = writeln!(s, "waivers that matched nothing: {}", record.unmatched_waivers.join(", "));
    }
    let _ = writeln!(
        s,
        "\n{} passed, {} failed, {} errors, {} skipped, {} golden differences{}",
        record.count(|v| *v == Verdict::Pass),
        failed,
        record.count(|v| *v == Verdict::Error),
        record.count(|v| matches!(v, Verdict::Skipped(_))),
        record.results.iter().filter(|r| r.golden == "differs").count(),
        if record.interrupted { format!(", interrupted ({} not run)", record.not_run.len()) } else { String::new() }
    );
    let _ = writeln!(s, "{}", profile_summary(record));
    s
}

/// Which profile the target matched over the run: `judged by manual: 150
/// both, 30 manual, 2 field (E1, E3)`.
pub fn profile_summary(record: &RunRecord) -> String {
    use crate::runner::Matched;
    let judged = record.results.first().map(|r| r.profile.judged_by).unwrap_or_default();
    let mut parts = Vec::new();
    for m in [Matched::Both, Matched::Manual, Matched::Field, Matched::Mixed] {
        let of: Vec<_> = record.results.iter().filter(|r| r.profile.matched == m).collect();
        if of.is_empty() {
            continue;
        }
        let mut errata: Vec<&String> = of.iter().flat_map(|r| &r.profile.errata).collect();
        errata.sort_by_key(|e| (e.len(), e.as_str()));
        errata.dedup();
        let named = if errata.is_empty() {
            String::new()
        } else {
            format!(" ({})", errata.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "))
        };
        parts.push(format!("{} {}{named}", of.len(), m.name()));
    }
    format!("judged by {judged}: {}", if parts.is_empty() { "nothing ran".to_string() } else { parts.join(", ") })
}
