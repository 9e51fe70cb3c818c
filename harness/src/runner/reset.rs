//! The reset before each scenario on a unit that keeps its state.
//!
//! The in-process emulator starts a fresh unit for every scenario; a unit
//! on a line (`serial:`, `tcp:`, `rfc2217:`, `labgrid:`, and `mtg emulator
//! --pty` reached through them) is the same unit from one scenario to the
//! next, with whatever the last one left: echo off, `AT+CMEE=1`, stack
//! parameters set, a connection up, a text entry waiting for its Ctrl-Z.
//! Scenarios are written for a unit as shipped, so before each one the
//! runner sends a [`Sequence`] of command lines, each with the final result
//! it accepts. The exchange is recorded (`transcripts/<id>.reset.txt`, via
//! [`Event::ResetFinished`]) but is not part of the scenario's transcript,
//! so goldens do not depend on it. A reset that does not get what it
//! accepts is a rig error of that scenario (not a finding), with a message
//! naming the command and what came back.
//!
//! A unit that answers nothing at all may be inside a mode that swallows
//! command lines: data mode (left with an unescaped `<ETX>`, p.30), an SMS
//! prompt (left with `<ESC>`, 27.005 §3.5.1) or a `#BODY`/`#RECiADD` text
//! entry (ended by Ctrl-Z, p.18). [`wake`] sends those bytes, and the
//! sequence is tried once more.
//!
//! The default sequence ([`Sequence::factory`]) and the basis of each line:
//!
//! | line | accepts | why |
//! |---|---|---|
//! | `AT&F` | `OK` | factory profile first (`E1`, `V1`, `Q0`, `+CMEE=0`, …): every later answer is then verbose and shown. V.250 §6.1.2; the manual's recovered pages do not describe it (inferred) |
//! | `ATH` | `OK` | a GSM call left up (V.250 §6.3.6) |
//! | `AT+WOPEN=1` | `OK` | the stack answers AT# commands only when open (ch. 1, "Open TCP/IP Stack") |
//! | `AT#CONNECTIONSTOP` | any | a session left up (p.11); with none, the unit may answer an error (drivers see 35866, digest §9): either is fine |
//! | `AT#DELFLASH` | `OK` | every AT# parameter back to its default: "Erase Flash Memory Parameter Values" (contents, p.3; the page, p.40-41, was not recovered, so its answer `OK` is inferred) |

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::events::{Event, Sink};
use super::lines::{LineReader, ReadEnd};
use super::{Options, Outcome, Verdict};
use crate::at::response::{self, Final, Received};
use crate::scenario::Scenario;
use crate::transcript::{line_text, Entry, Role, Transcript};
use crate::transport::Transport;

/// What a reset line accepts as its final result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accept {
    /// `OK` (`0` with `ATV0`).
    Ok,
    /// Any error: `ERROR`, `+CME ERROR: n`, `#CME ERROR: n`, `+CMS ERROR: n`.
    Error,
    /// Any final result.
    Any,
    /// This result code (`NO CARRIER`, `Ok_Info_GprsActivation`, …).
    Result(Final),
}

impl Accept {
    fn admits(&self, line: &str) -> bool {
        let got = response::classify(line);
        match self {
            Accept::Any => got.is_final(),
            Accept::Ok => got == Received::Result(Final::Ok),
            Accept::Error => {
                matches!(got, Received::Result(Final::Error) | Received::StackError(_) | Received::GsmError(_))
            }
            Accept::Result(f) => got == Received::Result(*f),
        }
    }
}

impl fmt::Display for Accept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Accept::Ok => f.write_str("OK"),
            Accept::Error => f.write_str("ERROR"),
            Accept::Any => f.write_str("any"),
            Accept::Result(r) => f.write_str(&r.text()),
        }
    }
}

/// One line of a reset: the command line and the finals it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub line: String,
    pub accept: Vec<Accept>,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.accept == [Accept::Ok] {
            return f.write_str(&self.line);
        }
        let accept: Vec<String> = self.accept.iter().map(Accept::to_string).collect();
        write!(f, "{} => {}", self.line, accept.join("|"))
    }
}

