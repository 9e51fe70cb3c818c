//! A lab of units: `mtg run --rig FILE` runs the suite on every unit of a
//! rig at once, one scenario at a time per unit, each unit with its own
//! record (`OUT/<unit>/run.json`, transcripts, diffs, `junit.xml`,
//! `report.html`) and the combined `OUT/rig.json`, `OUT/junit.xml` and
//! `OUT/report.html` ([`report::merge`](crate::report::merge)).
//!
//! Before its scenarios, each unit is locked (a local serial device: see
//! [`runner::lock`](crate::runner::lock)), asked what it is, and checked
//! against the family the rig expects. A unit that cannot be locked, does
//! not answer, or is of another family is a rig error of that unit: its
//! record says why, and it runs nothing. A unit that fails mid-run fails
//! only its own scenarios.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::family::{self, Family};
use crate::report::merge::{self, RigSummary};
use crate::report::{
    self, html::HtmlReporter, junit::JunitReporter, record::RecordReporter, Context, OutputDir, RunRecord,
};
use crate::runner::events::{Event, Sink};
use crate::runner::repeat::{run_repeated, Iteration, Repeat};
use crate::runner::rig::{Rig, RigError, Unit, UnitReset};
use crate::runner::suite::{identify, Plan};
use crate::runner::{lock, Options, Verdict};
use crate::scenario::Scenario;

/// What a rig run is given.
pub struct Lab {
    pub rig: Rig,
    /// The units picked (`--unit`), in rig order.
    pub units: Vec<Unit>,
    pub selected: Vec<Scenario>,
    pub out: PathBuf,
    /// The plan of one unit's run; the target label and jobs are set per unit.
    pub plan: Plan,
    pub options: Options,
    pub repeat: Repeat,
    pub families: Vec<Family>,
    pub context: Context,
    /// stderr is a terminal: progress is a board redrawn in place.
    pub tty: bool,
    /// Print every step (without a terminal).
    pub steps: bool,
}

/// How a rig run ended.
#[derive(Debug, Clone, Default)]
pub struct LabResult {
    pub interrupted: bool,
    pub findings: usize,
    /// Units that did not run, and why.
    pub not_ready: Vec<(String, String)>,
    /// The records, by unit folder.
    pub records: Vec<(String, RunRecord)>,
}

/// Each unit's variables (the secrets read from the environment and
/// registered for redaction), checked before anything runs.
pub fn unit_variables(units: &[Unit]) -> Result<Vec<BTreeMap<String, String>>, RigError> {
    units.iter().map(Unit::variables).collect()
}

/// The scenarios as they run on a unit: its variables override their defaults.
fn with_vars(selected: &[Scenario], vars: &BTreeMap<String, String>) -> Vec<Scenario> {
    selected
        .iter()
        .cloned()
        .map(|mut s| {
            s.vars.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            s
        })
        .collect()
}

/// Run the lab. Errors here are of the output folder (bad input).
pub async fn run(lab: Lab, vars: Vec<BTreeMap<String, String>>) -> Result<LabResult, String> {
    let out = OutputDir::create(&lab.out).map_err(|e| format!("output folder {}: {e}", lab.out.display()))?;
    let _ = std::fs::remove_file(out.path.join("rig.json"));
    let board = Arc::new(Board::new(&lab.units, lab.selected.len(), lab.tty, lab.steps, &lab.repeat));
    eprintln!(
        "mtg: running {} scenario(s) on {} unit(s) of {} in parallel, output in {}",
        lab.selected.len(),
        lab.units.len(),
        lab.rig.file,
        out.path.display()
    );
    let ticker = lab.tty.then(|| {
        let board = board.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                board.draw();
            }
        })
    });
    let lab = Arc::new(lab);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (unit, vars)) in lab.units.iter().cloned().zip(vars).enumerate() {
        let (lab, board) = (lab.clone(), board.clone());
        tasks.spawn(async move {
            let dir = lab.out.join(merge::folder_name(&unit.id));
            let outcome = run_unit(&lab, &unit, &vars, &dir, board.clone(), i).await;
            board.finish(i);
            (i, unit.id.clone(), outcome)
        });
    }
    let mut result = LabResult::default();
    let mut by_index: Vec<(usize, String, RunRecord)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((i, id, outcome)) = joined else { continue };
        result.interrupted |= outcome.interrupted;
        result.findings += outcome.findings;
        if let Some(e) = &outcome.record.rig_error {
            result.not_ready.push((id.clone(), e.clone()));
        }
        by_index.push((i, merge::folder_name(&id), outcome.record));
    }
    if let Some(t) = ticker {
        t.abort();
    }
    board.draw();
    by_index.sort_by_key(|(i, ..)| *i);
    result.records = by_index.into_iter().map(|(_, d, r)| (d, r)).collect();
    let summary = RigSummary {
        tool: format!("mtg {}", env!("CARGO_PKG_VERSION")),
        rig: Some(lab.rig.file.clone()),
        fixtures: lab.rig.fixtures.clone(),
        units: result
            .records
            .iter()
            .map(|(d, r)| merge::UnitSummary {
                power_cycle: lab
                    .units
                    .iter()
                    .find(|u| merge::folder_name(&u.id) == *d)
                    .and_then(|u| u.power_cycle.clone()),
                ..merge::summarise(d, r)
            })
            .collect(),
    };
    if let Err(e) = merge::write_combined(&out.path, &summary, &result.records) {
        eprintln!("error: {e}");
    }
    println!("\n{}", table(&summary));
    for (_, r) in &result.records {
        if let Some(line) = soak_line(r) {
            println!("{}: {line}", merge::group_name(r));
        }
    }
    println!("per-unit records in {0}/<unit>/; rig.json, junit.xml and report.html in {0}", out.path.display());
    Ok(result)
}

