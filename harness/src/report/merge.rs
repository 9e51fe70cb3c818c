//! Records joined: the combined outputs of a rig run (one record per unit)
//! and `mtg report --merge` (the records of `--partition` shards, or of
//! several rig runs, joined into one).
//!
//! A set of records is grouped by what they ran on (the rig unit, else the
//! target): one group is written as one run (`run.json`, `junit.xml`,
//! `report.html`, `transcripts/`, `diffs/`); several are kept apart, each
//! in `OUT/<group>/`, with a combined `rig.json`, `junit.xml` (one test
//! suite per group) and `report.html` (one section per group) in `OUT/`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{html, junit, manual, matrix, read_record, write_atomic, ReportError, RunRecord};
use crate::runner::Verdict;

/// One unit's line in `rig.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnitSummary {
    pub unit: String,
    pub target: String,
    /// The unit's folder, relative to the combined output.
    pub dir: String,
    /// `passed`, `findings`, `rig-error`, `interrupted` or `incomplete`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rig_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    pub golden_differences: usize,
    pub not_run: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaky: Vec<String>,
    /// The unit's power-cycle command, from the rig file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_cycle: Option<String>,
}

/// `rig.json`: the combined summary of several units' records.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RigSummary {
    pub tool: String,
    /// The rig file, when a rig run wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rig: Option<String>,
    /// Fixture addresses the units' network reaches (from the rig file).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fixtures: BTreeMap<String, String>,
    pub units: Vec<UnitSummary>,
}

/// The name a record is grouped and filed under: its rig unit, else its target.
pub fn group_name(record: &RunRecord) -> String {
    record.unit.clone().unwrap_or_else(|| record.target.clone())
}

/// A folder name for a group.
pub fn folder_name(group: &str) -> String {
    group.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}

fn status(r: &RunRecord) -> &'static str {
    if r.rig_error.is_some() {
        "rig-error"
    } else if r.interrupted {
        "interrupted"
    } else if !r.finished {
        "incomplete"
    } else if r.success() {
        "passed"
    } else {
        "findings"
    }
}

