//! `junit.xml`: the run's results for CI dashboards, rewritten after every
//! scenario like the run record.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::{write_atomic, RunRecord};
use crate::runner::events::{Event, Sink};
use crate::runner::Verdict;

/// Writes `junit.xml` in the output folder.
pub struct JunitReporter {
    path: PathBuf,
    record: Mutex<RunRecord>,
}

impl JunitReporter {
    pub fn new(dir: &Path) -> JunitReporter {
        JunitReporter { path: dir.join("junit.xml"), record: Mutex::new(RunRecord::default()) }
    }
}

impl Sink for JunitReporter {
    fn event(&self, event: &Event<'_>) {
        let mut record = self.record.lock().unwrap_or_else(PoisonError::into_inner);
        if record.apply(event) {
            if let Err(e) = write_atomic(&self.path, junit(&record).as_bytes()) {
                eprintln!("error: {e}");
            }
        }
    }
}

/// JUnit XML (one testsuite, one testcase per scenario).
pub fn junit(record: &RunRecord) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let failures = record.results.iter().filter(|r| r.failed()).count();
    let errors = record.count(|v| *v == Verdict::Error);
    // A waived failure is reported as skipped, with the waiver.
    let skipped = record.count(|v| matches!(v, Verdict::Skipped(_))) + record.waived;
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuite name=\"mtg\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">",
        record.results.len()
    );
    for r in &record.results {
        let _ = write!(
            s,
            "  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            esc(&r.file),
            esc(&r.id),
            r.duration_ms as f64 / 1000.0
        );
        let msg = esc(r.message.as_deref().unwrap_or(""));
        let basis = r.basis.map(|b| format!(" [{b} expectation]")).unwrap_or_default();
        match &r.verdict {
            Verdict::Pass if r.golden == "differs" => {
                let _ = writeln!(
                    s,
                    ">\n    <failure message=\"transcript differs from golden/{}.snap\"/>\n  </testcase>",
                    esc(&r.id)
                );
            }
            Verdict::Pass => s.push_str("/>\n"),
            Verdict::Fail if r.waived() => {
                let waiver = r.waiver.as_ref().map(|w| w.describe()).unwrap_or_default();
                let _ = writeln!(s, ">\n    <skipped message=\"{}: {msg}\"/>\n  </testcase>", esc(&waiver));
            }
            Verdict::Fail => {
                let _ = writeln!(s, ">\n    <failure message=\"{msg}{basis}\"/>\n  </testcase>");
            }
            Verdict::Error => {
                let _ = writeln!(s, ">\n    <error message=\"{msg}\"/>\n  </testcase>");
            }
            Verdict::Skipped(reason) => {
                let _ = writeln!(s, ">\n    <skipped message=\"{}\"/>\n  </testcase>", esc(reason));
            }
        }
    }
    s.push_str("</testsuite>\n");
    s
}
