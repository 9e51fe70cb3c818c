//! The manual index (`scenarios/manual-index.yaml`) and which scenarios cover
//! each of its entries.
//!
//! An entry is covered by a scenario that lists its id in `covers:`; command,
//! parameter and display entries are also covered by any scenario that sends
//! the command. Entries marked `pending:` (the IP services, which a later
//! issue brings) are reported as pending instead of failing the check.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::at::command;
use crate::scenario::{Action, Scenario};

/// One entry of the manual index.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub kind: String,
    #[serde(default)]
    pub chapter: Option<yaml_serde::Value>,
    #[serde(default)]
    pub page: Option<u32>,
    pub title: String,
    #[serde(default)]
    pub command: Option<String>,
    pub basis: String,
    #[serde(default)]
    pub pending: Option<String>,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    entries: Vec<Entry>,
}

/// Read the index.
pub fn load_index(path: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: IndexFile = yaml_serde::from_str(&text).map_err(|e| match e.location() {
        Some(l) => format!("{}:{}:{}: {e}", path.display(), l.line(), l.column()),
        None => format!("{}: {e}", path.display()),
    })?;
    Ok(file.entries)
}

/// Coverage of one entry.
#[derive(Debug, Clone, Serialize)]
pub struct Covered {
    pub entry: Entry,
    pub scenarios: Vec<String>,
}

impl Covered {
    pub fn status(&self) -> &'static str {
        if !self.scenarios.is_empty() {
            "covered"
        } else if self.entry.pending.is_some() {
            "pending"
        } else {
            "MISSING"
        }
    }
}

/// Which scenarios cover each entry.
pub fn compute(entries: &[Entry], scenarios: &[Scenario]) -> Vec<Covered> {
    let mut by_id: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in scenarios {
        for id in &s.covers {
            by_id.entry(id.as_str()).or_default().push(s.id.clone());
        }
    }
    entries
        .iter()
        .map(|e| {
            let mut covering = by_id.get(e.id.as_str()).cloned().unwrap_or_default();
            if matches!(e.kind.as_str(), "parameter" | "command" | "display" | "gsm-command") {
                if let Some(cmd) = &e.command {
                    for s in scenarios {
                        if sends(s, cmd) && !covering.contains(&s.id) {
                            covering.push(s.id.clone());
                        }
                    }
                }
            }
            covering.sort();
            Covered { entry: e.clone(), scenarios: covering }
        })
        .collect()
}

/// Whether a scenario sends `command` (`AT#REC1`, `ATE`): a command of a
/// line it sends has that name, as [`crate::at::command`] parses it. So
/// `AT#REC1ADD` does not send `AT#REC1`, `ATE0` sends `ATE`, and
/// `AT+CMEE=1;+CREG=1` sends `AT+CREG`.
pub fn sends(s: &Scenario, command: &str) -> bool {
    let Some(wanted) = command::parse_line(command).and_then(|l| l.commands.into_iter().next()) else {
        return false;
    };
    s.steps.iter().any(|step| match &step.action {
        Action::Send(text) | Action::Raw(text) => text_sends(text, &wanted.name),
        _ => false,
    })
}

/// Whether sent text has a command named `name`. Raw text may hold several
/// lines, in the visible notation.
fn text_sends(text: &str, name: &str) -> bool {
    text.split(['\r', '\n'])
        .flat_map(|l| l.split("<CR>"))
        .flat_map(|l| l.split("<LF>"))
        .filter_map(command::parse_line)
        .any(|line| line.has(name))
}

/// The printed report; returns it and whether every non-pending entry is covered.
pub fn report(covered: &[Covered], verbose: bool) -> (String, bool) {
    use std::fmt::Write as _;
    let mut s = String::new();
    let width = covered.iter().map(|c| c.entry.id.len()).max().unwrap_or(10);
    let mut missing = 0;
    let mut pending = 0;
    for c in covered {
        let status = c.status();
        match status {
            "MISSING" => missing += 1,
            "pending" => pending += 1,
            _ => {}
        }
        let detail = match status {
            "covered" if verbose => c.scenarios.join(", "),
            "covered" => {
                let mut d = c.scenarios.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                if c.scenarios.len() > 3 {
                    let _ = write!(d, " (+{})", c.scenarios.len() - 3);
                }
                d
            }
            "pending" => format!("pending: {}", c.entry.pending.as_deref().unwrap_or("")),
            _ => format!("no scenario covers it ({})", c.entry.title),
        };
        let _ = writeln!(s, "{:<width$}  {:<8} {:<11} {detail}", c.entry.id, status, c.entry.basis);
    }
    let _ = writeln!(
        s,
        "\n{} entries: {} covered, {pending} pending, {missing} missing",
        covered.len(),
        covered.len() - missing - pending
    );
    (s, missing == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("AT#REC1=\"a@b\"", "AT#REC1", true)]
    #[case("AT#REC1ADD", "AT#REC1", false)]
    #[case("ATE0", "ATE", true)]
    #[case("AT#VSTATE", "ATE", false)]
    #[case("AT+CMEE=1;+CREG=1", "AT+CREG", true)]
    #[case("at+creg?", "AT+CREG", true)]
    #[case("ATZE0", "ATZ", true)]
    #[case("ATS0=2", "ATS0", true)]
    #[case("AT<CR>ATI3<CR>", "ATI", true)]
    #[case("AT#PINGDELAY=3", "AT#PING", false)]
    fn a_line_sends_a_command_by_its_parsed_name(#[case] text: &str, #[case] command: &str, #[case] expected: bool) {
        let name = command::parse_line(command).unwrap().commands.remove(0).name;
        assert_eq!(text_sends(text, &name), expected);
    }
}
