//! Provenance you can check: is each manual-backed expectation in the
//! manual's words?
//!
//! A step's expectation is manual-backed when its basis (the step's, else
//! the scenario's) is `manual`. It is supported only when a cited entry of
//! the manual index carries words (a quote) that contain what the step
//! expects, after normalising spacing and typographic quotes. A step cites:
//! - the entries of the scenario's `covers` that are **for the command it
//!   sends** (the index entry's `command` is among the commands of the line);
//! - every `rule` and `example` entry of `covers` and the scenario's `cites`
//!   (general rules and appendix dialogues state behaviour for many commands);
//! - every entry of the step's own `cites`.
//!
//! Steps that send nothing (an emulator event, an `expect` alone) cite every
//! entry of `covers` and `cites`. Everything else must say `inferred`,
//! `real-device` (with its `sources`) or `project-choice`.

use std::collections::{BTreeMap, BTreeSet};

use crate::at::command;
use crate::coverage::{normalise, Entry, Quote, Words};
use crate::scenario::{escape, Action, Basis, Matcher, Scenario, Step};

/// A manual-backed expectation that no cited quote contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// Where the step is written (file:line).
    pub origin: String,
    pub scenario: String,
    /// The expected line (or matcher) as written.
    pub expectation: String,
    /// The entries the step cited (with words), for the message.
    pub cited: Vec<String>,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cited = if self.cited.is_empty() { "none".to_string() } else { self.cited.join(", ") };
        write!(
            f,
            "{}: step expects {} as manual-backed, but no words it cites contain it (cited: {cited}); \
             cite an entry whose words say it (`cites:`), or label the step \
             `basis: inferred`, `real-device` (with `sources`) or `project-choice`",
            self.origin, self.expectation
        )
    }
}

/// A `real-device` basis that names no source, or a `cites` id the index lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsourced {
    pub origin: String,
    /// `Some(id)`: the cited id is not in the index.
    pub unknown_cite: Option<String>,
}

impl std::fmt::Display for Unsourced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.unknown_cite {
            Some(id) => write!(f, "{}: cites `{id}`, which is not an entry of manual-index.yaml", self.origin),
            None => write!(f, "{}: basis real-device names no source (add `sources: [\"[code]\"]`)", self.origin),
        }
    }
}

/// The index, by id.
pub struct Index<'a> {
    by_id: BTreeMap<&'a str, &'a Entry>,
}

impl<'a> Index<'a> {
    pub fn new(entries: &'a [Entry]) -> Index<'a> {
        Index { by_id: entries.iter().map(|e| (e.id.as_str(), e)).collect() }
    }

    pub fn get(&self, id: &str) -> Option<&'a Entry> {
        self.by_id.get(id).copied()
    }
}

/// The name an index entry's `command` parses to (`AT#REDIALCOUNT` → `#REDIALCOUNT`).
fn entry_command(e: &Entry) -> Option<String> {
    let text = e.command.as_deref()?;
    command::parse_line(text)?.commands.into_iter().next().map(|c| c.name)
}

/// The commands a step sends, by parsed name.
fn sent_commands(step: &Step) -> Option<BTreeSet<String>> {
    let text = match &step.action {
        Action::Send(t) => t.clone(),
        Action::Raw(t) => {
            let bytes = escape::decode(t).ok()?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => return None,
    };
    let names = command::parse_line(&text).map(|l| l.commands.into_iter().map(|c| c.name).collect());
    Some(names.unwrap_or_default())
}

/// The entries a step cites.
pub fn cited<'a>(scenario: &Scenario, step: &Step, index: &Index<'a>) -> Vec<&'a Entry> {
    let sent = sent_commands(step);
    let mut out: Vec<&Entry> = Vec::new();
    let mut add = |e: &'a Entry| {
        if !out.iter().any(|o| o.id == e.id) {
            out.push(e);
        }
    };
    let line = sent_line(step);
    for id in scenario.covers.iter().chain(&scenario.cites) {
        let Some(e) = index.get(id) else { continue };
        let applies = match (&sent, &line) {
            // Emulator events and lone expectations: everything cited.
            (None, _) | (_, None) => true,
            (Some(names), Some(line)) => {
                entry_command(e).is_some_and(|c| names.contains(&c))
                    || (matches!(e.kind.as_str(), "rule" | "example") && mentions(e, line))
            }
        };
        if applies {
            add(e);
        }
    }
    for id in &step.cites {
        if let Some(e) = index.get(id) {
            add(e);
        }
    }
    out
}

/// The line a step sends, upper case, without line ends.
fn sent_line(step: &Step) -> Option<String> {
    let text = match &step.action {
        Action::Send(t) => t.clone(),
        Action::Raw(t) => String::from_utf8_lossy(&escape::decode(t).ok()?).into_owned(),
        _ => return None,
    };
    Some(text.trim().to_ascii_uppercase())
}

