//! Reporters, and the run record they share.
//!
//! Reporters are [`Sink`](crate::runner::events::Sink)s: they see a run only
//! through its events. A run writes into its output folder, as it goes:
//! - `transcripts/<id>.txt`: the normalised transcript (the golden form), and
//!   `diffs/<id>.diff`: the difference from the golden, where there is one;
//! - `run.json`: the run record, rewritten atomically after every scenario,
//!   so a run that fails or is interrupted still leaves a complete record of
//!   what was done and what was not ([`record`]);
//! - `junit.xml`: the same results for CI dashboards ([`junit`]);
//! - `report.html`: a self-contained page for people, compared with a
//!   baseline run when one is given, written when the run ends ([`html`]).
//!
//! [`console`] prints progress and the summary table.

pub mod capture;
pub mod console;
pub mod html;
pub mod junit;
pub mod latency;
pub mod manual;
pub mod matrix;
pub mod merge;
pub mod record;
pub mod svg;
pub mod time;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::coverage::Entry;
use crate::family::{Identity, Placement};
use crate::golden::Comparison;
use crate::runner::events::Event;
use crate::runner::{Outcome, Verdict};
use crate::scenario::{Basis, Scenario};
use crate::waiver::WaiverNote;

/// The manual's words a failed manual-backed step rests on: one quote of an
/// entry of the manual index the step cites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitedQuote {
    /// The manual-index entry.
    pub entry: String,
    /// Printed page.
    pub page: u32,
    pub text: String,
}

/// What reporters are given besides the events: the manual index (loaded
/// once by `mtg run`), to show the words behind a failed step.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub index: Option<Arc<Vec<Entry>>>,
    /// Who ran the servers on the far side, and where (`embedded: smtp
    /// 127.0.0.2:40125, …`), for the record and the report.
    pub fixtures: Option<String>,
}

impl Context {
    pub fn with_index(index: Arc<Vec<Entry>>) -> Context {
        Context { index: Some(index), fixtures: None }
    }

    /// The quotes cited by step `step` (1-based) of `scenario`, as
    /// [`provenance::cited`](crate::provenance::cited) finds them.
    pub fn words(&self, scenario: &Scenario, step: usize) -> Vec<CitedQuote> {
        let (Some(entries), Some(step)) = (&self.index, step.checked_sub(1).and_then(|i| scenario.steps.get(i))) else {
            return Vec::new();
        };
        let index = crate::provenance::Index::new(entries);
        let cited = crate::provenance::cited(scenario, step, &index);
        crate::provenance::cited_words(&cited)
            .into_iter()
            .map(|(e, q)| CitedQuote { entry: e.id.clone(), page: q.page, text: q.text.clone() })
            .collect()
    }
}

/// How failures are counted by the basis of the failed expectation: `manual`,
/// `real-device`, `inferred`, `project-choice`, and `unattributed` for a
/// failure after the last step (unexpected output at the end).
pub fn basis_key(basis: Option<Basis>) -> String {
    basis.map_or_else(|| "unattributed".to_string(), |b| b.to_string())
}

/// The record of one scenario in a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioRecord {
    pub id: String,
    pub title: String,
    pub source: String,
    pub file: String,
    pub verdict: Verdict,
    pub message: Option<String>,
    pub failed_step: Option<(usize, String)>,
    /// How well the failed expectation is backed: a failure on an inferred
    /// expectation is an open question until a unit settles it.
    pub basis: Option<Basis>,
    /// When the scenario started, ISO-8601 UTC with milliseconds (absent
    /// in records written before it was kept).
    #[serde(default)]
    pub started: Option<String>,
    pub duration_ms: u64,
    /// `matches`, `missing`, `differs`, or `not-compared`.
    pub golden: String,
    pub transcript: Option<String>,
    /// Time of each step: on a rig, the unit's response time per command.
    #[serde(default)]
    pub steps: Vec<crate::transcript::StepTime>,
    /// A waiver matched the failure: live (`expired: false`, the failure is
    /// waived and not a finding) or expired (the failure stands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverNote>,
    /// For a failed manual-backed step: the manual's words it rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<CitedQuote>,
    /// Which firmware profile the answers matched (`both` where no erratum
    /// was involved), the errata met, and the answers in the other form.
    #[serde(default)]
    pub profile: crate::runner::ProfileMatch,
}

impl ScenarioRecord {
    /// A failure a live waiver covers.
    pub fn waived(&self) -> bool {
        self.verdict == Verdict::Fail && self.waiver.as_ref().is_some_and(|w| !w.expired)
    }

    /// A failure that is a finding (not waived).
    pub fn failed(&self) -> bool {
        self.verdict == Verdict::Fail && !self.waived()
    }

    /// The verdict as reports show it: `waived` for a waived failure.
    pub fn shown_verdict(&self) -> String {
        if self.waived() {
            "waived".to_string()
        } else {
            self.verdict.to_string()
        }
    }
}