/// What one unit's run gave.
struct UnitOutcome {
    interrupted: bool,
    findings: usize,
    record: RunRecord,
}

async fn run_unit(
    lab: &Lab,
    unit: &Unit,
    vars: &BTreeMap<String, String>,
    dir: &Path,
    board: Arc<Board>,
    index: usize,
) -> UnitOutcome {
    let out = match OutputDir::create(dir) {
        Ok(o) => o,
        Err(e) => {
            let record = RunRecord {
                unit: Some(unit.id.clone()),
                target: unit.port.clone(),
                rig_error: Some(format!("output folder {}: {e}", dir.display())),
                ..RunRecord::default()
            };
            return UnitOutcome { interrupted: false, findings: 0, record };
        }
    };
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(RecordReporter::new(&out.path).with_context(lab.context.clone())),
        Box::new(JunitReporter::new(&out.path)),
        Box::new(HtmlReporter::new(&out.path, None).with_context(lab.context.clone())),
        Box::new(UnitProgress { board: board.clone(), index }),
    ];
    let sink: Arc<dyn Sink> = Arc::new(sinks);
    let mut plan = lab.plan.clone();
    plan.target_label = unit.port.clone();
    plan.jobs = 1;
    // The unit's own reset and power-cycle command, where the rig gives them.
    let mut options = lab.options.clone();
    match &unit.reset {
        UnitReset::AsRun => {}
        UnitReset::Nothing => options.reset = None,
        UnitReset::Sequence(s) => options.reset = Some(Arc::new(s.clone())),
    }
    if unit.power_cycle.is_some() {
        options.power_cycle = unit.power_cycle.clone();
    }
    let options = &options;
    // Ready? Locked, answering, and of the family the rig expects.
    board.status(index, "checking the unit");
    let ready: Result<Option<lock::DeviceLock>, String> = async {
        let held = lock::lock_target(&unit.target).map_err(|e| format!("unit {}: {e}", unit.id))?;
        let identity = identify(&unit.target, options).await;
        if let Some(why) = &identity.unknown {
            return Err(format!("unit {} is not ready: {why}", unit.id));
        }
        if let Some(expected) = &unit.family {
            match family::place(&identity, &lab.families) {
                Some(p) if p.family == *expected => {}
                Some(p) => {
                    return Err(format!(
                        "unit {} is expected to be firmware family {expected}, but it is {} ({} says {:?})",
                        unit.id, p.family, p.by, p.matched
                    ))
                }
                None => {
                    return Err(format!(
                        "unit {} is expected to be firmware family {expected}, but no family matches AT+CGMR {:?}, AT#VVERSION {:?}",
                        unit.id,
                        identity.cgmr.as_deref().unwrap_or("(no answer)"),
                        identity.vversion.as_deref().unwrap_or("(no answer)")
                    ))
                }
            }
        }
        Ok(held)
    }
    .await;
    let (interrupted, findings, iterations, rig_error, _held) = match ready {
        Ok(held) => {
            let scenarios = with_vars(&lab.selected, vars);
            let (r, iterations) =
                run_repeated(&scenarios, &unit.target, options, &plan, sink.clone(), lab.repeat).await;
            (r.interrupted, r.findings, iterations, None, held)
        }
        Err(e) => {
            let e = crate::redact::redact(&e);
            board.status(index, &format!("rig error: {e}"));
            sink.event(&Event::RunStarted {
                target: &plan.target_label,
                scenarios_root: &plan.scenarios_root,
                selected: &lab.selected,
                jobs: 1,
                started: std::time::SystemTime::now(),
            });
            let not_run: Vec<String> = lab.selected.iter().map(|s| s.id.clone()).collect();
            sink.event(&Event::RunFinished { interrupted: false, not_run: &not_run, unmatched_waivers: &[] });
            (false, 0, Vec::new(), Some(e), None)
        }
    };
    let record = finalise(&out.path, &unit.id, rig_error, iterations);
    UnitOutcome { interrupted, findings, record }
}

