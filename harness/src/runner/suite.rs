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

use crate::family::{self, Family, Identity};
use crate::golden::{self, Comparison};
use crate::scenario::{self, Capability, LoadError, Scenario};
use crate::transport::{Target, TargetError};
use crate::waiver::Waivers;

use super::events::{Event, Sink};
use super::{cancelled, execute, health, Options, Outcome, Verdict};

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
    if let Some(reason) = ignore_reason(scenario, &offered(target, options)) {
        let mut outcome = skipped(scenario, reason);
        outcome.profile.judged_by = options.firmware;
        return outcome;
    }
    let tmp = tempfile::tempdir();
    let target = own_unit(target, tmp.as_ref().ok().map(|d| d.path()));
    let net_map = options.fixtures.as_ref().map(|f| f.net_map());
    let mut transport = match target.open_with(net_map.as_ref()).await {
        Ok(t) => t,
        Err(e) => {
            let mut outcome = open_failed(scenario, e);
            outcome.profile.judged_by = options.firmware;
            return outcome;
        }
    };
    // A unit on a line keeps what the scenario before left in it.
    if let Some(sequence) = options.reset.as_deref().filter(|_| health::shared_unit(&target)) {
        if let Err(outcome) = super::reset::before(scenario, sequence, transport.as_mut(), options, sink).await {
            return outcome;
        }
    }
    execute(scenario, transport.as_mut(), options, sink).await
}

/// What a target offers a scenario: its own capabilities and those of the
/// run's servers.
pub fn offered(target: &Target, options: &Options) -> BTreeSet<Capability> {
    let mut caps = target.capabilities();
    if let Some(set) = &options.fixtures {
        caps.extend(set.capabilities());
    }
    caps
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
    /// Ask the target what it is before the run and place it in one of these
    /// families (`scenarios/families.yaml`); `None` asks nothing (and scopes
    /// nothing by family).
    pub families: Option<Vec<Family>>,
    /// Failures these waivers match are waived (or reported as expired).
    pub waivers: Option<Arc<Waivers>>,
    /// Today, `YYYY-MM-DD`, for the waivers' expiry dates.
    pub today: String,
}

/// The family scoping of a scenario, when it rules this unit out.
pub fn family_skip(scenario: &Scenario, family: Option<&str>) -> Option<String> {
    let family = family?;
    if scenario.families.is_empty() || scenario.families.iter().any(|f| f == family) {
        return None;
    }
    Some(format!("for firmware families {}; this unit is {family}", scenario.families.join(", ")))
}

/// An emulator target without a flash file gets a parameter store of its
/// own in `dir` (so restarts keep parameters, as on a unit); a physical
/// target is whatever is on the line.
fn own_unit(target: &Target, dir: Option<&Path>) -> Target {
    match (target, dir) {
        (Target::Emulator { flash: None, firmware, attach, caps }, Some(dir)) => Target::Emulator {
            flash: Some(dir.join("flash.json")),
            firmware: *firmware,
            attach: *attach,
            caps: caps.clone(),
        },
        (Target::Pty { flash: None, firmware, attach, caps }, Some(dir)) => Target::Pty {
            flash: Some(dir.join("flash.json")),
            firmware: *firmware,
            attach: *attach,
            caps: caps.clone(),
        },
        (t, _) => t.clone(),
    }
}

/// Ask the target what it is, changing nothing on it: the health check's
/// commands ([`health::PROBE`]: `AT`, `ATI`, `AT+CGMR`, …, `AT#VVERSION`),
/// whose answers are kept as the unit's fingerprint. No `AT+WOPEN=1` first,
/// so a unit whose stack is closed may refuse `AT#VVERSION` (its answer is
/// then absent). A target that cannot be opened or does not answer `AT` has
/// an unknown identity and says why the rig is not ready
/// ([`Identity::not_ready`]); [`run_suite`] then runs nothing.
pub async fn identify(target: &Target, options: &Options) -> Identity {
    identify_with(target, options, &mut |_| {}).await
}

/// [`identify`], telling `say` each answer as it comes (`mtg probe`).
pub async fn identify_with(
    target: &Target,
    options: &Options,
    say: &mut (dyn FnMut(&crate::family::ProbeAnswer) + Send),
) -> Identity {
    let tmp = tempfile::tempdir();
    let target = own_unit(target, tmp.as_ref().ok().map(|d| d.path()));
    let mut t = match target.open().await {
        Ok(t) => t,
        Err(e) => {
            let why = format!("the rig is not ready: {e}");
            return Identity { not_ready: Some(why.clone()), ..Identity::unknown(why) };
        }
    };
    let desc = t.describe();
    let asking = health::check(t.as_mut(), health::PROBE, options, say);
    tokio::select! {
        answers = asking => match answers {
            Ok(answers) => health::identity(&desc, answers),
            Err(e) => {
                let why = format!("the rig is not ready: {e}");
                Identity { not_ready: Some(why.clone()), ..Identity::unknown(why) }
            }
        },
        _ = cancelled(options.cancel.clone()) => Identity::unknown("interrupted before the target was asked"),
    }
}

