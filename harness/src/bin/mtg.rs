//! `mtg`: run the conformance suite against a target, check scenarios and
//! coverage of the manual, and serve the reference emulator.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mtg::at::Firmware;
use mtg::errata::Errata;
use mtg::report::{
    self, console::Console, html::HtmlReporter, junit::JunitReporter, record::RecordReporter, OutputDir,
};
use mtg::runner::events::Sink;
use mtg::runner::repeat::run_repeated;
use mtg::runner::suite::{partition, Plan, Suite};
use mtg::runner::Options;
use mtg::scenario::Scenario;
use mtg::transport::Target;

#[derive(Parser)]
#[command(name = "mtg", version, about = "Conformance harness and reference emulator for Multi-Tech GPRS modems")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scenarios against a target, with live progress and a summary.
    Run(Box<RunArgs>),
    /// Check every scenario without running it.
    Lint {
        /// Scenario directory (default: the workspace's `scenarios/`).
        #[arg(long)]
        scenarios: Option<PathBuf>,
        /// The manual's text (`000_e40dc1d76301e574.txt`, `missing-pages.md`), to
        /// check the index's quotes against; default `../shared/manual` when present.
        #[arg(long, env = "MTG_MANUAL")]
        manual: Option<PathBuf>,
    },
    /// Show which scenarios cover each entry of the manual index; fail on gaps.
    Coverage {
        #[arg(long)]
        scenarios: Option<PathBuf>,
        /// List every covering scenario, not the first three.
        #[arg(long, short)]
        verbose: bool,
        /// Print only entries that are missing or pending.
        #[arg(long)]
        gaps: bool,
    },
    /// Check the line to a target before a run: does it answer, and what is it?
    Probe {
        /// Target: emu:, serial:/dev/ttyUSB0?baud=115200, tcp:HOST:PORT, pty:
        #[arg(long, env = "MTG_TARGET", default_value = "emu:")]
        target: String,
    },
    /// Write the HTML report of a finished run, compared with a baseline run;
    /// or join the records of several runs (`--merge`).
    Report {
        /// The run's output folder (or its run.json).
        #[arg(required_unless_present = "merge")]
        run: Option<PathBuf>,
        /// A previous run's output folder (or run.json) to compare with.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Join these runs' records (shards of `--partition`, rig runs) into --out.
        #[arg(long, num_args = 1.., value_name = "DIR", conflicts_with_all = ["run", "baseline"], requires = "out")]
        merge: Vec<PathBuf>,
        /// Where the merged record goes.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The runs repeat scenarios: the same scenario in two of them is no error.
        #[arg(long)]
        repeat: bool,
    },
    /// Run the same scenarios on two targets and list every divergence per
    /// step: response text (explained by an erratum or not), timing, final state.
    Diff {
        /// The first target (e.g. `emu:?profile=field`, a unit's `serial:…`).
        #[arg(long)]
        a: String,
        /// The second target (e.g. `emu:?profile=manual`, another unit).
        #[arg(long)]
        b: String,
        /// Only scenarios whose id contains one of these.
        filters: Vec<String>,
        #[arg(long)]
        scenarios: Option<PathBuf>,
        /// A step slower on one side by more than this is a timing divergence (ms).
        #[arg(long, default_value_t = 500)]
        tolerance_ms: u64,
        /// Write the divergences as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Serve the reference emulator on TCP or behind a pseudo-terminal until killed.
    Emulator {
        /// Listen for TCP connections; each connection is the serial line of one unit.
        #[arg(long, value_name = "ADDR", conflicts_with = "pty")]
        listen: Option<SocketAddr>,
        /// Open a pseudo-terminal and print its path as the first line on stdout.
        #[arg(long)]
        pty: bool,
        /// The parameter store ("flash") file; created on first write.
        #[arg(long, value_name = "FILE")]
        flash: Option<PathBuf>,
        /// GPRS attach after registration: `manual` (AT+CGATT=1, the default) or `auto`.
        #[arg(long, value_name = "MODE", default_value = "manual")]
        attach: mtg::emulator::Attach,
        /// Deliver an incoming SMS this long after start (repeatable): `2s:+33612345678:hello`.
        #[arg(long = "sms-after", value_name = "DELAY:FROM:TEXT", value_parser = parse_sms_after)]
        sms_after: Vec<(std::time::Duration, mtg::control::Control)>,
        /// Answer like field firmware (default) or in the manual's words (`manual`).
        #[arg(long, value_name = "PROFILE", default_value = "field", value_parser = parse_firmware)]
        profile: Firmware,
        /// Dial (and listen) through this YAML map of `- dial: ADDR:PORT` / `to: ADDR:PORT` pairs:
        /// the endpoints the unit dials, DNS servers included, go where the servers really listen.
        #[arg(long = "net-map", value_name = "FILE")]
        net_map: Option<PathBuf>,
    },
}