/// Put what the events do not carry into the unit's record: its id, its rig
/// error and the rounds of a soak; the page is written again with them.
fn finalise(dir: &Path, unit: &str, rig_error: Option<String>, iterations: Vec<Iteration>) -> RunRecord {
    let mut record = report::read_record(dir).unwrap_or_default();
    record.unit = Some(unit.to_string());
    record.rig_error = rig_error;
    record.iterations = iterations;
    let json = serde_json::to_vec_pretty(&record).expect("a run record always serialises");
    let written =
        report::write_atomic(&dir.join("run.json"), &json).and_then(|()| report::html::write(dir, &record, None));
    if let Err(e) = written {
        eprintln!("error: {e}");
    }
    record
}

/// Failures over time in a soak: how many rounds, and which found what.
pub fn soak_line(record: &RunRecord) -> Option<String> {
    let rounds = &record.iterations;
    if rounds.is_empty() {
        return None;
    }
    let first = rounds[0].started_unix;
    let bad: Vec<String> = rounds
        .iter()
        .filter(|i| i.findings > 0)
        .map(|i| format!("round {} at +{}s: {}", i.index, i.started_unix.saturating_sub(first), i.findings))
        .collect();
    Some(format!(
        "soak: {} round(s); {}",
        rounds.len(),
        if bad.is_empty() { "no findings in any round".to_string() } else { format!("findings in {}", bad.join(", ")) }
    ))
}

/// The summary table printed at the end.
pub fn table(summary: &RigSummary) -> String {
    use std::fmt::Write as _;
    let w = summary.units.iter().map(|u| u.unit.len()).max().unwrap_or(4).max(4);
    let mut s = format!(
        "{:<w$}  {:<11}  {:>6}  {:>6}  {:>6}  {:>7}  {:>7}  {:>7}  detail\n",
        "unit", "status", "passed", "failed", "errors", "skipped", "differs", "not run"
    );
    for u in &summary.units {
        let mut detail = u.rig_error.clone().unwrap_or_default();
        if !u.flaky.is_empty() {
            detail = format!("{detail}flaky: {}", u.flaky.join(", "));
        }
        let _ = writeln!(
            s,
            "{:<w$}  {:<11}  {:>6}  {:>6}  {:>6}  {:>7}  {:>7}  {:>7}  {}",
            u.unit, u.status, u.passed, u.failed, u.errors, u.skipped, u.golden_differences, u.not_run, detail
        );
    }
    s
}

/// Live progress of every unit: its current scenario and step, with times.
struct Board {
    tty: bool,
    steps: bool,
    started: Instant,
    rows: Mutex<Vec<Row>>,
    drawn: Mutex<usize>,
}

struct Row {
    unit: String,
    scenario: Option<(String, Instant)>,
    /// The running step (or the reset) and when it started.
    step: String,
    step_started: Option<Instant>,
    done: usize,
    total: usize,
    failed: usize,
    finished: bool,
    status: String,
}

impl Board {
    fn new(units: &[Unit], selected: usize, tty: bool, steps: bool, repeat: &Repeat) -> Board {
        let total = match repeat {
            Repeat::Times(n) => selected * (*n).max(1),
            Repeat::For(_) => selected,
        };
        let rows = units
            .iter()
            .map(|u| Row {
                unit: u.id.clone(),
                scenario: None,
                step: String::new(),
                step_started: None,
                done: 0,
                total,
                failed: 0,
                finished: false,
                status: "waiting".into(),
            })
            .collect();
        Board { tty, steps, started: Instant::now(), rows: Mutex::new(rows), drawn: Mutex::new(0) }
    }

    fn status(&self, i: usize, text: &str) {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        rows[i].status = text.to_string();
        if !self.tty {
            eprintln!("[{}] {text}", rows[i].unit);
        }
    }

    fn finish(&self, i: usize) {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let row = &mut rows[i];
        row.finished = true;
        row.scenario = None;
        if !row.status.starts_with("rig error") {
            row.status = format!("done: {} run, {} failed", row.done, row.failed);
            if !self.tty {
                eprintln!("[{}] {}", row.unit, row.status);
            }
        }
    }

