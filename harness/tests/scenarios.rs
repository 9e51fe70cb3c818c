//! `cargo test` runs every scenario of `scenarios/` as its own trial, named by
//! its id, each against its own emulator instance (or against `MTG_TARGET`),
//! and holds each transcript against its golden in `golden/`.
//!
//! libtest flags work as usual: `--list`, name filters, `--exact`,
//! `--ignored`, `--test-threads`. Scenarios needing a capability the target
//! lacks are flagged ignored; their reasons are printed first. The servers
//! the scenarios meet are started once for the whole run (`MTG_FIXTURES`:
//! `embedded`, the default, `containers`, `auto`, `external:FILE` or
//! `none`; with `auto`, `MTG_REQUIRE_CONTAINERS=1` makes falling back to
//! the embedded servers an error). When a scenario fails, the container servers' logs
//! are kept in `target/mtg-test-servers/`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use mtg::fixtures::{FixtureSet, Provider};
use mtg::runner::events::Discard;
use mtg::runner::suite::{ignore_reason, offered, run_one, Suite};
use mtg::runner::{Options, Verdict};
use mtg::transport::Target;

fn main() {
    let args = Arguments::from_args();
    mtg::init_logging();
    // insta reports a golden mismatch by panicking after printing its diff;
    // the default hook would add a backtrace per scenario, which says nothing.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    let root = mtg::workspace_root();
    let target_text = std::env::var("MTG_TARGET").unwrap_or_else(|_| "emu:".to_string());
    let target: Target = match target_text.parse() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: MTG_TARGET: {e}");
            std::process::exit(2);
        }
    };
    let suite = Suite::load(&root.join("scenarios"));
    // The servers on the far side: `MTG_FIXTURES` (embedded by default).
    let provider_text = std::env::var("MTG_FIXTURES").unwrap_or_else(|_| "embedded".to_string());
    let fixtures = match provider_text
        .parse::<Provider>()
        .map_err(|e| e.to_string())
        .and_then(|p| FixtureSet::start(&p).map_err(|e| e.to_string()))
    {
        Ok(set) => Arc::new(set),
        Err(e) => {
            eprintln!("error: MTG_FIXTURES={provider_text}: {e}");
            std::process::exit(2);
        }
    };
    if let Some(why) = fixtures.choice() {
        eprintln!("mtg: fixtures: {why}");
    }
    // Under `auto`, a fallback is an error when the containers are required
    // (CI, which built the image); a named provider is what it says.
    if provider_text == "auto"
        && std::env::var("MTG_REQUIRE_CONTAINERS").is_ok_and(|v| v == "1")
        && *fixtures.provider() != Provider::Containers
    {
        eprintln!("error: MTG_REQUIRE_CONTAINERS=1 but auto chose {}", fixtures.provider());
        std::process::exit(2);
    }
    let kept = fixtures.clone();
    let options = Arc::new(Options { fixtures: Some(fixtures), ..Options::default() });
    let caps = offered(&target, &options);
    let target = Arc::new(target);
    let mut trials = Vec::new();

    for error in suite.errors {
        let name = format!("lint::{}", error.file.display());
        let text = error.to_string();
        trials.push(Trial::test(name, move || Err(Failed::from(text))));
    }

    let mut ignored = Vec::new();
    for scenario in suite.scenarios {
        let reason = ignore_reason(&scenario, &caps);
        if let Some(r) = &reason {
            ignored.push(format!("  {}: {r}", scenario.id));
        }
        let (target, options, root) = (target.clone(), options.clone(), root.clone());
        let is_ignored = reason.is_some();
        let trial = Trial::ignorable_test(scenario.id.clone(), move || {
            if let Some(r) = reason {
                return Ok(Completion::ignored_with(r));
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Failed::from(format!("tokio runtime: {e}")))?;
            let outcome = runtime.block_on(run_one(&scenario, &target, &options, &Discard));
            match &outcome.verdict {
                Verdict::Pass => {}
                Verdict::Skipped(r) => return Ok(Completion::ignored_with(r)),
                Verdict::Fail | Verdict::Error => {
                    let basis = outcome.basis.map(|b| format!(" [{b} expectation]")).unwrap_or_default();
                    return Err(Failed::from(format!(
                        "{} {}{basis}\n  source: {}\n--- transcript ---\n{}",
                        outcome.verdict,
                        outcome.message.as_deref().unwrap_or(""),
                        scenario.source,
                        outcome.transcript.render()
                    )));
                }
            }
            let text = outcome.transcript.render();
            let source = root.join("scenarios").join(&scenario.path);
            catch_unwind(AssertUnwindSafe(|| mtg::golden::assert(&root, &scenario.id, &source, &text))).map_err(
                |p| {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Failed::from(format!("transcript differs from golden/{}.snap {msg}", scenario.id))
                },
            )?;
            Ok(Completion::Completed)
        })
        .with_ignored_flag(is_ignored);
        trials.push(trial);
    }
    if !ignored.is_empty() && !args.list {
        eprintln!("mtg: {} scenario(s) need what {target_text} lacks:\n{}", ignored.len(), ignored.join("\n"));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    if conclusion.has_failed() {
        let dir = root.join("target/mtg-test-servers");
        match kept.keep_logs(&dir) {
            Ok(files) if !files.is_empty() => eprintln!("mtg: server logs kept in {}", dir.display()),
            Ok(_) => {}
            Err(e) => eprintln!("error: keeping the server logs: {e}"),
        }
    }
    // Exits without running destructors; the containers are removed at exit.
    conclusion.exit();
}