/// A reset line or a sequence that does not parse, or a reset that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResetError {
    #[error("reset line `{line}`: {why}")]
    Syntax { line: String, why: String },
    #[error("{desc} does not answer `{line}` (also after <ETX>, <ESC> and Ctrl-Z to leave data mode, an SMS prompt or a text entry)")]
    NoAnswer { desc: String, line: String },
    #[error("`{line}` was answered {got:?}, the reset accepts {accept}")]
    Refused { line: String, got: String, accept: String },
    #[error("{desc}: {why} (during `{line}`)")]
    Line { desc: String, line: String, why: String },
}

impl Command {
    /// `LINE` (accepts `OK`) or `LINE => OK|ERROR|any|<result code>`.
    pub fn parse(text: &str) -> Result<Command, ResetError> {
        let (line, accept) = match text.split_once("=>") {
            Some((l, a)) => (l.trim(), Some(a.trim())),
            None => (text.trim(), None),
        };
        let syntax = |why: String| ResetError::Syntax { line: text.to_string(), why };
        if !line.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("AT")) {
            return Err(syntax("a reset line is an AT command line (it starts with AT)".into()));
        }
        if line.bytes().any(|b| b.is_ascii_control()) {
            return Err(syntax("control characters are not allowed (the runner ends the line with <CR>)".into()));
        }
        let accept = match accept {
            None => vec![Accept::Ok],
            Some(a) => {
                a.split('|').map(|a| parse_accept(a.trim()).ok_or(a)).collect::<Result<Vec<_>, _>>().map_err(|bad| {
                    syntax(format!("`{bad}` is not OK, ERROR, any or a result code (NO CARRIER, CONNECT …)"))
                })?
            }
        };
        if accept.is_empty() {
            return Err(syntax("nothing to accept".into()));
        }
        Ok(Command { line: line.to_string(), accept })
    }

    fn admits(&self, line: &str) -> bool {
        self.accept.iter().any(|a| a.admits(line))
    }
}

fn parse_accept(text: &str) -> Option<Accept> {
    match text.to_ascii_uppercase().as_str() {
        "OK" => Some(Accept::Ok),
        "ERROR" => Some(Accept::Error),
        "ANY" => Some(Accept::Any),
        "" => None,
        _ => Final::parse_verbose(text).filter(|f| *f != Final::Ring).map(Accept::Result),
    }
}

impl FromStr for Command {
    type Err = ResetError;
    fn from_str(s: &str) -> Result<Command, ResetError> {
        Command::parse(s)
    }
}

/// The lines sent before each scenario, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub commands: Vec<Command>,
}

impl Sequence {
    /// The default: a unit as shipped, as far as these commands reach (see
    /// the module's table for each line's basis).
    pub fn factory() -> Sequence {
        let lines = ["AT&F", "ATH", "AT+WOPEN=1", "AT#CONNECTIONSTOP => any", "AT#DELFLASH"];
        Sequence { commands: lines.iter().map(|l| Command::parse(l).expect("the default reset parses")).collect() }
    }

