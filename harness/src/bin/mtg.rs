//! `mtg`: run the conformance suite against a target, check scenarios and
//! coverage of the manual, and serve the reference emulator.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use mtg::golden::{self, Comparison};
use mtg::report::{self, OutputDir, RunRecord};
use mtg::runner::suite::{partition, run_one, Suite};
use mtg::runner::{Options, Progress};
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
    Run(RunArgs),
    /// Check every scenario without running it.
    Lint {
        /// Scenario directory (default: the workspace's `scenarios/`).
        #[arg(long)]
        scenarios: Option<PathBuf>,
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
    /// Write the HTML report of a finished run, compared with a baseline run.
    Report {
        /// The run's output folder (or its run.json).
        run: PathBuf,
        /// A previous run's output folder (or run.json) to compare with.
        #[arg(long)]
        baseline: Option<PathBuf>,
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
    },
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
    /// Scenarios run at once (default: one per core on emulator targets, 1 on a real line).
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    mtg::init_logging();
    let root = mtg::workspace_root();
    match cli.command {
        Command::Run(args) => run(args, root),
        Command::Lint { scenarios } => lint(scenarios.unwrap_or_else(|| root.join("scenarios"))),
        Command::Coverage { scenarios, verbose, gaps } => {
            coverage(scenarios.unwrap_or_else(|| root.join("scenarios")), verbose, gaps)
        }
        Command::Report { run, baseline } => report_html(run, baseline),
        Command::Probe { target } => probe(&target),
        Command::Emulator { listen, pty, flash } => emulator(listen, pty, flash),
    }
}

