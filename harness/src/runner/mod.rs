//! Executing scenarios against a target.
//!
//! [`execute`] runs one scenario over an open [`Transport`] and returns its
//! [`Outcome`]: a verdict, the failing step (with how well its expectation is
//! backed), and the full [`Transcript`], and tells a [`Sink`] what it does as
//! it goes ([`events`]). [`suite`] selects and orders scenarios, decides which
//! ones a target cannot run, and runs a whole suite.

pub mod diff;
pub mod events;
pub mod health;
pub mod lines;
pub mod lock;
pub mod repeat;
pub mod reset;
pub mod rig;
pub mod suite;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use std::sync::Arc;

use regex::Regex;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use crate::at::Firmware;
use crate::errata::Errata;
use crate::scenario::{escape, AbortVerdict, Action, Basis, Matcher, ObserveStep, Scenario, SetupStep, Step};
use crate::transcript::{line_text, Entry, Role, Transcript};
use crate::transport::{ControlError, Transport};
use events::{Event, Sink};
use lines::{LineReader, ReadEnd};

/// How a scenario ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "verdict", content = "reason")]
pub enum Verdict {
    Pass,
    /// The target did not do what the scenario expects: a finding.
    Fail,
    /// The rig failed (transport error, control refused): not a finding.
    Error,
    /// Not run: the target lacks a capability, or an abort rule said skip.
    Skipped(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => f.write_str("pass"),
            Verdict::Fail => f.write_str("FAIL"),
            Verdict::Error => f.write_str("ERROR"),
            Verdict::Skipped(_) => f.write_str("skipped"),
        }
    }
}

/// The result of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: String,
    pub verdict: Verdict,
    /// What went wrong, naming the step and file:line.
    pub message: Option<String>,
    /// Step that failed (1-based) and where it is written.
    pub failed_step: Option<(usize, String)>,
    /// How well the failed expectation is backed (manual, real-device, inferred).
    pub basis: Option<Basis>,
    pub duration_ms: u64,
    /// Which firmware profile the target's answers matched.
    #[serde(default)]
    pub profile: ProfileMatch,
    #[serde(skip)]
    pub transcript: Transcript,
}

/// Which profile a scenario's answers matched, where `scenarios/errata.yaml`
/// knows the manual and field firmware to differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ProfileMatch {
    /// The profile the run judged by (`mtg run --profile`).
    #[serde(default)]
    pub judged_by: Firmware,
    #[serde(default)]
    pub matched: Matched,
    /// The errata whose lines the scenario met, in either form.
    #[serde(default)]
    pub errata: Vec<String>,
    /// Each answer in the other profile's form, naming step and erratum.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The answers' profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Matched {
    /// No erratum was involved: manual and field firmware agree.
    #[default]
    Both,
    /// Every erratum's line came in the field form.
    Field,
    /// Every erratum's line came in the manual's form.
    Manual,
    /// Some in each form.
    Mixed,
}

impl Matched {
    pub fn name(self) -> &'static str {
        match self {
            Matched::Both => "both",
            Matched::Field => "field",
            Matched::Manual => "manual",
            Matched::Mixed => "mixed",
        }
    }
}

impl ProfileMatch {
    /// Short form for summaries: `field (E1, E2)`, `both`.
    pub fn label(&self) -> String {
        if self.errata.is_empty() {
            self.matched.name().to_string()
        } else {
            format!("{} ({})", self.matched.name(), self.errata.join(", "))
        }
    }
}

/// Knobs of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to listen after the last step for output nobody expected.
    pub quiet_after: Duration,
    /// Multiply every time limit (slow rigs).
    pub time_scale: f64,
    /// Becomes true when the run is interrupted: the scenario stops at once
    /// and returns what it has (its transcript is still written).
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// The unit's firmware family, when it is known: steps scoped to other
    /// families are skipped. `None` runs every step.
    pub family: Option<String>,
    /// The profile to judge by: expectations are written in the field form;
    /// judging by `manual`, a line an erratum translates is expected in its
    /// manual form, and the field form is recorded as a known deviation.
    pub firmware: Firmware,
    /// The known differences (`scenarios/errata.yaml`); empty by default.
    pub errata: Arc<Errata>,
    /// A shell command that power-cycles the unit (`--power-cycle`): run
    /// when a shared unit stops answering mid-run, before checking again.
    pub power_cycle: Option<String>,
    /// The servers on the far side (`--fixtures`): their variables fill
    /// `${smtp.host}` …, `fixture:`/`server:` steps go to them, and an
    /// emulated unit dials through their net map. `None`: no servers.
    pub fixtures: Option<Arc<crate::fixtures::FixtureSet>>,
    /// Sent before each scenario on a unit that keeps its state between
    /// scenarios (a line, not the in-process emulator): see [`reset`].
    /// `None` resets nothing.
    pub reset: Option<Arc<reset::Sequence>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            quiet_after: Duration::from_millis(150),
            time_scale: 1.0,
            cancel: None,
            family: None,
            firmware: Firmware::default(),
            errata: Arc::default(),
            power_cycle: None,
            fixtures: None,
            reset: None,
        }
    }
}

