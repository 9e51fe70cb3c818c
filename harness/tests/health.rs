//! The health check: a rig that is not ready stops a run before its first
//! scenario, and a shared unit that stops answering mid-run leaves the rest
//! not run (after the power-cycle command, when one is configured).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mtg::runner::events::{Event, Sink};
use mtg::runner::suite::{run_suite, Plan};
use mtg::runner::{Options, Verdict};
use mtg::scenario::load_dir;
use mtg::transport::Target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct Verdicts(Mutex<Vec<(String, Verdict)>>);

impl Sink for Verdicts {
    fn event(&self, event: &Event<'_>) {
        if let Event::ScenarioFinished { scenario, outcome, .. } = event {
            self.0.lock().unwrap().push((scenario.id.clone(), outcome.verdict.clone()));
        }
    }
}

fn plan(dir: &std::path::Path) -> Plan {
    Plan {
        target_label: "test".into(),
        scenarios_root: dir.to_path_buf(),
        jobs: 1,
        golden_root: None,
        grace: Duration::from_secs(1),
        families: Some(Vec::new()),
        waivers: None,
        today: "2026-12-02".into(),
    }
}

fn suite(n: usize) -> (tempfile::TempDir, Vec<mtg::scenario::Scenario>) {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        let body = format!(
            "id: t.s{i}\ntitle: A test\nsource: {{chapter: 2, page: 8}}\nsteps:\n  - send: AT\n    expect: OK\n"
        );
        std::fs::write(dir.path().join(format!("s{i}.yaml")), body).unwrap();
    }
    let (mut scenarios, errors) = load_dir(dir.path());
    assert!(errors.is_empty(), "{errors:?}");
    scenarios.sort_by(|a, b| a.id.cmp(&b.id));
    (dir, scenarios)
}

#[tokio::test]
async fn a_target_that_cannot_be_opened_stops_the_run_before_the_first_scenario() {
    let (dir, scenarios) = suite(3);
    let sink = Arc::new(Verdicts::default());
    let target: Target = "tcp:127.0.0.1:1".parse().unwrap();
    let result = run_suite(&scenarios, &target, &Options::default(), &plan(dir.path()), sink.clone()).await;
    assert!(result.not_ready.as_deref().is_some_and(|w| w.contains("not ready") && w.contains("127.0.0.1:1")));
    assert_eq!(result.not_run.len(), 3);
    assert_eq!(result.findings, 0);
    assert!(sink.0.lock().unwrap().is_empty());
}

/// A unit on TCP that answers `OK` to every line on its first `good`
/// connections and says nothing after that (it "died").
async fn dying_unit(good: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                while let Ok(k) = s.read(&mut buf).await {
                    if k == 0 {
                        break;
                    }
                    if n < good && buf[..k].contains(&b'\r') {
                        let _ = s.write_all(b"\r\nOK\r\n").await;
                    }
                }
            });
        }
    });
    (port, connections)
}

#[tokio::test]
async fn a_unit_that_stops_answering_leaves_the_rest_not_run() {
    let (dir, scenarios) = suite(4);
    // identify, t.s0, t.s1 answer; t.s2 gets silence, and so does the check after it.
    let (port, _) = dying_unit(3).await;
    let sink = Arc::new(Verdicts::default());
    let target: Target = format!("tcp:127.0.0.1:{port}").parse().unwrap();
    let options = Options { time_scale: 0.2, ..Options::default() };
    let result = run_suite(&scenarios, &target, &options, &plan(dir.path()), sink.clone()).await;
    let verdicts = sink.0.lock().unwrap().clone();
    assert_eq!(verdicts[0], ("t.s0".into(), Verdict::Pass));
    assert_eq!(verdicts[1], ("t.s1".into(), Verdict::Pass));
    assert_eq!(verdicts[2].1, Verdict::Fail);
    match &verdicts[3].1 {
        Verdict::Skipped(why) => assert!(why.starts_with("not run: the unit stopped answering after t.s2"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(result.not_ready.is_some());
}

#[tokio::test]
async fn a_power_cycle_brings_the_unit_back() {
    let (dir, scenarios) = suite(4);
    // The check after t.s2 fails once; the power-cycle command runs; the
    // unit answers again (this fake unit answers connection 5 on).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut s, _)) = listener.accept().await {
            let good = n != 3 && n != 4; // t.s2 and the first check get silence
            n += 1;
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                while let Ok(k) = s.read(&mut buf).await {
                    if k == 0 {
                        break;
                    }
                    if good && buf[..k].contains(&b'\r') {
                        let _ = s.write_all(b"\r\nOK\r\n").await;
                    }
                }
            });
        }
    });
    let marker = tempfile::tempdir().unwrap();
    let cycled = marker.path().join("cycled");
    let sink = Arc::new(Verdicts::default());
    let target: Target = format!("tcp:127.0.0.1:{port}").parse().unwrap();
    let options =
        Options { time_scale: 0.2, power_cycle: Some(format!("touch '{}'", cycled.display())), ..Options::default() };
    let result = run_suite(&scenarios, &target, &options, &plan(dir.path()), sink.clone()).await;
    let verdicts: Vec<Verdict> = sink.0.lock().unwrap().iter().map(|v| v.1.clone()).collect();
    assert_eq!(verdicts, [Verdict::Pass, Verdict::Pass, Verdict::Fail, Verdict::Pass]);
    assert!(cycled.exists(), "the power-cycle command ran");
    assert!(result.not_ready.is_none());
}
