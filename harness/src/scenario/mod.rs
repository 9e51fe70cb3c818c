//! The scenario language: what the host sends, what the modem must answer.
//!
//! A scenario is a YAML file under `scenarios/` (documented in
//! `scenarios/README.md`). This module holds the model; [`load`] turns files
//! into checked [`Scenario`]s with located diagnostics, [`escape`] converts the
//! visible byte notation (`<CR>`, `^Z`, `<x1A>` …) both ways.

pub mod escape;
pub mod load;
pub mod server;
pub mod source_map;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

pub use load::{load_dir, load_file, Diagnostic, LoadError};
pub use server::{ObserveStep, SetupStep};
// Emulator controls are part of the language (`emulator:` steps) but belong
// to neither side: they live in the shared `control` module.
pub use crate::control::{Control, Dur, FarEnd, GprsFault, Registration, SimState};

/// One checked scenario, includes expanded.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub source: Source,
    pub tags: Vec<String>,
    /// Capabilities the target must offer; steps that drive the emulator add
    /// `emulator-control` (or `control-lines`) implicitly.
    pub requires: Vec<Capability>,
    /// Manual-index entries (see `scenarios/manual-index.yaml`) this scenario covers.
    pub covers: Vec<String>,
    /// Whether the expectations are read in the manual, seen on real devices, or inferred.
    pub basis: Basis,
    /// Manual-index entries every step rests on (beyond those of `covers`
    /// for the command a step sends): typically rules such as the framing of p.49.
    pub cites: Vec<String>,
    /// The digest's source tags (`[code]`, `[UIP]` …) a `real-device` or
    /// `inferred` basis comes from.
    pub sources: Vec<String>,
    /// Firmware families (ids of `scenarios/families.yaml`) the scenario is
    /// for; empty: every family. On a unit of another family it is skipped.
    pub families: Vec<String>,
    /// Where the manual contradicts itself: the reading chosen and why.
    pub reading: Option<String>,
    pub vars: BTreeMap<String, String>,
    /// Lines that may appear anywhere and are never matched (unsolicited noise).
    pub ignore: Vec<regex::Regex>,
    pub abort: Vec<AbortRule>,
    /// Extra volatile values to redact from the golden transcript.
    pub redact: Vec<regex::Regex>,
    pub steps: Vec<Step>,
    /// File the scenario was loaded from (relative to the scenarios root when possible).
    pub path: PathBuf,
}

impl Scenario {
    /// The steps (1-based) that say what each firmware profile answers.
    pub fn profile_steps(&self) -> Vec<usize> {
        self.steps.iter().enumerate().filter(|(_, s)| s.profiles.is_some()).map(|(i, _)| i + 1).collect()
    }
}

/// Citation of the manual text a scenario transcribes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Chapter number (`"2"`) or appendix letter (`"A"`, `"B"`).
    #[serde(deserialize_with = "string_or_number")]
    pub chapter: String,
    #[serde(default)]
    pub section: Option<String>,
    #[serde(default)]
    pub command: Option<String>,
    /// A row of a command table ("AT#CONNECTIONSTART / BUSY").
    #[serde(default)]
    pub row: Option<String>,
    /// An appendix example's title.
    #[serde(default)]
    pub example: Option<String>,
    /// Printed page number(s): `8`, or `"49-52"`.
    #[serde(default, deserialize_with = "opt_string_or_number")]
    pub page: Option<String>,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chapter = if self.chapter.chars().all(|c| c.is_ascii_digit()) {
            format!("ch. {}", self.chapter)
        } else {
            format!("app. {}", self.chapter)
        };
        write!(f, "{chapter}")?;
        for part in [&self.section, &self.command, &self.row, &self.example].into_iter().flatten() {
            write!(f, ", {part}")?;
        }
        if let Some(page) = &self.page {
            write!(f, ", p. {page}")?;
        }
        Ok(())
    }
}

/// How well an expectation is backed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// Read in the manual (local pages or the recovered digest).
    #[default]
    Manual,
    /// Seen in public client code written against real units, not in the manual.
    RealDevice,
    /// An educated guess where the manual page was not recovered.
    Inferred,
    /// A decision of this project where neither the manual nor devices
    /// settle the behaviour (the reason is in the scenario's `reading` or the step's `note`).
    ProjectChoice,
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Basis::Manual => "manual",
            Basis::RealDevice => "real-device",
            Basis::Inferred => "inferred",
            Basis::ProjectChoice => "project-choice",
        })
    }
}