/// `--sms-after 2s:+33612345678:hello`: when, from whom, what (the text may
/// contain colons).
fn parse_sms_after(text: &str) -> Result<(std::time::Duration, mtg::control::Control), String> {
    let mut parts = text.splitn(3, ':');
    let (Some(delay), Some(from), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected DELAY:FROM:TEXT, e.g. 2s:+33612345678:hello".into());
    };
    let delay = mtg::control::Dur::parse(delay)?;
    Ok((delay, mtg::control::Control::Sms { from: from.to_string(), text: body.to_string() }))
}

/// `field` or `manual`.
fn parse_firmware(text: &str) -> Result<Firmware, String> {
    Firmware::parse(text).ok_or_else(|| {
        format!("`{text}` is not a firmware profile: expected {}", Firmware::ALL.map(Firmware::name).join(" or "))
    })
}

#[derive(clap::Args)]
struct RunArgs {
    /// Target: emu:, serial:/dev/ttyUSB0?baud=115200, tcp:HOST:PORT, pty:
    #[arg(long, env = "MTG_TARGET", default_value = "emu:")]
    target: String,
    /// Output folder for transcripts, diffs, run.json and junit.xml.
    #[arg(long, default_value = "mtg-out")]
    out: PathBuf,
    #[arg(long)]
    scenarios: Option<PathBuf>,
    /// Run only scenarios whose id contains one of these.
    filters: Vec<String>,
    /// Filters must equal the id.
    #[arg(long)]
    exact: bool,
    /// Run partition K of N (e.g. 2/3), to split a suite over rigs or jobs.
    #[arg(long, value_name = "K/N")]
    partition: Option<String>,
    /// Scenarios run at once (default: 16 on the in-process emulator, one per core on a PTY emulator, 1 on a real line).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Multiply every time limit (slow rigs).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Do not compare transcripts with the goldens.
    #[arg(long)]
    no_golden: bool,
    /// Print every step as it starts, also when stderr is not a terminal.
    #[arg(long)]
    steps: bool,
    /// A previous run's output folder (or run.json): report.html shows what changed.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// List the selected scenarios and whether the target can run them; run nothing.
    #[arg(long)]
    list: bool,
    /// Known failures accepted until a date (YAML; see README.md, "Waivers").
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// Judge by this firmware profile (`field`, default, or `manual`): the errata of
    /// scenarios/errata.yaml say which answers differ. An emulator target without
    /// `profile=` answers in this profile too.
    #[arg(long, value_name = "PROFILE", value_parser = parse_firmware)]
    profile: Option<Firmware>,
    /// Run on every unit of a rig file at once (YAML; see README.md, "A lab of units").
    #[arg(long, value_name = "FILE")]
    rig: Option<PathBuf>,
    /// With --rig: only these units (repeat, or separate with commas).
    #[arg(long = "unit", value_name = "ID", requires = "rig")]
    units: Vec<String>,
    /// Run each scenario N times; one that passes and fails is reported flaky.
    #[arg(long, value_name = "N", default_value_t = 1, conflicts_with = "soak")]
    repeat: usize,
    /// Run the selection again and again for this long (e.g. 30m, 8h).
    #[arg(long, value_name = "DURATION")]
    soak: Option<String>,
    /// Where scenarios/ and golden/ are (default: $MTG_ROOT, the current
    /// folder when it has scenarios/, or the source tree mtg was built from).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Shell command that power-cycles the unit, run when it stops answering mid-run.
    #[arg(long, value_name = "CMD")]
    power_cycle: Option<String>,
    /// The servers the unit's IP services meet: `auto` (the default on
    /// emulator targets: `containers` when the Docker engine answers and the
    /// fixture image is built, else `embedded`), `containers` (Exim, Dovecot,
    /// vsftpd, dnsmasq, socat on 127.0.1.2 …), `embedded` (in-process, on
    /// 127.0.0.2, 127.0.0.3 …), `external:FILE` (servers someone else runs;
    /// see README.md) or `none` (the default on a real line: servers on this
    /// PC's loopback are out of a unit's reach).
    #[arg(long, env = "MTG_FIXTURES", value_name = "PROVIDER")]
    fixtures: Option<String>,
    /// Sent before each scenario on a unit that keeps its state (serial,
    /// tcp, rfc2217, labgrid): `default`, `none`, or one `LINE[ => OK|ERROR|any]`
    /// per option, in order (a rig file's `reset:` is per unit).
    #[arg(long = "reset", value_name = "LINE")]
    reset: Vec<String>,
}

