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

pub mod console;
pub mod html;
pub mod junit;
pub mod record;
pub mod time;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::golden::Comparison;
use crate::runner::events::Event;
use crate::runner::{Outcome, Verdict};
use crate::scenario::{Basis, Scenario};

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
    /// Which firmware profile the answers matched (`both` where no erratum
    /// was involved), the errata met, and the answers in the other form.
    #[serde(default)]
    pub profile: crate::runner::ProfileMatch,
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
    pub scenarios_root: String,
    pub finished: bool,
    pub interrupted: bool,
    pub results: Vec<ScenarioRecord>,
    /// Selected scenarios that did not run (interrupted runs).
    pub not_run: Vec<String>,
}

impl RunRecord {
    pub fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.verdict)).count()
    }

    /// Whether the run counts as a success (exit code 0).
    pub fn success(&self) -> bool {
        self.finished
            && !self.interrupted
            && self
                .results
                .iter()
                .all(|r| matches!(r.verdict, Verdict::Pass | Verdict::Skipped(_)) && r.golden != "differs")
    }

    /// When the run started, as a date (older records only have `started_unix`).
    pub fn started_date(&self) -> String {
        self.started.clone().unwrap_or_else(|| time::utc_from_unix(self.started_unix as i64))
    }

    /// Bring the record up to date with one event; true when it changed.
    pub fn apply(&mut self, event: &Event<'_>) -> bool {
        match *event {
            Event::RunStarted { target, scenarios_root, selected, started, .. } => {
                *self = RunRecord {
                    tool: format!("mtg {}", env!("CARGO_PKG_VERSION")),
                    started_unix: started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
                    started: Some(time::utc_seconds(started)),
                    target: target.to_string(),
                    scenarios_root: scenarios_root.display().to_string(),
                    finished: false,
                    interrupted: false,
                    results: Vec::new(),
                    not_run: selected.iter().map(|s| s.id.clone()).collect(),
                };
                true
            }
            Event::ScenarioFinished { scenario, started, outcome, golden, .. } => {
                self.not_run.retain(|id| *id != scenario.id);
                self.results.push(ScenarioRecord {
                    id: scenario.id.clone(),
                    title: scenario.title.clone(),
                    source: scenario.source.to_string(),
                    file: scenario.path.display().to_string(),
                    verdict: outcome.verdict.clone(),
                    message: outcome.message.as_deref().map(|m| outcome.transcript.redact(m)),
                    failed_step: outcome.failed_step.clone(),
                    basis: outcome.basis,
                    started: Some(time::utc_millis(started)),
                    duration_ms: outcome.duration_ms,
                    golden: golden_label(golden).to_string(),
                    transcript: transcript_file(scenario, outcome),
                    steps: outcome.transcript.step_times(outcome.duration_ms),
                    profile: outcome.profile.clone(),
                });
                true
            }
            Event::RunFinished { interrupted, not_run } => {
                self.interrupted = interrupted;
                self.finished = !interrupted;
                self.not_run = not_run.to_vec();
                true
            }
            _ => false,
        }
    }
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
