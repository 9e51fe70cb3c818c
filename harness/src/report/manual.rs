//! Manual coverage by chapter: which entries of the manual index the run's
//! scenarios cover (as `mtg coverage` counts them), kept in the run record
//! by chapter so `mtg report` and merged reports can draw it without the
//! index, and drawn as one bar per chapter and appendix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::svg::{self, Bar, Segment};
use crate::coverage::{self, Entry};
use crate::scenario::Scenario;

/// Entries of one chapter (or appendix) by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChapterCoverage {
    /// `2`, `A`, or `-` for entries without a chapter.
    pub chapter: String,
    /// Entries a scenario of the run covers.
    pub covered: Vec<String>,
    /// Entries not covered that the index marks pending.
    pub pending: Vec<String>,
    /// Entries neither covered nor pending.
    #[serde(default)]
    pub missing: Vec<String>,
}

impl ChapterCoverage {
    pub fn total(&self) -> usize {
        self.covered.len() + self.pending.len() + self.missing.len()
    }

    /// `chapter 2`, `appendix A`.
    pub fn label(&self) -> String {
        if self.chapter.chars().all(|c| c.is_ascii_digit()) && !self.chapter.is_empty() {
            format!("chapter {}", self.chapter)
        } else if self.chapter.chars().all(|c| c.is_ascii_uppercase()) && !self.chapter.is_empty() {
            format!("appendix {}", self.chapter)
        } else {
            "no chapter".to_string()
        }
    }

    /// Chapters in the manual's order: numbered chapters, then appendices.
    fn order(&self) -> (u8, u64, String) {
        match self.chapter.parse::<u64>() {
            Ok(n) => (0, n, String::new()),
            Err(_) if self.label() == "no chapter" => (2, 0, self.chapter.clone()),
            Err(_) => (1, 0, self.chapter.clone()),
        }
    }
}

fn chapter_name(e: &Entry) -> String {
    match &e.chapter {
        Some(yaml_serde::Value::Number(n)) => n.to_string(),
        Some(yaml_serde::Value::String(s)) => s.clone(),
        _ => "-".to_string(),
    }
}

/// Coverage of `entries` by `scenarios`, by chapter, in the manual's order.
pub fn by_chapter(entries: &[Entry], scenarios: &[Scenario]) -> Vec<ChapterCoverage> {
    let mut chapters: BTreeMap<String, ChapterCoverage> = BTreeMap::new();
    for c in coverage::compute(entries, scenarios) {
        let name = chapter_name(&c.entry);
        let ch = chapters.entry(name.clone()).or_insert_with(|| ChapterCoverage {
            chapter: name,
            covered: Vec::new(),
            pending: Vec::new(),
            missing: Vec::new(),
        });
        match c.status() {
            "covered" => ch.covered.push(c.entry.id.clone()),
            "pending" => ch.pending.push(c.entry.id.clone()),
            _ => ch.missing.push(c.entry.id.clone()),
        }
    }
    sorted(chapters.into_values().collect())
}

fn sorted(mut v: Vec<ChapterCoverage>) -> Vec<ChapterCoverage> {
    v.sort_by_key(ChapterCoverage::order);
    v
}

/// Several runs' coverage joined: an entry is covered when any run covers
/// it (the units together exercised it).
pub fn union<'a>(runs: impl IntoIterator<Item = &'a [ChapterCoverage]>) -> Vec<ChapterCoverage> {
    // Per chapter, each entry's best status: 0 covered, 1 pending, 2 missing.
    let mut best: BTreeMap<String, BTreeMap<String, u8>> = BTreeMap::new();
    for run in runs {
        for ch in run {
            let entries = best.entry(ch.chapter.clone()).or_default();
            for (ids, rank) in [(&ch.covered, 0u8), (&ch.pending, 1), (&ch.missing, 2)] {
                for id in ids {
                    let e = entries.entry(id.clone()).or_insert(rank);
                    *e = (*e).min(rank);
                }
            }
        }
    }
    let joined = best
        .into_iter()
        .map(|(chapter, entries)| {
            let pick = |r: u8| entries.iter().filter(|(_, v)| **v == r).map(|(k, _)| k.clone()).collect();
            ChapterCoverage { chapter, covered: pick(0), pending: pick(1), missing: pick(2) }
        })
        .collect();
    sorted(joined)
}

