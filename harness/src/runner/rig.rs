//! A rig file: the units of a lab bench, each on its own line, run in
//! parallel by `mtg run --rig FILE` (see README.md, "A lab of units").
//!
//! ```yaml
//! fixtures:                     # addresses the units' network reaches (recorded)
//!   tcp-echo: 192.0.2.10:7
//! units:
//!   - id: bench-1               # [A-Za-z0-9_.-]+, names the output folder
//!     port: serial:/dev/ttyUSB0 # any target text (serial:, tcp:, …)
//!     line: {baud: 115200, flow: rtscts}  # serial line settings
//!     sim_pin_env: MTG_PIN_1    # the NAME of the variable holding the PIN
//!     apn_env: MTG_APN          # the NAME of the variable holding the APN
//!     caps: [gprs, gsm-data]
//!     family: 651_              # expected firmware family (families.yaml)
//!     vars: {baud: 115200}      # ${baud} in scenarios
//!     power_cycle: usbrelay R1_1=0 && sleep 2 && usbrelay R1_1=1
//!     reset:                    # before every scenario (default: see runner::reset)
//!       - AT&F                  # a line that must be answered OK
//!       - AT#CONNECTIONSTOP: any   # or the finals it accepts: OK|ERROR|any|<result>
//!       - AT#DELFLASH
//! ```
//!
//! `reset:` may also stand at the top of the file, for every unit that has
//! none of its own; `reset: none` resets nothing, `reset: default` is the
//! default sequence ([`Sequence::factory`]).
//!
//! Secrets never live in the file: the PIN and the APN are read from the
//! environment when a unit runs, handed to scenarios as `${pin}` and
//! `${apn}`, and registered with [`crate::redact::add_secret`] so that no
//! output shows them. Errors are located (`file:line:column`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::runner::reset::{Command, Sequence};
use crate::scenario::source_map::SourceMap;
use crate::scenario::Capability;
use crate::transport::Target;

/// A rig: its units and the fixtures their network reaches.
#[derive(Debug, Clone, Default)]
pub struct Rig {
    /// Where it was read from, for messages.
    pub file: String,
    pub units: Vec<Unit>,
    /// Fixture name → address (`host:port`), as reachable from the units.
    pub fixtures: BTreeMap<String, String>,
}

/// What a unit sends before each scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UnitReset {
    /// The rig does not say: the run's `--reset` (by default, the default).
    #[default]
    AsRun,
    /// `reset: none`.
    Nothing,
    Sequence(Sequence),
}

/// One unit of a rig.
#[derive(Debug, Clone)]
pub struct Unit {
    pub id: String,
    /// The target text, with the line settings and capabilities folded in.
    pub port: String,
    pub target: Target,
    /// Name of the environment variable holding the SIM PIN.
    pub sim_pin_env: Option<String>,
    /// Name of the environment variable holding the APN.
    pub apn_env: Option<String>,
    /// Expected firmware family id.
    pub family: Option<String>,
    /// Variables given to every scenario on this unit (they override the
    /// scenario's defaults).
    pub vars: BTreeMap<String, String>,
    /// A shell command that power-cycles the unit.
    pub power_cycle: Option<String>,
    /// The reset before each scenario.
    pub reset: UnitReset,
    /// Where the unit is written (`file:line:column`).
    pub origin: String,
}

/// A rig file that does not load, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RigError(pub String);

impl fmt::Display for RigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRig {
    #[serde(default)]
    fixtures: BTreeMap<String, Scalar>,
    #[serde(default)]
    reset: Option<RawReset>,
    units: Vec<RawUnit>,
}

/// `reset:`: `none`, `default`, or a list of lines.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawReset {
    Word(String),
    Lines(Vec<RawResetLine>),
}

/// A reset line: `AT&F` (accepts OK) or `AT#CONNECTIONSTOP: any`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawResetLine {
    Line(String),
    Accepting(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    id: Scalar,
    port: String,
    #[serde(default)]
    line: BTreeMap<String, Scalar>,
    #[serde(default)]
    sim_pin_env: Option<String>,
    #[serde(default)]
    apn_env: Option<String>,
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    family: Option<Scalar>,
    #[serde(default)]
    vars: BTreeMap<String, Scalar>,
    #[serde(default)]
    power_cycle: Option<String>,
    #[serde(default)]
    reset: Option<RawReset>,
}

/// A YAML scalar taken as text (`115200`, `yes`, `651_`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(s) => f.write_str(s),
            Scalar::Int(n) => write!(f, "{n}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

fn is_name(s: &str, extra: &[char]) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(&c))
}

