//! The reset before each scenario on a unit that keeps its state: one
//! emulated unit behind a PTY, opened as `serial:` (as a bench unit is),
//! left in the state a failed scenario leaves (echo off, `AT+CMEE=1`, a
//! stack parameter changed, a text entry waiting for its Ctrl-Z). The
//! default reset brings it back, so the suite's own scenarios match their
//! goldens; without it they do not; a refused reset is a rig error of the
//! scenario; the in-process emulator is never reset.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mtg::emulator::EmulatorConfig;
use mtg::golden::Comparison;
use mtg::runner::events::{Event, Sink};
use mtg::runner::reset::Sequence;
use mtg::runner::suite::{run_suite, Plan, Suite};
use mtg::runner::{Options, Verdict};
use mtg::scenario::Scenario;
use mtg::transport::{spawn_pty_emulator, PtyServer, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A finished scenario: id, verdict, message, whether it matched its
/// golden (when compared), rendered transcript.
type Finished = (String, Verdict, Option<String>, Option<bool>, String);

/// What a run told its sink: each scenario's verdict, message, golden
/// comparison and transcript, and each reset's exchange and error.
#[derive(Default)]
struct Seen {
    finished: Mutex<Vec<Finished>>,
    resets: Mutex<Vec<(String, String, Option<String>)>>,
}

impl Sink for Seen {
    fn event(&self, event: &Event<'_>) {
        match *event {
            Event::ScenarioFinished { scenario, outcome, golden, .. } => self.finished.lock().unwrap().push((
                scenario.id.clone(),
                outcome.verdict.clone(),
                outcome.message.clone(),
                golden.map(|g| matches!(g, Comparison::Matches)),
                outcome.transcript.render(),
            )),
            Event::ResetFinished { scenario, transcript, error, .. } => {
                self.resets.lock().unwrap().push((scenario.to_string(), transcript.render(), error.map(String::from)))
            }
            _ => {}
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn scenarios(ids: &[&str]) -> Vec<Scenario> {
    let suite = Suite::load(&root().join("scenarios"));
    ids.iter().map(|id| suite.scenarios.iter().find(|s| s.id == *id).expect("scenario in the suite").clone()).collect()
}

fn plan() -> Plan {
    Plan {
        target_label: "test".into(),
        scenarios_root: root().join("scenarios"),
        jobs: 1,
        golden_root: Some(root()),
        grace: Duration::from_secs(1),
        families: None,
        waivers: None,
        today: "2026-12-02".into(),
    }
}

/// A persistent unit on a PTY, left as a failed scenario leaves it.
async fn dirty_unit(flash: &std::path::Path) -> (PtyServer, Target) {
    let config = EmulatorConfig { flash: Some(flash.to_path_buf()), ..EmulatorConfig::default() };
    let (path, server) = spawn_pty_emulator(config).unwrap();
    let target: Target = format!("serial:{}", path.display()).parse().unwrap();
    let mut t = target.open().await.unwrap();
    t.write_all(b"AT+CMEE=1\rAT+WOPEN=1\rAT#REDIALCOUNT=9\rATE0\rAT#REC1ADD\rsomeone@example.com").await.unwrap();
    t.flush().await.unwrap();
    // Read what it says until it is quiet: the text entry then waits.
    let mut buf = [0u8; 512];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(300), t.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
    (server, target)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_reset_brings_a_unit_back_to_factory_state_before_each_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, target) = dirty_unit(&dir.path().join("flash.json")).await;
    let selected = scenarios(&["core.echo", "ch8.vall.defaults", "core.case-insensitive"]);
    let seen = Arc::new(Seen::default());
    let options = Options { reset: Some(Arc::new(Sequence::factory())), ..Options::default() };
    let result = run_suite(&selected, &target, &options, &plan(), seen.clone()).await;
    let finished = seen.finished.lock().unwrap();
    for (id, verdict, message, golden, _) in finished.iter() {
        assert_eq!(*verdict, Verdict::Pass, "{id}: {message:?}");
        assert_eq!(*golden, Some(true), "{id} matches its golden");
    }
    assert_eq!(finished.len(), 3);
    assert_eq!(result.findings, 0);
    // One reset per scenario, recorded apart from the transcript.
    let resets = seen.resets.lock().unwrap();
    assert_eq!(
        resets.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["core.echo", "ch8.vall.defaults", "core.case-insensitive"]
    );
    assert!(resets.iter().all(|r| r.2.is_none()), "{resets:?}");
    // The first found the text entry: no answer, then the wake bytes, then
    // the whole sequence.
    let first = &resets[0].1;
    assert!(first.contains("> <ETX><ESC>^Z<CR>"), "{first}");
    assert!(first.contains("== step 5: AT#DELFLASH"), "{first}");
    assert!(!resets[1].1.contains("<ETX>"), "a unit in command mode is not woken: {}", resets[1].1);
    assert!(finished.iter().all(|f| !f.4.contains("> AT&F<CR>")), "the reset is not in the transcripts");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_reset_the_state_left_behind_shows() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, target) = dirty_unit(&dir.path().join("flash.json")).await;
    // Leave the text entry first, so that the unit answers at all.
    {
        let mut t = target.open().await.unwrap();
        t.write_all(b"\x1a").await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let selected = scenarios(&["ch8.vall.defaults"]);
    let seen = Arc::new(Seen::default());
    run_suite(&selected, &target, &Options::default(), &plan(), seen.clone()).await;
    let finished = seen.finished.lock().unwrap();
    let (_, verdict, _, golden, _) = &finished[0];
    assert!(*verdict != Verdict::Pass || *golden == Some(false), "{:?}", finished[0]);
    assert!(seen.resets.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_reset_is_a_rig_error_of_the_scenario_which_does_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, target) = dirty_unit(&dir.path().join("flash.json")).await;
    let sequence = Sequence::from_options(&["default".into(), "AT+CMEE=7".into()]).unwrap().unwrap();
    let options = Options { reset: Some(Arc::new(sequence)), ..Options::default() };
    let seen = Arc::new(Seen::default());
    let result = run_suite(&scenarios(&["core.echo"]), &target, &options, &plan(), seen.clone()).await;
    let finished = seen.finished.lock().unwrap();
    let (_, verdict, message, golden, transcript) = &finished[0];
    assert_eq!(*verdict, Verdict::Error);
    let message = message.as_deref().unwrap();
    assert!(message.contains("reset before the scenario failed"), "{message}");
    assert!(message.contains("`AT+CMEE=7` was answered \"ERROR\", the reset accepts OK"), "{message}");
    assert_eq!(*golden, None);
    // The scenario's steps were not sent; its transcript is the reset's.
    assert!(transcript.contains("> AT+CMEE=7<CR>") && !transcript.contains("> ATE1<CR>"), "{transcript}");
    assert_eq!(seen.resets.lock().unwrap()[0].2.as_deref().map(|e| e.contains("AT+CMEE=7")), Some(true));
    assert!(result.not_ready.is_none(), "the unit still answers: the run goes on");
}

#[tokio::test]
async fn the_in_process_emulator_starts_fresh_and_is_not_reset() {
    let options = Options { reset: Some(Arc::new(Sequence::factory())), ..Options::default() };
    let seen = Arc::new(Seen::default());
    let target: Target = "emu:".parse().unwrap();
    run_suite(&scenarios(&["core.echo"]), &target, &options, &plan(), seen.clone()).await;
    assert_eq!(seen.finished.lock().unwrap()[0].1, Verdict::Pass);
    assert!(seen.resets.lock().unwrap().is_empty());
}

#[test]
fn the_example_rig_file_gives_the_rig_a_reset_and_one_unit_its_own() {
    use mtg::runner::rig::{self, UnitReset};
    let rig = rig::load(&root().join("rigs/example.yaml"), None).unwrap();
    let resets: Vec<String> = rig
        .units
        .iter()
        .map(|u| match &u.reset {
            UnitReset::Sequence(s) => s.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    // The rig's sequence is the default one, written out.
    assert_eq!(resets[0], Sequence::factory().to_string());
    assert_eq!(resets[1], resets[0]);
    assert_eq!(resets[2], "AT&F; ATE1V1Q0; AT+CMEE=0; AT+WOPEN=1; AT#CONNECTIONSTOP => OK|ERROR; AT#DELFLASH");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_health_check_wakes_a_unit_left_in_a_text_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, target) = dirty_unit(&dir.path().join("flash.json")).await;
    let identity = mtg::runner::suite::identify(&target, &Options::default()).await;
    assert_eq!(identity.not_ready, None);
    assert!(identity.cgmr.is_some(), "{identity:?}");
    assert!(mtg::runner::health::answers_at(&target, &Options::default()).await.is_ok());
}