/// The record of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    pub tool: String,
    pub started_unix: u64,
    /// `started_unix` as an ISO-8601 UTC date (absent in older records).
    #[serde(default)]
    pub started: Option<String>,
    pub target: String,
    /// The servers the scenarios met (`--fixtures`): provider and addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixtures: Option<String>,
    pub scenarios_root: String,
    pub finished: bool,
    pub interrupted: bool,
    pub results: Vec<ScenarioRecord>,
    /// Selected scenarios that did not run (interrupted runs).
    pub not_run: Vec<String>,
    /// What the target said it is, when it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// The firmware family the target was placed in, and the text that placed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Placement>,
    /// Failures (not waived) by the basis of the failed expectation.
    #[serde(default)]
    pub failures_by_basis: BTreeMap<String, usize>,
    /// Failures waived by a live waiver.
    #[serde(default)]
    pub waived: usize,
    /// Waivers that matched no failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched_waivers: Vec<String>,
    /// Scenarios run more than once (`--repeat`, `--soak`) that both passed
    /// and failed; each failure is in `results`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaky: Vec<String>,
    /// The rig unit this record is of (`mtg run --rig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Why the unit did not run (not ready, locked, wrong family): a rig error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rig_error: Option<String>,
    /// The rounds of a soak (`--soak`), with what each found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iterations: Vec<crate::runner::repeat::Iteration>,
    /// Manual-index entries the selected scenarios cover, by chapter (when
    /// the run had the index), so later reports can draw coverage without it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual: Vec<manual::ChapterCoverage>,
}

impl RunRecord {
    pub fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.verdict)).count()
    }

    /// Whether the run counts as a success (exit code 0).
    pub fn success(&self) -> bool {
        self.finished
            && !self.interrupted
            && self.rig_error.is_none()
            && self.results.iter().all(|r| {
                (matches!(r.verdict, Verdict::Pass | Verdict::Skipped(_)) || r.waived()) && r.golden != "differs"
            })
    }

    /// When the run started, as a date (older records only have `started_unix`).
    pub fn started_date(&self) -> String {
        self.started.clone().unwrap_or_else(|| time::utc_from_unix(self.started_unix as i64))
    }

    /// The family line of reports: `651_ (AT+CGMR says "651_")`, or why it is unknown.
    pub fn family_line(&self) -> Option<String> {
        let identity = self.identity.as_ref()?;
        Some(match (&self.family, &identity.unknown) {
            (Some(p), _) => format!("firmware family {} ({} says {:?})", p.family, p.by, p.matched),
            (None, Some(why)) => format!("firmware family unknown: {why}"),
            (None, None) => format!(
                "firmware family unknown: no family matches AT+CGMR {:?}, AT#VVERSION {:?}",
                identity.cgmr.as_deref().unwrap_or("(no answer)"),
                identity.vversion.as_deref().unwrap_or("(no answer)")
            ),
        })
    }

    /// Failures counted by basis, in the order reports show them (the four
    /// bases always, `unattributed` when there are any).
    pub fn by_basis(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = [Basis::Manual, Basis::RealDevice, Basis::Inferred, Basis::ProjectChoice]
            .into_iter()
            .map(|b| (b.to_string(), self.failures_by_basis.get(&b.to_string()).copied().unwrap_or(0)))
            .collect();
        if let Some(n) = self.failures_by_basis.get("unattributed") {
            out.push(("unattributed".into(), *n));
        }
        out
    }

    /// How many results of scenario `id` the record holds (earlier runs, with `--repeat`).
    pub fn runs_of(&self, id: &str) -> usize {
        self.results.iter().filter(|r| r.id == id).count()
    }

    fn recount(&mut self) {
        let mut by = BTreeMap::new();
        for r in self.results.iter().filter(|r| r.failed()) {
            *by.entry(basis_key(r.basis)).or_insert(0) += 1;
        }
        self.failures_by_basis = by;
        self.waived = self.results.iter().filter(|r| r.waived()).count();
        self.flaky = flaky(&self.results);
    }

    /// Bring the record up to date with one event; true when it changed.
    pub fn apply(&mut self, event: &Event<'_>) -> bool {
        self.apply_in(event, &Context::default())
    }

    /// [`apply`](Self::apply), with what the context gives (the manual's words).
    pub fn apply_in(&mut self, event: &Event<'_>, context: &Context) -> bool {
        match *event {
            Event::RunStarted { target, scenarios_root, selected, started, .. } => {
                *self = RunRecord {
                    tool: format!("mtg {}", env!("CARGO_PKG_VERSION")),
                    started_unix: started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
                    started: Some(time::utc_seconds(started)),
                    target: target.to_string(),
                    fixtures: context.fixtures.clone(),
                    scenarios_root: scenarios_root.display().to_string(),
                    finished: false,
                    interrupted: false,
                    results: Vec::new(),
                    not_run: selected.iter().map(|s| s.id.clone()).collect(),
                    manual: context.index.as_deref().map_or_else(Vec::new, |i| manual::by_chapter(i, selected)),
                    ..RunRecord::default()
                };
                true
            }
            Event::Identified { identity, family } => {
                self.identity = Some(identity.clone());
                self.family = family.cloned();
                true
            }
            Event::ScenarioFinished { scenario, started, outcome, golden, waiver, .. } => {
                self.not_run.retain(|id| *id != scenario.id);
                let mut message = outcome.message.as_deref().map(|m| outcome.transcript.redact(m));
                if let Some(w) = waiver.filter(|w| w.expired) {
                    message = Some(format!("{}; {}", message.unwrap_or_default(), w.describe()));
                }
                let words = match (&outcome.verdict, outcome.basis, &outcome.failed_step) {
                    (Verdict::Fail, Some(Basis::Manual), Some((step, _))) => context.words(scenario, *step),
                    _ => Vec::new(),
                };
                self.results.push(ScenarioRecord {
                    id: scenario.id.clone(),
                    title: scenario.title.clone(),
                    source: scenario.source.to_string(),
                    file: scenario.path.display().to_string(),
                    verdict: outcome.verdict.clone(),
                    message,
                    failed_step: outcome.failed_step.clone(),
                    basis: outcome.basis,
                    started: Some(time::utc_millis(started)),
                    duration_ms: outcome.duration_ms,
                    golden: golden_label(golden).to_string(),
                    transcript: transcript_file_of_run(scenario, outcome, self.runs_of(&scenario.id)),
                    steps: outcome.transcript.step_times(outcome.duration_ms),
                    waiver: waiver.cloned(),
                    words,
                    profile: outcome.profile.clone(),
                });
                self.recount();
                true
            }
            Event::RunFinished { interrupted, not_run, unmatched_waivers } => {
                self.interrupted = interrupted;
                self.finished = !interrupted;
                self.not_run = not_run.to_vec();
                self.unmatched_waivers = unmatched_waivers.to_vec();
                true
            }
            _ => false,
        }
    }
}