fn is_env_name(s: &str) -> bool {
    is_name(s, &[]) && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Parse a rig file. `families` are the ids of `scenarios/families.yaml`
/// (an expected family must be one of them; `None` checks nothing).
pub fn parse(name: &str, text: &str, families: Option<&[String]>) -> Result<Rig, RigError> {
    let raw: RawRig = yaml_serde::from_str(text).map_err(|e| {
        RigError(match e.location() {
            Some(l) => format!("{name}:{}:{}: {e}", l.line(), l.column()),
            None => format!("{name}: {e}"),
        })
    })?;
    let map = SourceMap::parse(text).ok();
    let at = |path: &str| {
        map.as_ref().map(|m| m.nearest(path)).map_or(name.to_string(), |p| format!("{name}:{}:{}", p.line, p.column))
    };
    let err = |path: &str, msg: String| RigError(format!("{}: {msg}", at(path)));
    let reset_of = |raw: Option<RawReset>, path: &str| -> Result<UnitReset, RigError> {
        let lines = match raw {
            None => return Ok(UnitReset::AsRun),
            Some(RawReset::Word(w)) if w.trim().eq_ignore_ascii_case("none") => return Ok(UnitReset::Nothing),
            Some(RawReset::Word(w)) if w.trim().eq_ignore_ascii_case("default") => {
                return Ok(UnitReset::Sequence(Sequence::factory()))
            }
            Some(RawReset::Word(w)) => {
                return Err(err(path, format!("`reset: {w}`: use none, default, or a list of AT command lines")))
            }
            Some(RawReset::Lines(lines)) => lines,
        };
        let mut commands = Vec::new();
        for (j, l) in lines.into_iter().enumerate() {
            let here = format!("{path}[{j}]");
            let text = match l {
                RawResetLine::Line(l) => l,
                RawResetLine::Accepting(m) if m.len() == 1 => {
                    let (line, accept) = m.into_iter().next().expect("one entry");
                    format!("{line} => {accept}")
                }
                RawResetLine::Accepting(_) => {
                    return Err(err(&here, "a reset line is `LINE` or `LINE: OK|ERROR|any`, one per item".into()))
                }
            };
            commands.push(Command::parse(&text).map_err(|e| err(&here, e.to_string()))?);
        }
        Ok(if commands.is_empty() { UnitReset::Nothing } else { UnitReset::Sequence(Sequence { commands }) })
    };
    let rig_reset = reset_of(raw.reset, "reset")?;
    if raw.units.is_empty() {
        return Err(err("units", "a rig needs at least one unit".into()));
    }
    let mut units: Vec<Unit> = Vec::new();
    for (i, u) in raw.units.into_iter().enumerate() {
        let here = format!("units[{i}]");
        let key = |k: &str| format!("{here}.{k}");
        let id = u.id.to_string();
        if !is_name(&id, &['-', '.']) || id.starts_with('.') {
            return Err(err(
                &key("id"),
                format!("unit id `{id}`: use letters, digits, `-`, `_` and `.` (it names a folder)"),
            ));
        }
        if units.iter().any(|o| o.id == id) {
            return Err(err(&key("id"), format!("unit `{id}` is defined twice")));
        }
        for (k, v) in [("sim_pin_env", &u.sim_pin_env), ("apn_env", &u.apn_env)] {
            if let Some(v) = v.as_deref().filter(|v| !is_env_name(v)) {
                return Err(err(
                    &key(k),
                    format!(
                        "`{k}` names an environment variable (e.g. MTG_PIN), not the secret itself; \
                         the value given ({} characters, not shown) is not a variable name",
                        v.chars().count()
                    ),
                ));
            }
        }
        let mut options: Vec<String> = Vec::new();
        for (k, v) in &u.line {
            if !crate::transport::SerialSettings::KEYS.contains(&k.as_str()) {
                return Err(err(
                    &format!("{here}.line.{k}"),
                    format!(
                        "unknown line setting `{k}`: line settings are {}",
                        crate::transport::SerialSettings::KEYS.join(", ")
                    ),
                ));
            }
            options.push(format!("{k}={v}"));
        }
        for (j, c) in u.caps.iter().enumerate() {
            if Capability::parse(c).is_none() {
                return Err(err(
                    &format!("{}[{j}]", key("caps")),
                    format!(
                        "unknown capability `{c}`: valid capabilities are {}",
                        Capability::ALL.map(Capability::name).join(", ")
                    ),
                ));
            }
        }
        if !u.caps.is_empty() {
            if u.port.contains("caps=") {
                return Err(err(&key("caps"), "capabilities are given twice: in `port` (caps=) and in `caps`".into()));
            }
            options.push(format!("caps={}", u.caps.join(",")));
        }
        let port = u.port.trim().to_string();
        let text = match (options.is_empty(), port.contains('?')) {
            (true, _) => port.clone(),
            (false, true) => format!("{port}&{}", options.join("&")),
            (false, false) => format!("{port}?{}", options.join("&")),
        };
        let target: Target = text.parse().map_err(|e| err(&key("port"), format!("{e}")))?;
        let family = u.family.map(|f| f.to_string());
        if let (Some(f), Some(known)) = (&family, families) {
            if !known.iter().any(|k| k == f) {
                return Err(err(
                    &key("family"),
                    format!("unknown firmware family `{f}`: scenarios/families.yaml has {}", known.join(", ")),
                ));
            }
        }
        let mut vars = BTreeMap::new();
        for (k, v) in u.vars {
            if !is_name(&k, &[]) {
                return Err(err(&format!("{here}.vars.{k}"), format!("bad variable name `{k}`")));
            }
            if (k == "pin" && u.sim_pin_env.is_some()) || (k == "apn" && u.apn_env.is_some()) {
                return Err(err(
                    &format!("{here}.vars.{k}"),
                    format!("`{k}` comes from the environment (`{k}_env`); it cannot also be a variable"),
                ));
            }
            vars.insert(k, v.to_string());
        }
        units.push(Unit {
            origin: at(&here),
            id,
            port: text,
            target,
            sim_pin_env: u.sim_pin_env,
            apn_env: u.apn_env,
            family,
            vars,
            power_cycle: u.power_cycle.filter(|c| !c.trim().is_empty()),
            reset: match reset_of(u.reset, &key("reset"))? {
                UnitReset::AsRun => rig_reset.clone(),
                own => own,
            },
        });
    }
    let fixtures = raw.fixtures.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    Ok(Rig { file: name.to_string(), units, fixtures })
}

/// Load a rig file.
pub fn load(path: &Path, families: Option<&[String]>) -> Result<Rig, RigError> {
    let text = std::fs::read_to_string(path).map_err(|e| RigError(format!("{}: {e}", path.display())))?;
    parse(&path.display().to_string(), &text, families)
}

impl Rig {
    /// The units named in `ids` (all when empty); an unknown id is an error.
    pub fn pick(&self, ids: &[String]) -> Result<Vec<Unit>, RigError> {
        if ids.is_empty() {
            return Ok(self.units.clone());
        }
        let mut out = Vec::new();
        for id in ids.iter().flat_map(|i| i.split(',')).map(str::trim).filter(|i| !i.is_empty()) {
            match self.units.iter().find(|u| u.id == id) {
                Some(u) if !out.iter().any(|o: &Unit| o.id == id) => out.push(u.clone()),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = self.units.iter().map(|u| u.id.as_str()).collect();
                    return Err(RigError(format!("{}: no unit `{id}`; the rig has {}", self.file, known.join(", "))));
                }
            }
        }
        Ok(out)
    }
}