/// A capability a target may offer. Scenarios list what they need in `requires`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// A GPRS network the unit can attach to.
    Gprs,
    /// GSM circuit-switched data calls (dial-up to an ISP).
    GsmData,
    /// Someone who can call the unit.
    IncomingCall,
    Smtp,
    Pop3,
    Ftp,
    TcpEcho,
    UdpEcho,
    Dns,
    Ping,
    /// An HTTP server behind a TCP socket (`#OTCP` carrying a request).
    Http,
    /// DTR/DCD/RI lines the harness can drive and read.
    ControlLines,
    /// Radio events, faults and restarts injected into the reference emulator.
    EmulatorControl,
}

impl Capability {
    pub const ALL: [Capability; 13] = [
        Capability::Gprs,
        Capability::GsmData,
        Capability::IncomingCall,
        Capability::Smtp,
        Capability::Pop3,
        Capability::Ftp,
        Capability::TcpEcho,
        Capability::UdpEcho,
        Capability::Dns,
        Capability::Ping,
        Capability::Http,
        Capability::ControlLines,
        Capability::EmulatorControl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Capability::Gprs => "gprs",
            Capability::GsmData => "gsm-data",
            Capability::IncomingCall => "incoming-call",
            Capability::Smtp => "smtp",
            Capability::Pop3 => "pop3",
            Capability::Ftp => "ftp",
            Capability::TcpEcho => "tcp-echo",
            Capability::UdpEcho => "udp-echo",
            Capability::Dns => "dns",
            Capability::Ping => "ping",
            Capability::Http => "http",
            Capability::ControlLines => "control-lines",
            Capability::EmulatorControl => "emulator-control",
        }
    }

    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One step of a scenario, after include expansion and validation.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    /// Lines the target must answer, in order.
    pub expect: Vec<Matcher>,
    /// Exact bytes the target must answer (framing checks), in the visible notation.
    pub expect_bytes: Option<Vec<u8>>,
    /// `Some(true)`: the echo of the sent line must come first; `Some(false)`:
    /// it must not; `None`: an echo is recognised and set aside if present.
    pub echo: Option<bool>,
    /// Longest wait for the next byte.
    pub idle: Duration,
    /// Longest time for the whole step.
    pub deadline: Duration,
    pub abort: Vec<AbortRule>,
    pub basis: Option<Basis>,
    /// Manual-index entries this step rests on, beyond the scenario's.
    pub cites: Vec<String>,
    /// Source tags of a `real-device`/`inferred` step basis.
    pub sources: Vec<String>,
    /// Firmware families the step is for; empty: every family. On a unit of
    /// another family the step is skipped (noted in the transcript).
    pub families: Vec<String>,
    pub note: Option<String>,
    /// What the manual's unit answers instead of `expect`, where an erratum
    /// is not line for line (`profiles: {manual: [...], erratum: E9}`).
    pub profiles: Option<ProfileExpect>,
    /// Where the step is written (file:line), for reports.
    pub origin: String,
}

/// A step's answer in the manual profile (`expect` holds the field one).
#[derive(Debug, Clone)]
pub struct ProfileExpect {
    /// The lines the manual's unit answers, in order.
    pub manual: Vec<Matcher>,
    /// The erratum of `scenarios/errata.yaml` that explains the difference.
    pub erratum: String,
}

/// What a step does before matching.
#[derive(Debug, Clone)]
pub enum Action {
    /// A command line; `<CR>` is appended. Escapes and `${vars}` are allowed.
    Send(String),
    /// Raw bytes in the visible notation, sent exactly.
    Raw(String),
    /// Nothing may arrive for this long.
    Silence(Duration),
    /// Pause (bytes that arrive are kept for the next step).
    Wait(Duration),
    /// Only match (e.g. unsolicited results after an emulator event).
    Expect,
    /// Drive the reference emulator or the control lines.
    Control(Control),
    /// Put state on a server of the far side (`fixture:`).
    Fixture(SetupStep),
    /// Ask a server of the far side what it saw (`server:`); its answer is
    /// matched with `expect` like the modem's lines.
    Server(ObserveStep),
}

impl Control {
    /// The capability a target needs to perform this control.
    pub fn capability(&self) -> Capability {
        match self {
            Control::Dtr(_) | Control::Rts(_) | Control::Lines { .. } => Capability::ControlLines,
            _ => Capability::EmulatorControl,
        }
    }
}

