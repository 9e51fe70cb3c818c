//! Running a suite more than once: `--repeat N` (each scenario N times, in
//! rounds of the whole selection) and `--soak DURATION` (rounds until the
//! time is up). Every run of every scenario is reported, as its own
//! `ScenarioFinished`: nothing is retried silently, and a scenario that
//! both passes and fails is flaky (see [`crate::report::RunRecord::flaky`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::events::{Event, Sink};
use super::suite::{run_suite, Plan, SuiteResult};
use super::Options;
use crate::scenario::Scenario;
use crate::transport::Target;

/// How often the selection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Each scenario this many times (1: once).
    Times(usize),
    /// Whole rounds, starting new ones until this much time has passed.
    For(Duration),
}

/// One round of a soak: when it started and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iteration {
    /// 1-based.
    pub index: usize,
    /// Seconds since the Unix epoch.
    pub started_unix: u64,
    pub duration_ms: u64,
    /// Scenarios finished in the round.
    pub finished: usize,
    pub findings: usize,
}

/// `1h`, `30m`, `90s`, `2h30m`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration: write e.g. 90s, 30m, 2h or 1h30m");
    let t = text.trim();
    if let Ok(s) = t.parse::<u64>() {
        return Ok(Duration::from_secs(s));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(bad()),
        };
    }
    if !num.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// Passes a round's events on, except the run's start after the first round
/// and every run end (the caller tells the end once).
struct Rounds {
    inner: Arc<dyn Sink>,
    started: AtomicBool,
}

impl Sink for Rounds {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::RunStarted { .. } if self.started.swap(true, Ordering::SeqCst) => {}
            Event::RunFinished { .. } => {}
            _ => self.inner.event(event),
        }
    }
}

/// Run `selected` as `repeat` says; the sink sees one run from
/// `RunStarted` to `RunFinished`, with every run of every scenario.
pub async fn run_repeated(
    selected: &[Scenario],
    target: &Target,
    options: &Options,
    plan: &Plan,
    sink: Arc<dyn Sink>,
    repeat: Repeat,
) -> (SuiteResult, Vec<Iteration>) {
    match repeat {
        Repeat::Times(n) if n <= 1 => (run_suite(selected, target, options, plan, sink).await, Vec::new()),
        Repeat::Times(n) => {
            let rounds: Vec<Scenario> = (0..n).flat_map(|_| selected.iter().cloned()).collect();
            let mut result = run_suite(&rounds, target, options, plan, sink).await;
            result.not_run.dedup();
            (result, Vec::new())
        }
        Repeat::For(duration) => {
            let begun = Instant::now();
            let rounds: Arc<dyn Sink> = Arc::new(Rounds { inner: sink.clone(), started: AtomicBool::new(false) });
            let mut iterations = Vec::new();
            let mut findings = 0;
            let mut last = SuiteResult { interrupted: false, findings: 0, not_run: Vec::new(), not_ready: None };
            while iterations.is_empty() || begun.elapsed() < duration {
                let started = SystemTime::now();
                let t0 = Instant::now();
                last = run_suite(selected, target, options, plan, rounds.clone()).await;
                findings += last.findings;
                iterations.push(Iteration {
                    index: iterations.len() + 1,
                    started_unix: started.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
                    duration_ms: t0.elapsed().as_millis() as u64,
                    finished: selected.len() - last.not_run.len(),
                    findings: last.findings,
                });
                // A unit that is not ready stays so: no point in another round.
                if last.interrupted || last.not_ready.is_some() {
                    break;
                }
            }
            let unmatched = plan.waivers.as_ref().map(|w| w.unmatched()).unwrap_or_default();
            sink.event(&Event::RunFinished {
                interrupted: last.interrupted,
                not_run: &last.not_run,
                unmatched_waivers: &unmatched,
            });
            (
                SuiteResult {
                    interrupted: last.interrupted,
                    findings,
                    not_run: last.not_run,
                    not_ready: last.not_ready,
                },
                iterations,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
    }
}
