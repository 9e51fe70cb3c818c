//! Differential runs (`mtg diff --a TARGET --b TARGET`): the same scenarios
//! on two targets (the emulator and a unit, two units, two firmware builds,
//! the emulator's two profiles), every divergence classified per step:
//!
//! - **text**: the lines answered differ — explained by an erratum of
//!   `scenarios/errata.yaml` when it translates one into the other (or the
//!   step says what each profile answers), unexplained otherwise;
//! - **timing**: the same lines, but the step took longer than the
//!   tolerance on one side;
//! - **final state**: the parameter store (`AT#VALL`) and `#VSTATE` after
//!   the scenario differ.
//!
//! Judging is the runner's business; this compares what each target said.

use std::time::Duration;

use serde::Serialize;

use super::events::Discard;
use super::{execute, Options, Verdict};
use crate::at::Firmware;
use crate::errata::Errata;
use crate::scenario::Scenario;
use crate::transcript::{line_text, Entry, Role, Transcript};
use crate::transport::Target;

/// One difference between the two targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Divergence {
    /// Step `step` answered `a` on one side and `b` on the other.
    Text { step: usize, origin: String, a: Vec<String>, b: Vec<String>, erratum: Option<String> },
    /// Step `step` answered the same but took `a_ms` and `b_ms`.
    Timing { step: usize, origin: String, a_ms: u64, b_ms: u64 },
    /// After the scenario, a state line differs (absent: empty).
    State { a: String, b: String },
}

impl Divergence {
    /// Whether a known erratum explains it.
    pub fn explained(&self) -> bool {
        matches!(self, Divergence::Text { erratum: Some(_), .. })
    }
}

/// One scenario on both targets.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioDiff {
    pub id: String,
    pub verdict_a: Verdict,
    pub verdict_b: Verdict,
    pub divergences: Vec<Divergence>,
}

/// The lines a target answered in each step (echoes left out).
fn answers(t: &Transcript) -> Vec<(usize, String, Vec<String>, u64)> {
    let mut steps: Vec<(usize, String, Vec<String>, u64)> = Vec::new();
    for e in &t.entries {
        match e {
            Entry::Step { index, origin, at_ms, .. } => steps.push((*index, origin.clone(), Vec::new(), *at_ms)),
            Entry::Received { bytes, role, .. } if *role != Role::Echo => {
                if let Some(last) = steps.last_mut() {
                    // As in the golden: secrets, server values and the scenario's `redact:`.
                    let line = t.redact_extra(&t.redact(&line_text(bytes)));
                    if !line.is_empty() {
                        last.2.push(line);
                    }
                }
            }
            Entry::Server { line, .. } => {
                if let Some(last) = steps.last_mut() {
                    last.2.push(format!("server: {line}"));
                }
            }
            _ => {}
        }
    }
    // Each step's duration: until the next step starts.
    let starts: Vec<u64> = steps.iter().map(|s| s.3).collect();
    for (i, s) in steps.iter_mut().enumerate() {
        s.3 = starts.get(i + 1).copied().unwrap_or(s.3).saturating_sub(s.3);
    }
    steps
}

/// The erratum that makes `a` and `b` the same answer, if one does.
fn erratum_between(errata: &Errata, a: &[String], b: &[String], step_erratum: Option<&str>) -> Option<String> {
    if let Some(e) = step_erratum {
        return Some(e.to_string());
    }
    if a.len() != b.len() {
        return None;
    }
    let mut found = None;
    for (x, y) in a.iter().zip(b) {
        if x == y {
            continue;
        }
        let via = [Firmware::Field, Firmware::Manual]
            .into_iter()
            .find_map(|from| errata.translate(x, from).filter(|(t, _)| t == y).map(|(_, e)| e.id.clone()));
        match via {
            Some(e) => found = Some(e),
            None => return None,
        }
    }
    found
}

/// Compare two runs of `scenario` (and the state each target was left in).
pub fn compare(
    scenario: &Scenario,
    a: &Transcript,
    b: &Transcript,
    state: (&[String], &[String]),
    errata: &Errata,
    tolerance: Duration,
) -> Vec<Divergence> {
    let mut out = Vec::new();
    let (sa, sb) = (answers(a), answers(b));
    for i in 0..sa.len().max(sb.len()) {
        let empty = (0, String::new(), Vec::new(), 0);
        let (x, y) = (sa.get(i).unwrap_or(&empty), sb.get(i).unwrap_or(&empty));
        let (step, origin) = if x.0 != 0 { (x.0, x.1.clone()) } else { (y.0, y.1.clone()) };
        let step_erratum =
            scenario.steps.get(step.wrapping_sub(1)).and_then(|s| s.profiles.as_ref()).map(|p| p.erratum.as_str());
        if x.2 != y.2 {
            let erratum = erratum_between(errata, &x.2, &y.2, step_erratum);
            out.push(Divergence::Text { step, origin, a: x.2.clone(), b: y.2.clone(), erratum });
        } else if x.3.abs_diff(y.3) > tolerance.as_millis() as u64 {
            out.push(Divergence::Timing { step, origin, a_ms: x.3, b_ms: y.3 });
        }
    }
    let (la, lb) = state;
    for i in 0..la.len().max(lb.len()) {
        let (x, y) = (la.get(i).cloned().unwrap_or_default(), lb.get(i).cloned().unwrap_or_default());
        if x != y {
            out.push(Divergence::State { a: x, b: y });
        }
    }
    out
}