/// Commands that tell what is on the line without changing anything.
const PROBE: &[&str] = &[
    "AT",
    "ATI",
    "AT+CGMR",
    "AT+CPIN?",
    "AT+CSQ",
    "AT+CREG?",
    "AT+CGREG?",
    "AT+CGATT?",
    "AT+WOPEN?",
    "AT#VVERSION",
    "AT#VSTATE",
];

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
    runtime.block_on(async {
        use tokio::io::AsyncWriteExt;
        let mut t = match target.open().await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        println!("{}", t.describe());
        let mut reader = mtg::runner::lines::LineReader::new(std::time::Instant::now());
        let mut answered = false;
        for command in PROBE {
            if let Err(e) = t.write_all(format!("{command}\r").as_bytes()).await {
                eprintln!("error: writing to {}: {e}", t.describe());
                return ExitCode::from(2);
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            let mut lines = Vec::new();
            loop {
                match reader.next(t.as_mut(), std::time::Duration::from_secs(3), deadline).await {
                    Ok(seg) => {
                        let line = mtg::transcript::line_text(&seg);
                        if line == *command {
                            continue; // the echo
                        }
                        let last = mtg::at::response::is_final(&line);
                        lines.push(line);
                        if last {
                            break;
                        }
                    }
                    Err(_) => {
                        lines.push("(no answer)".into());
                        break;
                    }
                }
            }
            answered |= lines.iter().any(|l| l != "(no answer)");
            println!("  {command:<12} {}", lines.join(" | "));
            if *command == "AT" && !answered {
                eprintln!(
                    "error: {} does not answer AT: check the path, the baud rate (AT+IPR) and the cable",
                    t.describe()
                );
                return ExitCode::FAILURE;
            }
        }
        let caps: Vec<&str> = t.capabilities().iter().map(|c| c.name()).collect();
        println!(
            "capabilities: {}",
            if caps.is_empty() { "none declared (add caps= to the target)".to_string() } else { caps.join(", ") }
        );
        ExitCode::SUCCESS
    })
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
    let out = OutputDir { path: dir };
    match out.write_html(&record, baseline.as_ref()) {
        Ok(()) => {
            println!("{}", out.path.join("report.html").display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: writing {}: {e}", out.path.join("report.html").display());
            ExitCode::from(2)
        }
    }
}

fn lint(dir: PathBuf) -> ExitCode {
    let errors = mtg::scenario::load::lint(&dir);
    let (scenarios, _) = mtg::scenario::load_dir(&dir);
    for e in &errors {
        eprintln!("{e}\n");
    }
    if errors.is_empty() {
        println!("{} scenarios checked, no problems", scenarios.len());
        ExitCode::SUCCESS
    } else {
        eprintln!("{} problem(s) in {}", errors.len(), dir.display());
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

fn emulator(listen: Option<SocketAddr>, pty: bool, flash: Option<PathBuf>) -> ExitCode {
    let config = mtg::emulator::EmulatorConfig { flash: flash.clone() };
    if let Some(path) = &flash {
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

/// Step-by-step progress on a terminal.
struct Live {
    tty: bool,
    verbose: bool,
}

impl Progress for Live {
    fn step(&self, scenario: &str, index: usize, total: usize, description: &str) {
        if !self.verbose {
            return;
        }
        let line = format!("  {scenario} [{index}/{total}] {description}");
        let mut err = std::io::stderr().lock();
        if self.tty {
            let shown: String = line.chars().take(110).collect();
            let _ = write!(err, "\r\x1b[2K{shown}");
        } else {
            let _ = writeln!(err, "{line}");
        }
    }
}

fn run(args: RunArgs, root: PathBuf) -> ExitCode {
    let target: Target = match args.target.parse() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let dir = args.scenarios.clone().unwrap_or_else(|| root.join("scenarios"));
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
        let offered = target.capabilities();
        for s in &selected {
            let status = match mtg::runner::suite::ignore_reason(s, &offered) {
                Some(reason) => format!("ignored: {reason}"),
                None => "runs".to_string(),
            };
            println!("{:<44} {:<9} {:<40} {}", s.id, s.basis.to_string(), status, s.source);
        }
        return ExitCode::SUCCESS;
    }
    let baseline = match args.baseline.as_deref().map(report::read_record).transpose() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: baseline {e}");
            return ExitCode::from(2);
        }
    };
    let out = match OutputDir::create(&args.out) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: output folder {}: {e}", args.out.display());
            return ExitCode::from(2);
        }
    };
    let emulated = matches!(target, Target::Emulator { .. } | Target::Pty { .. });
    let jobs = args
        .jobs
        .unwrap_or(if emulated { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { 1 })
        .max(1);
    let record = Arc::new(Mutex::new(RunRecord::new(&args.target, &dir, &selected)));
    let total = selected.len();
    eprintln!(
        "mtg: running {total} scenario(s) against {} ({jobs} at a time), output in {}",
        args.target,
        out.path.display()
    );
    if let Err(e) = out.write_record(&record.lock().expect("record lock")) {
        eprintln!("error: writing {}: {e}", out.path.display());
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let options = Options { time_scale: args.time_scale, cancel: Some(cancel_rx), ..Options::default() };
    let tty = std::io::stderr().is_terminal();
    let progress = Live { tty, verbose: tty || args.steps };
    let out = Arc::new(out);
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    let interrupted = runtime.block_on(async {
        let work = async {
            let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs));
            let mut tasks = Vec::new();
            for scenario in selected.iter().map(|s| (*s).clone()) {
                // Taking the permit here keeps the suite's order.
                let Ok(permit) = semaphore.clone().acquire_owned().await else { break };
                let (target, options, record, out, done, root) =
                    (target.clone(), options.clone(), record.clone(), out.clone(), done.clone(), root.clone());
                let no_golden = args.no_golden;
                let tty = progress.tty;
                let verbose = progress.verbose;
                tasks.push(tokio::spawn(async move {
                    let _permit = permit;
                    if options.cancel.as_ref().is_some_and(|c| *c.borrow()) {
                        return;
                    }
                    let live = Live { tty, verbose };
                    let outcome = run_one(&scenario, &target, &options, &live).await;
                    let comparison = (!no_golden && outcome.verdict == mtg::runner::Verdict::Pass)
                        .then(|| golden::compare(&root, &scenario.id, &outcome.transcript.render()));
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    let golden_note = match &comparison {
                        Some(Comparison::Differs(_)) => " (transcript differs from golden)",
                        Some(Comparison::Missing) => " (no golden yet)",
                        _ => "",
                    };
                    let detail = outcome.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                    let clear = if tty && verbose { "\r\x1b[2K" } else { "" };
                    eprintln!(
                        "{clear}[{n:>4}/{total}] {:<8} {}{golden_note}{detail}",
                        outcome.verdict.to_string(),
                        scenario.id
                    );
                    let mut rec = record.lock().expect("record lock");
                    if let Err(e) = out.add(&mut rec, &scenario, &outcome, comparison.as_ref()) {
                        eprintln!("error: writing results for {}: {e}", scenario.id);
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        };
        // On Ctrl-C the running scenarios stop where they are and record
        // their transcripts; the ones not started are listed as not run.
        tokio::pin!(work);
        tokio::select! {
            _ = &mut work => false,
            _ = tokio::signal::ctrl_c() => {
                let _ = cancel_tx.send(true);
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), work).await;
                true
            }
        }
    });
    // Stop whatever is still running before writing the final record.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));

    let mut rec = record.lock().expect("record lock");
    rec.interrupted = interrupted;
    rec.finished = !interrupted;
    if let Err(e) = out.write_record(&rec).and_then(|()| out.write_html(&rec, baseline.as_ref())) {
        eprintln!("error: writing {}: {e}", out.path.display());
    }
    println!("\n{}", report::summary(&rec));
    println!("transcripts, diffs, run.json, junit.xml and report.html in {}", out.path.display());
    if interrupted {
        eprintln!("mtg: interrupted; the record lists what did not run");
        ExitCode::from(130)
    } else if rec.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