/// Summarise one record.
pub fn summarise(dir: &str, r: &RunRecord) -> UnitSummary {
    UnitSummary {
        unit: group_name(r),
        target: r.target.clone(),
        dir: dir.to_string(),
        status: status(r).to_string(),
        rig_error: r.rig_error.as_deref().map(crate::redact::redact),
        family: r.family.as_ref().map(|p| p.family.clone()),
        passed: r.results.iter().filter(|x| x.verdict == Verdict::Pass && x.golden != "differs").count(),
        failed: r.results.iter().filter(|x| x.failed()).count(),
        errors: r.count(|v| *v == Verdict::Error),
        skipped: r.count(|v| matches!(v, Verdict::Skipped(_))),
        golden_differences: r.results.iter().filter(|x| x.golden == "differs").count(),
        not_run: r.not_run.len(),
        flaky: r.flaky.clone(),
        power_cycle: None,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Write the combined `rig.json`, `junit.xml` and `report.html` of several
/// records into `out`; each record's own files are in `out/<dir>/`.
pub fn write_combined(out: &Path, summary: &RigSummary, records: &[(String, RunRecord)]) -> Result<(), ReportError> {
    let json = serde_json::to_vec_pretty(summary).expect("a summary always serialises");
    write_atomic(&out.join("rig.json"), &json)?;
    // JUnit: one test suite per unit, named after it.
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mtg\">\n");
    for (dir, r) in records {
        let one = junit::junit(r);
        let body = one.lines().skip(1).collect::<Vec<_>>().join("\n");
        let body = body.replacen("<testsuite name=\"mtg\"", &format!("<testsuite name=\"{}\"", esc(&group_name(r))), 1);
        let body = if let Some(e) = &r.rig_error {
            body.replacen(
                "</testsuite>",
                &format!(
                    "  <testcase classname=\"{}\" name=\"rig\">\n    <error message=\"{}\"/>\n  </testcase>\n</testsuite>",
                    esc(dir),
                    esc(&crate::redact::redact(e))
                ),
                1,
            )
        } else {
            body
        };
        x.push_str(&body);
        x.push('\n');
    }
    x.push_str("</testsuites>\n");
    write_atomic(&out.join("junit.xml"), x.as_bytes())?;
    write_atomic(&out.join("report.html"), render(summary, records).as_bytes())
}

/// The combined page: a table of units, then a section per unit with its
/// failures and a link to its own report.
pub fn render(summary: &RigSummary, records: &[(String, RunRecord)]) -> String {
    let mut s = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mtg rig run</title>\n<style>\
         body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}.passed{background:#e8f5e9}\
         .findings,.rig-error{background:#ffebee}.interrupted,.incomplete{background:#fff8e1}",
    );
    s.push_str(matrix::STYLE);
    s.push_str(manual::STYLE);
    s.push_str("</style></head><body>\n");
    let _ = writeln!(s, "<h1>Rig run: {} unit(s)</h1>", summary.units.len());
    if let Some(rig) = &summary.rig {
        let _ = writeln!(s, "<p>Rig file <code>{}</code> · {}</p>", esc(rig), esc(&summary.tool));
    }
    if !summary.fixtures.is_empty() {
        let f: Vec<String> = summary.fixtures.iter().map(|(k, v)| format!("{} {}", esc(k), esc(v))).collect();
        let _ = writeln!(s, "<p>Fixtures: {}</p>", f.join(", "));
    }
    s.push_str(
        "<table><thead><tr><th>unit</th><th>target</th><th>status</th><th>family</th><th>passed</th><th>failed</th>\
         <th>errors</th><th>skipped</th><th>golden differences</th><th>not run</th><th>flaky</th></tr></thead><tbody>\n",
    );
    for u in &summary.units {
        let _ = writeln!(
            s,
            "<tr class=\"{st}\"><td><a href=\"#unit-{id}\">{id}</a></td><td><code>{t}</code></td><td>{st}</td><td>{f}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            u.passed,
            u.failed,
            u.errors,
            u.skipped,
            u.golden_differences,
            u.not_run,
            esc(&u.flaky.join(", ")),
            id = esc(&u.unit),
            t = esc(&u.target),
            st = esc(&u.status),
            f = esc(u.family.as_deref().unwrap_or("")),
        );
    }
    s.push_str("</tbody></table>\n");
    let columns: Vec<matrix::Column<'_>> =
        records.iter().map(|(dir, record)| matrix::Column { record, page: format!("{dir}/report.html") }).collect();
    s.push_str(&html::overview(&columns));
    for (dir, r) in records {
        let name = group_name(r);
        let _ = writeln!(
            s,
            "<h2 id=\"unit-{id}\">{id}</h2><p><code>{t}</code> · <a href=\"{d}/report.html\">full report</a> · \
             <a href=\"{d}/run.json\">run.json</a></p>",
            id = esc(&name),
            t = esc(&r.target),
            d = esc(dir)
        );
        if let Some(line) = r.family_line() {
            let _ = writeln!(s, "<p>{}</p>", esc(&line));
        }
        if let Some(e) = &r.rig_error {
            let _ = writeln!(s, "<p class=\"rig-error\">Rig error: {}</p>", esc(&crate::redact::redact(e)));
        }
        let bad: Vec<_> =
            r.results.iter().filter(|x| x.failed() || x.verdict == Verdict::Error || x.golden == "differs").collect();
        if bad.is_empty() {
            let _ = writeln!(s, "<p>No failures, errors or golden differences.</p>");
        } else {
            s.push_str("<ul>\n");
            for x in bad {
                let what = if x.golden == "differs" && x.verdict == Verdict::Pass {
                    "transcript differs from golden".to_string()
                } else {
                    x.message.clone().unwrap_or_default()
                };
                let _ = writeln!(
                    s,
                    "<li><a href=\"{}/report.html#{}\">{}</a> {}: {}</li>",
                    esc(dir),
                    esc(&x.id),
                    esc(&x.id),
                    esc(&x.shown_verdict()),
                    esc(&crate::redact::redact(&what))
                );
            }
            s.push_str("</ul>\n");
        }
        if !r.not_run.is_empty() {
            let _ = writeln!(s, "<p>Not run: {}</p>", esc(&r.not_run.join(", ")));
        }
    }
    s.push_str("</body></html>\n");
    s
}

/// Why records cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("{0}: holds no run.json (nor */run.json)")]
    NoRecord(PathBuf),
    #[error("scenario {id} on {group} is in two shards ({first} and {second}); shards of one run split the suite (give --repeat when the runs repeat scenarios)")]
    Twice { id: String, group: String, first: String, second: String },
    #[error("copying {}: {source}", path.display())]
    Copy { path: PathBuf, source: std::io::Error },
}

/// The records under `dir`: `dir/run.json`, else every `dir/*/run.json`
/// (a rig run), with the folder each is in.
pub fn find_records(dir: &Path) -> Result<Vec<(PathBuf, RunRecord)>, MergeError> {
    if dir.is_file() || dir.join("run.json").is_file() {
        let folder =
            if dir.is_file() { dir.parent().map(PathBuf::from).unwrap_or_default() } else { dir.to_path_buf() };
        return Ok(vec![(folder, read_record(dir)?)]);
    }
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|source| MergeError::Report(ReportError::Read { path: dir.to_path_buf(), source }))?;
    let mut subs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    subs.sort();
    for sub in subs {
        if sub.join("run.json").is_file() {
            out.push((sub.clone(), read_record(&sub)?));
        }
    }
    if out.is_empty() {
        return Err(MergeError::NoRecord(dir.to_path_buf()));
    }
    Ok(out)
}

