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
//! - [`pdu`]: SMS PDUs (GSM 7-bit alphabet, SMS-SUBMIT, SMS-DELIVER), no I/O;
//! - [`family`]: firmware families and a unit's identity; [`waiver`]: accepted failures, until they expire.

pub mod at;
pub mod control;
pub mod coverage;
pub mod emulator;
pub mod errata;
pub mod family;
pub mod golden;
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