    /// Redraw the board in place (a terminal only).
    fn draw(&self) {
        if !self.tty {
            return;
        }
        let rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut drawn = self.drawn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut err = std::io::stderr().lock();
        if *drawn > 0 {
            let _ = write!(err, "\x1b[{}F", *drawn);
        }
        let w = rows.iter().map(|r| r.unit.len()).max().unwrap_or(4);
        let elapsed = self.started.elapsed().as_secs();
        for r in rows.iter() {
            let now = match &r.scenario {
                Some((id, t)) if !r.finished => now_line(id, *t, &r.step, r.step_started),
                _ => r.status.clone(),
            };
            let line = format!("{:<w$} [{:>3}/{}] {:>4}s {now}", r.unit, r.done, r.total, elapsed);
            let shown: String = line.chars().take(118).collect();
            let _ = writeln!(err, "\x1b[2K{shown}");
        }
        *drawn = rows.len();
    }
}

/// A step's time as people read it: milliseconds when short.
fn took(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// What a unit is doing, for the board: the scenario with its time, and
/// the step (or the reset before it) with its own.
fn now_line(scenario: &str, started: Instant, step: &str, step_started: Option<Instant>) -> String {
    let total = started.elapsed().as_secs_f64();
    match step_started {
        // Times first: the line is cut to the terminal's width.
        Some(t) if !step.is_empty() => {
            let (index, description) = step.split_once(' ').unwrap_or((step, ""));
            let line = format!("{scenario} {total:.1}s | {index} {:.1}s {description}", t.elapsed().as_secs_f64());
            line.trim_end().to_string()
        }
        _ => format!("{scenario} {total:.1}s"),
    }
}

/// A unit's events, onto the board.
struct UnitProgress {
    board: Arc<Board>,
    index: usize,
}

impl Sink for UnitProgress {
    fn event(&self, event: &Event<'_>) {
        let board = &self.board;
        let mut rows = board.rows.lock().unwrap_or_else(PoisonError::into_inner);
        let row = &mut rows[self.index];
        match *event {
            Event::ScenarioStarted { scenario, .. } => {
                row.scenario = Some((scenario.id.clone(), Instant::now()));
                row.step.clear();
                row.step_started = None;
                row.status = "running".into();
            }
            Event::ResetStarted { .. } => {
                row.step = "reset".into();
                row.step_started = Some(Instant::now());
            }
            Event::ResetFinished { scenario, error, ms, .. } if board.steps && !board.tty => {
                let how = error.map(|e| format!(": {}", crate::redact::redact(e))).unwrap_or_default();
                eprintln!("[{}] {scenario} reset ({}){how}", row.unit, took(Duration::from_millis(ms)));
            }
            Event::StepStarted { scenario, index, total, description, .. } => {
                // Without a terminal, the step that ended is printed with its time.
                if board.steps && !board.tty {
                    if let Some(t) = row.step_started.filter(|_| !row.step.is_empty() && row.step != "reset") {
                        eprintln!("[{}] {scenario} {} done ({})", row.unit, row.step, took(t.elapsed()));
                    }
                    eprintln!(
                        "[{}] {scenario} {}",
                        row.unit,
                        crate::redact::redact(&format!("[{index}/{total}] {description}"))
                    );
                }
                row.step = crate::redact::redact(&format!("[{index}/{total}] {description}"));
                row.step_started = Some(Instant::now());
            }
            Event::ScenarioFinished { scenario, outcome, golden, .. } => {
                row.done += 1;
                let differs = matches!(golden, Some(crate::golden::Comparison::Differs(_)));
                if matches!(outcome.verdict, Verdict::Fail | Verdict::Error) || differs {
                    row.failed += 1;
                }
                let took = row.scenario.take().map_or(0.0, |(_, t)| t.elapsed().as_secs_f64());
                row.step_started = None;
                if !board.tty {
                    let detail = outcome.message.as_deref().map(|m| format!(": {}", crate::redact::redact(m)));
                    eprintln!(
                        "[{}] [{:>4}/{}] {:<8} {} ({took:.1}s){}{}",
                        row.unit,
                        row.done,
                        row.total,
                        outcome.verdict.to_string(),
                        scenario.id,
                        if differs { " (transcript differs from golden)" } else { "" },
                        detail.unwrap_or_default()
                    );
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_board_shows_the_scenario_and_the_step_each_with_its_time_before_the_text() {
        let now = Instant::now();
        let line = now_line(
            "ch2.dialn1",
            now - Duration::from_secs(3),
            "[2/5] send AT#DIALN1?",
            Some(now - Duration::from_secs(1)),
        );
        assert_eq!(line, "ch2.dialn1 3.0s | [2/5] 1.0s send AT#DIALN1?");
        let reset = now_line("ch2.dialn1", now - Duration::from_secs(2), "reset", Some(now - Duration::from_secs(2)));
        assert_eq!(reset, "ch2.dialn1 2.0s | reset 2.0s");
        assert_eq!(now_line("ch2.dialn1", now - Duration::from_secs(1), "", None), "ch2.dialn1 1.0s");
        assert_eq!(took(Duration::from_millis(42)), "42 ms");
        assert_eq!(took(Duration::from_millis(12_345)), "12.3s");
    }
}
