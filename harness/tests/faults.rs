//! Transcripts do not depend on how the line splits the bytes in time:
//! chapters 2 and 8 through the fault injector (split reads, every <LF>
//! after a <CR> held far past the runner's <CR> grace, on the emulator's
//! virtual clock) still match their goldens.

use mtg::emulator::EmulatorConfig;
use mtg::golden::{self, Comparison};
use mtg::runner::events::Discard;
use mtg::runner::suite::{ignore_reason, Suite};
use mtg::runner::{execute, Options, Verdict};
use mtg::transport::{EmulatorTransport, FaultInjector, Faults, Transport};

#[tokio::test]
async fn goldens_hold_through_split_reads_and_late_line_feeds() {
    let root = mtg::workspace_root();
    let suite = Suite::load(&root.join("scenarios"));
    let faults = Faults { cr_lf_delay: std::time::Duration::from_millis(45), max_read: 3 };
    let mut checked = 0;
    for scenario in suite.select(&["ch2".into(), "ch8".into()], false) {
        let offered = EmulatorTransport::CAPABILITIES.into_iter().collect();
        if ignore_reason(scenario, &offered).is_some() {
            continue;
        }
        let flash = tempfile::tempdir().unwrap();
        let config = EmulatorConfig { flash: Some(flash.path().join("flash.json")), ..EmulatorConfig::default() };
        let inner: Box<dyn Transport> = Box::new(EmulatorTransport::start(config).unwrap());
        let mut line = FaultInjector::new(inner, faults);
        let outcome = execute(scenario, &mut line, &Options::default(), &Discard).await;
        assert_eq!(outcome.verdict, Verdict::Pass, "{}: {:?}", scenario.id, outcome.message);
        match golden::compare(&root, &scenario.id, &outcome.transcript.render()) {
            Comparison::Differs(diff) => panic!("{}: golden difference\n{diff}", scenario.id),
            Comparison::Matches | Comparison::Missing => {}
        }
        checked += 1;
    }
    assert!(checked > 30, "only {checked} scenarios checked");
}
