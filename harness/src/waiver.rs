//! Waivers: known failures accepted for a while, on record.
//!
//! A waivers file (`mtg run --waivers FILE`) lists, for each waiver, the
//! scenario it covers (an id, or a prefix glob `ch3.*`), optionally the step
//! (1-based, as reports number them), the units it applies to (a regex over
//! the unit's identity: its family id, `AT+CGMR` or `AT#VVERSION` answer; or
//! `any`), a reason, a ticket and an expiry date:
//!
//! ```yaml
//! waivers:
//!   - id: W1
//!     scenario: ch5.tcp-*
//!     step: 4
//!     unit: "^641c"
//!     reason: rev B firmware has one socket; the scenario uses socket 2
//!     ticket: MTG-31
//!     expires: 2027-03-31
//! ```
//!
//! A failure matched by a live waiver (today on or before its expiry) is
//! reported as waived and is not a finding; after expiry it is a failure
//! again, whose message says that the waiver expired. Dates are compared
//! with a "today" given to [`Waivers::judge`], never read from the clock here.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::family::{Identity, Placement};
use crate::scenario::source_map::SourceMap;

/// Which units a waiver applies to.
#[derive(Debug, Clone)]
pub enum Unit {
    Any,
    Matching(Regex),
}

#[derive(Debug, Clone)]
pub struct Waiver {
    pub id: String,
    /// An id, or a prefix followed by `*`.
    pub scenario: String,
    pub step: Option<usize>,
    pub unit: Unit,
    pub reason: String,
    pub ticket: String,
    /// `YYYY-MM-DD`, the last day the waiver holds.
    pub expires: String,
}

impl Waiver {
    fn covers_scenario(&self, id: &str) -> bool {
        match self.scenario.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => id == self.scenario,
        }
    }

    fn covers_unit(&self, identity: &Identity, family: Option<&Placement>) -> bool {
        match &self.unit {
            Unit::Any => true,
            Unit::Matching(re) => {
                family.map(|p| p.family.as_str()).into_iter().chain(identity.texts()).any(|t| re.is_match(t))
            }
        }
    }
}

/// What a waiver did to a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverNote {
    pub id: String,
    pub reason: String,
    pub ticket: String,
    pub expires: String,
    /// The waiver had expired: the failure stands.
    pub expired: bool,
}

impl WaiverNote {
    /// `waiver W1 expired on 2026-11-30 (MTG-31: reason)`, or `waived by W1 …`.
    pub fn describe(&self) -> String {
        if self.expired {
            format!("waiver {} expired on {} ({}: {})", self.id, self.expires, self.ticket, self.reason)
        } else {
            format!("waived by {} until {} ({}: {})", self.id, self.expires, self.ticket, self.reason)
        }
    }
}

/// The waivers of a run, and which of them matched something.
#[derive(Debug, Default)]
pub struct Waivers {
    pub waivers: Vec<Waiver>,
    used: Mutex<BTreeSet<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    waivers: Vec<RawWaiver>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    id: String,
    scenario: String,
    #[serde(default)]
    step: Option<usize>,
    unit: String,
    reason: String,
    ticket: String,
    expires: String,
}

/// Whether `s` is a date `YYYY-MM-DD` (a real one: month 1-12, day within it).
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num =
        |r: std::ops::Range<usize>| s.get(r).filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?.parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else { return false };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

