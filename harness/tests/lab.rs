//! A lab of units: a rig of three emulated units (TCP listeners started
//! here, real time) runs in parallel; `--partition` splits it and
//! `report --merge` joins it again; a unit killed mid-run fails only its own
//! remaining scenarios, and every record is complete.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mtg::emulator::listen::{bound_listener, serve_listener};
use mtg::emulator::EmulatorConfig;
use mtg::lab::{self, Lab};
use mtg::report::{merge, read_record, Context};
use mtg::runner::repeat::Repeat;
use mtg::runner::rig;
use mtg::runner::suite::{partition, Plan, Suite};
use mtg::runner::{Options, Verdict};
use mtg::scenario::Scenario;

/// A unit on TCP: its port and the task serving it (abort it to kill the unit).
async fn unit(dir: &Path, name: &str) -> (u16, tokio::task::JoinHandle<()>) {
    let (listener, addr) = bound_listener("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let config = EmulatorConfig { flash: Some(dir.join(format!("{name}.json"))), ..EmulatorConfig::default() };
    let task = tokio::spawn(async move {
        let _ = serve_listener(listener, config).await;
    });
    (addr.port(), task)
}

fn scenarios(filter: &str) -> (PathBuf, Vec<Scenario>) {
    let root = mtg::workspace_root();
    let suite = Suite::load(&root.join("scenarios"));
    assert!(suite.errors.is_empty());
    let selected: Vec<Scenario> = suite.select(&[filter.to_string()], false).into_iter().cloned().collect();
    assert!(selected.len() >= 6, "{filter}: {}", selected.len());
    (root, selected)
}

fn lab(rig_text: &str, selected: Vec<Scenario>, out: &Path, root: &Path) -> Lab {
    let families = mtg::family::load(&root.join("scenarios/families.yaml")).unwrap();
    let ids: Vec<String> = families.iter().map(|f| f.id.clone()).collect();
    let rig = rig::parse("rig.yaml", rig_text, Some(&ids)).unwrap();
    Lab {
        units: rig.units.clone(),
        rig,
        selected,
        out: out.to_path_buf(),
        plan: Plan {
            target_label: String::new(),
            scenarios_root: root.join("scenarios"),
            jobs: 1,
            golden_root: Some(root.to_path_buf()),
            grace: Duration::from_secs(2),
            families: Some(families.clone()),
            waivers: None,
            today: "2026-12-02".into(),
        },
        options: Options::default(),
        repeat: Repeat::Times(1),
        families,
        context: Context::default(),
        tty: false,
        steps: false,
    }
}

fn rig_text(ports: &[u16]) -> String {
    let mut s = String::from("fixtures:\n  tcp-echo: 127.0.0.1:7\nunits:\n");
    for (i, p) in ports.iter().enumerate() {
        s.push_str(&format!("  - id: u{}\n    port: tcp:127.0.0.1:{p}\n    family: 651_\n", i + 1));
    }
    s
}

async fn run(lab: Lab) -> lab::LabResult {
    let vars = lab::unit_variables(&lab.units).unwrap();
    lab::run(lab, vars).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rig_runs_in_parallel_and_its_shards_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, selected) = scenarios("core.line");
    let mut ports = Vec::new();
    for name in ["a", "b", "c"] {
        ports.push(unit(tmp.path(), name).await.0);
    }
    let text = rig_text(&ports);
    // The whole selection on the three units at once.
    let t0 = Instant::now();
    let result = run(lab(&text, selected.clone(), &tmp.path().join("all"), &root)).await;
    eprintln!("three units: {:?}", t0.elapsed());
    assert!(!result.interrupted && result.not_ready.is_empty(), "{:?}", result.not_ready);
    assert_eq!(result.findings, 0);
    for u in ["u1", "u2", "u3"] {
        let r = read_record(&tmp.path().join("all").join(u)).unwrap();
        assert_eq!(r.unit.as_deref(), Some(u));
        assert!(r.finished && r.not_run.is_empty());
        assert_eq!(r.results.len(), selected.len());
        assert_eq!(r.family.as_ref().map(|p| p.family.as_str()), Some("651_"));
    }
    let summary: merge::RigSummary =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("all/rig.json")).unwrap()).unwrap();
    assert_eq!(summary.units.len(), 3);
    assert_eq!(summary.fixtures["tcp-echo"], "127.0.0.1:7");
    assert!(std::fs::read_to_string(tmp.path().join("all/junit.xml")).unwrap().contains("<testsuite name=\"u2\""));
    assert!(std::fs::read_to_string(tmp.path().join("all/report.html")).unwrap().contains("id=\"unit-u3\""));

    // Split in two, then joined again: the same results as one run.
    let mut shards = Vec::new();
    for k in 1..=2 {
        let part = partition(selected.clone(), k, 2);
        let dir = tmp.path().join(format!("shard{k}"));
        let r = run(lab(&text, part, &dir, &root)).await;
        assert_eq!(r.findings, 0);
        shards.push(dir);
    }
    let joined = tmp.path().join("joined");
    let merged = merge::merge(&shards, &joined, false).unwrap();
    assert_eq!(merged.len(), 3);
    for (dir, r) in &merged {
        assert_eq!(r.results.len(), selected.len(), "{dir}");
        assert!(r.finished && r.not_run.is_empty() && r.success());
        let mut ids: Vec<&str> = r.results.iter().map(|x| x.id.as_str()).collect();
        ids.sort_unstable();
        let mut want: Vec<&str> = selected.iter().map(|s| s.id.as_str()).collect();
        want.sort_unstable();
        assert_eq!(ids, want);
        for x in &r.results {
            if let Some(t) = &x.transcript {
                assert!(joined.join(dir).join(t).is_file(), "{t}");
            }
        }
    }
    assert!(joined.join("rig.json").is_file() && joined.join("junit.xml").is_file());
    // A shard given twice is the same scenarios twice: refused, unless repeated.
    let twice = merge::merge(&[shards[0].clone(), shards[0].clone()], &tmp.path().join("twice"), false);
    assert!(matches!(twice, Err(merge::MergeError::Twice { .. })), "{twice:?}");
    let rep = merge::merge(&[shards[0].clone(), shards[0].clone()], &tmp.path().join("rep"), true).unwrap();
    for (dir, r) in &rep {
        // Each run keeps its own transcript.
        let names: std::collections::BTreeSet<_> = r.results.iter().filter_map(|x| x.transcript.clone()).collect();
        assert_eq!(names.len(), r.results.iter().filter(|x| x.transcript.is_some()).count(), "{dir}");
        assert!(names.iter().all(|n| tmp.path().join("rep").join(dir).join(n).is_file()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_killed_mid_run_fails_only_its_own_scenarios() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, selected) = scenarios("core.");
    let (p1, _a) = unit(tmp.path(), "a").await;
    let (p2, victim) = unit(tmp.path(), "b").await;
    let (p3, _c) = unit(tmp.path(), "c").await;
    let out = tmp.path().join("out");
    let running = tokio::spawn(run(lab(&rig_text(&[p1, p2, p3]), selected.clone(), &out, &root)));
    // Kill u2 once it has finished a few scenarios.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = read_record(&out.join("u2")).map_or(0, |r| r.results.len());
        if done >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "u2 never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    victim.abort();
    let result = running.await.unwrap();
    assert!(!result.interrupted);
    assert!(result.findings > 0);
    for u in ["u1", "u3"] {
        let r = read_record(&out.join(u)).unwrap();
        assert!(r.success(), "{u}: {:?}", r.results.iter().map(|x| (&x.id, &x.verdict)).collect::<Vec<_>>());
        assert_eq!(r.results.len(), selected.len());
    }
    let r = read_record(&out.join("u2")).unwrap();
    assert!(r.finished && r.not_run.is_empty(), "u2's record is complete");
    assert_eq!(r.results.len(), selected.len());
    let errors = r.results.iter().filter(|x| x.verdict == Verdict::Error).count();
    let passed = r.results.iter().filter(|x| x.verdict == Verdict::Pass).count();
    assert!(errors >= 1 && passed >= 2, "{errors} errors, {passed} passed");
    // Once an error, the rest are errors: only the remaining scenarios fail.
    let first = r.results.iter().position(|x| x.verdict != Verdict::Pass).unwrap();
    assert!(r.results[first..].iter().all(|x| !matches!(x.verdict, Verdict::Pass)));
    let summary = std::fs::read_to_string(out.join("rig.json")).unwrap();
    assert!(summary.contains("\"findings\""), "{summary}");
}

#[test]
fn a_unit_that_is_not_there_is_not_ready() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, selected) = scenarios("core.");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let out = tmp.path().join("out");
    let result = rt.block_on(run(lab(&rig_text(&[port]), selected, &out, &root)));
    assert_eq!(result.not_ready.len(), 1);
    let r = read_record(&out.join("u1")).unwrap();
    assert!(r.rig_error.as_deref().unwrap().contains("not ready"), "{:?}", r.rig_error);
    assert!(!r.success());
}

