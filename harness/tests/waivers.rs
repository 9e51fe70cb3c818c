//! Waivers, firmware families and the manual's words in the reports: a suite
//! run on the in-process emulator (a 651_ unit) with scoped scenarios and a
//! waivers file judged against a fixed "today", the reporters' files it
//! leaves, and `mtg run --waivers` on a malformed file.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use mtg::report::html::HtmlReporter;
use mtg::report::junit::JunitReporter;
use mtg::report::record::RecordReporter;
use mtg::report::{console, read_record, Context, OutputDir};
use mtg::runner::events::Sink;
use mtg::runner::suite::{run_suite, Plan};
use mtg::runner::{Options, Verdict};
use mtg::scenario::load_dir;
use mtg::transport::Target;
use mtg::waiver::Waivers;

const HEAD: &str = "title: A test\nsource: {chapter: 2, page: 8}\n";

const WAIVERS: &str = "waivers:
  - id: W1
    scenario: t.waived
    step: 1
    unit: '^651_'
    reason: known on this firmware
    ticket: MTG-1
    expires: 2026-12-31
  - id: W2
    scenario: t.exp*
    unit: any
    reason: was to be fixed in November
    ticket: MTG-2
    expires: 2026-11-30
  - id: W3
    scenario: ch9.*
    unit: any
    reason: nothing fails there
    ticket: MTG-3
    expires: 2027-01-31
  - id: W4
    scenario: t.other-unit
    unit: '^641c'
    reason: only on rev B units
    ticket: MTG-4
    expires: 2027-01-31
";

fn write_suite(dir: &Path) {
    let files = [
        ("pass.yaml", "t.pass", "steps:\n  - send: AT\n    expect: OK\n"),
        ("waived.yaml", "t.waived", "steps:\n  - send: AT\n    expect: ERROR\n"),
        ("expired.yaml", "t.expired", "steps:\n  - send: AT\n    expect: ERROR\n"),
        ("other.yaml", "t.other-unit", "basis: inferred\nsteps:\n  - send: AT\n    expect: ERROR\n"),
        ("revb.yaml", "t.rev-b-only", "families: [641c]\nsteps:\n  - send: AT\n    expect: ERROR\n"),
        (
            "step.yaml",
            "t.step-scoped",
            "steps:\n  - send: AT\n    expect: OK\n  - send: AT\n    expect: ERROR\n    families: [641c]\n  - send: AT\n    expect: OK\n    families: [651_]\n",
        ),
        (
            "words.yaml",
            "t.words",
            "covers: [resp.VVERSION.example]\nsteps:\n  - send: AT\n    expect: OK\n  - send: AT#VVERSION\n    expect: \"#VERSION: not this\"\n",
        ),
    ];
    for (name, id, body) in files {
        std::fs::write(dir.join(name), format!("id: {id}\n{HEAD}{body}")).unwrap();
    }
}

