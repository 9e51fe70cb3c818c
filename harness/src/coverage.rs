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
    /// The manual's own words this entry rests on, or that they were not recovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Words>,
    /// For `real-device` and `inferred` entries: the digest's source tags
    /// (`[code]`, `[code2]`, `[UIP]`, …) the expectation comes from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

/// The manual's words behind an entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Words {
    /// Verbatim quotes, each with its printed page.
    Quotes(Vec<Quote>),
    /// `not-recovered`: no copy of the page holds the words.
    Marker(WordsMarker),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WordsMarker {
    NotRecovered,
}

/// Words of the manual, verbatim (an ellipsis ` … ` joins fragments of one passage).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Quote {
    /// Printed page number.
    pub page: u32,
    pub text: String,
    /// Where the words were read: the local pages 1-24 or the digest of the rest.
    pub via: Via,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// `000_e40dc1d76301e574.txt`, pages 1-24 of the PDF text.
    Local,
    /// `missing-pages.md`, the digest of pages 25-78 (its quoted table cells and strings).
    Digest,
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

/// The manual's text, as far as this machine has it, for checking quotes.
pub struct ManualText {
    /// Pages 1-24 by printed page number.
    pages: BTreeMap<u32, String>,
    /// The digest of pages 25-78.
    digest: String,
}

/// Spacing and typographic quotes do not count when a quote is compared
/// with the manual (the PDF extraction runs table cells together).
pub fn normalise(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            '\u{201c}' | '\u{201d}' | '\u{201e}' => '"',
            '\u{2018}' | '\u{2019}' => '\'',
            c => c,
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl ManualText {
    /// Read `000_e40dc1d76301e574.txt` and `missing-pages.md` from `dir`.
    pub fn load(dir: &Path) -> Result<ManualText, String> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
        };
        let local = read("000_e40dc1d76301e574.txt")?;
        let digest = normalise(&read("missing-pages.md")?);
        // Each page ends with its footer "... (S000333D) <page>".
        let footer = regex::Regex::new(r"\(S000333D\) (\d+)").expect("valid regex");
        let mut segments: Vec<(u32, String)> = Vec::new();
        let mut start = 0;
        for c in footer.captures_iter(&local) {
            let whole = c.get(0).expect("match");
            let page: u32 = c[1].parse().unwrap_or(0);
            segments.push((page, normalise(&local[start..whole.start()])));
            start = whole.end();
        }
        let tail = normalise(&local[start..]);
        // The extraction puts some cells of a page's tables after its footer:
        // a page's text runs on into what follows, up to the next footer.
        let mut pages = BTreeMap::new();
        for (i, (page, text)) in segments.iter().enumerate() {
            let next = segments.get(i + 1).map_or(tail.as_str(), |(_, t)| t.as_str());
            pages.insert(*page, format!("{text} {next}"));
        }
        Ok(ManualText { pages, digest })
    }

    /// Where a quote is not found as cited, why.
    pub fn check(&self, quote: &Quote) -> Option<String> {
        let fragments: Vec<String> =
            quote.text.split('…').map(normalise).filter(|f| !f.is_empty() && f != "...").collect();
        let haystack = match quote.via {
            Via::Digest => &self.digest,
            Via::Local => match self.pages.get(&quote.page) {
                Some(p) => p,
                None => return Some(format!("page {} is not among the local pages 1-24", quote.page)),
            },
        };
        let mut from = 0;
        for f in &fragments {
            match haystack[from..].find(f.as_str()) {
                Some(i) => from += i + f.len(),
                None => {
                    let elsewhere = match quote.via {
                        Via::Local => self.pages.iter().find(|(_, t)| t.contains(f.as_str())).map(|(p, _)| *p),
                        Via::Digest => None,
                    };
                    return Some(match elsewhere {
                        Some(p) => format!("{f:?} is on page {p}, not {}", quote.page),
                        None => format!("{f:?} is not in the {:?} text (in this order)", quote.via),
                    });
                }
            }
        }
        None
    }
}

/// Problems with the entries' words: quotes not found in the manual as
/// cited (when the manual's text is at hand), entries with no words at all.
pub fn check_words(entries: &[Entry], manual: Option<&ManualText>) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    let mut without = 0;
    for e in entries {
        match &e.words {
            None => without += 1,
            Some(Words::Marker(WordsMarker::NotRecovered)) => {}
            Some(Words::Quotes(quotes)) => {
                if let Some(manual) = manual {
                    for q in quotes {
                        if let Some(why) = manual.check(q) {
                            problems.push(format!("{}: quote p.{}: {why}", e.id, q.page));
                        }
                    }
                }
            }
        }
    }
    (problems, without)
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
