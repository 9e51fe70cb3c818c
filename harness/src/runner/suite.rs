//! The suite: which scenarios run, on what, and in which order.
//!
//! Both front ends (the `cargo test` target and `mtg run`) use this module,
//! so a scenario means the same thing in CI and on the bench rig.
//! [`run_suite`] runs a selection the way `mtg run` does: several at once,
//! in suite order, compared with the goldens, stoppable by [`Options::cancel`].

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::golden::{self, Comparison};
use crate::scenario::{self, Capability, LoadError, Scenario};
use crate::transport::{Target, TargetError};

use super::events::{Event, Sink};
use super::{cancelled, execute, Options, Outcome, Verdict};

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
pub async fn run_one(scenario: &Scenario, target: &Target, options: &Options, sink: &dyn Sink) -> Outcome {
    if let Some(reason) = ignore_reason(scenario, &target.capabilities()) {
        let mut outcome = skipped(scenario, reason);
        outcome.profile.judged_by = options.firmware;
        return outcome;
    }
    let tmp = tempfile::tempdir();
    let target = match (target, &tmp) {
        (Target::Emulator { flash: None, firmware, caps }, Ok(dir)) => {
            Target::Emulator { flash: Some(dir.path().join("flash.json")), firmware: *firmware, caps: caps.clone() }
        }
        (Target::Pty { flash: None, firmware, caps }, Ok(dir)) => {
            Target::Pty { flash: Some(dir.path().join("flash.json")), firmware: *firmware, caps: caps.clone() }
        }
        (t, _) => t.clone(),
    };
    let mut transport = match target.open().await {
        Ok(t) => t,
        Err(e) => {
            let mut outcome = open_failed(scenario, e);
            outcome.profile.judged_by = options.firmware;
            return outcome;
        }
    };
    execute(scenario, transport.as_mut(), options, sink).await
}

/// How [`run_suite`] runs a selection.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The target as the user wrote it, for the record.
    pub target_label: String,
    /// Where the scenarios were loaded from, for the record.
    pub scenarios_root: PathBuf,
    /// Scenarios run at once (at least 1).
    pub jobs: usize,
    /// Compare the transcript of each passing scenario with the golden under
    /// this workspace root; `None` compares nothing.
    pub golden_root: Option<PathBuf>,
    /// After an interruption, how long running scenarios get to stop and
    /// hand in what they have before they are abandoned.
    pub grace: Duration,
}

/// How a suite run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteResult {
    pub interrupted: bool,
    /// Scenarios that failed, erred, or differ from their golden.
    pub findings: usize,
    /// Selected scenarios that did not finish, in suite order.
    pub not_run: Vec<String>,
}

/// What the finishing scenarios share: finishing is one at a time, so that
/// `done` counts in the order sinks see the events.
#[derive(Default)]
struct Tally {
    done: usize,
    findings: usize,
    finished: HashSet<String>,
}

/// Run `selected` on `target`, `plan.jobs` at a time in suite order, and
/// tell `sink` everything from `RunStarted` to `RunFinished`.
///
/// When `options.cancel` becomes true, running scenarios stop where they
/// are and still finish (with their transcripts); scenarios not started
/// are not started and are listed as not run.
pub async fn run_suite(
    selected: &[Scenario],
    target: &Target,
    options: &Options,
    plan: &Plan,
    sink: Arc<dyn Sink>,
) -> SuiteResult {
    let total = selected.len();
    sink.event(&Event::RunStarted {
        target: &plan.target_label,
        scenarios_root: &plan.scenarios_root,
        selected,
        jobs: plan.jobs,
        started: SystemTime::now(),
    });
    let tally = Arc::new(Mutex::new(Tally::default()));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(plan.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let interrupted = {
        let work = async {
            for scenario in selected {
                // Taking the permit before spawning keeps the suite's order.
                let Ok(permit) = semaphore.clone().acquire_owned().await else { break };
                let (scenario, target, options, sink, tally) =
                    (scenario.clone(), target.clone(), options.clone(), sink.clone(), tally.clone());
                let golden_root = plan.golden_root.clone();
                tasks.spawn(async move {
                    let _permit = permit;
                    if options.cancel.as_ref().is_some_and(|c| *c.borrow()) {
                        return;
                    }
                    let started = SystemTime::now();
                    sink.event(&Event::ScenarioStarted { scenario: &scenario, started });
                    let outcome = run_one(&scenario, &target, &options, sink.as_ref()).await;
                    let comparison = golden_root.filter(|_| outcome.verdict == Verdict::Pass).map(|root| {
                        let text = outcome.transcript.render();
                        let steps = scenario.profile_steps();
                        golden::compare_profile(&root, &scenario.id, &text, options.firmware, &options.errata, &steps)
                    });
                    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
                    tally.done += 1;
                    tally.finished.insert(scenario.id.clone());
                    if matches!(outcome.verdict, Verdict::Fail | Verdict::Error)
                        || matches!(comparison, Some(Comparison::Differs(_)))
                    {
                        tally.findings += 1;
                    }
                    sink.event(&Event::ScenarioFinished {
                        scenario: &scenario,
                        started,
                        outcome: &outcome,
                        golden: comparison.as_ref(),
                        done: tally.done,
                        total,
                    });
                });
            }
            while tasks.join_next().await.is_some() {}
        };
        tokio::pin!(work);
        tokio::select! {
            _ = &mut work => false,
            _ = cancelled(options.cancel.clone()) => {
                let _ = tokio::time::timeout(plan.grace, &mut work).await;
                true
            }
        }
    };
    // A scenario still running after the grace period is abandoned: it
    // must not report after the run has finished.
    tasks.shutdown().await;
    let tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
    let not_run: Vec<String> =
        selected.iter().filter(|s| !tally.finished.contains(&s.id)).map(|s| s.id.clone()).collect();
    sink.event(&Event::RunFinished { interrupted, not_run: &not_run });
    SuiteResult { interrupted, findings: tally.findings, not_run }
}

fn skipped(scenario: &Scenario, reason: String) -> Outcome {
    Outcome {
        id: scenario.id.clone(),
        verdict: Verdict::Skipped(reason),
        message: None,
        failed_step: None,
        basis: None,
        duration_ms: 0,
        profile: Default::default(),
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
        profile: Default::default(),
        transcript,
    }
}