/// Resolves when the run is interrupted (never, without a cancel channel).
async fn cancelled(cancel: Option<tokio::sync::watch::Receiver<bool>>) {
    match cancel {
        Some(mut rx) => {
            let _ = rx.wait_for(|c| *c).await;
        }
        None => std::future::pending().await,
    }
}

/// A stop in the middle of a scenario.
struct Stop {
    verdict: Verdict,
    message: String,
}

impl Stop {
    fn fail(message: impl Into<String>) -> Stop {
        Stop { verdict: Verdict::Fail, message: message.into() }
    }
    fn error(message: impl Into<String>) -> Stop {
        Stop { verdict: Verdict::Error, message: message.into() }
    }
}

struct Run<'a> {
    scenario: &'a Scenario,
    /// When the scenario started, on the target's clock.
    started: Instant,
    t: &'a mut dyn Transport,
    reader: LineReader,
    transcript: Transcript,
    vars: BTreeMap<String, String>,
    options: &'a Options,
    sink: &'a dyn Sink,
    /// Errata met so far and the form each came in.
    seen: Vec<(String, Firmware)>,
    /// Notes on answers in the other profile's form.
    notes: Vec<String>,
    /// The index of the running step (1-based), for notes.
    step_index: usize,
}

/// Run one scenario over `transport`.
pub async fn execute(
    scenario: &Scenario,
    transport: &mut dyn Transport,
    options: &Options,
    sink: &dyn Sink,
) -> Outcome {
    let started = transport.now();
    let mut run = Run {
        scenario,
        started,
        t: transport,
        reader: LineReader::new(),
        transcript: Transcript::new(&scenario.id, scenario.redact.clone()),
        vars: scenario.vars.clone(),
        options,
        sink,
        seen: Vec::new(),
        notes: Vec::new(),
        step_index: 0,
    };
    if let Some(set) = &options.fixtures {
        // Server values are shown by their variable's name, so that one
        // golden holds whoever runs the servers.
        let fixture_vars = set.vars();
        run.transcript.name_values(
            fixture_vars.iter().filter(|(k, _)| !k.ends_with(".password")).map(|(k, v)| (v.clone(), k.clone())),
        );
        for (k, v) in fixture_vars {
            if k.ends_with(".password") {
                crate::redact::add_secret(&v);
            }
            run.vars.entry(k).or_insert(v);
        }
    }
    run.forget_earlier_runs();
    let mut failed = None;
    let mut stop = None;
    for (i, step) in scenario.steps.iter().enumerate() {
        if let Some(family) =
            options.family.as_deref().filter(|f| !step.families.is_empty() && !step.families.iter().any(|s| s == f))
        {
            run.transcript.note(format!(
                "step {} ({}) skipped: for firmware families {}; this unit is {family}",
                i + 1,
                step.origin,
                step.families.join(", ")
            ));
            continue;
        }
        let description = describe(step);
        sink.event(&Event::StepStarted {
            scenario: &scenario.id,
            index: i + 1,
            total: scenario.steps.len(),
            description: &crate::redact::redact(&description),
            origin: &step.origin,
        });
        let at_ms = run.elapsed_ms();
        run.step_index = i + 1;
        run.transcript.push(Entry::Step { index: i + 1, origin: step.origin.clone(), description, at_ms });
        let result = tokio::select! {
            r = run.step(step) => r,
            _ = cancelled(options.cancel.clone()) => Err(Stop::error("interrupted by the user")),
        };
        if let Err(s) = result {
            run.transcript.push(Entry::Check { ok: false, message: s.message.clone() });
            failed = Some((i + 1, step.origin.clone(), step.basis.unwrap_or(scenario.basis)));
            stop = Some(s);
            break;
        }
    }
    if stop.is_none() {
        if let Err(s) = run.expect_quiet().await {
            run.transcript.push(Entry::Check { ok: false, message: s.message.clone() });
            stop = Some(s);
        }
    } else {
        run.drain().await;
    }
    let (verdict, message) = match stop {
        None => (Verdict::Pass, None),
        Some(s) => {
            let located = match &failed {
                Some((i, origin, _)) => format!("step {i} ({origin}): {}", s.message),
                None => s.message.clone(),
            };
            // Every output (console, run.json, junit, html) gets the message from here.
            (s.verdict, Some(run.transcript.redact(&located)))
        }
    };
    let network = run.t.traffic();
    run.transcript.network =
        network.into_iter().map(|(at, t)| (at.saturating_duration_since(started).as_millis() as u64, t)).collect();
    let is_fail = verdict == Verdict::Fail;
    let profile = run.profile_match();
    Outcome {
        id: scenario.id.clone(),
        verdict,
        message,
        basis: failed.as_ref().filter(|_| is_fail).map(|f| f.2),
        failed_step: failed.map(|(i, o, _)| (i, o)),
        duration_ms: run.elapsed_ms(),
        profile,
        transcript: run.transcript,
    }
}

