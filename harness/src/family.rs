//! Firmware families: which firmware a unit runs, read from its own answers.
//!
//! `scenarios/families.yaml` names each family with an id, a description and
//! a regex over the unit's `AT+CGMR` answer and/or its `AT#VVERSION` answer.
//! The manual's revision history (digest §12) gives two: rev B (firmware
//! 641c, IP stack 2.10: one TCP socket, no socket ids) and rev C/D (firmware
//! 651_, IP stack 3.02: two TCP sockets, ids {1,2}). Before a suite runs, the
//! runner asks the target once ([`Identity`]) and places it in a family;
//! scenarios and steps scoped with `families:` run only on those.

use std::path::Path;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// What a unit says it is. Both answers are the information lines of the
/// command (without the echo and the final result); `None` when the unit
/// did not answer it (or answered an error).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub cgmr: Option<String>,
    pub vversion: Option<String>,
    /// Why the identity is unknown (the target could not be opened or did
    /// not answer), when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    /// The health check's commands and what the unit answered, in order
    /// (`AT`, `ATI`, `AT+CGMR`, …): the unit's firmware fingerprint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<ProbeAnswer>,
    /// Why the rig is not ready (the line cannot be opened, or the unit does
    /// not answer `AT`): nothing runs, and this says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<String>,
}

/// One command of the health check and the lines it was answered with
/// (echo left out, final result included); none when nothing came.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeAnswer {
    pub command: String,
    pub lines: Vec<String>,
}

impl Identity {
    /// A target that could not tell: recorded, not an error of the run.
    pub fn unknown(why: impl Into<String>) -> Identity {
        Identity { unknown: Some(why.into()), ..Identity::default() }
    }

    /// The texts a regex over the identity is tried on.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.cgmr.as_deref().into_iter().chain(self.vversion.as_deref())
    }
}

/// One firmware family.
#[derive(Debug, Clone)]
pub struct Family {
    pub id: String,
    pub description: String,
    /// Over the `AT+CGMR` answer.
    pub cgmr: Option<Regex>,
    /// Over the `AT#VVERSION` answer.
    pub vversion: Option<Regex>,
}

/// A unit placed in a family, and why: the answer and the text that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub family: String,
    /// `AT+CGMR` or `AT#VVERSION`.
    pub by: String,
    /// The part of the answer the family's regex matched.
    pub matched: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    families: Vec<RawFamily>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFamily {
    id: String,
    description: String,
    #[serde(default)]
    cgmr: Option<String>,
    #[serde(default)]
    vversion: Option<String>,
}

/// Parse a families file (`name` is for messages: `file:line:column: …`).
pub fn parse(name: &str, text: &str) -> Result<Vec<Family>, String> {
    let raw: RawFile = yaml_serde::from_str(text).map_err(|e| match e.location() {
        Some(l) => format!("{name}:{}:{}: {e}", l.line(), l.column()),
        None => format!("{name}: {e}"),
    })?;
    let map = crate::scenario::source_map::SourceMap::parse(text).ok();
    let at = |path: String| {
        map.as_ref()
            .and_then(|m| m.value_or_key(&path))
            .map_or(name.to_string(), |p| format!("{name}:{}:{}", p.line, p.column))
    };
    let mut out: Vec<Family> = Vec::new();
    for (i, f) in raw.families.into_iter().enumerate() {
        let here = format!("families[{i}]");
        if f.id.trim().is_empty() {
            return Err(format!("{}: a family needs an id", at(format!("{here}.id"))));
        }
        if out.iter().any(|o| o.id == f.id) {
            return Err(format!("{}: family `{}` is defined twice", at(format!("{here}.id")), f.id));
        }
        if f.cgmr.is_none() && f.vversion.is_none() {
            return Err(format!("{}: family `{}` needs `cgmr:` or `vversion:` (a regex)", at(here), f.id));
        }
        let compile = |key: &str, p: Option<String>| -> Result<Option<Regex>, String> {
            p.map(|p| Regex::new(&p).map_err(|e| format!("{}: bad regex: {e}", at(format!("{here}.{key}")))))
                .transpose()
        };
        out.push(Family {
            cgmr: compile("cgmr", f.cgmr)?,
            vversion: compile("vversion", f.vversion)?,
            id: f.id,
            description: f.description,
        });
    }
    Ok(out)
}

/// Load `families.yaml`.
pub fn load(path: &Path) -> Result<Vec<Family>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

/// The first family (in file order) whose regex matches the identity.
pub fn place(identity: &Identity, families: &[Family]) -> Option<Placement> {
    families.iter().find_map(|f| {
        let tries = [("AT+CGMR", &f.cgmr, &identity.cgmr), ("AT#VVERSION", &f.vversion, &identity.vversion)];
        tries.into_iter().find_map(|(by, re, text)| {
            let m = re.as_ref()?.find(text.as_deref()?)?;
            Some(Placement { family: f.id.clone(), by: by.to_string(), matched: m.as_str().to_string() })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const FILE: &str = "families:\n  - id: 641c\n    description: rev B\n    cgmr: '^641c'\n  - id: 651_\n    description: rev C/D\n    cgmr: '^651_'\n    vversion: 'W302_V03'\n";

    #[rstest]
    #[case(Some("651_09gg.Q2406B 1266500 082206 17:06"), None, Some(("651_", "AT+CGMR", "651_")))]
    #[case(Some("641c01gg.Q2406B 1201"), None, Some(("641c", "AT+CGMR", "641c")))]
    #[case(Some("R7.43"), Some("eDsoft-W302_V03.00"), Some(("651_", "AT#VVERSION", "W302_V03")))]
    #[case(Some("R7.43"), None, None)]
    #[case(None, None, None)]
    fn places_units(
        #[case] cgmr: Option<&str>,
        #[case] vversion: Option<&str>,
        #[case] want: Option<(&str, &str, &str)>,
    ) {
        let families = parse("families.yaml", FILE).unwrap();
        let id = Identity { cgmr: cgmr.map(String::from), vversion: vversion.map(String::from), ..Identity::default() };
        let got = place(&id, &families);
        let want = want.map(|(f, by, m)| Placement { family: f.into(), by: by.into(), matched: m.into() });
        assert_eq!(got, want);
    }

    #[rstest]
    #[case("families:\n  - id: x\n    description: d\n", "families.yaml:2:5: family `x` needs")]
    #[case("families:\n  - id: x\n    description: d\n    cgmr: '('\n", "families.yaml:4:11: bad regex")]
    #[case("families:\n  - id: x\n    descripton: d\n", "families.yaml:3:5: ")]
    #[case(
        "families:\n  - id: x\n    description: d\n    cgmr: a\n  - id: x\n    description: e\n    cgmr: b\n",
        "families.yaml:5:9: family `x` is defined twice"
    )]
    fn located_errors(#[case] text: &str, #[case] start: &str) {
        let e = parse("families.yaml", text).unwrap_err();
        assert!(e.starts_with(start), "{e}");
    }
}