impl Waivers {
    /// Parse a waivers file (`name` is for messages: `file:line:column: …`).
    pub fn parse(name: &str, text: &str) -> Result<Waivers, String> {
        let raw: RawFile = yaml_serde::from_str(text).map_err(|e| match e.location() {
            Some(l) => format!("{name}:{}:{}: {e}", l.line(), l.column()),
            None => format!("{name}: {e}"),
        })?;
        let map = SourceMap::parse(text).ok();
        let at = |path: String| {
            map.as_ref()
                .and_then(|m| m.value_or_key(&path))
                .map_or(name.to_string(), |p| format!("{name}:{}:{}", p.line, p.column))
        };
        let mut waivers: Vec<Waiver> = Vec::new();
        for (i, w) in raw.waivers.into_iter().enumerate() {
            let here = format!("waivers[{i}]");
            let err = |key: &str, msg: String| Err(format!("{}: {msg}", at(format!("{here}.{key}"))));
            if w.id.trim().is_empty() {
                return err("id", "a waiver needs an id (W1, W2, …)".into());
            }
            if waivers.iter().any(|o| o.id == w.id) {
                return err("id", format!("waiver `{}` is defined twice", w.id));
            }
            let glob = w.scenario.strip_suffix('*').unwrap_or(&w.scenario);
            if w.scenario.is_empty() || glob.contains('*') {
                return err(
                    "scenario",
                    format!("`{}`: a scenario id, or a prefix followed by `*` (`ch3.*`)", w.scenario),
                );
            }
            if w.step == Some(0) {
                return err("step", "steps are numbered from 1".into());
            }
            let unit = if w.unit == "any" {
                Unit::Any
            } else {
                match Regex::new(&w.unit) {
                    Ok(re) => Unit::Matching(re),
                    Err(e) => return err("unit", format!("`unit` is `any` or a regex over the unit's identity: {e}")),
                }
            };
            for (key, v) in [("reason", &w.reason), ("ticket", &w.ticket)] {
                if v.trim().is_empty() {
                    return err(key, format!("waiver `{}` needs a {key}", w.id));
                }
            }
            if !valid_date(&w.expires) {
                return err("expires", format!("`{}` is not a date YYYY-MM-DD", w.expires));
            }
            waivers.push(Waiver {
                id: w.id,
                scenario: w.scenario,
                step: w.step,
                unit,
                reason: w.reason,
                ticket: w.ticket,
                expires: w.expires,
            });
        }
        Ok(Waivers { waivers, used: Mutex::default() })
    }

