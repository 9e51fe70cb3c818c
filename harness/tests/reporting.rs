//! The runner's events and the reporters that consume them: the suite loop
//! against the in-process emulator emits events in order, and reporters fed
//! an event stream write the run's files (also when the run is interrupted).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use mtg::golden::Comparison;
use mtg::report::html::HtmlReporter;
use mtg::report::junit::JunitReporter;
use mtg::report::record::RecordReporter;
use mtg::report::{read_record, OutputDir};
use mtg::runner::events::{Event, Sink};
use mtg::runner::suite::{run_suite, Plan, SuiteResult};
use mtg::runner::{Options, Outcome, Verdict};
use mtg::scenario::{load_dir, Basis, Scenario};
use mtg::transcript::{line_text, Entry, Role, Transcript};
use mtg::transport::Target;
use tempfile::TempDir;

const HEAD: &str = "title: A test\nsource: {chapter: 2, page: 8}\n";

/// A suite in a temporary folder: (file name, id, body after the header).
fn suite(files: &[(&str, &str, &str)]) -> (TempDir, Vec<Scenario>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, id, body) in files {
        std::fs::write(dir.path().join(name), format!("id: {id}\n{HEAD}{body}")).unwrap();
    }
    let (mut scenarios, errors) = load_dir(dir.path());
    assert!(errors.is_empty(), "{errors:?}");
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    (dir, scenarios)
}