/// Scenarios with several results of which some pass and some fail (a
/// failure, an error or a golden difference), in the order they first ran.
pub fn flaky(results: &[ScenarioRecord]) -> Vec<String> {
    let mut seen: Vec<(&str, bool, bool)> = Vec::new();
    for r in results {
        let bad = r.failed() || r.verdict == Verdict::Error || r.golden == "differs";
        let good = !bad && r.verdict == Verdict::Pass;
        match seen.iter_mut().find(|(id, ..)| *id == r.id) {
            Some(e) => {
                e.1 |= good;
                e.2 |= bad;
            }
            None => seen.push((&r.id, good, bad)),
        }
    }
    seen.into_iter().filter(|(_, good, bad)| *good && *bad).map(|(id, ..)| id.to_string()).collect()
}

/// How the record names a golden comparison.
pub fn golden_label(golden: Option<&Comparison>) -> &'static str {
    match golden {
        None => "not-compared",
        Some(Comparison::Matches) => "matches",
        Some(Comparison::Missing) => "missing",
        Some(Comparison::Differs(_)) => "differs",
    }
}

/// Where a scenario's transcript goes in the output folder; a scenario
/// skipped before it sent anything has none.
pub fn transcript_file(scenario: &Scenario, outcome: &Outcome) -> Option<String> {
    if matches!(outcome.verdict, Verdict::Skipped(_)) && outcome.transcript.entries.is_empty() {
        None
    } else {
        Some(format!("transcripts/{}.txt", scenario.id))
    }
}

/// [`transcript_file`] of a scenario's run after `earlier` runs of it
/// (`--repeat`, `--soak`): the first is `transcripts/<id>.txt`, the next
/// `transcripts/<id>.run2.txt` and so on, so every run's transcript is kept.
pub fn transcript_file_of_run(scenario: &Scenario, outcome: &Outcome, earlier: usize) -> Option<String> {
    let name = transcript_file(scenario, outcome)?;
    Some(match earlier {
        0 => name,
        n => format!("transcripts/{}.run{}.txt", scenario.id, n + 1),
    })
}

/// A file of the output folder that could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: not a run record: {source}", path.display())]
    NotARecord { path: PathBuf, source: serde_json::Error },
}

/// The output folder of a run.
pub struct OutputDir {
    pub path: PathBuf,
}

impl OutputDir {
    /// Create the folder; what a previous run left in it is removed, so that
    /// nothing stale (an old diff) is mistaken for this run's.
    pub fn create(path: &Path) -> std::io::Result<OutputDir> {
        for sub in ["transcripts", "diffs"] {
            match std::fs::remove_dir_all(path.join(sub)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        for file in ["run.json", "junit.xml", "report.html"] {
            match std::fs::remove_file(path.join(file)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        std::fs::create_dir_all(path.join("transcripts"))?;
        std::fs::create_dir_all(path.join("diffs"))?;
        Ok(OutputDir { path: path.to_path_buf() })
    }
}

/// Read a run record (`run.json`, or a folder holding one).
pub fn read_record(path: &Path) -> Result<RunRecord, ReportError> {
    let file = if path.is_dir() { path.join("run.json") } else { path.to_path_buf() };
    let text = std::fs::read_to_string(&file).map_err(|source| ReportError::Read { path: file.clone(), source })?;
    serde_json::from_str(&text).map_err(|source| ReportError::NotARecord { path: file, source })
}

/// Replace `path` with `bytes` at once: a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let write = || -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|source| ReportError::Write { path: path.to_path_buf(), source })
}