impl Unit {
    /// The variables scenarios get on this unit: the rig's `vars`, and
    /// `pin` and `apn` from the environment. The secrets are registered with
    /// [`crate::redact`] before they are returned. A variable that is named
    /// but not set is an error.
    pub fn variables(&self) -> Result<BTreeMap<String, String>, RigError> {
        let mut vars = self.vars.clone();
        for (var, env) in [("pin", &self.sim_pin_env), ("apn", &self.apn_env)] {
            let Some(env) = env else { continue };
            let value = std::env::var(env).map_err(|_| {
                RigError(format!("{}: unit `{}`: environment variable {env} ({var}) is not set", self.origin, self.id))
            })?;
            crate::redact::add_secret(&value);
            vars.insert(var.to_string(), value);
        }
        Ok(vars)
    }

    /// The capabilities the unit offers.
    pub fn capabilities(&self) -> BTreeSet<Capability> {
        self.target.capabilities()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const RIG: &str = "fixtures:\n  tcp-echo: 192.0.2.10:7\nunits:\n  - id: a\n    port: tcp:127.0.0.1:4001\n    caps: [gprs]\n    family: 651_\n    vars: {baud: 115200}\n  - id: b\n    port: serial:/dev/ttyUSB0\n    line: {baud: 9600, flow: rtscts}\n    sim_pin_env: MTG_TEST_PIN_B\n";

    #[test]
    fn parses_units() {
        let families = vec!["641c".to_string(), "651_".to_string()];
        let rig = parse("rig.yaml", RIG, Some(&families)).unwrap();
        assert_eq!(rig.units.len(), 2);
        assert_eq!(rig.fixtures["tcp-echo"], "192.0.2.10:7");
        assert_eq!(rig.units[0].port, "tcp:127.0.0.1:4001?caps=gprs");
        assert_eq!(rig.units[0].vars["baud"], "115200");
        assert_eq!(rig.units[0].family.as_deref(), Some("651_"));
        assert_eq!(rig.units[1].target.to_string(), "serial:/dev/ttyUSB0?baud=9600&flow=rtscts");
        assert_eq!(rig.units[1].origin, "rig.yaml:9:5");
        assert_eq!(rig.pick(&["b".into()]).unwrap()[0].id, "b");
        assert!(rig.pick(&["c".into()]).unwrap_err().0.contains("no unit `c`"));
    }

    #[test]
    fn secrets_come_from_the_environment_and_are_masked() {
        let rig = parse("rig.yaml", RIG, None).unwrap();
        assert!(rig.units[1].variables().unwrap_err().0.contains("MTG_TEST_PIN_B (pin) is not set"));
        std::env::set_var("MTG_TEST_PIN_B", "48151623");
        let vars = rig.units[1].variables().unwrap();
        assert_eq!(vars["pin"], "48151623");
        assert_eq!(crate::redact::redact("AT+CPIN=48151623"), "AT+CPIN=<redacted>");
    }

    #[test]
    fn reset_per_unit_or_for_the_rig() {
        let text = "reset:\n  - AT&F\n  - AT#CONNECTIONSTOP: any\nunits:\n  - id: a\n    port: tcp:h:1\n  - id: b\n    port: tcp:h:2\n    reset: none\n  - id: c\n    port: tcp:h:3\n    reset: [ATZ, 'AT+CMEE=0 => OK|ERROR']\n  - id: d\n    port: tcp:h:4\n    reset: default\n";
        let rig = parse("rig.yaml", text, None).unwrap();
        let shown: Vec<String> = rig
            .units
            .iter()
            .map(|u| match &u.reset {
                UnitReset::Sequence(s) => s.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "AT&F; AT#CONNECTIONSTOP => any",
                "Nothing",
                "ATZ; AT+CMEE=0 => OK|ERROR",
                &Sequence::factory().to_string()
            ]
        );
        let plain = parse("rig.yaml", "units:\n  - id: a\n    port: tcp:h:1\n", None).unwrap();
        assert_eq!(plain.units[0].reset, UnitReset::AsRun);
    }

    #[rstest]
    #[case("units: []\n", "rig.yaml:1:8: a rig needs at least one unit")]
    #[case(
        "units:\n  - id: a\n    port: tcp:h:1\n    reset: [E1]\n",
        "rig.yaml:4:13: reset line `E1`: a reset line is an AT command line"
    )]
    #[case(
        "units:\n  - id: a\n    port: tcp:h:1\n    reset: [ATZ: maybe]\n",
        "rig.yaml:4:13: reset line `ATZ => maybe`"
    )]
    #[case("units:\n  - id: a\n    port: tcp:h:1\n    reset: sometimes\n", "rig.yaml:4:12: `reset: sometimes`")]
    #[case("units:\n  - id: a\n    port: tcp:h:1\n    colour: red\n", "rig.yaml:4:5: ")]
    #[case("units:\n  - id: a\n    port: tcp:h\n", "rig.yaml:3:11: invalid target")]
    #[case(
        "units:\n  - id: a\n    port: tcp:h:1\n    caps: [gprs, radio]\n",
        "rig.yaml:4:18: unknown capability `radio`"
    )]
    #[case(
        "units:\n  - id: a\n    port: serial:/dev/x\n    line: {speed: 1}\n",
        "rig.yaml:4:19: unknown line setting `speed`"
    )]
    #[case(
        "units:\n  - id: a\n    port: tcp:h:1\n  - id: a\n    port: tcp:h:2\n",
        "rig.yaml:4:9: unit `a` is defined twice"
    )]
    #[case("units:\n  - id: a\n    port: tcp:h:1\n    family: 999\n", "rig.yaml:4:13: unknown firmware family `999`")]
    #[case(
        "units:\n  - id: a\n    port: tcp:h:1\n    sim_pin_env: '1234'\n",
        "rig.yaml:4:18: `sim_pin_env` names an environment variable"
    )]
    #[case("units:\n  - id: a/b\n    port: tcp:h:1\n", "rig.yaml:2:9: unit id `a/b`")]
    fn located_errors(#[case] text: &str, #[case] start: &str) {
        let families = vec!["651_".to_string()];
        let e = parse("rig.yaml", text, Some(&families)).unwrap_err().0;
        assert!(e.starts_with(start), "{e}");
        assert!(!e.contains("1234"), "{e}");
    }
}