#[tokio::test]
async fn a_run_places_the_unit_scopes_by_family_and_judges_waivers_on_a_fixed_day() {
    let root = mtg::workspace_root();
    let scenarios_dir = tempfile::tempdir().unwrap();
    write_suite(scenarios_dir.path());
    let (mut scenarios, errors) = load_dir(scenarios_dir.path());
    assert!(errors.is_empty(), "{errors:?}");
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    let families = mtg::family::load(&root.join("scenarios/families.yaml")).unwrap();
    let index = mtg::coverage::load_index(&root.join("scenarios/manual-index.yaml")).unwrap();
    let context = Context::with_index(Arc::new(index));
    let out_dir = tempfile::tempdir().unwrap();
    let out = OutputDir::create(out_dir.path()).unwrap();
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(RecordReporter::new(&out.path).with_context(context.clone())),
        Box::new(JunitReporter::new(&out.path)),
        Box::new(HtmlReporter::new(&out.path, None).with_context(context)),
    ];
    let plan = Plan {
        target_label: "emu:".into(),
        scenarios_root: scenarios_dir.path().to_path_buf(),
        jobs: 2,
        golden_root: None,
        grace: Duration::from_secs(5),
        families: Some(families),
        waivers: Some(Arc::new(Waivers::parse("waivers.yaml", WAIVERS).unwrap())),
        // W1 is live on this day, W2 expired the day before yesterday.
        today: "2026-12-02".into(),
    };
    let target: Target = "emu:".parse().unwrap();
    let result = run_suite(&scenarios, &target, &Options::default(), &plan, Arc::new(sinks)).await;
    // Findings: the expired waiver's failure, the failure no waiver fits
    // (W4 is for 641c units), and the failure on the manual's words.
    assert_eq!(result.findings, 3, "{result:?}");

    let record = read_record(&out.path).unwrap();
    let family = record.family.as_ref().expect("the emulator is placed in a family");
    assert_eq!((family.family.as_str(), family.by.as_str(), family.matched.as_str()), ("651_", "AT+CGMR", "651_"));
    assert!(record.identity.as_ref().unwrap().cgmr.as_deref().unwrap().starts_with("651_09gg.Q2406B"));
    let r = |id: &str| record.results.iter().find(|r| r.id == id).unwrap();

    assert_eq!(r("t.pass").verdict, Verdict::Pass);
    // Live waiver: waived, with reason, ticket and expiry; not a finding.
    let waived = r("t.waived");
    assert!(waived.waived() && waived.shown_verdict() == "waived");
    let w = waived.waiver.as_ref().unwrap();
    assert_eq!((w.id.as_str(), w.ticket.as_str(), w.expires.as_str(), w.expired), ("W1", "MTG-1", "2026-12-31", false));
    // Expired waiver: a failure again, and it says so.
    let expired = r("t.expired");
    assert!(expired.failed() && !expired.waived());
    assert!(expired.message.as_deref().unwrap().contains("waiver W2 expired on 2026-11-30"), "{expired:?}");
    // A waiver for another unit does not apply.
    assert!(r("t.other-unit").failed() && r("t.other-unit").waiver.is_none());
    // Scoped out: the scenario is skipped, the step is skipped and noted.
    assert_eq!(r("t.rev-b-only").verdict, Verdict::Skipped("for firmware families 641c; this unit is 651_".into()));
    assert_eq!(r("t.step-scoped").verdict, Verdict::Pass);
    let transcript = std::fs::read_to_string(out.path.join("transcripts/t.step-scoped.txt")).unwrap();
    assert!(
        transcript.contains("step 2 (step.yaml:7) skipped: for firmware families 641c; this unit is 651_"),
        "{transcript}"
    );
    // The manual's words behind the failed manual-backed step.
    let words = r("t.words");
    assert_eq!(words.basis, Some(mtg::scenario::Basis::Manual));
    assert!(
        words.words.iter().any(|q| q.entry == "resp.VVERSION.example" && q.page == 39 && q.text.contains("#VERSION:")),
        "{words:?}"
    );
    assert!(r("t.pass").words.is_empty() && r("t.other-unit").words.is_empty());
    // Counts by basis, waivers that matched nothing.
    assert_eq!(record.failures_by_basis.get("manual"), Some(&2));
    assert_eq!(record.failures_by_basis.get("inferred"), Some(&1));
    assert_eq!(record.waived, 1);
    // W4 is for another unit: it matched nothing either.
    assert_eq!(record.unmatched_waivers, ["W3", "W4"]);
    assert!(!record.success());

    let html = std::fs::read_to_string(out.path.join("report.html")).unwrap();
    assert!(html.contains("Unit: firmware family 651_ (AT+CGMR says &quot;651_&quot;)"), "{html}");
    assert!(html.contains("Failures by the basis of the failed expectation: 2 manual, 0 real-device, 1 inferred, 0 project-choice; 1 waived."));
    assert!(html.contains("Waivers that matched nothing: W3, W4"));
    assert!(html.contains("<tr class=\"waived\">"));
    assert!(html.contains("waived by W1 until 2026-12-31 (MTG-1: known on this firmware)"));
    assert!(html.contains("The manual's words this step rests on:<ul><li>p.39 <code>resp.VVERSION.example</code>"));
    let junit = std::fs::read_to_string(out.path.join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"3\""), "{junit}");
    assert!(junit.contains("<skipped message=\"waived by W1"), "{junit}");

    let summary = console::summary(&record);
    assert!(summary.contains("unit: firmware family 651_ (AT+CGMR says \"651_\")"), "{summary}");
    assert!(summary.contains("failures by basis: 2 manual, 0 real-device, 1 inferred, 0 project-choice; 1 waived"));
    assert!(summary.contains("waivers that matched nothing: W3, W4"));
    assert!(summary.contains("3 failed"), "{summary}");
}

