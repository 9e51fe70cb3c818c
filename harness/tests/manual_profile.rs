//! Every scenario on the emulator in the `manual` profile, judged by the
//! manual: all pass, and each transcript differs from its golden (written
//! for the default `field` profile) exactly by the errata's translations,
//! apart from the steps that say what each profile answers (`profiles:`).

use std::sync::Arc;

use mtg::at::Firmware;
use mtg::errata::Errata;
use mtg::golden::{self, Comparison};
use mtg::runner::events::Discard;
use mtg::runner::suite::{run_one, Suite};
use mtg::runner::{Matched, Options, Verdict};
use mtg::transport::Target;

#[test]
fn every_scenario_passes_in_the_manual_profile_and_differs_only_by_the_errata() {
    let root = mtg::workspace_root();
    let suite = Suite::load(&root.join("scenarios"));
    assert!(suite.errors.is_empty(), "{:?}", suite.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>());
    let errata = Arc::new(Errata::load(&Errata::default_path()).unwrap());
    let target: Arc<Target> = Arc::new("emu:?profile=manual".parse().unwrap());
    let options = Arc::new(Options { firmware: Firmware::Manual, errata: errata.clone(), ..Options::default() });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let problems = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        let permits = Arc::new(tokio::sync::Semaphore::new(16));
        for scenario in suite.scenarios {
            let (target, options, errata, root) = (target.clone(), options.clone(), errata.clone(), root.clone());
            let permit = permits.clone().acquire_owned().await.unwrap();
            tasks.spawn(async move {
                let _permit = permit;
                let outcome = run_one(&scenario, &target, &options, &Discard).await;
                let text = outcome.transcript.render();
                match &outcome.verdict {
                    Verdict::Skipped(_) => return None,
                    Verdict::Pass => {}
                    v => return Some(format!("{}: {v} {}\n{text}", scenario.id, outcome.message.unwrap_or_default())),
                }
                // The manual's unit answers in the manual's form throughout.
                if matches!(outcome.profile.matched, Matched::Field | Matched::Mixed) {
                    return Some(format!("{}: matched {}", scenario.id, outcome.profile.label()));
                }
                let steps = scenario.profile_steps();
                match golden::compare_profile(&root, &scenario.id, &text, Firmware::Manual, &errata, &steps) {
                    Comparison::Differs(d) => Some(format!("{}: differs beyond the errata\n{d}", scenario.id)),
                    _ => None,
                }
            });
        }
        let mut problems = Vec::new();
        while let Some(r) = tasks.join_next().await {
            if let Some(p) = r.unwrap() {
                problems.push(p);
            }
        }
        problems
    });
    assert!(problems.is_empty(), "{} scenario(s):\n{}", problems.len(), problems.join("\n\n"));
}