    /// From `--reset` values: none given is the default; `default` is the
    /// default; `none` is no reset; anything else is one line each. Mixing
    /// `none` with lines is an error.
    pub fn from_options(values: &[String]) -> Result<Option<Sequence>, ResetError> {
        match values {
            [] => Ok(Some(Sequence::factory())),
            [one] if one.trim().eq_ignore_ascii_case("none") => Ok(None),
            [one] if one.trim().eq_ignore_ascii_case("default") => Ok(Some(Sequence::factory())),
            many => {
                let mut commands = Vec::new();
                for v in many {
                    match v.trim().to_ascii_lowercase().as_str() {
                        "none" => {
                            return Err(ResetError::Syntax {
                                line: v.clone(),
                                why: "`none` cannot be combined with reset lines".into(),
                            })
                        }
                        "default" => commands.extend(Sequence::factory().commands),
                        _ => commands.push(Command::parse(v)?),
                    }
                }
                Ok(Some(Sequence { commands }))
            }
        }
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.commands.iter().map(Command::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

/// How long the first line may stay unanswered before the unit is woken:
/// short, since a unit in command mode answers at once.
const FIRST_WAIT: Duration = Duration::from_secs(2);
/// How long any line may take: `AT#CONNECTIONSTOP` takes up to 30 s on
/// real units (drivers' time-outs, digest §13).
const LINE_WAIT: Duration = Duration::from_secs(30);
/// How long the `<LF>` of a final result that came without one is waited
/// for, so that it does not open the scenario's first line.
const LF_WAIT: Duration = Duration::from_millis(500);
/// After [`wake`]: what the unit says is read for this long.
const SETTLE: Duration = Duration::from_millis(700);

/// Bytes that bring a unit back to command mode from data mode (`<ETX>`),
/// an SMS prompt (`<ESC>`) or a text entry (Ctrl-Z), then end a line.
pub const WAKE: &[u8] = b"\x03\x1b\x1a\r";

/// Send [`WAKE`] and read what comes for a moment. Entries go to `log`.
pub async fn wake(t: &mut dyn Transport, reader: &mut LineReader, options: &Options, log: &mut Transcript) {
    log.note("no answer: sending <ETX><ESC><SUB><CR> to leave data mode, an SMS prompt or a text entry");
    let at_ms = log.entries.iter().rev().find_map(|e| match e {
        Entry::Sent { at_ms, .. } | Entry::Received { at_ms, .. } => Some(*at_ms),
        _ => None,
    });
    let at_ms = at_ms.unwrap_or(0);
    if t.write_all(WAKE).await.is_err() || t.flush().await.is_err() {
        return;
    }
    log.push(Entry::Sent { bytes: WAKE.to_vec(), at_ms });
    let settle = SETTLE.mul_f64(options.time_scale);
    let until = t.now() + settle;
    while let Ok(seg) = reader.next(t, settle, until).await {
        log.push(Entry::Received { bytes: seg, at_ms, role: Role::Trailing });
    }
}

/// How one line of the reset went.
enum LineEnd {
    Accepted,
    Silent,
}

/// Run `sequence` on `t`. Returns the exchange (for the record) and
/// whether the unit is reset.
pub async fn run(
    sequence: &Sequence,
    t: &mut dyn Transport,
    options: &Options,
) -> (Transcript, Result<(), ResetError>) {
    let mut log = Transcript::new("reset", Vec::new());
    let mut reader = LineReader::new();
    let started = t.now();
    let mut woken = false;
    let mut i = 0;
    while i < sequence.commands.len() {
        let command = &sequence.commands[i];
        // A unit in command mode answers the first line at once.
        let wait = if i == 0 { FIRST_WAIT } else { LINE_WAIT };
        match line(command, wait, t, &mut reader, options, &mut log, started, i + 1).await {
            Ok(LineEnd::Accepted) => i += 1,
            Ok(LineEnd::Silent) if i == 0 && !woken => {
                woken = true;
                wake(t, &mut reader, options, &mut log).await;
            }
            Ok(LineEnd::Silent) => {
                let e = ResetError::NoAnswer { desc: t.describe(), line: command.line.clone() };
                log.push(Entry::Check { ok: false, message: e.to_string() });
                return (log, Err(e));
            }
            Err(e) => {
                log.push(Entry::Check { ok: false, message: e.to_string() });
                return (log, Err(e));
            }
        }
    }
    // A final result whose <LF> is still on its way would open the
    // scenario's first line: wait for it here.
    if reader.pending().is_empty() && log.entries.iter().rev().find_map(received_bytes).is_some_and(ends_in_bare_cr) {
        let until = t.now() + LF_WAIT.mul_f64(options.time_scale);
        while reader.pending().is_empty() && t.now() < until {
            let left = until - t.now();
            if !matches!(reader.fill(t, left).await, Ok(true)) {
                break;
            }
        }
        if reader.pending().first() == Some(&b'\n') {
            reader.consume(1);
            log.attach_late_line_end();
        }
    }
    (log, Ok(()))
}

fn received_bytes(e: &Entry) -> Option<&[u8]> {
    match e {
        Entry::Received { bytes, .. } => Some(bytes.as_slice()),
        _ => None,
    }
}

fn ends_in_bare_cr(bytes: &[u8]) -> bool {
    bytes.last() == Some(&b'\r')
}

/// Send one line and read up to its final result.
#[allow(clippy::too_many_arguments)]
async fn line(
    command: &Command,
    wait: Duration,
    t: &mut dyn Transport,
    reader: &mut LineReader,
    options: &Options,
    log: &mut Transcript,
    started: Instant,
    index: usize,
) -> Result<LineEnd, ResetError> {
    let desc = t.describe();
    let line_error = |why: String| ResetError::Line { desc: desc.clone(), line: command.line.clone(), why };
    let ms = |t: &dyn Transport| t.now().saturating_duration_since(started).as_millis() as u64;
    log.push(Entry::Step { index, origin: "reset".into(), description: command.to_string(), at_ms: ms(t) });
    let bytes = format!("{}\r", command.line).into_bytes();
    t.write_all(&bytes).await.map_err(|e| line_error(format!("writing: {e}")))?;
    t.flush().await.map_err(|e| line_error(format!("writing: {e}")))?;
    log.push(Entry::Sent { bytes, at_ms: ms(t) });
    let wait = wait.mul_f64(options.time_scale);
    let deadline = t.now() + wait;
    let mut echo_seen = false;
    loop {
        let seg = match reader.next(t, wait, deadline).await {
            Ok(seg) => seg,
            Err(ReadEnd::Timeout) => return Ok(LineEnd::Silent),
            Err(ReadEnd::Closed) => return Err(line_error("the line was closed".into())),
            Err(ReadEnd::Io(e)) => return Err(line_error(format!("reading: {e}"))),
        };
        if reader.late_line_end() {
            log.attach_late_line_end();
        }
        let text = line_text(&seg);
        let at_ms = ms(t);
        if !echo_seen && text.eq_ignore_ascii_case(&command.line) {
            echo_seen = true;
            log.push(Entry::Received { bytes: seg, at_ms, role: Role::Echo });
            continue;
        }
        if text.is_empty() || !response::is_final(&text) {
            // Information lines, unsolicited results, leftovers of the
            // scenario before: recorded, not judged.
            log.push(Entry::Received { bytes: seg, at_ms, role: Role::Ignored });
            continue;
        }
        let ok = command.admits(&text);
        log.push(Entry::Received { bytes: seg, at_ms, role: if ok { Role::Matched } else { Role::Unexpected } });
        if ok {
            return Ok(LineEnd::Accepted);
        }
        let accept: Vec<String> = command.accept.iter().map(Accept::to_string).collect();
        return Err(ResetError::Refused { line: command.line.clone(), got: text, accept: accept.join(" or ") });
    }
}

/// Reset the unit before `scenario`: the exchange goes to `sink` as
/// [`Event::ResetFinished`]. A reset that fails gives the scenario's
/// outcome: a rig error whose transcript is the reset's exchange.
pub async fn before(
    scenario: &Scenario,
    sequence: &Sequence,
    t: &mut dyn Transport,
    options: &Options,
    sink: &dyn Sink,
) -> Result<(), Outcome> {
    sink.event(&Event::ResetStarted { scenario: &scenario.id });
    let started = t.now();
    let desc = t.describe();
    let (log, result) = tokio::select! {
        r = run(sequence, t, options) => r,
        _ = super::cancelled(options.cancel.clone()) => {
            let mut log = Transcript::new("reset", Vec::new());
            log.note("interrupted by the user");
            (log, Err(ResetError::Line { desc, line: String::new(), why: "interrupted by the user".into() }))
        }
    };
    let ms = t.now().saturating_duration_since(started).as_millis() as u64;
    let error = result.as_ref().err().map(ToString::to_string);
    sink.event(&Event::ResetFinished { scenario: &scenario.id, transcript: &log, error: error.as_deref(), ms });
    let Some(error) = error else { return Ok(()) };
    tracing::error!("the reset before {} failed: {error}", scenario.id);
    let mut transcript = Transcript::new(&scenario.id, scenario.redact.clone());
    transcript.entries = log.entries;
    let message = format!("the reset before the scenario failed, so it did not run: {error}");
    Err(Outcome {
        id: scenario.id.clone(),
        verdict: Verdict::Error,
        message: Some(transcript.redact(&message)),
        failed_step: None,
        basis: None,
        duration_ms: ms,
        profile: super::ProfileMatch { judged_by: options.firmware, ..Default::default() },
        transcript,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("AT&F", "AT&F", &[Accept::Ok])]
    #[case(" ATE1V1 ", "ATE1V1", &[Accept::Ok])]
    #[case("AT#CONNECTIONSTOP => any", "AT#CONNECTIONSTOP", &[Accept::Any])]
    #[case("AT+CMEE=0 => OK|ERROR", "AT+CMEE=0", &[Accept::Ok, Accept::Error])]
    #[case("ATH => no carrier | ok", "ATH", &[Accept::Result(Final::NoCarrier), Accept::Ok])]
    fn parses_lines(#[case] text: &str, #[case] line: &str, #[case] accept: &[Accept]) {
        let c = Command::parse(text).unwrap();
        assert_eq!(c.line, line);
        assert_eq!(c.accept, accept);
        assert_eq!(Command::parse(&c.to_string()).unwrap(), c, "Display round-trips");
    }

    #[rstest]
    #[case("E1", "starts with AT")]
    #[case("AT&F => maybe", "`maybe` is not OK")]
    #[case("AT&F => OK|", "`` is not OK")]
    #[case("ATH => RING", "`RING` is not OK")]
    #[case("AT\x1a", "control characters")]
    fn rejects_lines(#[case] text: &str, #[case] why: &str) {
        let e = Command::parse(text).unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    }

    #[rstest]
    #[case(Accept::Ok, "OK", true)]
    #[case(Accept::Ok, "0", true)]
    #[case(Accept::Ok, "ERROR", false)]
    #[case(Accept::Error, "#CME ERROR: 35866", true)]
    #[case(Accept::Error, "+CME ERROR: 3", true)]
    #[case(Accept::Error, "OK", false)]
    #[case(Accept::Any, "NO CARRIER", true)]
    #[case(Accept::Any, "RING", false)]
    #[case(Accept::Result(Final::NoCarrier), "NO CARRIER", true)]
    fn accepts(#[case] accept: Accept, #[case] line: &str, #[case] admitted: bool) {
        assert_eq!(accept.admits(line), admitted);
    }

    #[test]
    fn options_choose_the_sequence() {
        assert_eq!(Sequence::from_options(&[]).unwrap(), Some(Sequence::factory()));
        assert_eq!(Sequence::from_options(&["none".into()]).unwrap(), None);
        assert_eq!(Sequence::from_options(&["default".into()]).unwrap(), Some(Sequence::factory()));
        let s = Sequence::from_options(&["ATZ".into(), "AT+CMEE=0 => any".into()]).unwrap().unwrap();
        assert_eq!(s.to_string(), "ATZ; AT+CMEE=0 => any");
        let both = Sequence::from_options(&["default".into(), "AT+CMGF=1".into()]).unwrap().unwrap();
        assert_eq!(both.commands.len(), Sequence::factory().commands.len() + 1);
        assert!(Sequence::from_options(&["none".into(), "ATZ".into()]).is_err());
    }
}
