//! The suite: which scenarios run, on what, and in which order.
//!
//! Both front ends (the `cargo test` target and `mtg run`) use this module,
//! so a scenario means the same thing in CI and on the bench rig.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::scenario::{self, Capability, LoadError, Scenario};
use crate::transport::{Target, TargetError};

use super::{execute, Options, Outcome, Progress, Verdict};

/// Every scenario under a root, and the files that did not load.
pub struct Suite {
    pub root: PathBuf,
    pub scenarios: Vec<Scenario>,
    pub errors: Vec<LoadError>,
}

impl Suite {
    pub fn load(root: &Path) -> Suite {
        let (scenarios, errors) = scenario::load_dir(root);
        Suite { root: root.to_path_buf(), scenarios, errors }
    }

    /// Scenarios whose id contains any filter (or equals it, with `exact`).
    pub fn select(&self, filters: &[String], exact: bool) -> Vec<&Scenario> {
        self.scenarios
            .iter()
            .filter(|s| {
                filters.is_empty() || filters.iter().any(|f| if exact { s.id == *f } else { s.id.contains(f.as_str()) })
            })
            .collect()
    }
}

/// Capabilities a scenario needs that the target lacks.
pub fn missing(scenario: &Scenario, offered: &BTreeSet<Capability>) -> Vec<Capability> {
    scenario.requires.iter().copied().filter(|c| !offered.contains(c)).collect()
}

/// Why a scenario cannot run on a target, if it cannot.
pub fn ignore_reason(scenario: &Scenario, offered: &BTreeSet<Capability>) -> Option<String> {
    let lacking = missing(scenario, offered);
    if lacking.is_empty() {
        return None;
    }
    let names: Vec<&str> = lacking.iter().map(|c| c.name()).collect();
    Some(format!("target lacks {}", names.join(", ")))
}

/// Keep partition `index` of `count` (1-based), for splitting a suite over
/// several rigs or CI jobs; the split is by position in the sorted suite.
pub fn partition<T>(items: Vec<T>, index: usize, count: usize) -> Vec<T> {
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| count == 0 || i % count == index.saturating_sub(1))
        .map(|(_, s)| s)
        .collect()
}

/// Run one scenario on a target. Each scenario gets a unit of its own: for
/// the emulator targets without a flash file, a fresh parameter store in a
/// temporary directory (so that restarts keep parameters, as on a unit);
/// a physical target is whatever is on the line.
pub async fn run_one(scenario: &Scenario, target: &Target, options: &Options, progress: &dyn Progress) -> Outcome {
    if let Some(reason) = ignore_reason(scenario, &target.capabilities()) {
        return skipped(scenario, reason);
    }
    let tmp = tempfile::tempdir();
    let target = match (target, &tmp) {
        (Target::Emulator { flash: None, caps }, Ok(dir)) => {
            Target::Emulator { flash: Some(dir.path().join("flash.json")), caps: caps.clone() }
        }
        (Target::Pty { flash: None, caps }, Ok(dir)) => {
            Target::Pty { flash: Some(dir.path().join("flash.json")), caps: caps.clone() }
        }
        (t, _) => t.clone(),
    };
    let mut transport = match target.open().await {
        Ok(t) => t,
        Err(e) => return open_failed(scenario, e),
    };
    execute(scenario, transport.as_mut(), options, progress).await
}

fn skipped(scenario: &Scenario, reason: String) -> Outcome {
    Outcome {
        id: scenario.id.clone(),
        verdict: Verdict::Skipped(reason),
        message: None,
        failed_step: None,
        basis: None,
        duration_ms: 0,
        transcript: crate::transcript::Transcript::new(&scenario.id, Vec::new()),
    }
}

fn open_failed(scenario: &Scenario, e: TargetError) -> Outcome {
    let mut transcript = crate::transcript::Transcript::new(&scenario.id, Vec::new());
    transcript.note(e.to_string());
    Outcome {
        id: scenario.id.clone(),
        verdict: Verdict::Error,
        message: Some(e.to_string()),
        failed_step: None,
        basis: None,
        duration_ms: 0,
        transcript,
    }
}
