//! The run record: `run.json`, `transcripts/<id>.txt` and `diffs/<id>.diff`.
//!
//! `run.json` is rewritten (atomically) at the start, after every scenario
//! and at the end, so a run that fails or is interrupted still leaves a
//! record of what ran and what did not.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::{transcript_file_of_run, write_atomic, Context, ReportError, RunRecord};
use crate::golden::Comparison;
use crate::runner::events::{Event, Sink};

/// Writes the run record and each scenario's transcript and diff.
pub struct RecordReporter {
    dir: PathBuf,
    record: Mutex<RunRecord>,
    context: Context,
}

impl RecordReporter {
    /// Write into `dir`, which [`OutputDir::create`](super::OutputDir::create) prepared.
    pub fn new(dir: &Path) -> RecordReporter {
        RecordReporter { dir: dir.to_path_buf(), record: Mutex::new(RunRecord::default()), context: Context::default() }
    }

    /// Record the manual's words behind failed manual-backed steps.
    pub fn with_context(mut self, context: Context) -> RecordReporter {
        self.context = context;
        self
    }

    fn write_record(&self, record: &RunRecord) -> Result<(), ReportError> {
        let json = serde_json::to_vec_pretty(record).expect("a run record always serialises");
        write_atomic(&self.dir.join("run.json"), &json)
    }

    /// A finished scenario's files: its transcript, and its diff when it
    /// differs. `earlier` runs of the same scenario keep their transcripts.
    fn write_scenario(&self, event: &Event<'_>, earlier: usize) -> Result<(), ReportError> {
        // The reset before a scenario on a unit that keeps its state: kept
        // beside the transcript, never in it (goldens do not hold it).
        if let Event::ResetFinished { scenario, transcript, .. } = *event {
            let name = match earlier {
                0 => format!("transcripts/{scenario}.reset.txt"),
                n => format!("transcripts/{scenario}.run{}.reset.txt", n + 1),
            };
            return write_atomic(&self.dir.join(name), transcript.render().as_bytes());
        }
        let Event::ScenarioFinished { scenario, outcome, golden, .. } = *event else { return Ok(()) };
        if let Some(name) = transcript_file_of_run(scenario, outcome, earlier) {
            write_atomic(&self.dir.join(name), outcome.transcript.render().as_bytes())?;
        }
        if let Some(Comparison::Differs(diff)) = golden {
            write_atomic(&self.dir.join(format!("diffs/{}.diff", scenario.id)), diff.as_bytes())?;
        }
        Ok(())
    }
}

impl Sink for RecordReporter {
    fn event(&self, event: &Event<'_>) {
        // The files of a scenario come before the record that names them.
        let mut record = self.record.lock().unwrap_or_else(PoisonError::into_inner);
        let earlier = match event {
            Event::ScenarioFinished { scenario, .. } => record.runs_of(&scenario.id),
            Event::ResetFinished { scenario, .. } => record.runs_of(scenario),
            _ => 0,
        };
        if let Err(e) = self.write_scenario(event, earlier) {
            eprintln!("error: {e}");
        }
        if record.apply_in(event, &self.context) {
            if let Err(e) = self.write_record(&record) {
                eprintln!("error: {e}");
            }
        }
    }
}