/// Scenarios run at once on the in-process emulator by default.
const IN_PROCESS_JOBS: usize = 16;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Emulator { .. }) {
        mtg::init_logging_at("info");
    } else {
        mtg::init_logging();
    }
    let root = mtg::workspace_root();
    match cli.command {
        Command::Run(args) => {
            let root = match mtg::find_root(args.root.clone(), args.scenarios.is_some()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            run(*args, root)
        }
        Command::Lint { scenarios, manual } => {
            let manual = manual.or_else(|| Some(root.join("../shared/manual")).filter(|d| d.is_dir()));
            lint(scenarios.unwrap_or_else(|| root.join("scenarios")), manual)
        }
        Command::Coverage { scenarios, verbose, gaps } => {
            coverage(scenarios.unwrap_or_else(|| root.join("scenarios")), verbose, gaps)
        }
        Command::Report { run, baseline, merge, out, repeat } => match (run, out) {
            (_, Some(out)) if !merge.is_empty() => report_merge(&merge, &out, repeat),
            (Some(run), _) => report_html(run, baseline),
            _ => {
                eprintln!("error: give a run's folder, or --merge DIR… --out DIR");
                ExitCode::from(2)
            }
        },
        Command::Probe { target } => probe(&target),
        Command::Diff { a, b, filters, scenarios, tolerance_ms, json } => {
            diff(&a, &b, &filters, scenarios.unwrap_or_else(|| root.join("scenarios")), tolerance_ms, json)
        }
        Command::Emulator { listen, pty, flash, profile, attach, sms_after, net_map } => {
            let net_map = match net_map.as_deref().map(mtg::emulator::net::NetMap::load).transpose() {
                Ok(map) => map.unwrap_or_default(),
                Err(e) => {
                    // The error names the file and what is wrong with it.
                    eprintln!("mtg-emulator: {e}");
                    return ExitCode::from(2);
                }
            };
            let config = mtg::emulator::EmulatorConfig {
                flash,
                firmware: profile,
                attach,
                scripted: sms_after,
                net_map,
                ..Default::default()
            };
            emulator(listen, pty, config)
        }
    }
}

/// The rig is not ready: the line cannot be opened or the unit does not
/// answer `AT` (before the run, or it stopped answering during it).
const NOT_READY: u8 = 3;

/// `mtg probe`: the health check `mtg run` does before a suite, printed.
fn probe(target_text: &str) -> ExitCode {
    let target: Target = match target_text.parse() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{target}");
    let identity = runtime.block_on(mtg::runner::suite::identify_with(&target, &Options::default(), &mut |a| {
        let said = if a.lines.is_empty() { "(no answer)".to_string() } else { a.lines.join(" | ") };
        println!("  {:<12} {said}", a.command);
    }));
    runtime.shutdown_timeout(Duration::from_millis(200));
    // labgrid places acquired by the run (also after Ctrl-C or a rig that is not ready).
    mtg::transport::labgrid::release_all();
    if let Some(why) = &identity.not_ready {
        eprintln!("error: {why}");
        return ExitCode::from(NOT_READY);
    }
    let caps: Vec<&str> = target.capabilities().iter().map(|c| c.name()).collect();
    println!(
        "capabilities: {}",
        if caps.is_empty() { "none declared (add caps= to the target)".to_string() } else { caps.join(", ") }
    );
    ExitCode::SUCCESS
}