#[test]
fn the_example_rig_file_loads() {
    let root = mtg::workspace_root();
    let families = mtg::family::load(&root.join("scenarios/families.yaml")).unwrap();
    let ids: Vec<String> = families.iter().map(|f| f.id.clone()).collect();
    let rig = rig::load(&root.join("rigs/example.yaml"), Some(&ids)).unwrap();
    assert_eq!(rig.units.len(), 3);
    assert!(rig.units[0].port.contains("baud=115200&flow=rtscts&caps="), "{}", rig.units[0].port);
    assert_eq!(rig.units[0].sim_pin_env.as_deref(), Some("MTG_BENCH1_PIN"));
    assert!(rig.units[0].power_cycle.is_some());
    assert_eq!(rig.fixtures.len(), 4);
}

#[test]
fn a_unit_locked_by_another_run_is_not_ready_and_names_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, selected) = scenarios("core.");
    let locks = tmp.path().join("locks");
    std::fs::create_dir(&locks).unwrap();
    std::env::set_var("MTG_LOCK_DIR", &locks);
    // pid 1 is always alive: the lock is held.
    std::fs::write(locks.join("mtg-dev-ttyMTGTEST0.lock"), "1\n").unwrap();
    let text = "units:\n  - id: s1\n    port: serial:/dev/ttyMTGTEST0\n    line: {baud: 115200}\n";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let out = tmp.path().join("out");
    let result = rt.block_on(run(lab(text, selected, &out, &root)));
    assert_eq!(result.not_ready.len(), 1);
    let e = read_record(&out.join("s1")).unwrap().rig_error.unwrap();
    assert!(e.contains("in use by another mtg run (pid 1;") && e.contains("mtg-dev-ttyMTGTEST0.lock"), "{e}");
    // The holder's lock is left alone.
    assert!(locks.join("mtg-dev-ttyMTGTEST0.lock").is_file());
}