/// How a suite run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteResult {
    pub interrupted: bool,
    /// Scenarios that failed, erred, or differ from their golden.
    pub findings: usize,
    /// Selected scenarios that did not finish, in suite order.
    pub not_run: Vec<String>,
    /// The rig was not ready (before the run, or the unit stopped answering
    /// during it): why. `mtg run` exits with 3.
    pub not_ready: Option<String>,
}

/// What the finishing scenarios share: finishing is one at a time, so that
/// `done` counts in the order sinks see the events.
#[derive(Default)]
struct Tally {
    done: usize,
    findings: usize,
    finished: HashSet<String>,
    /// The shared unit stopped answering: why (naming the scenario after
    /// which it did). The scenarios after it are not run.
    gone: Option<String>,
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
    let (identity, placement) = match &plan.families {
        Some(families) => {
            let identity = identify(target, options).await;
            let placement = family::place(&identity, families);
            sink.event(&Event::Identified { identity: &identity, family: placement.as_ref() });
            (identity, placement)
        }
        None => (Identity::default(), None),
    };
    if let Some(why) = identity.not_ready.clone() {
        // Nothing can run: one clear error instead of every scenario failing.
        tracing::error!("{why}");
        let not_run: Vec<String> = selected.iter().map(|s| s.id.clone()).collect();
        sink.event(&Event::RunFinished { interrupted: false, not_run: &not_run, unmatched_waivers: &[] });
        return SuiteResult { interrupted: false, findings: 0, not_run, not_ready: Some(why) };
    }
    let unit = Arc::new((identity, placement));
    let mut options = options.clone();
    options.family = unit.1.as_ref().map(|p| p.family.clone());
    let options = &options;
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
                let (unit, waivers, today) = (unit.clone(), plan.waivers.clone(), plan.today.clone());
                tasks.spawn(async move {
                    let _permit = permit;
                    if options.cancel.as_ref().is_some_and(|c| *c.borrow()) {
                        return;
                    }
                    let started = SystemTime::now();
                    sink.event(&Event::ScenarioStarted { scenario: &scenario, started });
                    let gone = tally.lock().unwrap_or_else(PoisonError::into_inner).gone.clone();
                    let outcome = match (gone, family_skip(&scenario, options.family.as_deref())) {
                        (Some(why), _) => skipped(&scenario, why),
                        (None, Some(reason)) => skipped(&scenario, reason),
                        (None, None) => run_one(&scenario, &target, &options, sink.as_ref()).await,
                    };
                    // A shared unit that did not pass may have stopped
                    // answering: if so (after a power cycle, when one is
                    // configured), the rest is not run rather than timing out
                    // one scenario after another.
                    if matches!(outcome.verdict, Verdict::Fail | Verdict::Error) && health::shared_unit(&target) {
                        if let Err(why) = still_answering(&target, &options).await {
                            tracing::error!("{why}");
                            let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
                            tally.gone.get_or_insert(format!(
                                "not run: the unit stopped answering after {} ({why})",
                                scenario.id
                            ));
                        }
                    }
                    let waiver = waivers.filter(|_| outcome.verdict == Verdict::Fail).and_then(|w| {
                        let step = outcome.failed_step.as_ref().map(|f| f.0);
                        w.judge(&scenario.id, step, &unit.0, unit.1.as_ref(), &today)
                    });
                    let waived = waiver.as_ref().is_some_and(|w| !w.expired);
                    let comparison = golden_root.filter(|_| outcome.verdict == Verdict::Pass).map(|root| {
                        let text = outcome.transcript.render();
                        let steps = scenario.profile_steps();
                        golden::compare_profile(&root, &scenario.id, &text, options.firmware, &options.errata, &steps)
                    });
                    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
                    tally.done += 1;
                    tally.finished.insert(scenario.id.clone());
                    if (matches!(outcome.verdict, Verdict::Fail | Verdict::Error) && !waived)
                        || matches!(comparison, Some(Comparison::Differs(_)))
                    {
                        tally.findings += 1;
                    }
                    sink.event(&Event::ScenarioFinished {
                        scenario: &scenario,
                        started,
                        outcome: &outcome,
                        golden: comparison.as_ref(),
                        waiver: waiver.as_ref(),
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
    let unmatched = plan.waivers.as_ref().map(|w| w.unmatched()).unwrap_or_default();
    sink.event(&Event::RunFinished { interrupted, not_run: &not_run, unmatched_waivers: &unmatched });
    SuiteResult { interrupted, findings: tally.findings, not_run, not_ready: tally.gone.clone() }
}

/// How long the power-cycle command may take.
const POWER_CYCLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Does the shared unit still answer `AT`? If not and a power-cycle command
/// is configured, run it and ask again.
async fn still_answering(target: &Target, options: &Options) -> Result<(), String> {
    let Err(why) = health::answers_at(target, options).await else { return Ok(()) };
    let Some(command) = options.power_cycle.as_deref() else { return Err(why) };
    tracing::warn!("{why}");
    health::power_cycle(command, POWER_CYCLE_TIMEOUT).await?;
    health::answers_at(target, options).await.map_err(|e| format!("{e}, also after the power cycle"))
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