fn report_merge(dirs: &[PathBuf], out: &std::path::Path, repeat: bool) -> ExitCode {
    match report::merge::merge(dirs, out, repeat) {
        Ok(records) => {
            for (dir, r) in &records {
                let s = report::merge::summarise(dir, r);
                println!(
                    "{}: {} results ({} passed, {} failed, {} errors), {} not run",
                    s.unit,
                    r.results.len(),
                    s.passed,
                    s.failed,
                    s.errors,
                    s.not_run
                );
            }
            println!("run.json, junit.xml and report.html in {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn report_html(run: PathBuf, baseline: Option<PathBuf>) -> ExitCode {
    let record = match report::read_record(&run) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let baseline = match baseline.as_deref().map(report::read_record).transpose() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: baseline {e}");
            return ExitCode::from(2);
        }
    };
    let dir = if run.is_dir() { run } else { run.parent().map(PathBuf::from).unwrap_or_default() };
    match report::html::write(&dir, &record, baseline.as_ref()) {
        Ok(()) => {
            println!("{}", dir.join("report.html").display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn lint(dir: PathBuf, manual: Option<PathBuf>) -> ExitCode {
    let errors = mtg::scenario::load::lint(&dir);
    let (scenarios, _) = mtg::scenario::load_dir(&dir);
    for e in &errors {
        eprintln!("{e}\n");
    }
    let mut problems = errors.len();
    // The index's quotes, checked against the manual's text where it is at hand.
    let index = dir.join("manual-index.yaml");
    match mtg::coverage::load_index(&index) {
        Err(e) => {
            eprintln!("error: {e}");
            problems += 1;
        }
        Ok(entries) => {
            let text = match manual.as_deref().map(mtg::coverage::ManualText::load).transpose() {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: the manual's text: {e}");
                    return ExitCode::from(2);
                }
            };
            let (wrong, without) = mtg::coverage::check_words(&entries, text.as_ref());
            for w in &wrong {
                eprintln!("error: {}: {w}", index.display());
            }
            problems += wrong.len();
            match &manual {
                Some(m) => println!("index quotes checked against {}", m.display()),
                None => println!("index quotes not checked: no manual text (give --manual DIR)"),
            }
            if without > 0 {
                eprintln!("error: {without} index entries carry no words (a quote, or not-recovered)");
                problems += without;
            }
            // The errata: loaded and checked, their quotes against the manual,
            // and every `profiles:` step's erratum among them.
            let errata_file = dir.join("errata.yaml");
            if errata_file.exists() {
                match Errata::load(&errata_file) {
                    Ok(errata) => {
                        let wrong = mtg::errata::check(&errata, &scenarios, text.as_ref());
                        for w in &wrong {
                            eprintln!("error: {}: {w}", errata_file.display());
                        }
                        problems += wrong.len();
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        problems += 1;
                    }
                }
            }
            // Every manual-backed expectation must be in the words it cites.
            let (unsupported, unsourced) = mtg::provenance::check(&scenarios, &entries);
            // A manual-backed expectation the manual's words do not hold is a
            // problem; MTG_PROVENANCE=warn reports without failing (while
            // relabelling a chapter, say).
            let strict = std::env::var("MTG_PROVENANCE").map_or(true, |v| v != "warn");
            let level = if strict { "error" } else { "warning" };
            for u in &unsupported {
                eprintln!("{level}: {u}");
            }
            for u in &unsourced {
                eprintln!("{level}: {u}");
            }
            if strict {
                problems += unsupported.len() + unsourced.len();
            }
        }
    }
    if problems == 0 {
        println!("{} scenarios checked, no problems", scenarios.len());
        ExitCode::SUCCESS
    } else {
        eprintln!("{problems} problem(s) in {}", dir.display());
        ExitCode::FAILURE
    }
}

fn coverage(dir: PathBuf, verbose: bool, gaps: bool) -> ExitCode {
    let entries = match mtg::coverage::load_index(&dir.join("manual-index.yaml")) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (scenarios, errors) = mtg::scenario::load_dir(&dir);
    for e in &errors {
        eprintln!("{e}\n");
    }
    let mut covered = mtg::coverage::compute(&entries, &scenarios);
    let (_, complete) = mtg::coverage::report(&covered, verbose);
    if gaps {
        covered.retain(|c| c.status() != "covered");
    }
    let (text, _) = mtg::coverage::report(&covered, verbose);
    print!("{text}");
    if complete && errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        if !complete {
            eprintln!("coverage incomplete: every entry that is not pending needs a scenario");
        }
        ExitCode::FAILURE
    }
}

fn emulator(listen: Option<SocketAddr>, pty: bool, config: mtg::emulator::EmulatorConfig) -> ExitCode {
    if let Some(path) = &config.flash {
        if let Err(e) = mtg::emulator::Modem::new(&config) {
            eprintln!("mtg-emulator: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mtg-emulator: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        if pty {
            match mtg::transport::spawn_pty_emulator(config) {
                Ok((path, _server)) => {
                    println!("{}", path.display());
                    let _ = std::io::stdout().flush();
                    eprintln!("mtg-emulator: serving on {}", path.display());
                    std::future::pending::<()>().await;
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mtg-emulator: {e}");
                    ExitCode::FAILURE
                }
            }
        } else {
            let addr = listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 2323)));
            match mtg::emulator::listen::listen_tcp(addr, config).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mtg-emulator: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    })
}

/// `mtg diff`: both targets, every selected scenario, the divergences.
/// Exit 0 when every divergence is explained by a known erratum, 1 otherwise,
/// 2 on bad input.
fn diff(a: &str, b: &str, filters: &[String], dir: PathBuf, tolerance_ms: u64, json: Option<PathBuf>) -> ExitCode {
    let (ta, tb): (Target, Target) = match (a.parse(), b.parse()) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let suite = Suite::load(&dir);
    if !suite.errors.is_empty() {
        eprintln!("error: {} scenario file(s) do not load; run `mtg lint`", suite.errors.len());
        return ExitCode::from(2);
    }
    let errata = match Errata::load(&dir.join("errata.yaml")) {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Embedded servers forget what an earlier run of a scenario made them
    // see, so that both sides are judged on their own run.
    let choice = ta.emulator_config().is_some().then_some("embedded");
    let fixtures = match start_fixtures(choice, &ta) {
        Ok(set) => Arc::new(set),
        Err(e) => {
            eprintln!("error: fixtures: {e}");
            return ExitCode::from(2);
        }
    };
    let selected: Vec<Scenario> = suite.select(filters, false).into_iter().cloned().collect();
    let options = Options { errata: errata.clone(), fixtures: Some(fixtures), ..Options::default() };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let diffs =
        runtime.block_on(mtg::runner::diff::diff(&selected, &ta, &tb, &options, Duration::from_millis(tolerance_ms)));
    runtime.shutdown_timeout(Duration::from_millis(200));
    let mut explained = std::collections::BTreeSet::new();
    let mut unexplained = 0;
    for d in &diffs {
        for v in &d.divergences {
            match v {
                mtg::runner::diff::Divergence::Text { step, origin, a, b, erratum } => {
                    match erratum {
                        Some(e) => {
                            explained.insert(e.clone());
                        }
                        None => unexplained += 1,
                    }
                    let why =
                        erratum.as_deref().map(|e| format!("erratum {e}")).unwrap_or_else(|| "UNEXPLAINED".into());
                    println!("{}: step {step} ({origin}): text [{why}]\n  a: {a:?}\n  b: {b:?}", d.id);
                }
                mtg::runner::diff::Divergence::Timing { step, origin, a_ms, b_ms } => {
                    unexplained += 1;
                    println!("{}: step {step} ({origin}): timing: a {a_ms} ms, b {b_ms} ms", d.id);
                }
                mtg::runner::diff::Divergence::State { a, b } => {
                    unexplained += 1;
                    println!("{}: final state: a {a:?}, b {b:?}", d.id);
                }
            }
        }
    }
    let same = diffs.iter().filter(|d| d.divergences.is_empty()).count();
    println!(
        "\n{} scenario(s) compared: {same} the same, {} diverging; explained by errata: {}; unexplained: {unexplained}",
        diffs.len(),
        diffs.len() - same,
        if explained.is_empty() { "none".to_string() } else { explained.into_iter().collect::<Vec<_>>().join(", ") }
    );
    if let Some(path) = json {
        let text = serde_json::to_vec_pretty(&diffs).expect("divergences serialise");
        if let Err(e) = report::write_atomic(&path, &text) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    if unexplained == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The run's servers: `--fixtures`, else `auto` for an emulator target
/// (containers when they can run here, embedded servers otherwise) and none
/// for a real line. How `auto` chose is said on stderr.
fn start_fixtures(
    choice: Option<&str>,
    target: &Target,
) -> Result<mtg::fixtures::FixtureSet, Box<dyn std::error::Error>> {
    let provider: mtg::fixtures::Provider = match choice {
        Some(text) => text.parse()?,
        None if target.emulator_config().is_some() => mtg::fixtures::Provider::Auto,
        None => mtg::fixtures::Provider::None,
    };
    let set = mtg::fixtures::FixtureSet::start(&provider)?;
    if let Some(why) = set.choice() {
        eprintln!("mtg: fixtures: {why}");
    }
    Ok(set)
}

/// After a run with a failed scenario, the container servers' logs
/// (redacted) go to `OUT/servers/<service>.log`.
fn keep_server_logs(fixtures: &mtg::fixtures::FixtureSet, out: &std::path::Path) {
    match fixtures.keep_logs(&out.join("servers")) {
        Ok(files) if !files.is_empty() => eprintln!("mtg: server logs kept in {}", out.join("servers").display()),
        Ok(_) => {}
        Err(e) => eprintln!("error: keeping the server logs: {e}"),
    }
}

fn run(args: RunArgs, root: PathBuf) -> ExitCode {
    let mut target: Target = match args.target.parse() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let judge_by = args.profile.unwrap_or_default();
    // `--profile manual` on an emulator target that names no profile runs the
    // emulator in that profile too (`emu:?profile=field` keeps field firmware,
    // to see it judged by the manual).
    if let (Some(p), Target::Emulator { firmware, .. } | Target::Pty { firmware, .. }) = (args.profile, &mut target) {
        firmware.get_or_insert(p);
    }

    let dir = args.scenarios.clone().unwrap_or_else(|| root.join("scenarios"));
    // The errata beside the scenarios (a folder without one knows none).
    let errata_file = dir.join("errata.yaml");
    let errata = match errata_file.exists().then(|| Errata::load(&errata_file)).transpose() {
        Ok(e) => Arc::new(e.unwrap_or_default()),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let suite = Suite::load(&dir);
    for e in &suite.errors {
        eprintln!("{e}\n");
    }
    if !suite.errors.is_empty() {
        eprintln!("error: {} scenario file(s) do not load; fix them or run `mtg lint`", suite.errors.len());
        return ExitCode::from(2);
    }
    let mut selected: Vec<&Scenario> = suite.select(&args.filters, args.exact);
    if let Some(p) = &args.partition {
        let parsed = p.split_once('/').and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)));
        match parsed {
            Some((k, n)) if k >= 1 && k <= n => selected = partition(selected, k, n),
            _ => {
                eprintln!("error: --partition {p}: expected K/N with 1 <= K <= N");
                return ExitCode::from(2);
            }
        }
    }
    if args.list {
        // With a rig, what runs on each unit.
        let lists: Vec<(Option<String>, std::collections::BTreeSet<mtg::scenario::Capability>)> = match &args.rig {
            Some(path) => match mtg::runner::rig::load(path, None).and_then(|r| r.pick(&args.units)) {
                Ok(units) => units.iter().map(|u| (Some(format!("{} ({})", u.id, u.port)), u.capabilities())).collect(),
                Err(e) => {
                    eprintln!("error: rig: {e}");
                    return ExitCode::from(2);
                }
            },
            None => vec![(None, target.capabilities())],
        };
        for (unit, offered) in &lists {
            if let Some(unit) = unit {
                println!("== unit {unit}");
            }
            list(&selected, offered);
        }
        return ExitCode::SUCCESS;
    }
    fn list(selected: &[&Scenario], offered: &std::collections::BTreeSet<mtg::scenario::Capability>) {
        for s in selected {
            let mut status = match mtg::runner::suite::ignore_reason(s, offered) {
                Some(reason) => format!("ignored: {reason}"),
                None => "runs".to_string(),
            };
            if !s.families.is_empty() {
                status.push_str(&format!(" (families {})", s.families.join(", ")));
            }
            println!("{:<44} {:<9} {:<40} {}", s.id, s.basis.to_string(), status, s.source);
        }
    }
    let baseline = match args.baseline.as_deref().map(report::read_record).transpose() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: baseline {e}");
            return ExitCode::from(2);
        }
    };
    let waivers = match args.waivers.as_deref().map(mtg::waiver::Waivers::load).transpose() {
        Ok(w) => w.map(Arc::new),
        Err(e) => {
            eprintln!("error: waivers: {e}");
            return ExitCode::from(2);
        }
    };
    // The firmware families the unit is placed in (none without the file).
    let families_file = dir.join("families.yaml");
    let families = if families_file.is_file() {
        match mtg::family::load(&families_file) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        Vec::new()
    };
    // A rig file: its units, checked against the families.
    let rig = match args.rig.as_deref() {
        Some(path) => {
            let ids: Vec<String> = families.iter().map(|f| f.id.clone()).collect();
            let loaded = mtg::runner::rig::load(path, Some(&ids)).and_then(|rig| {
                let units = rig.pick(&args.units)?;
                let vars = mtg::lab::unit_variables(&units)?;
                Ok((rig, units, vars))
            });
            match loaded {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!("error: rig: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        None => None,
    };
    let families_loaded = families.clone();
    // The manual index, loaded once: reports show the words behind a failed
    // manual-backed step. Without it they show none.
    let mut context = match mtg::coverage::load_index(&dir.join("manual-index.yaml")) {
        Ok(entries) => report::Context::with_index(Arc::new(entries)),
        Err(_) => report::Context::default(),
    };
    let fixtures = match start_fixtures(args.fixtures.as_deref(), &target) {
        Ok(set) => Arc::new(set),
        Err(e) => {
            eprintln!("error: --fixtures: {e}");
            return ExitCode::from(2);
        }
    };
    if *fixtures.provider() != mtg::fixtures::Provider::None {
        let line = format!("{}: {}", fixtures.provider(), fixtures.describe());
        eprintln!("mtg: servers: {line}");
        context.fixtures = Some(line);
    }
    let out = match OutputDir::create(&args.out) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: output folder {}: {e}", args.out.display());
            return ExitCode::from(2);
        }
    };
    let jobs = args
        .jobs
        .unwrap_or(match target {
            // In-process units wait on virtual time and compute little: many
            // at once keep the cores busy, whatever their number.
            Target::Emulator { .. } => IN_PROCESS_JOBS,
            // A PTY unit runs in real time on a thread of its own.
            Target::Pty { .. } => std::thread::available_parallelism().map_or(2, |n| n.get()),
            _ => 1,
        })
        .max(1);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let tty = std::io::stderr().is_terminal();
    // In this order: the HTML page inlines the files the record wrote, and
    // the summary comes after everything is on disk.
    let lab_context = context.clone();
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(RecordReporter::new(&out.path).with_context(context.clone())),
        Box::new(JunitReporter::new(&out.path)),
        Box::new(mtg::report::capture::CaptureReporter::new(&out.path)),
        Box::new(HtmlReporter::new(&out.path, baseline).with_context(context)),
        Box::new(Console::new(tty, tty || args.steps, Some(out.path.clone()))),
    ];
    let selected: Vec<Scenario> = selected.into_iter().cloned().collect();
    let plan = Plan {
        target_label: args.target.clone(),
        scenarios_root: dir,
        jobs,
        golden_root: (!args.no_golden).then_some(root),
        grace: Duration::from_secs(5),
        families: Some(families),
        waivers,
        today: report::time::utc_date(std::time::SystemTime::now()),
    };
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let options = Options {
        time_scale: args.time_scale,
        cancel: Some(cancel_rx),
        firmware: judge_by,
        errata,
        power_cycle: args.power_cycle.clone(),
        fixtures: Some(Arc::clone(&fixtures)),
        reset: match mtg::runner::reset::Sequence::from_options(&args.reset) {
            Ok(sequence) => sequence.map(Arc::new),
            Err(e) => {
                eprintln!("error: --reset {e}");
                return ExitCode::from(2);
            }
        },
        ..Options::default()
    };
    let repeat = match args.soak.as_deref().map(mtg::runner::repeat::parse_duration).transpose() {
        Ok(Some(d)) => mtg::runner::repeat::Repeat::For(d),
        Ok(None) => mtg::runner::repeat::Repeat::Times(args.repeat.max(1)),
        Err(e) => {
            eprintln!("error: --soak {e}");
            return ExitCode::from(2);
        }
    };
    // Two runs on one serial device would garble each other's lines.
    let _lock = match mtg::runner::lock::lock_target(&target) {
        Ok(l) if rig.is_none() => l,
        Ok(_) => None,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
    };
    if let Some(rig) = rig {
        drop(sinks);
        return run_rig(rig, &args, selected, plan, options, repeat, families_loaded, lab_context, runtime, cancel_tx);
    }
    let result = runtime.block_on(async {
        // On Ctrl-C the running scenarios stop where they are and record
        // their transcripts; the ones not started are listed as not run.
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = cancel_tx.send(true);
            }
        });
        let (result, iterations) = run_repeated(&selected, &target, &options, &plan, Arc::new(sinks), repeat).await;
        if !iterations.is_empty() {
            if let Ok(mut record) = report::read_record(&out.path) {
                record.iterations = iterations;
                if let Some(line) = mtg::lab::soak_line(&record) {
                    println!("{line}");
                }
                let json = serde_json::to_vec_pretty(&record).expect("a run record always serialises");
                if let Err(e) = report::write_atomic(&out.path.join("run.json"), &json) {
                    eprintln!("error: {e}");
                }
            }
        }
        result
    });
    // Whatever the emulator targets left running stops here.
    runtime.shutdown_timeout(Duration::from_millis(200));
    // labgrid places acquired by the run (also after Ctrl-C or a rig that is not ready).
    mtg::transport::labgrid::release_all();
    if result.findings > 0 || result.interrupted {
        keep_server_logs(&fixtures, &out.path);
    }
    if result.interrupted {
        ExitCode::from(130)
    } else if let Some(why) = &result.not_ready {
        eprintln!("error: {why}");
        ExitCode::from(NOT_READY)
    } else if result.findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `mtg run --rig`: every unit at once (see `mtg::lab`). Exit code 3 when a