    pub fn load(path: &Path) -> Result<Waivers, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Waivers::parse(&path.display().to_string(), &text)
    }

    /// The waiver for a failure of `scenario` at `step` (1-based, when a step
    /// failed) on this unit, as of `today` (`YYYY-MM-DD`): a live one before
    /// an expired one, in file order. The waiver is counted as used.
    pub fn judge(
        &self,
        scenario: &str,
        step: Option<usize>,
        identity: &Identity,
        family: Option<&Placement>,
        today: &str,
    ) -> Option<WaiverNote> {
        let fits = |w: &&Waiver| {
            w.covers_scenario(scenario) && w.step.is_none_or(|s| Some(s) == step) && w.covers_unit(identity, family)
        };
        let live = |w: &&Waiver| today <= w.expires.as_str();
        let chosen = self.waivers.iter().filter(fits).find(live).or_else(|| self.waivers.iter().find(fits))?;
        self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(chosen.id.clone());
        Some(WaiverNote {
            id: chosen.id.clone(),
            reason: chosen.reason.clone(),
            ticket: chosen.ticket.clone(),
            expires: chosen.expires.clone(),
            expired: !live(&chosen),
        })
    }

    /// The waivers that matched no failure so far, in file order.
    pub fn unmatched(&self) -> Vec<String> {
        let used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.waivers.iter().filter(|w| !used.contains(&w.id)).map(|w| w.id.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const FILE: &str = "waivers:
  - id: W1
    scenario: ch3.*
    unit: any
    reason: mail server of the rig is down
    ticket: MTG-1
    expires: 2026-12-31
  - id: W2
    scenario: ch5.tcp-open
    step: 4
    unit: '^641c'
    reason: one socket on rev B
    ticket: MTG-2
    expires: 2026-11-30
";

    fn unit(cgmr: &str) -> Identity {
        Identity { cgmr: Some(cgmr.into()), ..Identity::default() }
    }

    #[rstest]
    #[case("ch3.smtp", Some(2), "651_09gg", "2026-12-02", Some(("W1", false)))]
    #[case("ch3.smtp", None, "651_09gg", "2026-12-31", Some(("W1", false)))]
    #[case("ch3.smtp", None, "651_09gg", "2027-01-01", Some(("W1", true)))]
    #[case("ch30.x", None, "651_09gg", "2026-12-02", None)]
    #[case("ch3", None, "651_09gg", "2026-12-02", None)]
    #[case("ch5.tcp-open", Some(4), "641c01", "2026-11-30", Some(("W2", false)))]
    #[case("ch5.tcp-open", Some(4), "641c01", "2026-12-01", Some(("W2", true)))]
    #[case("ch5.tcp-open", Some(3), "641c01", "2026-11-01", None)]
    #[case("ch5.tcp-open", Some(4), "651_09gg", "2026-11-01", None)]
    #[case("ch5.tcp-open-x", Some(4), "641c01", "2026-11-01", None)]
    fn matches_failures(
        #[case] scenario: &str,
        #[case] step: Option<usize>,
        #[case] cgmr: &str,
        #[case] today: &str,
        #[case] want: Option<(&str, bool)>,
    ) {
        let w = Waivers::parse("w.yaml", FILE).unwrap();
        let got = w.judge(scenario, step, &unit(cgmr), None, today);
        assert_eq!(got.as_ref().map(|n| (n.id.as_str(), n.expired)), want);
    }

    #[test]
    fn a_unit_regex_also_sees_the_family_and_unknown_units_only_match_any() {
        let w = Waivers::parse("w.yaml", FILE).unwrap();
        let family = Placement { family: "641c".into(), by: "AT+CGMR".into(), matched: "641c".into() };
        assert!(w.judge("ch5.tcp-open", Some(4), &Identity::default(), Some(&family), "2026-11-01").is_some());
        assert!(w.judge("ch5.tcp-open", Some(4), &Identity::unknown("no answer"), None, "2026-11-01").is_none());
        assert!(w.judge("ch3.x", None, &Identity::unknown("no answer"), None, "2026-11-01").is_some());
    }

    #[test]
    fn unmatched_waivers_are_listed() {
        let w = Waivers::parse("w.yaml", FILE).unwrap();
        assert_eq!(w.unmatched(), ["W1", "W2"]);
        w.judge("ch3.smtp", None, &unit("651_"), None, "2026-12-02");
        assert_eq!(w.unmatched(), ["W2"]);
    }

    #[test]
    fn notes_say_what_happened() {
        let w = Waivers::parse("w.yaml", FILE).unwrap();
        let note = w.judge("ch3.smtp", None, &unit("651_"), None, "2027-02-01").unwrap();
        assert_eq!(note.describe(), "waiver W1 expired on 2026-12-31 (MTG-1: mail server of the rig is down)");
    }

    const ONE: &str = "waivers:\n  - id: W1\n    scenario: ch3.*\n    unit: any\n    reason: r\n    ticket: T-1\n    expires: 2026-12-31\n";

    #[rstest]
    #[case("expires: 2026-12-31", "expires: 2026-13-01", "w.yaml:7:14: `2026-13-01` is not a date")]
    #[case("expires: 2026-12-31", "expires: 31.12.2026", "w.yaml:7:14: `31.12.2026` is not a date")]
    #[case("unit: any", "unit: '('", "w.yaml:4:11: `unit` is `any` or a regex")]
    #[case("scenario: ch3.*", "scenario: ch*.x", "w.yaml:3:15: `ch*.x`: a scenario id, or a prefix")]
    #[case("ticket: T-1", "ticket: ''", "w.yaml:6:13: waiver `W1` needs a ticket")]
    #[case("ticket: T-1", "tiket: T-1", "w.yaml:6:5: waivers[0]: unknown field `tiket`")]
    #[case("    reason: r\n", "", "w.yaml:2:5: waivers[0]: missing field `reason`")]
    #[case("    unit: any\n", "    unit: any\n    step: 0\n", "w.yaml:5:11: steps are numbered from 1")]
    fn located_errors(#[case] from: &str, #[case] to: &str, #[case] start: &str) {
        let e = Waivers::parse("w.yaml", &ONE.replace(from, to)).unwrap_err();
        assert!(e.starts_with(start), "{e}");
    }

    #[rstest]
    #[case("2024-02-29", true)]
    #[case("2023-02-29", false)]
    #[case("2100-02-29", false)]
    #[case("2026-04-31", false)]
    #[case("2026-1-01", false)]
    #[case("2026-12-31", true)]
    fn dates(#[case] s: &str, #[case] ok: bool) {
        assert_eq!(valid_date(s), ok);
    }
}