/// Whether a rule's or example's words speak of the command a step sends:
/// they quote the command (`AT#VPHY`), or a pattern of it
/// (`AT#<Mnemonic>?` speaks of `AT#REDIALCOUNT?`, not of `AT#REDIALCOUNT=5`).
fn mentions(e: &Entry, line: &str) -> bool {
    let Some(Words::Quotes(quotes)) = &e.words else { return false };
    quotes.iter().any(|q| {
        q.text.split_whitespace().filter(|t| t.len() > 2 && t.as_bytes()[..2].eq_ignore_ascii_case(b"AT")).any(
            |token| {
                let token = token.trim_end_matches([',', '.', ';', ')']).to_ascii_uppercase();
                if token.contains('<') {
                    let mut pattern = String::from("^");
                    let mut rest = token.as_str();
                    while let Some(open) = rest.find('<') {
                        pattern.push_str(&regex::escape(&rest[..open]));
                        match rest[open..].find('>') {
                            Some(close) => {
                                pattern.push_str(".+");
                                rest = &rest[open + close + 1..];
                            }
                            None => {
                                rest = "";
                            }
                        }
                    }
                    pattern.push_str(&regex::escape(rest));
                    pattern.push('$');
                    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(line))
                } else {
                    // A quoted command line: the same command, whatever its arguments.
                    let name =
                        |s: &str| command::parse_line(s).and_then(|l| l.commands.into_iter().next()).map(|c| c.name);
                    name(&token).is_some_and(|n| name(line).is_some_and(|m| m == n))
                }
            },
        )
    })
}

/// The quotes of the cited entries.
pub fn cited_words<'a>(entries: &[&'a Entry]) -> Vec<(&'a Entry, &'a Quote)> {
    entries
        .iter()
        .flat_map(|e| match &e.words {
            Some(Words::Quotes(q)) => q.iter().map(|q| (*e, q)).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect()
}

/// Whether `needle` occurs in `haystack` as a whole (not inside a longer
/// word: `OK` is not in `OK_Info_PPP`).
fn contains_whole(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        let starts_word = needle.chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_');
        let ends_word = needle.chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        let glued = (starts_word && word(before)) || (ends_word && word(after));
        !glued
    })
}

/// Whether the words support one matcher.
fn supports(words: &[String], m: &Matcher) -> bool {
    match m {
        // A variable's value is known only at run time: its line is not judged here.
        Matcher::Line(s) if s.contains("${") => true,
        Matcher::Line(s) => {
            let s = normalise(s);
            words.iter().any(|w| contains_whole(w, &s))
        }
        Matcher::Regex(r) => match regex::Regex::new(r) {
            Ok(re) => words.iter().any(|w| re.is_match(w)),
            Err(_) => false,
        },
        Matcher::AnyOf(v) => v.iter().any(|a| supports(words, a)),
        Matcher::Unordered(v) => v.iter().all(|a| supports(words, a)),
    }
}

/// The lines of `expect_bytes`, as expectations.
fn byte_lines(bytes: &[u8]) -> Vec<Matcher> {
    String::from_utf8_lossy(bytes)
        .split(['\r', '\n'])
        .filter(|l| !l.trim().is_empty())
        .map(|l| Matcher::Line(l.to_string()))
        .collect()
}

/// Every manual-backed expectation of every scenario that its cited words do
/// not contain, once per place it is written (a fragment's step is reported
/// once however many scenarios include it).
pub fn check(scenarios: &[Scenario], entries: &[Entry]) -> (Vec<Unsupported>, Vec<Unsourced>) {
    let index = Index::new(entries);
    let mut unsupported = Vec::new();
    let mut unsourced = Vec::new();
    let mut seen = BTreeSet::new();
    for s in scenarios {
        for step in &s.steps {
            let basis = step.basis.unwrap_or(s.basis);
            let unsourced_here = basis == Basis::RealDevice && step.sources.is_empty() && s.sources.is_empty();
            if unsourced_here && seen.insert((step.origin.clone(), "unsourced".to_string())) {
                unsourced.push(Unsourced { origin: step.origin.clone(), unknown_cite: None });
            }
            for id in s.cites.iter().chain(&step.cites) {
                if index.get(id).is_none() && seen.insert((step.origin.clone(), format!("cite {id}"))) {
                    unsourced.push(Unsourced { origin: step.origin.clone(), unknown_cite: Some(id.clone()) });
                }
            }
            if basis != Basis::Manual {
                continue;
            }
            let entries = cited(s, step, &index);
            let words: Vec<String> = cited_words(&entries).iter().map(|(_, q)| normalise(&q.text)).collect();
            let mut expectations = step.expect.clone();
            if let Some(bytes) = &step.expect_bytes {
                expectations.extend(byte_lines(bytes));
            }
            for m in &expectations {
                if supports(&words, m) {
                    continue;
                }
                let expectation = m.to_string();
                if !seen.insert((step.origin.clone(), expectation.clone())) {
                    continue;
                }
                unsupported.push(Unsupported {
                    origin: step.origin.clone(),
                    scenario: s.id.clone(),
                    expectation,
                    cited: entries
                        .iter()
                        .filter(|e| matches!(e.words, Some(Words::Quotes(_))))
                        .map(|e| e.id.clone())
                        .collect(),
                });
            }
        }
    }
    (unsupported, unsourced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("OK_Info_PPP OK", "OK", true)]
    #[case("OK_Info_PPP", "OK", false)]
    #[case("#CME ERROR: 34882", "#CME ERROR: 34882", true)]
    #[case("#CME ERROR: 348821", "#CME ERROR: 34882", false)]
    #[case("Get Value: #REDIALCOUNT: 5", "#REDIALCOUNT: 5", true)]
    #[case("\"0\"", "\"0\"", true)]
    fn whole_occurrences(#[case] hay: &str, #[case] needle: &str, #[case] expected: bool) {
        assert_eq!(contains_whole(hay, needle), expected);
    }
}
