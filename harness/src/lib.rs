//! `mtg`: evidence that a Multi-Tech GPRS modem (MTCBA-G, MTMMC-G, MTSMC-G,
//! Wavecom IP stack) does what its AT command manual (S000333D) says.
//!
//! Layout, one concern per module:
//! - [`scenario`]: the scenario language (model, loading, diagnostics);
//! - [`at`]: the AT language (command lines, result codes, error codes, the AT# parameter table), no I/O;
//! - [`control`]: emulator controls, shared by the scenario language and the emulator;
//! - [`transport`]: the serial line to a target (serial port, TCP, PTY, in-process emulator);
//! - [`emulator`]: the reference emulator of the modem's AT interpreter;
//! - [`runner`]: executes scenarios against a transport, runs suites, emits events;
//! - [`redact`]: secrets masked in every text the harness writes (parsed with [`at`]);
//! - [`transcript`]: what crossed the line, normalised and redacted;
//! - [`golden`]: golden transcripts held in `golden/`;
//! - [`report`]: reporters consuming the runner's events (console, run record, JUnit, HTML);
//! - [`coverage`]: the manual index and which scenarios cover each entry;
//! - [`lab`]: a rig of units run in parallel (`mtg run --rig`);
//! - [`pdu`]: SMS PDUs (GSM 7-bit alphabet, SMS-SUBMIT, SMS-DELIVER), no I/O;
//! - [`family`]: firmware families and a unit's identity; [`waiver`]: accepted failures, until they expire.

pub mod at;
pub mod control;
pub mod coverage;
pub mod emulator;
pub mod errata;
pub mod family;
pub mod fixtures;
pub mod golden;
pub mod lab;
pub mod pdu;
pub mod provenance;
pub mod redact;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod transcript;
pub mod transport;
pub mod waiver;

use std::path::PathBuf;

/// The workspace root (where `scenarios/` and `golden/` live).
pub fn workspace_root() -> PathBuf {
    if let Ok(dir) = std::env::var("MTG_ROOT") {
        return PathBuf::from(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Where `scenarios/` and `golden/` are, for an installed `mtg`: `explicit`
/// (`--root`), else `MTG_ROOT`, else the current folder when it holds
/// `scenarios/`, else the source tree this binary was built from. It is an
/// error when that folder has no `scenarios/`, unless the scenarios are
/// given elsewhere (`scenarios_given`).
pub fn find_root(explicit: Option<PathBuf>, scenarios_given: bool) -> Result<PathBuf, String> {
    let (root, how) = match (explicit, std::env::var_os("MTG_ROOT")) {
        (Some(r), _) => (r, "--root"),
        (None, Some(r)) => (PathBuf::from(r), "MTG_ROOT"),
        (None, None) => match std::env::current_dir().ok().filter(|d| d.join("scenarios").is_dir()) {
            Some(d) => (d, "the current folder"),
            None => (workspace_root(), "the source tree mtg was built from"),
        },
    };
    if scenarios_given || root.join("scenarios").is_dir() {
        Ok(root)
    } else {
        Err(format!(
            "no scenarios/ in {} ({how}): give --scenarios DIR and --root DIR (the folder holding scenarios/ and golden/), or set MTG_ROOT",
            root.display()
        ))
    }
}

/// Send `tracing` logs to stderr (stdout stays free for reports and the PTY
/// path). `MTG_LOG` filters them (`MTG_LOG=mtg=debug` shows every state
/// transition of the emulator); the default shows warnings.
pub fn init_logging() {
    init_logging_at("warn");
}

/// [`init_logging`] with another default level (`mtg emulator` shows `info`:
/// connections come and go).
pub fn init_logging_at(default: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("MTG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
}