/// What a target is left with: `#VSTATE` and the parameter store (`AT#VALL`).
async fn final_state(t: &mut dyn crate::transport::Transport) -> Vec<String> {
    let mut reader = super::lines::LineReader::new();
    let mut lines = Vec::new();
    for command in ["AT#VSTATE\r", "AT#VALL\r"] {
        let written = async {
            use tokio::io::AsyncWriteExt;
            t.write_all(command.as_bytes()).await?;
            t.flush().await
        };
        if written.await.is_err() {
            lines.push(format!("{}: the line failed", command.trim()));
            continue;
        }
        let deadline = t.now() + Duration::from_secs(5);
        loop {
            match reader.next(t, Duration::from_secs(2), deadline).await {
                Ok(seg) => {
                    let line = line_text(&seg);
                    if line.is_empty() || line == command.trim() {
                        continue;
                    }
                    let last = crate::at::response::is_final(&line);
                    lines.push(crate::redact::redact(&line));
                    if last {
                        break;
                    }
                }
                Err(_) => {
                    lines.push(format!("{}: no final result", command.trim()));
                    break;
                }
            }
        }
    }
    lines
}

/// Run `scenario` on `target` and read the state it leaves.
async fn run_on(scenario: &Scenario, target: &Target, options: &Options) -> (Verdict, Transcript, Vec<String>) {
    let tmp = tempfile::tempdir();
    let target = super::suite::own_unit(target, tmp.as_ref().ok().map(|d| d.path()));
    let net_map = options.fixtures.as_ref().map(|f| f.net_map());
    let mut transport = match target.open_with(net_map.as_ref()).await {
        Ok(t) => t,
        Err(e) => {
            let mut t = Transcript::new(&scenario.id, Vec::new());
            t.note(e.to_string());
            return (Verdict::Error, t, Vec::new());
        }
    };
    let outcome = execute(scenario, transport.as_mut(), options, &Discard).await;
    let state = final_state(transport.as_mut()).await;
    (outcome.verdict, outcome.transcript, state)
}

/// Each side is judged by its own profile where the target names one (an
/// emulator's `profile=`), so that a step whose answer is an erratum's is
/// followed to its end on both sides and the steps stay aligned.
fn judged_as(target: &Target, options: &Options) -> Options {
    let mut o = options.clone();
    if let Some(config) = target.emulator_config() {
        o.firmware = config.firmware;
    }
    o
}

/// Run each scenario on both targets and compare.
pub async fn diff(
    scenarios: &[Scenario],
    a: &Target,
    b: &Target,
    options: &Options,
    tolerance: Duration,
) -> Vec<ScenarioDiff> {
    let mut out = Vec::new();
    let offered_a = super::suite::offered(a, options);
    let offered_b = super::suite::offered(b, options);
    for s in scenarios {
        if super::suite::ignore_reason(s, &offered_a).is_some() || super::suite::ignore_reason(s, &offered_b).is_some()
        {
            continue;
        }
        // One after the other: both meet the same servers, and a scenario
        // sets its mailboxes and files up afresh on each run.
        let run_a = run_on(s, a, &judged_as(a, options)).await;
        let run_b = run_on(s, b, &judged_as(b, options)).await;
        let divergences = compare(s, &run_a.1, &run_b.1, (&run_a.2, &run_b.2), &options.errata, tolerance);
        out.push(ScenarioDiff { id: s.id.clone(), verdict_a: run_a.0, verdict_b: run_b.0, divergences });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_erratum_explains_a_line_and_anything_else_is_unexplained() {
        let root = crate::workspace_root();
        let errata = Errata::load(&root.join("scenarios/errata.yaml")).unwrap();
        let scenarios = root.join("scenarios");
        let scenario =
            crate::scenario::load_file(&scenarios.join("ch5-tcp/otcp-echo-simulated.yaml"), &scenarios).unwrap();
        let transcript = |lines: &[&str]| {
            let mut t = Transcript::new("x", Vec::new());
            t.push(Entry::Step { index: 1, origin: "f:1".into(), description: "send".into(), at_ms: 0 });
            for l in lines {
                t.push(Entry::Received { bytes: format!("\r\n{l}\r\n").into_bytes(), at_ms: 0, role: Role::Matched });
            }
            t
        };
        let a = transcript(&["Ok_Info_WaitingForData"]);
        let b = transcript(&["OK_Info_WaitingForData"]);
        let d = compare(&scenario, &a, &b, (&[], &[]), &errata, Duration::from_millis(500));
        assert_eq!(d.len(), 1);
        assert!(d[0].explained(), "{d:?}");
        let c = transcript(&["ERROR"]);
        let d = compare(
            &scenario,
            &a,
            &c,
            (&["#STATE: \"IDLE\"".into()], &["#STATE: \"CONNECTED\"".into()]),
            &errata,
            Duration::from_millis(500),
        );
        assert_eq!(d.len(), 2);
        assert!(!d[0].explained());
        assert!(matches!(d[1], Divergence::State { .. }));
    }
}