#[tokio::test]
async fn without_expired_or_unwaived_failures_the_run_has_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    write_suite(dir.path());
    let (scenarios, errors) = load_dir(dir.path());
    assert!(errors.is_empty(), "{errors:?}");
    let selected: Vec<_> = scenarios.into_iter().filter(|s| s.id == "t.waived" || s.id == "t.pass").collect();
    let families = mtg::family::load(&mtg::workspace_root().join("scenarios/families.yaml")).unwrap();
    let mut plan = Plan {
        target_label: "emu:".into(),
        scenarios_root: dir.path().to_path_buf(),
        jobs: 1,
        golden_root: None,
        grace: Duration::from_secs(5),
        families: Some(families),
        waivers: Some(Arc::new(Waivers::parse("waivers.yaml", WAIVERS).unwrap())),
        today: "2026-12-31".into(),
    };
    let target: Target = "emu:".parse().unwrap();
    let sink = Arc::new(mtg::runner::events::Discard);
    let result = run_suite(&selected, &target, &Options::default(), &plan, sink.clone()).await;
    assert_eq!(result.findings, 0);
    // The day after its expiry the same failure is a finding again.
    plan.today = "2027-01-01".into();
    plan.waivers = Some(Arc::new(Waivers::parse("waivers.yaml", WAIVERS).unwrap()));
    let result = run_suite(&selected, &target, &Options::default(), &plan, sink).await;
    assert_eq!(result.findings, 1);
}

#[test]
fn a_malformed_waivers_file_is_a_located_error_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("waivers.yaml");
    std::fs::write(&file, WAIVERS.replace("expires: 2026-11-30", "expires: 30/11/2026")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mtg"))
        .args(["run", "--target", "emu:", "--waivers"])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("ch2.vphy.defaults")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("error: waivers: {}:14:14: `30/11/2026` is not a date YYYY-MM-DD", file.display());
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn lint_reports_unknown_family_ids_where_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(mtg::workspace_root().join("scenarios/families.yaml"), dir.path().join("families.yaml")).unwrap();
    let body = "families: [651_, 652x]\nsteps:\n  - send: AT\n    expect: OK\n    families: [64lc]\n";
    std::fs::write(dir.path().join("a.yaml"), format!("id: t.a\n{HEAD}{body}")).unwrap();
    let errors = mtg::scenario::load::lint(dir.path());
    let shown: Vec<String> = errors.iter().map(|e| format!("{}:{}: {}", e.line, e.column, e.message)).collect();
    assert_eq!(shown, ["4:18: unknown firmware family `652x`", "6:1: unknown firmware family `64lc` in step"]);
    assert!(errors[0].to_string().contains("hint: `families` names ids of families.yaml: 641c, 651_"), "{}", errors[0]);
    // families.yaml itself is not a scenario.
    let (scenarios, errors) = load_dir(dir.path());
    assert!(errors.is_empty() && scenarios.len() == 1, "{errors:?}");
}

#[tokio::test]
async fn a_target_that_cannot_answer_has_an_unknown_identity_not_an_error() {
    // Nothing listens on port 1: the line cannot be opened.
    let target: Target = "tcp:127.0.0.1:1".parse().unwrap();
    let identity = mtg::runner::suite::identify(&target, &Options::default()).await;
    assert!(identity.cgmr.is_none() && identity.vversion.is_none());
    assert!(identity.unknown.as_deref().is_some_and(|why| why.contains("127.0.0.1:1")), "{identity:?}");
    let families = mtg::family::load(&mtg::workspace_root().join("scenarios/families.yaml")).unwrap();
    assert_eq!(mtg::family::place(&identity, &families), None);
}