/// Join the records of `dirs` into `out` (see the module documentation).
/// Returns the merged records, by group, with their folders in `out`.
pub fn merge(dirs: &[PathBuf], out: &Path, repeat: bool) -> Result<Vec<(String, RunRecord)>, MergeError> {
    let mut groups: BTreeMap<String, Vec<(PathBuf, RunRecord)>> = BTreeMap::new();
    for dir in dirs {
        for (folder, record) in find_records(dir)? {
            groups.entry(group_name(&record)).or_default().push((folder, record));
        }
    }
    // A run that repeated scenarios holds an id more than once.
    let repeated_run = |r: &RunRecord| {
        let mut ids: Vec<&str> = r.results.iter().map(|x| x.id.as_str()).collect();
        ids.sort_unstable();
        ids.windows(2).any(|w| w[0] == w[1]) || !r.iterations.is_empty()
    };
    let single = groups.len() == 1;
    let mut merged = Vec::new();
    for (group, parts) in groups {
        let mut seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
        let repeated = repeat || parts.iter().any(|(_, r)| repeated_run(r));
        let mut record: Option<RunRecord> = None;
        let sub = if single { String::new() } else { folder_name(&group) };
        let dest = if single { out.to_path_buf() } else { out.join(&sub) };
        for sub in ["transcripts", "diffs"] {
            std::fs::create_dir_all(dest.join(sub))
                .map_err(|source| MergeError::Copy { path: dest.join(sub), source })?;
        }
        for (k, (folder, part)) in parts.into_iter().enumerate() {
            let shard = folder.display().to_string();
            for r in &part.results {
                match seen.get(&r.id) {
                    Some((first, name)) if !repeated && *first != k => {
                        return Err(MergeError::Twice {
                            id: r.id.clone(),
                            group: group.clone(),
                            first: name.clone(),
                            second: shard,
                        })
                    }
                    _ => {
                        seen.insert(r.id.clone(), (k, shard.clone()));
                    }
                }
            }
            if let Ok(entries) = std::fs::read_dir(folder.join("diffs")) {
                for e in entries.filter_map(|e| e.ok()) {
                    let to = dest.join("diffs").join(e.file_name());
                    std::fs::copy(e.path(), &to).map_err(|source| MergeError::Copy { path: e.path(), source })?;
                }
            }
            // Transcripts: a name another shard took (repeated runs) gets the shard's number.
            let mut part = part;
            for r in part.results.iter_mut() {
                let Some(t) = r.transcript.clone() else { continue };
                let from = folder.join(&t);
                if !from.is_file() {
                    continue;
                }
                let mut name = t.clone();
                if dest.join(&name).exists() {
                    name = format!("{}.shard{}.txt", t.trim_end_matches(".txt"), k + 1);
                }
                std::fs::copy(&from, dest.join(&name))
                    .map_err(|source| MergeError::Copy { path: from.clone(), source })?;
                r.transcript = Some(name);
            }
            record = Some(match record {
                None => part,
                Some(mut acc) => {
                    acc.started_unix = acc.started_unix.min(part.started_unix);
                    if part.started_unix == acc.started_unix {
                        acc.started = part.started.clone();
                    }
                    acc.finished &= part.finished;
                    acc.interrupted |= part.interrupted;
                    acc.results.extend(part.results);
                    acc.not_run.extend(part.not_run);
                    acc.identity = acc.identity.or(part.identity);
                    acc.family = acc.family.or(part.family);
                    acc.rig_error = match (acc.rig_error, part.rig_error) {
                        (Some(a), Some(b)) if a != b => Some(format!("{a}; {b}")),
                        (a, b) => a.or(b),
                    };
                    acc.iterations.extend(part.iterations);
                    // A waiver is unmatched only if no shard matched it.
                    acc.unmatched_waivers.retain(|w| part.unmatched_waivers.contains(w));
                    acc
                }
            });
        }
        let mut record = record.expect("a group has a record");
        record.not_run.retain(|id| !record.results.iter().any(|r| r.id == *id));
        record.recount();
        let json = serde_json::to_vec_pretty(&record).expect("a run record always serialises");
        write_atomic(&dest.join("run.json"), &json)?;
        write_atomic(&dest.join("junit.xml"), junit::junit(&record).as_bytes())?;
        html::write(&dest, &record, None)?;
        merged.push((sub, record));
    }
    if !single {
        let summary = RigSummary {
            tool: format!("mtg {}", env!("CARGO_PKG_VERSION")),
            rig: None,
            fixtures: BTreeMap::new(),
            units: merged.iter().map(|(d, r)| summarise(d, r)).collect(),
        };
        write_combined(out, &summary, &merged)?;
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::super::{flaky, ScenarioRecord};
    use super::*;

    fn result(id: &str, verdict: &str) -> ScenarioRecord {
        serde_json::from_value(serde_json::json!({
            "id": id, "title": "t", "source": "p. 1", "file": "f.yaml",
            "verdict": {"verdict": verdict}, "message": null, "failed_step": null, "basis": null,
            "duration_ms": 1, "golden": "not-compared", "transcript": null
        }))
        .unwrap()
    }

    #[test]
    fn a_scenario_that_passes_and_fails_is_flaky() {
        let results = vec![
            result("a", "pass"),
            result("b", "pass"),
            result("a", "fail"),
            result("b", "pass"),
            result("c", "fail"),
        ];
        assert_eq!(flaky(&results), vec!["a".to_string()]);
        let mut r = RunRecord { results, finished: true, ..RunRecord::default() };
        r.recount();
        assert_eq!(r.flaky, vec!["a".to_string()]);
        assert_eq!(summarise("u", &r).status, "findings");
    }
}
