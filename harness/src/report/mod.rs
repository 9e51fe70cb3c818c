//! Run records and summaries.
//!
//! A run writes into its output folder, as it goes:
//! - `transcripts/<id>.txt`: the normalised transcript (the golden form);
//! - `diffs/<id>.diff`: the difference from the golden, where there is one;
//! - `run.json`: the run record, rewritten atomically after every scenario,
//!   so a run that fails or is interrupted still leaves a complete record of
//!   what was done and what was not;
//! - `junit.xml`: the same results for CI dashboards;
//! - `report.html`: a self-contained page for people, compared with a
//!   baseline run when one is given ([`html`]).

pub mod html;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::golden::Comparison;
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
    pub duration_ms: u64,
    /// `matches`, `missing`, `differs`, or `not-compared`.
    pub golden: String,
    pub transcript: Option<String>,
    /// Time of each step: on a rig, the unit's response time per command.
    #[serde(default)]
    pub steps: Vec<crate::transcript::StepTime>,
}

/// The record of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub tool: String,
    pub started_unix: u64,
    pub target: String,
    pub scenarios_root: String,
    pub finished: bool,
    pub interrupted: bool,
    pub results: Vec<ScenarioRecord>,
    /// Selected scenarios that did not run (interrupted runs).
    pub not_run: Vec<String>,
}

impl RunRecord {
    pub fn new(target: &str, root: &Path, selected: &[&Scenario]) -> RunRecord {
        RunRecord {
            tool: format!("mtg {}", env!("CARGO_PKG_VERSION")),
            started_unix: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            target: target.to_string(),
            scenarios_root: root.display().to_string(),
            finished: false,
            interrupted: false,
            results: Vec::new(),
            not_run: selected.iter().map(|s| s.id.clone()).collect(),
        }
    }

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

    /// Write one scenario's files and add it to the record.
    pub fn add(
        &self,
        record: &mut RunRecord,
        scenario: &Scenario,
        outcome: &Outcome,
        golden: Option<&Comparison>,
    ) -> std::io::Result<()> {
        let transcript = if matches!(outcome.verdict, Verdict::Skipped(_)) && outcome.transcript.entries.is_empty() {
            None
        } else {
            let name = format!("transcripts/{}.txt", scenario.id);
            write_atomic(&self.path.join(&name), outcome.transcript.render().as_bytes())?;
            Some(name)
        };
        let golden = match golden {
            None => "not-compared".to_string(),
            Some(Comparison::Matches) => "matches".to_string(),
            Some(Comparison::Missing) => "missing".to_string(),
            Some(Comparison::Differs(diff)) => {
                write_atomic(&self.path.join(format!("diffs/{}.diff", scenario.id)), diff.as_bytes())?;
                "differs".to_string()
            }
        };
        record.not_run.retain(|id| *id != scenario.id);
        record.results.push(ScenarioRecord {
            id: scenario.id.clone(),
            title: scenario.title.clone(),
            source: scenario.source.to_string(),
            file: scenario.path.display().to_string(),
            verdict: outcome.verdict.clone(),
            message: outcome.message.as_deref().map(|m| outcome.transcript.redact(m)),
            failed_step: outcome.failed_step.clone(),
            basis: outcome.basis,
            duration_ms: outcome.duration_ms,
            golden,
            transcript,
            steps: outcome.transcript.step_times(outcome.duration_ms),
        });
        self.write_record(record)
    }

    pub fn write_record(&self, record: &RunRecord) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
        write_atomic(&self.path.join("run.json"), &json)?;
        write_atomic(&self.path.join("junit.xml"), junit(record).as_bytes())
    }

    /// Write `report.html`, compared with `baseline` when given.
    pub fn write_html(&self, record: &RunRecord, baseline: Option<&RunRecord>) -> std::io::Result<()> {
        let page = html::render(record, &self.path, baseline);
        write_atomic(&self.path.join("report.html"), page.as_bytes())
    }
}

/// Read a run record (`run.json`, or a folder holding one).
pub fn read_record(path: &Path) -> Result<RunRecord, String> {
    let file = if path.is_dir() { path.join("run.json") } else { path.to_path_buf() };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a run record: {e}", file.display()))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// JUnit XML (one testsuite, one testcase per scenario).
pub fn junit(record: &RunRecord) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let failures = record.count(|v| *v == Verdict::Fail);
    let errors = record.count(|v| *v == Verdict::Error);
    let skipped = record.count(|v| matches!(v, Verdict::Skipped(_)));
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuite name=\"mtg\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">",
        record.results.len()
    );
    for r in &record.results {
        let _ = write!(
            s,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            esc(&r.file),
            esc(&r.id),
            r.duration_ms as f64 / 1000.0
        );
        let msg = esc(r.message.as_deref().unwrap_or(""));
        let basis = r.basis.map(|b| format!(" [{b} expectation]")).unwrap_or_default();
        match &r.verdict {
            Verdict::Pass if r.golden == "differs" => {
                let _ = writeln!(
                    s,
                    ">\n    <failure message=\"transcript differs from golden/{}.snap\"/>\n  </testcase>",
                    esc(&r.id)
                );
            }
            Verdict::Pass => s.push_str("/>\n"),
            Verdict::Fail => {
                let _ = writeln!(s, ">\n    <failure message=\"{msg}{basis}\"/>\n  </testcase>");
            }
            Verdict::Error => {
                let _ = writeln!(s, ">\n    <error message=\"{msg}\"/>\n  </testcase>");
            }
            Verdict::Skipped(reason) => {
                let _ = writeln!(s, ">\n    <skipped message=\"{}\"/>\n  </testcase>", esc(reason));
            }
        }
    }
    s.push_str("</testsuite>\n");
    s
}

/// The summary table printed at the end of `mtg run`.
pub fn summary(record: &RunRecord) -> String {
    let mut s = String::new();
    let width = record.results.iter().map(|r| r.id.len()).max().unwrap_or(8).max(8);
    let _ = writeln!(s, "{:<width$}  {:<8}  {:<8}  {:>8}  detail", "scenario", "verdict", "golden", "time");
    for r in &record.results {
        let detail = match (&r.verdict, &r.message) {
            (Verdict::Skipped(reason), _) => reason.clone(),
            (_, Some(m)) => {
                let basis = r.basis.map(|b| format!(" [{b}]")).unwrap_or_default();
                format!("{m}{basis}")
            }
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "{:<width$}  {:<8}  {:<8}  {:>6}ms  {detail}",
            r.id,
            r.verdict.to_string(),
            r.golden,
            r.duration_ms
        );
    }
    let _ = writeln!(
        s,
        "\n{} passed, {} failed, {} errors, {} skipped, {} golden differences{}",
        record.count(|v| *v == Verdict::Pass),
        record.count(|v| *v == Verdict::Fail),
        record.count(|v| *v == Verdict::Error),
        record.count(|v| matches!(v, Verdict::Skipped(_))),
        record.results.iter().filter(|r| r.golden == "differs").count(),
        if record.interrupted { format!(", interrupted ({} not run)", record.not_run.len()) } else { String::new() }
    );
    s
}