#[test]
fn reporters_fed_events_show_waivers_bases_and_the_family() {
    use mtg::family::{Identity, Placement};
    use mtg::runner::events::Event;
    use mtg::runner::Outcome;
    use mtg::scenario::Basis;
    use mtg::transcript::Transcript;
    use mtg::waiver::WaiverNote;

    let dir = tempfile::tempdir().unwrap();
    write_suite(dir.path());
    let (mut scenarios, _) = load_dir(dir.path());
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    let out_dir = tempfile::tempdir().unwrap();
    let out = OutputDir::create(out_dir.path()).unwrap();
    let sinks: Vec<Box<dyn Sink>> =
        vec![Box::new(RecordReporter::new(&out.path)), Box::new(HtmlReporter::new(&out.path, None))];
    let started = std::time::UNIX_EPOCH + Duration::from_secs(1_796_190_012);
    sinks.event(&Event::RunStarted {
        target: "serial:/dev/ttyUSB0",
        scenarios_root: dir.path(),
        selected: &scenarios,
        jobs: 1,
        started,
    });
    let identity = Identity { cgmr: Some("641c01gg.Q2406B".into()), ..Identity::default() };
    let placement = Placement { family: "641c".into(), by: "AT+CGMR".into(), matched: "641c".into() };
    sinks.event(&Event::Identified { identity: &identity, family: Some(&placement) });
    let fail = |id: &str, basis| Outcome {
        id: id.into(),
        verdict: Verdict::Fail,
        message: Some("step 1 (x.yaml:5): expected \"ERROR\", got \"OK\"".into()),
        failed_step: Some((1, "x.yaml:5".into())),
        basis: Some(basis),
        duration_ms: 3,
        profile: Default::default(),
        transcript: Transcript::new(id, Vec::new()),
    };
    let expired = WaiverNote {
        id: "W9".into(),
        reason: "r".into(),
        ticket: "T-9".into(),
        expires: "2026-11-30".into(),
        expired: true,
    };
    let cases =
        [(fail("t.expired", Basis::ProjectChoice), Some(&expired)), (fail("t.other-unit", Basis::RealDevice), None)];
    for (n, (outcome, waiver)) in cases.iter().enumerate() {
        let scenario = scenarios.iter().find(|s| s.id == outcome.id).unwrap();
        sinks.event(&Event::ScenarioFinished {
            scenario,
            started,
            outcome,
            golden: None,
            waiver: *waiver,
            done: n + 1,
            total: 2,
        });
    }
    sinks.event(&Event::RunFinished { interrupted: false, not_run: &[], unmatched_waivers: &["W1".to_string()] });

    let record = read_record(&out.path).unwrap();
    assert_eq!(record.family.as_ref().map(|p| p.family.as_str()), Some("641c"));
    assert_eq!(record.failures_by_basis.get("project-choice"), Some(&1));
    assert_eq!(record.failures_by_basis.get("real-device"), Some(&1));
    let expired = record.results.iter().find(|r| r.id == "t.expired").unwrap();
    assert_eq!(
        expired.message.as_deref(),
        Some("step 1 (x.yaml:5): expected \"ERROR\", got \"OK\"; waiver W9 expired on 2026-11-30 (T-9: r)")
    );
    assert_eq!(record.unmatched_waivers, ["W1"]);
    let html = std::fs::read_to_string(out.path.join("report.html")).unwrap();
    assert!(html.contains("0 manual, 1 real-device, 0 inferred, 1 project-choice; 0 waived"), "{html}");
    assert!(html.contains("AT+CGMR: <code>641c01gg.Q2406B</code>, AT#VVERSION: <code>(no answer)</code>"), "{html}");
    // No index given: no words, and none claimed.
    assert!(!html.contains("The manual's words this step rests on"));
}