/// Keeps every event as one line of text.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Sink for Recorder {
    fn event(&self, event: &Event<'_>) {
        let line = match *event {
            Event::RunStarted { target, selected, jobs, .. } => {
                format!("run-started {target} {} scenario(s) {jobs} job(s)", selected.len())
            }
            Event::Identified { family, .. } => format!("identified {:?}", family.map(|f| &f.family)),
            Event::ScenarioStarted { scenario, .. } => format!("scenario-started {}", scenario.id),
            Event::StepStarted { scenario, index, total, description, origin } => {
                format!("step {scenario} {index}/{total} {description} @{origin}")
            }
            Event::Sent { scenario, bytes, .. } => format!("sent {scenario} {:?}", line_text(bytes)),
            Event::Received { scenario, bytes, role, .. } => {
                format!("received {scenario} {:?} {role:?}", line_text(bytes))
            }
            Event::ScenarioFinished { scenario, outcome, golden, done, total, .. } => {
                format!("scenario-finished {} {} golden={golden:?} {done}/{total}", scenario.id, outcome.verdict)
            }
            Event::RunFinished { interrupted, not_run, .. } => {
                format!("run-finished interrupted={interrupted} {not_run:?}")
            }
            Event::ResetStarted { scenario } => format!("reset-started {scenario}"),
            Event::ResetFinished { scenario, error, .. } => format!("reset-finished {scenario} {error:?}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

fn plan(dir: &Path, jobs: usize, golden_root: Option<&Path>) -> Plan {
    Plan {
        target_label: "emu:".into(),
        scenarios_root: dir.to_path_buf(),
        jobs,
        golden_root: golden_root.map(Path::to_path_buf),
        grace: Duration::from_secs(5),
        families: None,
        waivers: None,
        today: "2026-12-02".into(),
    }
}

#[tokio::test]
async fn the_suite_emits_events_in_order() {
    let (dir, scenarios) = suite(&[
        ("a.yaml", "t.a", "steps:\n  - send: AT\n    expect: OK\n"),
        ("b.yaml", "t.b", "steps:\n  - send: AT\n    expect: ERROR\n"),
        ("c.yaml", "t.c", "requires: [smtp]\nsteps:\n  - send: AT\n    expect: OK\n"),
    ]);
    let goldens = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let target: Target = "emu:".parse().unwrap();
    let result = run_suite(
        &scenarios,
        &target,
        &Options::default(),
        &plan(dir.path(), 1, Some(goldens.path())),
        recorder.clone(),
    )
    .await;
    assert_eq!(result, SuiteResult { interrupted: false, findings: 1, not_run: vec![], not_ready: None });
    assert_eq!(
        recorder.lines(),
        [
            "run-started emu: 3 scenario(s) 1 job(s)",
            "scenario-started t.a",
            "step t.a 1/1 send AT @a.yaml:5",
            "sent t.a \"AT\"",
            "received t.a \"AT\" Echo",
            "received t.a \"OK\" Matched",
            // A passing scenario is compared with its golden (none here).
            "scenario-finished t.a pass golden=Some(Missing) 1/3",
            "scenario-started t.b",
            "step t.b 1/1 send AT @b.yaml:5",
            "sent t.b \"AT\"",
            "received t.b \"AT\" Echo",
            "received t.b \"OK\" Unexpected",
            "scenario-finished t.b FAIL golden=None 2/3",
            "scenario-started t.c",
            "scenario-finished t.c skipped golden=None 3/3",
            "run-finished interrupted=false []",
        ]
    );
}

#[tokio::test]
async fn an_interrupted_suite_stops_the_running_scenario_and_lists_the_rest() {
    let (dir, scenarios) = suite(&[
        ("a.yaml", "t.a", "steps:\n  - send: AT\n    expect: OK\n  - wait: 30s\n  - send: AT\n    expect: OK\n"),
        ("b.yaml", "t.b", "steps:\n  - send: AT\n    expect: OK\n"),
    ]);
    let recorder = Arc::new(Recorder::default());
    // The in-process emulator waits on virtual time (its 30 s pass at once);
    // the PTY emulator runs in real time, so the wait is there to interrupt.
    let target: Target = "pty:".parse().unwrap();
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let options = Options { cancel: Some(cancel_rx), ..Options::default() };
    let plan = plan(dir.path(), 1, None);
    let run = run_suite(&scenarios, &target, &options, &plan, recorder.clone());
    let interrupt = async {
        // Interrupt during the wait of the first scenario.
        while !recorder.lines().iter().any(|l| l.starts_with("step t.a 2/3")) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel_tx.send(true).unwrap();
    };
    let (result, ()) = tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(run, interrupt) })
        .await
        .expect("the interruption stops the run at once");
    assert_eq!(result, SuiteResult { interrupted: true, findings: 1, not_run: vec!["t.b".into()], not_ready: None });
    let lines = recorder.lines();
    assert_eq!(
        &lines[lines.len() - 2..],
        ["scenario-finished t.a ERROR golden=None 1/2", "run-finished interrupted=true [\"t.b\"]"]
    );
    assert!(!lines.iter().any(|l| l.contains("started t.b")), "t.b must not start: {lines:#?}");
}

/// An outcome as the runner would report it, with a one-step transcript.
fn outcome(id: &str, verdict: Verdict, message: Option<&str>) -> Outcome {
    let mut transcript = Transcript::new(id, vec![]);
    transcript.push(Entry::Step { index: 1, origin: format!("{id}.yaml:5"), description: "send AT".into(), at_ms: 0 });
    transcript.push(Entry::Sent { bytes: b"AT\r".to_vec(), at_ms: 1 });
    let role = if verdict == Verdict::Pass { Role::Matched } else { Role::Unexpected };
    transcript.push(Entry::Received { bytes: b"\r\nOK\r\n".to_vec(), at_ms: 2, role });
    Outcome {
        id: id.into(),
        failed_step: message.map(|_| (1, format!("{id}.yaml:5"))),
        basis: message.map(|_| Basis::Manual),
        message: message.map(String::from),
        verdict,
        duration_ms: 12,
        profile: Default::default(),
        transcript,
    }
}

#[test]
fn reporters_write_the_record_as_the_run_goes_and_after_an_interruption() {
    let (dir, scenarios) = suite(&[
        ("a.yaml", "t.a", "steps:\n  - send: AT\n    expect: OK\n"),
        ("b.yaml", "t.b", "steps:\n  - send: AT\n    expect: ERROR\n"),
        ("c.yaml", "t.c", "steps:\n  - send: AT\n    expect: OK\n"),
    ]);
    let out_dir = tempfile::tempdir().unwrap();
    let out = OutputDir::create(out_dir.path()).unwrap();
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(RecordReporter::new(&out.path)),
        Box::new(JunitReporter::new(&out.path)),
        Box::new(HtmlReporter::new(&out.path, None)),
    ];
    let started = UNIX_EPOCH + Duration::from_secs(1_796_190_012);
    let diff = "--- golden/t.a.snap\n+++ this run\n-  < <CR><LF>OK<CR><LF>\n".to_string();
    let differs = Comparison::Differs(diff.clone());
    let pass = outcome("t.a", Verdict::Pass, None);
    let fail = outcome("t.b", Verdict::Fail, Some("step 1 (b.yaml:5): expected OK after AT#ISPPW=\"secret\""));

    sinks.event(&Event::RunStarted {
        target: "emu:",
        scenarios_root: dir.path(),
        selected: &scenarios,
        jobs: 2,
        started,
    });
    let record = read_record(&out.path).unwrap();
    assert_eq!(record.not_run, ["t.a", "t.b", "t.c"]);
    assert_eq!(record.started.as_deref(), Some("2026-12-02T05:40:12Z"));
    assert_eq!(record.started_unix, 1_796_190_012);

    let a_started = started + Duration::from_millis(345);
    sinks.event(&Event::ScenarioStarted { scenario: &scenarios[0], started: a_started });
    let finished = |s, outcome, golden, done| Event::ScenarioFinished {
        scenario: s,
        started: a_started,
        outcome,
        golden,
        waiver: None,
        done,
        total: 3,
    };
    sinks.event(&finished(&scenarios[0], &pass, Some(&differs), 1));
    // Written after every scenario, before the run ends.
    let record = read_record(&out.path).unwrap();
    assert_eq!(record.results.len(), 1);
    assert_eq!(record.not_run, ["t.b", "t.c"]);
    assert!(!record.finished);
    sinks.event(&finished(&scenarios[1], &fail, None, 2));
    assert!(!out.path.join("report.html").exists(), "the page is written at the end");
    sinks.event(&Event::RunFinished { interrupted: true, not_run: &["t.c".to_string()], unmatched_waivers: &[] });

    let record = read_record(&out.path).unwrap();
    assert!(record.interrupted && !record.finished && !record.success());
    assert_eq!(record.not_run, ["t.c"]);
    let ids: Vec<&str> = record.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["t.a", "t.b"]);
    let (a, b) = (&record.results[0], &record.results[1]);
    assert_eq!(a.started.as_deref(), Some("2026-12-02T05:40:12.345Z"));
    assert_eq!((a.golden.as_str(), a.transcript.as_deref()), ("differs", Some("transcripts/t.a.txt")));
    assert_eq!(a.steps.len(), 1);
    assert_eq!((b.verdict.clone(), b.golden.as_str(), b.basis), (Verdict::Fail, "not-compared", Some(Basis::Manual)));
    // Messages are redacted like transcripts.
    let message = b.message.as_deref().unwrap();
    assert!(message.starts_with("step 1 (b.yaml:5): expected OK after AT#ISPPW=") && !message.contains("secret"));
    assert_eq!(b.file, "b.yaml");

    let transcript = std::fs::read_to_string(out.path.join("transcripts/t.a.txt")).unwrap();
    assert_eq!(transcript, pass.transcript.render());
    assert_eq!(std::fs::read_to_string(out.path.join("diffs/t.a.diff")).unwrap(), diff);
    assert!(!out.path.join("diffs/t.b.diff").exists());

    let junit = std::fs::read_to_string(out.path.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testsuite name=\"mtg\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">"),
        "{junit}"
    );
    assert!(junit.contains("<failure message=\"transcript differs from golden/t.a.snap\"/>"), "{junit}");

    let page = std::fs::read_to_string(out.path.join("report.html")).unwrap();
    assert!(page.contains("started 2026-12-02T05:40:12Z"), "{page}");
    assert!(page.contains("run interrupted"), "{page}");
    assert!(page.contains("<h2>Not run</h2><p>t.c</p>"), "{page}");
    assert!(page.contains("<span class=\"rx\">  &lt; &lt;CR&gt;&lt;LF&gt;OK&lt;CR&gt;&lt;LF&gt;</span>"), "{page}");
}