/// One line describing a step, for progress and transcripts.
pub fn describe(step: &Step) -> String {
    match &step.action {
        Action::Send(s) => format!("send {s}"),
        Action::Raw(s) => format!("raw {s}"),
        Action::Silence(d) => format!("silence {}ms", d.as_millis()),
        Action::Wait(d) => format!("wait {}ms", d.as_millis()),
        Action::Expect => "expect".into(),
        Action::Control(c) => format!("emulator: {}", flow_yaml(&serde_json::to_value(c).unwrap_or_default())),
        Action::Fixture(SetupStep::Mailbox { user, messages, .. }) => {
            format!("fixture: mailbox {user} with {} message(s)", messages.len())
        }
        Action::Fixture(SetupStep::File { path, .. }) => format!("fixture: file {path}"),
        Action::Server(o) => o.describe(),
    }
}

/// A control as it is written in a scenario (`{ring: {number: "0612345678", count: 2}}`).
fn flow_yaml(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let items: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {}", flow_yaml(v))).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(flow_yaml).collect::<Vec<_>>().join(", ")),
        // Plain words stay bare, as scenarios write them (number-like text stays quoted).
        Value::String(s)
            if !s.is_empty()
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                && s.parse::<f64>().is_err() =>
        {
            s.clone()
        }
        other => other.to_string(),
    }
}