/// What a received line must look like.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The line, exactly (after `${var}` substitution).
    Line(String),
    /// A regular expression over the whole line; named groups become variables.
    Regex(String),
    /// One line matching any of the alternatives.
    AnyOf(Vec<Matcher>),
    /// As many lines as alternatives, in any order.
    Unordered(Vec<Matcher>),
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Line(s) => write!(f, "{s:?}"),
            Matcher::Regex(r) => write!(f, "/{r}/"),
            Matcher::AnyOf(v) => {
                write!(f, "any of [")?;
                for (i, m) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{m}")?;
                }
                write!(f, "]")
            }
            Matcher::Unordered(v) => {
                write!(f, "unordered [")?;
                for (i, m) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{m}")?;
                }
                write!(f, "]")
            }
        }
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Matcher;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a line (string) or a map with one of `line`, `re`, `any`, `unordered`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Matcher, E> {
                Ok(Matcher::Line(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Matcher, E> {
                Ok(Matcher::Line(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Matcher, E> {
                Ok(Matcher::Line(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Matcher, A::Error> {
                let key: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("empty matcher map: use `line`, `re`, `any` or `unordered`"))?;
                let m = match key.as_str() {
                    "line" => Matcher::Line(map.next_value()?),
                    "re" => Matcher::Regex(map.next_value()?),
                    "any" => Matcher::AnyOf(map.next_value()?),
                    "unordered" => Matcher::Unordered(map.next_value()?),
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown matcher key `{other}`: expected one of `line`, `re`, `any`, `unordered`"
                        )))
                    }
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "a matcher has exactly one key, found `{key}` and `{extra}`"
                    )));
                }
                Ok(m)
            }
        }
        d.deserialize_any(V)
    }
}

/// A line that ends the scenario at once with its own verdict.
#[derive(Debug, Clone)]
pub struct AbortRule {
    pub pattern: regex::Regex,
    pub verdict: AbortVerdict,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AbortVerdict {
    /// A finding: the target misbehaved.
    Fail,
    /// The rig, not the target, is at fault (no SIM, no network).
    Error,
    /// The scenario cannot be judged on this target.
    Skip,
}

/// A string or a number, read as a string (chapter "2", page 16).
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
            Err(de::Error::custom("expected a string or a number, found a list"))
        }
    }
    d.deserialize_any(V)
}

fn opt_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    string_or_number(d).map(Some)
}

/// Default time limits for a command line, by command class. A physical unit
/// answers parameter commands in milliseconds but network commands can take
/// minutes (drivers allow 120 s for `AT#CONNECTIONSTART`, manual p.68 allows
/// the SMTP server 3 minutes). The line is parsed ([`crate::at::command`]);
/// a chained line gets the longest limit of its commands.
pub fn default_limits(line: &str) -> (Duration, Duration) {
    let commands = match crate::at::command::parse_line(line) {
        Some(parsed) => parsed.commands,
        None => crate::at::command::parse_body(line.trim()),
    };
    let (idle, total) = commands.iter().map(|c| command_limits(&c.name)).max_by_key(|l| (l.1, l.0)).unwrap_or((5, 10));
    (Duration::from_secs(idle), Duration::from_secs(total))
}

/// (idle, total) seconds for one command, by name.
fn command_limits(name: &str) -> (u64, u64) {
    match name {
        "#CONNECTIONSTART" | "#ACCEPT" => (130, 130),
        "#SENDMAIL1" | "#SENDMAIL2" | "#SENDMAIL3" | "#PUTMAIL" | "#GETMAIL" => (190, 400),
        "#FTPGET" | "#FTPPUT" | "#OTCP" | "#OUDP" | "#LTCPSTART" | "#LUDPSTART" => (60, 120),
        "#PING" => (260, 600),
        "#CONNECTIONSTOP" | "+CGATT" | "+COPS" | "+CFUN" => (40, 60),
        "#DELFLASH" | "&W" | "+WOPEN" => (10, 15),
        _ => (5, 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("AT#CONNECTIONSTART", 130, 130)]
    #[case("at#accept", 130, 130)]
    #[case("AT#PING", 260, 600)]
    #[case("AT#PINGDELAY=5", 5, 10)]
    #[case("AT#PINGREMOTE=\"h\"", 5, 10)]
    #[case("AT#FTPGETPATH=\"/\"", 5, 10)]
    #[case("AT#SENDMAIL2", 190, 400)]
    #[case("AT+CMEE=1;+CGATT=1", 40, 60)]
    #[case("ATE0&W", 10, 15)]
    #[case("AT+CMEE=1;#CONNECTIONSTART", 130, 130)]
    #[case("AT", 5, 10)]
    #[case("A/", 5, 10)]
    fn limits_come_from_the_longest_command(#[case] line: &str, #[case] idle: u64, #[case] total: u64) {
        assert_eq!(default_limits(line), (Duration::from_secs(idle), Duration::from_secs(total)));
    }
}