#[test]
fn older_run_records_still_read_as_baselines() {
    // A run.json from before start dates were kept.
    let dir = tempfile::tempdir().unwrap();
    let old = r#"{"tool": "mtg 0.1.0", "started_unix": 1796190012, "target": "emu:", "scenarios_root": "scenarios",
        "finished": true, "interrupted": false, "not_run": [],
        "results": [{"id": "t.a", "title": "A", "source": "ch. 2", "file": "a.yaml", "verdict": {"verdict": "pass"},
                     "message": null, "failed_step": null, "basis": null, "duration_ms": 3, "golden": "matches",
                     "transcript": "transcripts/t.a.txt"}]}"#;
    std::fs::write(dir.path().join("run.json"), old).unwrap();
    let record = read_record(dir.path()).unwrap();
    assert_eq!(record.started, None);
    assert_eq!(record.started_date(), "2026-12-02T05:40:12Z");
    assert_eq!(record.results[0].started, None);
    assert!(record.success());
}

#[test]
fn a_missing_or_foreign_record_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = read_record(dir.path()).unwrap_err().to_string();
    assert!(missing.contains("run.json"), "{missing}");
    std::fs::write(dir.path().join("run.json"), "[]").unwrap();
    let foreign = read_record(dir.path()).unwrap_err().to_string();
    assert!(foreign.contains("not a run record"), "{foreign}");
}