impl Run<'_> {
    /// Milliseconds since the scenario started, on the target's clock.
    fn elapsed_ms(&self) -> u64 {
        self.t.now().saturating_duration_since(self.started).as_millis() as u64
    }

    fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.options.time_scale)
    }

    async fn step(&mut self, step: &Step) -> Result<(), Stop> {
        let deadline = self.t.now() + self.scaled(step.deadline);
        let idle = self.scaled(step.idle);
        let mut sent_line = None;
        match &step.action {
            Action::Send(text) => {
                let text = self.substitute(text, false)?;
                let mut bytes = escape::decode(&text).map_err(|e| Stop::error(e.to_string()))?;
                bytes.push(b'\r');
                self.write(&bytes).await?;
                sent_line = Some(line_text(&bytes));
            }
            Action::Raw(text) => {
                let text = self.substitute(text, false)?;
                let bytes = escape::decode(&text).map_err(|e| Stop::error(e.to_string()))?;
                self.write(&bytes).await?;
                if bytes.last() == Some(&b'\r') {
                    sent_line = Some(line_text(&bytes));
                }
            }
            Action::Silence(d) => {
                let what = format!("expected silence for {}ms", d.as_millis());
                self.quiet_for(*d, &what, "silence").await?;
                self.transcript.push(Entry::Check { ok: true, message: format!("silent for {}ms", d.as_millis()) });
            }
            Action::Wait(d) => {
                let d = self.scaled(*d);
                self.t.pause(d).await;
            }
            Action::Expect => {}
            Action::Fixture(setup) => return self.fixture_setup(setup),
            Action::Server(observe) => return self.server_check(step, observe).await,
            Action::Control(c) => {
                self.t.control(c).await.map_err(|e| match e {
                    ControlError::Mismatch { .. } => Stop::fail(e.to_string()),
                    other => Stop::error(other.to_string()),
                })?;
            }
        }
        if let Some(expected) = &step.expect_bytes {
            self.expect_bytes(expected, idle, deadline).await?;
        }
        let mut echo_pending = sent_line.filter(|l| !l.is_empty());
        if step.echo == Some(true) {
            if let Some(line) = echo_pending.take() {
                let seg = self.next_line(idle, deadline, &step.abort, "the echo").await?;
                let got = line_text(&seg);
                if got == line {
                    self.received(seg, Role::Echo);
                } else {
                    self.received(seg, Role::Unexpected);
                    return Err(Stop::fail(format!("expected the echo {line:?}, got {got:?}")));
                }
            }
        }
        let forbid_echo = step.echo == Some(false);
        // A step that says what the manual's unit answers (`profiles:`) is
        // judged by the judged profile's lines; the other profile's lines are
        // the known deviation (its erratum).
        let (mut list, mut other, mut form): (&[Matcher], Option<&[Matcher]>, Option<ProfileLines>) =
            match &step.profiles {
                None => (&step.expect, None, None),
                Some(p) => {
                    let (judged, rest) = match self.options.firmware {
                        Firmware::Field => (&step.expect, &p.manual),
                        Firmware::Manual => (&p.manual, &step.expect),
                    };
                    (judged, Some(rest.as_slice()), Some((p.erratum.as_str(), self.options.firmware)))
                }
            };
        // The lines matched so far, to tell whether the other profile's
        // answer fits them too.
        let mut got_lines: Vec<String> = Vec::new();
        let mut i = 0;
        while i < list.len() {
            let m = &list[i];
            let wanted = format!("line {} of {} ({m})", i + 1, list.len());
            let mut alternatives: Vec<&Matcher> = match m {
                Matcher::Unordered(v) => v.iter().collect(),
                other => vec![other],
            };
            let unordered = matches!(m, Matcher::Unordered(_));
            while !alternatives.is_empty() {
                let seg = match self.next_line(idle, deadline, &step.abort, &wanted).await {
                    Ok(seg) => seg,
                    // Nothing more came, and the other profile's answer is
                    // complete (the `OK` the manual omits): that profile's.
                    Err(stop) if stop.verdict == Verdict::Fail && !unordered => match (other, form) {
                        (Some(o), Some((erratum, judged))) if self.fits(o, &got_lines)? => {
                            self.saw(erratum, other_profile(judged));
                            return Ok(());
                        }
                        _ => return Err(stop),
                    },
                    Err(stop) => return Err(stop),
                };
                let got = line_text(&seg);
                if let Some(line) = &echo_pending {
                    if got == *line {
                        echo_pending = None;
                        if forbid_echo {
                            self.received(seg, Role::Unexpected);
                            return Err(Stop::fail(format!("the command was echoed ({got:?}) but echo must be off")));
                        }
                        self.received(seg, Role::Echo);
                        continue;
                    }
                }
                echo_pending = None;
                let mut hit = None;
                for (k, a) in alternatives.iter().enumerate() {
                    if let Some(via) = self.judge(a, &got)? {
                        hit = Some((k, via));
                        break;
                    }
                }
                // The other profile's answer, where the step gives one.
                if hit.is_none() && !unordered {
                    if let (Some(o), Some((erratum, judged))) = (other, form) {
                        if let Some(om) = o.get(i) {
                            if self.judge(om, &got)?.is_some() && self.fits(&o[..i], &got_lines)? {
                                let switched = other_profile(judged);
                                (list, other, form) = (o, None, Some((erratum, switched)));
                                alternatives = vec![om];
                                hit = Some((0, None));
                            }
                        }
                    }
                }
                match hit {
                    Some((k, via)) => {
                        let a = alternatives.remove(k);
                        self.capture(a, &got)?;
                        self.received(seg, Role::Matched);
                        got_lines.push(got.clone());
                        if let Some((erratum, seen)) = via {
                            self.saw(&erratum, seen);
                        }
                    }
                    None => {
                        self.received(seg, Role::Unexpected);
                        let what = if unordered {
                            format!("one of the remaining unordered lines [{}]", list_of(&alternatives))
                        } else {
                            self.expected_text(m)
                        };
                        return Err(Stop::fail(format!("expected {what}, got {got:?}")));
                    }
                }
            }
            i += 1;
        }
        // The other profile may answer more lines than the judged one (an
        // `OK` the manual omits): take them if they come, else leave them.
        if let (Some(o), Some((erratum, judged))) = (other, form) {
            if o.len() > list.len() {
                let wait = self.options.quiet_after;
                let until = self.t.now() + wait;
                if let Ok(seg) = self.reader.next(self.t, wait, until).await {
                    let got = line_text(&seg);
                    let fits = self.fits(&o[..list.len()], &got_lines)?;
                    if fits && o.len() == list.len() + 1 && self.judge(&o[list.len()], &got)?.is_some() {
                        self.received(seg, Role::Matched);
                        form = Some((erratum, other_profile(judged)));
                    } else {
                        self.reader.unread(seg);
                    }
                }
            }
        }
        if let Some((erratum, seen)) = form {
            self.saw(erratum, seen);
        }
        Ok(())
    }

    /// Whether `line` matches `m`, and through which erratum and form when
    /// an erratum translates the expected line: `Some(None)` a plain match,
    /// `Some(Some((E1, form)))` a match of the line in `form`'s spelling.
    fn judge(&self, m: &Matcher, line: &str) -> Result<Option<Option<(String, Firmware)>>, Stop> {
        Ok(match m {
            Matcher::Line(s) => {
                let s = self.substitute(s, false)?;
                match self.options.errata.translate(&s, Firmware::Field) {
                    Some((manual, e)) if line == manual => Some(Some((e.id.clone(), Firmware::Manual))),
                    Some((_, e)) if line == s => Some(Some((e.id.clone(), Firmware::Field))),
                    _ => (line == s).then_some(None),
                }
            }
            Matcher::AnyOf(v) => {
                for a in v {
                    if let Some(via) = self.judge(a, line)? {
                        return Ok(Some(via));
                    }
                }
                None
            }
            other => self.matches(other, line)?.then_some(None),
        })
    }

    /// An expected line as the judged profile expects it: judging by the
    /// manual, a line an erratum translates is named in both forms.
    fn expected_text(&self, m: &Matcher) -> String {
        if let (Firmware::Manual, Matcher::Line(s)) = (self.options.firmware, m) {
            if let Some((manual, e)) =
                self.substitute(s, false).ok().and_then(|s| self.options.errata.translate(&s, Firmware::Field))
            {
                return format!("{manual:?} (field firmware: {s:?}, erratum {})", e.id);
            }
        }
        m.to_string()
    }

    /// Whether `lines` are exactly the answer `list` (ordered matchers only).
    fn fits(&self, list: &[Matcher], lines: &[String]) -> Result<bool, Stop> {
        if list.len() != lines.len() {
            return Ok(false);
        }
        for (m, l) in list.iter().zip(lines) {
            if matches!(m, Matcher::Unordered(_)) || self.judge(m, l)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// An erratum met in `seen`'s form; noted when that is not the judged form.
    fn saw(&mut self, erratum: &str, seen: Firmware) {
        self.seen.push((erratum.to_string(), seen));
        if seen == self.options.firmware {
            return;
        }
        let what = match seen {
            Firmware::Field => DEVIATES,
            Firmware::Manual => MATCHES_MANUAL,
        };
        let message = format!("{what} (erratum {erratum})");
        self.transcript.push(Entry::Check { ok: true, message: message.clone() });
        let note = format!("step {}: {message}", self.step_index);
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// What the scenario's answers matched.
    fn profile_match(&self) -> ProfileMatch {
        let mut errata: Vec<String> = self.seen.iter().map(|(e, _)| e.clone()).collect();
        errata.sort_by_key(|e| (e.len(), e.clone()));
        errata.dedup();
        let field = self.seen.iter().any(|(_, f)| *f == Firmware::Field);
        let manual = self.seen.iter().any(|(_, f)| *f == Firmware::Manual);
        let matched = match (field, manual) {
            (false, false) => Matched::Both,
            (true, false) => Matched::Field,
            (false, true) => Matched::Manual,
            (true, true) => Matched::Mixed,
        };
        ProfileMatch { judged_by: self.options.firmware, matched, errata, notes: self.notes.clone() }
    }

    fn fixtures(&self) -> Result<&crate::fixtures::FixtureSet, Stop> {
        self.options.fixtures.as_deref().ok_or_else(|| Stop::error("this run has no servers (see `--fixtures`)"))
    }

    /// What the servers saw of an earlier run of this scenario is forgotten
    /// before it starts (the mails to its recipients, its datagrams and
    /// streams), so that `--repeat` and `mtg diff` runs each see their own.
    /// A server that cannot forget (one someone else runs) is left as it is.
    fn forget_earlier_runs(&self) {
        let Some(set) = self.options.fixtures.as_deref() else { return };
        for step in &self.scenario.steps {
            let Action::Server(observe) = &step.action else { continue };
            let subst = |t: &str| self.substitute(t, false).map_err(|s| s.message);
            if let Ok((what, prefix)) = observe.resolve(&subst) {
                if !matches!(what, crate::fixtures::Observe::Mailbox { .. } | crate::fixtures::Observe::File { .. }) {
                    let _ = set.setup(&crate::fixtures::Setup::Forget { what, prefix });
                }
            }
        }
    }

    /// `fixture:` — put state on a server.
    fn fixture_setup(&mut self, setup: &SetupStep) -> Result<(), Stop> {
        let subst = |t: &str| self.substitute_plain(t).map_err(|s| s.message);
        let request = setup.resolve(&subst).map_err(Stop::error)?;
        let set = self.fixtures()?;
        if let Some(why) = set.behaviour_not_provided(&format!("{request:?}")) {
            return Err(Stop { verdict: Verdict::Skipped(why.clone()), message: why });
        }
        if let crate::fixtures::Provider::External(_) = set.provider() {
            return Err(Stop {
                verdict: Verdict::Skipped("servers someone else runs cannot be set up by the harness".into()),
                message: "fixture step on external servers".into(),
            });
        }
        set.setup(&request).map_err(|e| Stop::error(e.to_string()))?;
        self.transcript.push(Entry::Check { ok: true, message: "server set up".into() });
        Ok(())
    }

    /// `server:` — ask a server what it saw and match its answer like the
    /// modem's lines. A server may record what it received a moment after
    /// answering (an MTA delivering after its `250`): the question is asked
    /// again until the lines match or the step's idle limit runs out.
    async fn server_check(&mut self, step: &Step, observe: &ObserveStep) -> Result<(), Stop> {
        let (question, prefix) = {
            let subst = |t: &str| self.substitute_plain(t).map_err(|s| s.message);
            observe.resolve(&subst).map_err(Stop::error)?
        };
        let until = tokio::time::Instant::now() + self.scaled(step.idle);
        loop {
            let (lines, verdict) = self.observe_once(&question, &prefix, &step.expect)?;
            if verdict.is_ok() || tokio::time::Instant::now() >= until {
                return self.record_server_lines(&step.expect, lines, verdict);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One question to the servers: their lines and how they match.
    #[allow(clippy::type_complexity)]
    fn observe_once(
        &self,
        question: &crate::fixtures::Observe,
        prefix: &[u8],
        expect: &[Matcher],
    ) -> Result<(Vec<String>, Result<usize, (usize, String)>), Stop> {
        let observation = match self.fixtures()?.observe(question) {
            Ok(o) => o,
            Err(crate::fixtures::FixtureError::NotProvided { what }) => {
                return Err(Stop {
                    verdict: Verdict::Skipped(format!("no server of this run can tell {what}")),
                    message: format!("no server of this run can tell {what}"),
                })
            }
            Err(e) => return Err(Stop::error(e.to_string())),
        };
        let lines = crate::fixtures::render::lines(&observation, prefix);
        let verdict = self.judge_server_lines(expect, &lines);
        Ok((lines, verdict))
    }

    /// Match a server's lines with `expect` (in order; `any`/`unordered` as
    /// for the modem's lines): the number of lines matched, or the failure.
    fn judge_server_lines(&self, expect: &[Matcher], lines: &[String]) -> Result<usize, (usize, String)> {
        let mut at = 0;
        for m in expect {
            let alternatives: Vec<&Matcher> = match m {
                Matcher::Unordered(v) => v.iter().collect(),
                other => vec![other],
            };
            let mut left = alternatives;
            while !left.is_empty() {
                let Some(line) = lines.get(at) else {
                    return Err((at, format!("the server's answer ended; expected {}", self.expected_text(left[0]))));
                };
                match left.iter().position(|a| matches!(self.judge(a, line), Ok(Some(_)))) {
                    Some(k) => {
                        left.remove(k);
                        at += 1;
                    }
                    None => return Err((at, format!("expected {}, the server says {line:?}", self.expected_text(m)))),
                }
            }
        }
        if at < lines.len() {
            return Err((at, format!("the server says more than expected: {:?}", lines[at])));
        }
        Ok(at)
    }

    fn record_server_lines(
        &mut self,
        expect: &[Matcher],
        lines: Vec<String>,
        verdict: Result<usize, (usize, String)>,
    ) -> Result<(), Stop> {
        let matched = match &verdict {
            Ok(n) => *n,
            Err((n, _)) => *n,
        };
        // Captures: named groups of `re:` matchers take the server's values too.
        if verdict.is_ok() {
            let mut at = 0;
            for m in expect {
                let n = if let Matcher::Unordered(v) = m { v.len() } else { 1 };
                if n == 1 {
                    if let Some(line) = lines.get(at) {
                        self.capture(m, line)?;
                    }
                }
                at += n;
            }
        }
        for (i, line) in lines.into_iter().enumerate() {
            let role = if i < matched { Role::Matched } else { Role::Unexpected };
            self.transcript.push(Entry::Server { line, role });
            if i >= matched {
                break;
            }
        }
        verdict.map(|_| ()).map_err(|(_, message)| Stop::fail(message))
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        let at_ms = self.elapsed_ms();
        self.sink.event(&Event::Sent { scenario: &self.scenario.id, bytes, at_ms });
        self.transcript.push(Entry::Sent { bytes: bytes.to_vec(), at_ms });
        let desc = self.t.describe();
        self.t.write_all(bytes).await.map_err(|e| Stop::error(format!("writing to {desc}: {e}")))?;
        self.t.flush().await.map_err(|e| Stop::error(format!("writing to {desc}: {e}")))
    }

    fn received(&mut self, bytes: Vec<u8>, role: Role) {
        let at_ms = self.elapsed_ms();
        self.sink.event(&Event::Received { scenario: &self.scenario.id, bytes: &bytes, role, at_ms });
        self.transcript.push(Entry::Received { bytes, at_ms, role });
    }

    /// The next segment from the reader. A `<LF>` that came after its line
    /// was handed out is appended to the line it ends, wherever that line
    /// was recorded (see [`lines`]): the transcript is then the same however
    /// the bytes were split in time.
    async fn next_segment(&mut self, idle: Duration, deadline: Instant) -> Result<Vec<u8>, ReadEnd> {
        let next = self.reader.next(self.t, idle, deadline).await;
        if self.reader.late_line_end() {
            self.transcript.attach_late_line_end();
        }
        next
    }

    fn read_end(&self, end: ReadEnd, wanted: &str) -> Stop {
        match end {
            ReadEnd::Timeout => Stop::fail(format!("timed out waiting for {wanted}")),
            ReadEnd::Closed => Stop::error(format!("{} closed the line while waiting for {wanted}", self.t.describe())),
            ReadEnd::Io(e) => Stop::error(format!("reading from {}: {e}", self.t.describe())),
        }
    }

    fn is_ignored(&self, seg: &[u8]) -> bool {
        let line = line_text(seg);
        self.scenario.ignore.iter().any(|re| re.is_match(&line))
    }

    /// The next line that is not ignored, applying abort rules.
    async fn next_line(
        &mut self,
        idle: Duration,
        deadline: Instant,
        step_abort: &[crate::scenario::AbortRule],
        wanted: &str,
    ) -> Result<Vec<u8>, Stop> {
        loop {
            let seg = match self.next_segment(idle, deadline).await {
                Ok(seg) => seg,
                Err(e) => return Err(self.read_end(e, wanted)),
            };
            let line = line_text(&seg);
            if self.is_ignored(&seg) {
                self.received(seg, Role::Ignored);
                continue;
            }
            if let Some(rule) = step_abort.iter().chain(&self.scenario.abort).find(|r| r.pattern.is_match(&line)) {
                self.received(seg, Role::Unexpected);
                let verdict = match rule.verdict {
                    AbortVerdict::Fail => Verdict::Fail,
                    AbortVerdict::Error => Verdict::Error,
                    AbortVerdict::Skip => Verdict::Skipped(rule.reason.clone()),
                };
                return Err(Stop { verdict, message: format!("aborted on {line:?}: {}", rule.reason) });
            }
            return Ok(seg);
        }
    }

    async fn expect_bytes(&mut self, expected: &[u8], idle: Duration, deadline: Instant) -> Result<(), Stop> {
        let expected = {
            let text = self.substitute(&escape::encode(expected), false)?;
            escape::decode(&text).map_err(|e| Stop::error(e.to_string()))?
        };
        loop {
            // The <LF> of a line recorded before is not a raw byte.
            self.reader.attach_late_lf();
            if self.reader.late_line_end() {
                self.transcript.attach_late_line_end();
            }
            if self.reader.pending().len() >= expected.len() {
                break;
            }
            let now = self.t.now();
            if now >= deadline {
                break;
            }
            match self.reader.fill(self.t, idle.min(deadline - now)).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(self.read_end(e, "raw bytes")),
            }
        }
        // The same bytes with each line an erratum translates in its other
        // profile's spelling (`Ok_Info_SocketClosed` / `OK_Info_SocketClosed`).
        if let Some((other, erratum)) = self.translated_bytes(&expected) {
            if !self.reader.pending().starts_with(&expected) && self.reader.pending().starts_with(&other) {
                let got = self.reader.consume(other.len());
                self.received(got, Role::Raw);
                // The translated bytes are the manual's spelling.
                self.saw(&erratum, Firmware::Manual);
                return Ok(());
            }
        }
        let n = expected.len().min(self.reader.pending().len());
        let got = self.reader.consume(n);
        let ok = got == expected;
        self.received(got.clone(), if ok { Role::Raw } else { Role::Unexpected });
        if ok {
            Ok(())
        } else {
            Err(Stop::fail(format!("expected bytes {}, got {}", escape::encode(&expected), escape::encode(&got))))
        }
    }

    /// `bytes` (written in the field form) with every line an erratum
    /// translates put in the manual's form, and the erratum; `None` when no
    /// line changes.
    fn translated_bytes(&self, bytes: &[u8]) -> Option<(Vec<u8>, String)> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut erratum = None;
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            let body_end = piece.iter().rposition(|b| *b != b'\r' && *b != b'\n').map_or(0, |e| e + 1);
            let (body, end) = piece.split_at(body_end);
            match std::str::from_utf8(body).ok().and_then(|t| self.options.errata.translate(t, Firmware::Field)) {
                Some((manual, e)) => {
                    out.extend_from_slice(manual.as_bytes());
                    erratum.get_or_insert_with(|| e.id.clone());
                }
                None => out.extend_from_slice(body),
            }
            out.extend_from_slice(end);
        }
        erratum.map(|e| (out, e))
    }

    /// After the last step nothing more may come (extra lines are findings).
    async fn expect_quiet(&mut self) -> Result<(), Stop> {
        let quiet = self.options.quiet_after;
        self.quiet_for(quiet, "unexpected output after the last step", "the end of the scenario").await
    }

    /// Nothing but ignored lines may arrive for `d`; `what` names the failure.
    async fn quiet_for(&mut self, d: Duration, what: &str, waiting_for: &str) -> Result<(), Stop> {
        let until = self.t.now() + d;
        loop {
            let now = self.t.now();
            if now >= until {
                return Ok(());
            }
            match self.next_segment(until - now, until).await {
                Ok(seg) => {
                    if self.is_ignored(&seg) {
                        self.received(seg, Role::Ignored);
                        continue;
                    }
                    let line = line_text(&seg);
                    self.received(seg, Role::Unexpected);
                    return Err(Stop::fail(format!("{what}, got {line:?}")));
                }
                Err(ReadEnd::Timeout) => return Ok(()),
                Err(e) => return Err(self.read_end(e, waiting_for)),
            }
        }
    }

    /// After a failure, keep what the target still says, for the record.
    async fn drain(&mut self) {
        let until = self.t.now() + self.options.quiet_after;
        while let Ok(seg) = self.next_segment(self.options.quiet_after, until).await {
            self.received(seg, Role::Trailing);
        }
    }

    /// `${name}` → value. In regexes values are escaped.
    fn substitute(&self, text: &str, regex: bool) -> Result<String, Stop> {
        let out = substitute(text, &self.vars, regex)
            .map_err(|e| self.not_provided(text).unwrap_or_else(|| Stop::error(e)))?;
        // A name that makes the embedded servers misbehave on purpose means
        // nothing to real ones: skipped there, with the reason.
        if let Some(why) = self.options.fixtures.as_deref().and_then(|set| set.behaviour_not_provided(&out)) {
            return Err(Stop { verdict: Verdict::Skipped(why.clone()), message: why });
        }
        Ok(out)
    }

    /// [`Run::substitute`] without the check for names the servers lack
    /// (set-ups and questions to the servers check their whole request).
    fn substitute_plain(&self, text: &str) -> Result<String, Stop> {
        substitute(text, &self.vars, false).map_err(|e| self.not_provided(text).unwrap_or_else(|| Stop::error(e)))
    }

    /// A variable of `text` that the run's servers cannot give although
    /// other servers do (`${smtp.refuse-port}` on containers): the scenario
    /// is skipped with the reason rather than failed.
    fn not_provided(&self, text: &str) -> Option<Stop> {
        let set = self.options.fixtures.as_deref()?;
        text.split("${").skip(1).filter_map(|rest| rest.split_once('}')).find_map(|(name, _)| {
            let why = set.not_provided(name).filter(|_| !self.vars.contains_key(name))?;
            Some(Stop { verdict: Verdict::Skipped(why.clone()), message: why })
        })
    }

    fn matches(&self, m: &Matcher, line: &str) -> Result<bool, Stop> {
        Ok(match m {
            Matcher::Line(s) => self.substitute(s, false)? == line,
            Matcher::Regex(r) => self.regex(r)?.is_match(line),
            Matcher::AnyOf(v) => {
                for a in v {
                    if self.matches(a, line)? {
                        return Ok(true);
                    }
                }
                false
            }
            Matcher::Unordered(v) => v.len() == 1 && self.matches(&v[0], line)?,
        })
    }

    fn regex(&self, r: &str) -> Result<Regex, Stop> {
        let text = self.substitute(r, true)?;
        Regex::new(&format!("^(?:{text})$")).map_err(|e| Stop::error(format!("bad regex /{r}/: {e}")))
    }

    /// Named groups of a matching regex become variables.
    fn capture(&mut self, m: &Matcher, line: &str) -> Result<(), Stop> {
        match m {
            Matcher::Regex(r) => {
                let re = self.regex(r)?;
                if let Some(c) = re.captures(line) {
                    for name in re.capture_names().flatten() {
                        if let Some(v) = c.name(name) {
                            self.vars.insert(name.to_string(), v.as_str().to_string());
                        }
                    }
                }
            }
            Matcher::AnyOf(v) => {
                if let Some(a) = v.iter().find(|a| self.matches(a, line).unwrap_or(false)) {
                    self.capture(a, line)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The note on an answer in the field form, judging by the manual.
pub const DEVIATES: &str = "deviates from the manual like known field firmware";
/// The note on an answer in the manual's form, judging by field firmware.
pub const MATCHES_MANUAL: &str = "matches the manual where field firmware differs";

/// The erratum of a `profiles:` step and the profile whose lines are followed.
type ProfileLines<'s> = (&'s str, Firmware);

fn other_profile(f: Firmware) -> Firmware {
    match f {
        Firmware::Field => Firmware::Manual,
        Firmware::Manual => Firmware::Field,
    }
}

fn list_of(ms: &[&Matcher]) -> String {
    ms.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ")
}

/// Replace `${name}` from `vars`; an unknown name is an error (the loader
/// already refuses those, so this only guards programmatic scenarios).
pub fn substitute(text: &str, vars: &BTreeMap<String, String>, regex: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| format!("variable `{name}` is not defined"))?;
        if regex {
            out.push_str(&regex::escape(value));
        } else {
            out.push_str(value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