const COVERED: &str = "#2e9e44";
const PENDING: &str = "#f0a020";
const MISSING: &str = "#d0d0d0";

/// The coverage section: a sentence, the picture and a legend; a sentence
/// saying why there is none when the record has no coverage.
pub fn section(chapters: &[ChapterCoverage]) -> String {
    let mut s = String::from("<section id=\"coverage\"><h2>Manual coverage by chapter</h2>\n");
    if chapters.is_empty() {
        s.push_str(
            "<p>No manual index was loaded for this run (or the record predates coverage in run.json), \
             so coverage is not drawn.</p></section>\n",
        );
        return s;
    }
    let covered: usize = chapters.iter().map(|c| c.covered.len()).sum();
    let pending: usize = chapters.iter().map(|c| c.pending.len()).sum();
    let total: usize = chapters.iter().map(ChapterCoverage::total).sum();
    s.push_str(&format!(
        "<p>{covered} of {total} manual-index entries covered by this run's scenarios, {pending} pending, {} not covered.</p>\n",
        total - covered - pending
    ));
    let widest = chapters.iter().map(ChapterCoverage::total).max().unwrap_or(0) as f64;
    let bars: Vec<Bar> = chapters
        .iter()
        .map(|c| {
            let list = |what: &str, ids: &[String]| format!("{} {what}: {}", ids.len(), ids.join(", "));
            Bar {
                label: c.label(),
                segments: vec![
                    Segment { value: c.covered.len() as f64, colour: COVERED, title: list("covered", &c.covered) },
                    Segment { value: c.pending.len() as f64, colour: PENDING, title: list("pending", &c.pending) },
                    Segment { value: c.missing.len() as f64, colour: MISSING, title: list("not covered", &c.missing) },
                ],
                note: format!("{}/{} covered, {} pending", c.covered.len(), c.total(), c.pending.len()),
            }
        })
        .collect();
    s.push_str(&svg::stacked_bars("coverage-plot", "Manual coverage by chapter", &bars, widest));
    s.push_str(&format!(
        "\n<p class=\"legend\"><span style=\"background:{COVERED}\"></span>covered \
         <span style=\"background:{PENDING}\"></span>pending <span style=\"background:{MISSING}\"></span>not covered \
         (hover a bar for its entries)</p></section>\n"
    ));
    s
}

/// Style of the legend.
pub const STYLE: &str =
    ".legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 .8em;vertical-align:middle}";

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(chapter: &str, covered: &[&str], pending: &[&str], missing: &[&str]) -> ChapterCoverage {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        ChapterCoverage { chapter: chapter.into(), covered: v(covered), pending: v(pending), missing: v(missing) }
    }

    #[test]
    fn union_takes_the_best_status_and_keeps_the_manual_order() {
        let a = vec![ch("A", &[], &["x"], &[]), ch("10", &["p"], &[], &["q"]), ch("2", &["m"], &[], &["n"])];
        let b = vec![ch("2", &["n"], &[], &["m"]), ch("A", &["x"], &[], &[])];
        let u = union([a.as_slice(), b.as_slice()]);
        let order: Vec<&str> = u.iter().map(|c| c.chapter.as_str()).collect();
        assert_eq!(order, ["2", "10", "A"]);
        assert_eq!(u[0], ch("2", &["m", "n"], &[], &[]));
        assert_eq!(u[1], ch("10", &["p"], &[], &["q"]));
        assert_eq!(u[2].label(), "appendix A");
        assert_eq!(u[2].covered, ["x"]);
    }
}