/// unit of the rig was not ready (locked, not answering, another family).
#[allow(clippy::too_many_arguments)]
fn run_rig(
    (rig, units, vars): (
        mtg::runner::rig::Rig,
        Vec<mtg::runner::rig::Unit>,
        Vec<std::collections::BTreeMap<String, String>>,
    ),
    args: &RunArgs,
    selected: Vec<Scenario>,
    plan: Plan,
    options: Options,
    repeat: mtg::runner::repeat::Repeat,
    families: Vec<mtg::family::Family>,
    context: report::Context,
    runtime: tokio::runtime::Runtime,
    cancel_tx: tokio::sync::watch::Sender<bool>,
) -> ExitCode {
    let tty = std::io::stderr().is_terminal();
    let lab = mtg::lab::Lab {
        rig,
        units,
        selected,
        out: args.out.clone(),
        plan,
        options,
        repeat,
        families,
        context,
        tty,
        steps: args.steps,
    };
    let result = runtime.block_on(async {
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = cancel_tx.send(true);
            }
        });
        mtg::lab::run(lab, vars).await
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    // labgrid places acquired by the run (also after Ctrl-C or a rig that is not ready).
    mtg::transport::labgrid::release_all();
    match result {
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Ok(r) if r.interrupted => ExitCode::from(130),
        Ok(r) if !r.not_ready.is_empty() => {
            for (unit, why) in &r.not_ready {
                eprintln!("mtg: unit {unit} not ready: {why}");
            }
            ExitCode::from(3)
        }
        Ok(r) if r.findings == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
    }
}
