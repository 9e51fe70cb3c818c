//! Golden transcripts: `golden/<scenario-id>.snap`, insta snapshots of each
//! scenario's normalised transcript.
//!
//! In `cargo test` the snapshot is asserted with insta (so `cargo insta
//! review` accepts changes and CI, with `INSTA_UPDATE=no`, never does). A rig
//! run with `mtg run` compares against the same files without insta's
//! runtime: every difference is a finding, written out as a diff.

use std::path::{Path, PathBuf};

use crate::at::Firmware;
use crate::errata::Errata;

/// Where the goldens live.
pub fn dir(root: &Path) -> PathBuf {
    root.join("golden")
}

pub fn path(root: &Path, id: &str) -> PathBuf {
    dir(root).join(format!("{id}.snap"))
}

/// Assert `text` against the golden of `id` with insta (panics on mismatch,
/// as insta does; the caller turns that into a failed trial).
pub fn assert(root: &Path, id: &str, source: &Path, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir(root));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(source);
    settings.set_description(format!("scenario {id}"));
    settings.bind(|| insta::assert_snapshot!(id.to_string(), text));
}

/// How a transcript compares with its golden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    Matches,
    /// No golden yet (a new scenario: run `cargo test` and review it).
    Missing,
    /// Unified diff, golden first.
    Differs(String),
}

/// Compare without insta (for `mtg run`).
pub fn compare(root: &Path, id: &str, text: &str) -> Comparison {
    let Ok(stored) = std::fs::read_to_string(path(root, id)) else {
        return Comparison::Missing;
    };
    against(body(&stored), id, text)
}

/// Compare `text` with a golden body.
fn against(golden: &str, id: &str, text: &str) -> Comparison {
    if golden.trim_end() == text.trim_end() {
        return Comparison::Matches;
    }
    let diff = similar::TextDiff::from_lines(golden.trim_end(), text.trim_end())
        .unified_diff()
        .context_radius(3)
        .header(&format!("golden/{id}.snap"), "this run")
        .to_string();
    Comparison::Differs(diff)
}

/// Compare a transcript of a unit judged by `firmware` with the golden,
/// which holds the field form. A manual-profile transcript is first put in
/// the field form by the errata's line translations; the steps that say what
/// each profile answers (`profiles:`, numbered in `profile_steps`) are not
/// line for line and are compared by their heading only.
pub fn compare_profile(
    root: &Path,
    id: &str,
    text: &str,
    firmware: Firmware,
    errata: &Errata,
    profile_steps: &[usize],
) -> Comparison {
    if firmware == Firmware::Field {
        return compare(root, id, text);
    }
    let Ok(stored) = std::fs::read_to_string(path(root, id)) else {
        return Comparison::Missing;
    };
    let golden = without_steps(body(&stored), profile_steps);
    // The runner's notes on answers in the field form are not in the golden.
    let text: String = text
        .split_inclusive('\n')
        .filter(|l| !l.starts_with(&format!("  -- ok: {}", crate::runner::DEVIATES)))
        .collect();
    let text = without_steps(&errata.manual_to_field(&text), profile_steps);
    against(&golden, id, &text)
}

/// `text` without the lines of the given steps (their `== step N:` heading stays).
pub fn without_steps(text: &str, steps: &[usize]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("== step ") {
            let n = rest.split(':').next().and_then(|n| n.parse::<usize>().ok());
            skipping = n.is_some_and(|n| steps.contains(&n));
            out.push_str(line);
            continue;
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out
}

/// The snapshot body: what follows insta's `---` metadata header.
fn body(stored: &str) -> &str {
    if let Some(rest) = stored.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---\n") {
            return &rest[end + 5..];
        }
    }
    stored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_bodies_and_diffs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(super::dir(dir.path())).unwrap();
        std::fs::write(path(dir.path(), "a"), "---\nsource: x\n---\nline 1\nline 2\n").unwrap();
        assert_eq!(compare(dir.path(), "a", "line 1\nline 2\n"), Comparison::Matches);
        assert_eq!(compare(dir.path(), "b", "x"), Comparison::Missing);
        match compare(dir.path(), "a", "line 1\nline 3\n") {
            Comparison::Differs(d) => assert!(d.contains("-line 2") && d.contains("+line 3"), "{d}"),
            other => panic!("{other:?}"),
        }
    }
}