/// Every file under `dir`, read as text.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.clone(), String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_units_secrets_reach_scenarios_and_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let root = mtg::workspace_root();
    let dir = tmp.path().join("scenarios");
    std::fs::create_dir(&dir).unwrap();
    // The PIN as a scenario sends it; the unit answers what it answers (the
    // expectation is made to fail, so that the message quotes the line).
    std::fs::write(
        dir.join("pin.yaml"),
        r#"id: lab.pin
title: The PIN from the rig
source: {chapter: 2, page: 8}
basis: project-choice
vars: {pin: "0000", apn: internet, baud: "9600"}
steps:
  - send: AT+CPIN=${pin}
    expect: [{re: '.*'}]
  - send: AT#APNSERV="${apn}"
    expect: [{re: '.*'}]
  - send: AT#DIALN1="${baud}"
    expect: [{re: '.*'}]
"#,
    )
    .unwrap();
    let (selected, errors) = mtg::scenario::load_dir(&dir);
    assert!(errors.is_empty(), "{errors:?}");
    let (port, _unit) = unit(tmp.path(), "a").await;
    std::env::set_var("MTG_LAB_TEST_PIN", "73915062");
    std::env::set_var("MTG_LAB_TEST_APN", "apn.secret-7391.example");
    let text = format!(
        "units:\n  - id: p1\n    port: tcp:127.0.0.1:{port}\n    sim_pin_env: MTG_LAB_TEST_PIN\n    apn_env: MTG_LAB_TEST_APN\n    vars: {{baud: 115200}}\n"
    );
    let out = tmp.path().join("out");
    let mut l = lab(&text, selected, &out, &root);
    l.plan.golden_root = None;
    let result = run(l).await;
    assert!(result.not_ready.is_empty());
    let transcript = std::fs::read_to_string(out.join("p1/transcripts/lab.pin.txt")).unwrap();
    assert!(transcript.contains("AT+CPIN=<redacted>"), "{transcript}");
    assert!(transcript.contains("AT#APNSERV=\"<redacted>\""), "{transcript}");
    // The rig's variable replaced the scenario's default.
    assert!(transcript.contains("AT#DIALN1=\"115200\""), "{transcript}");
    for (path, text) in files(&out) {
        assert!(!text.contains("73915062"), "{} shows the PIN", path.display());
        assert!(!text.contains("secret-7391"), "{} shows the APN", path.display());
    }
}
