//! End to end: passwords sent in any form a host writes them never reach a
//! rendered transcript, an outcome message or the files of a run (run.json,
//! junit.xml, report.html, transcripts), although the emulator prints them
//! in clear in #ISPPW?, #VPPP and #VALL as the unit does (p.15-16, 39).

use std::sync::Arc;
use std::time::Duration;

use mtg::report::html::HtmlReporter;
use mtg::report::junit::JunitReporter;
use mtg::report::record::RecordReporter;
use mtg::report::OutputDir;
use mtg::runner::events::{Discard, Sink};
use mtg::runner::suite::{run_one, run_suite, Plan};
use mtg::runner::Options;
use mtg::scenario::load_file;
use mtg::transport::Target;

const SCENARIO: &str = r##"id: t.secrets
title: Passwords in every form a host writes them
source: {chapter: 2, page: 9}
steps:
  - send: AT+CMEE=1
    expect: OK
  - send: AT+WOPEN=1
    expect: OK
  - send: AT+CMEE=1;#ISPPW="hunter2"
    expect: OK
  - send: at#isppw = "hunter3"
    expect: "#CME ERROR: 34819"
  - send: AT#ISPPW=hunter4
    expect: OK
  - send: AT#APNPW="hunter5";+CMEE=1
    note: the AT# command takes the rest of the line, quote and all
    expect: "#CME ERROR: 34819"
  - send: AT#VPPP
    expect: ['#ISPUN: ""', {re: '#ISPPW: .*'}, {re: '#PPPMODE: .*'}, {re: '#PPPMYIP: .*'},
             {re: '#PPPPEERIP: .*'}, {re: '#PPPSERVUN: .*'}, {re: '#PPPSERVPW: .*'}, OK]
  - send: AT#VALL
    expect: [VALL]
  # Fails on purpose: the failure message quotes the unit's answer.
  - send: AT#ISPPW?
    expect: OK
"##;

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn no_password_reaches_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.yaml");
    // #VALL: the banner and the PHY block (12 lines), the PPP block with the
    // password, then the 56 lines of the other blocks (p.39).
    let any = |n: usize| vec!["{re: '.+'}"; n].join(", ");
    let vall = format!("{}, '#ISPUN: \"\"', '#ISPPW: \"hunter4\"', {}, OK", any(12), any(56));
    std::fs::write(&file, SCENARIO.replace("VALL]", &format!("{vall}]"))).unwrap();
    let scenario = load_file(&file, dir.path()).expect("the scenario loads");
    let target: Target = "emu:".parse().unwrap();
    let outcome = run_one(&scenario, &target, &Options::default(), &Discard).await;

    // The run got as far as the deliberate failure: every form was sent and
    // every display printed the passwords.
    assert_eq!(outcome.failed_step.as_ref().map(|s| s.0), Some(scenario.steps.len()), "{:?}", outcome.message);
    let message = outcome.message.clone().unwrap_or_default();
    assert!(message.contains("<redacted>"), "{message}");
    assert!(!message.contains("hunter"), "{message}");

    let rendered = outcome.transcript.render();
    assert!(!rendered.contains("hunter"), "{rendered}");
    assert!(rendered.contains("AT+CMEE=1;#ISPPW=<redacted><CR>"), "{rendered}");
    assert!(rendered.contains("at#isppw = <redacted><CR>"), "{rendered}");
    assert!(rendered.contains("#APNPW=<redacted><CR>"), "{rendered}");
    assert!(rendered.contains("#ISPPW: \"<redacted>\""), "{rendered}");
    // The emulator did print them: what is masked is really there.
    let raw: Vec<u8> = outcome
        .transcript
        .entries
        .iter()
        .filter_map(|e| match e {
            mtg::transcript::Entry::Received { bytes, .. } => Some(bytes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(String::from_utf8_lossy(&raw).contains("#ISPPW: \"hunter4\""));

    // The same scenario through the reporters of `mtg run`.
    let out_dir = dir.path().join("out");
    let output = OutputDir::create(&out_dir).unwrap();
    let reporters: Vec<Box<dyn Sink>> = vec![
        Box::new(RecordReporter::new(&output.path)),
        Box::new(JunitReporter::new(&output.path)),
        Box::new(HtmlReporter::new(&output.path, None)),
    ];
    let plan = Plan {
        target_label: "emu:".into(),
        scenarios_root: dir.path().to_path_buf(),
        jobs: 1,
        golden_root: None,
        grace: Duration::from_secs(5),
        families: None,
        waivers: None,
        today: "2026-12-02".into(),
    };
    let result =
        run_suite(std::slice::from_ref(&scenario), &target, &Options::default(), &plan, Arc::new(reporters)).await;
    assert_eq!(result.findings, 1);
    let files = files_under(&out_dir);
    for name in ["run.json", "junit.xml", "report.html"] {
        assert!(files.iter().any(|f| f.ends_with(name)), "{name} was not written");
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("hunter"), "{} shows a password:\n{text}", f.display());
    }
}
