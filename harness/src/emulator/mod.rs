//! The reference emulator: a software model of the modem's AT interpreter.
//!
//! [`Modem`] is a synchronous state machine fed with the bytes the host
//! sends; it produces the bytes the unit would answer. Time enters only
//! through `now` arguments and [`Modem::next_timer`], so the same input gives
//! the same output (which is what the fuzz target and the goldens rely on).
//! [`serve`] runs a modem on any byte stream. Lines are split into commands,
//! and results written, by [`crate::at`]; the parameter table is there too.
//!
//! Rooms, one concern each:
//! - `interp/`: the AT interpreter — line assembly, the command table, the
//!   GSM core, the stack's AT# commands and its display commands;
//! - `radio`: the simulated radio side (SIM, registration, calls, the
//!   connection session of `#CONNECTIONSTART` / `#ACCEPT`);
//! - `services/`: the IP services that run over a session (one module each,
//!   one enum of running services) and data mode, written once;
//! - [`net`]: what the stack asks of the network and what it does, behind a
//!   [`net::Backend`]: real sockets ([`net::HostNetwork`]) or an in-memory
//!   network ([`SimNetwork`]);
//! - [`Unit`]: the interpreter wired to its network; [`Clock`]: virtual time;
//! - `flash`: the persistent parameter store;
//! - [`serve`], [`listen`]: running units in real time on byte streams and
//!   TCP connections (the in-process transport drives a [`Unit`] itself).
//!
//! Every state machine changes state through one function that logs the
//! transition (`tracing`, debug level): `set_session`, `set_mode`,
//! `set_service`.

mod clock;
mod flash;
mod interp;
pub mod listen;
pub mod net;
mod radio;
mod serve;
mod services;
mod unit;

pub use clock::Clock;
pub use flash::FlashError;
pub use net::{PeerBehaviour, SimClient, SimNetwork};
pub use serve::{serve, ControlRequest};
pub use unit::Unit;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::at::codes::StackError;
use crate::at::response::Format;
use crate::at::Firmware;
use crate::control::Control;
use flash::{Flash, Profile};
use interp::line::LineAssembler;
pub(crate) use interp::{Error, Outcome, TextTarget};
use radio::Radio;
pub use radio::SentSms;

/// How to build an emulated unit.
#[derive(Debug, Clone, Default)]
pub struct EmulatorConfig {
    /// The parameter store ("flash"); `None` keeps it in memory only.
    pub flash: Option<PathBuf>,
    /// The network the IP stack talks through.
    pub network: Network,
    /// Whose words the unit answers with: real units' (the default) or the
    /// manual's, where they differ (`scenarios/errata.yaml`).
    pub firmware: Firmware,
    /// Whether the unit attaches to GPRS by itself once registered.
    pub attach: Attach,
    /// Controls applied this long after the unit is powered on (`mtg
    /// emulator --sms-after`: a host library under test gets an incoming
    /// message without a control channel). Not repeated after a restart.
    pub scripted: Vec<(Duration, Control)>,
    /// Loopback endpoints for the addresses the modem dials (fixture
    /// servers standing in for the manual's example hosts): see [`net::map`].
    pub net_map: net::NetMap,
    /// Where the unit records what it does on the network, for captures
    /// (a handle shared with whoever built the config); `None` records nothing.
    pub traffic: Option<net::TrafficLog>,
}

/// GPRS attach after registration (27.007 §10.1.9 leaves it to the unit).
///
/// The default is [`Attach::Manual`], **inferred**, not observed: every
/// public driver for these units in the digest attaches explicitly with
/// `AT+CGATT=1` and waits for `+CGREG: 1` before `AT#CONNECTIONSTART`
/// ([code] bring-up step 7; [code2] e-mail camera, AVR and PIC drivers), and
/// one re-sends `AT+CGATT=1` after `#CME ERROR: 35865` "not attached"
/// ([code2]): drivers written against real units do not count on an
/// automatic attach. Multi-Tech's later Universal IP driver starts the
/// session without `AT+CGATT=1` ([UIP-code]), which [`Attach::Auto`] models:
/// a unit that attaches as soon as it is registered for GSM and GPRS with a
/// ready SIM (Wavecom firmware can be configured either way). Which one a
/// given unit does is a question for a physical unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Attach {
    #[default]
    Manual,
    Auto,
}

impl std::str::FromStr for Attach {
    type Err = String;
    fn from_str(s: &str) -> Result<Attach, String> {
        match s {
            "manual" => Ok(Attach::Manual),
            "auto" => Ok(Attach::Auto),
            other => Err(format!("attach={other}: expected `auto` or `manual`")),
        }
    }
}

/// Which network backend a unit uses.
#[derive(Debug, Clone, Default)]
pub enum Network {
    /// Real sockets on the host (real servers; time follows the wall clock
    /// while a socket is open).
    #[default]
    Host,
    /// An in-memory network (no socket; virtual time throughout). The handle
    /// is shared: whoever built the config sets peers up and reads what they
    /// received.
    Simulated(SimNetwork),
}

/// Why an emulator control could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("a restart is performed by whoever owns the unit (it rebuilds the unit on the same flash)")]
    RestartIsTheOwners,
    #[error("a call is already in progress")]
    CallInProgress,
    #[error("ring count must be at least 1")]
    NoRings,
    #[error("no call to hang up")]
    NoCall,
    #[error("rssi {0} is not 0..31 or 99")]
    BadRssi(u8),
    #[error("{0} is not a PPP error of the #CONNECTIONSTART table (37120, 37121, 28980, 28981)")]
    NotAPppError(u32),
    #[error("this control acts on the network, not on the interpreter")]
    NotForTheInterpreter,
    #[error("`{0}` is not an address of the form 1.2.3.4:port")]
    BadAddress(String),
    #[error("the unit has real sockets open: the simulated network cannot replace the host network now")]
    NetworkInUse,
    /// An incoming message the unit cannot take.
    #[error("sms: {0}")]
    Sms(String),
    /// A checked control line is not in the expected state: a finding about
    /// the unit, not a fault of the rig.
    #[error("{0}")]
    LinesDiffer(String),
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("parameter store {0}")]
    Flash(#[from] flash::FlashError),
}

/// What the emulator reports about itself. A physical unit reports its own
/// values; goldens redact these lines, so only their form is compared.
pub mod identity {
    pub const MANUFACTURER: &str = "WAVECOM MODEM";
    pub const MODEL: &str = "MULTIBAND  900E  1800";
    pub const REVISION: &str = "651_09gg.Q2406B 1266500 082206 17:06";
    pub const IMEI: &str = "012345678901237";
    /// `AT+CIMI`: a subscriber of the 3GPP test network (MCC 001, MNC 01).
    pub const IMSI: &str = "001010123456789";
    /// `AT+CNUM` (a fictional 555-01xx number).
    pub const OWN_NUMBER: &str = "+15555550123";
    /// The simulated network's service centre (`AT+CSCA?` of a fresh SIM).
    pub const SERVICE_CENTRE: &str = "+15555550100";
    /// The network `+COPS` names: long, short and numeric (27.007 §7.3).
    pub const OPERATOR: [&str; 3] = ["TEST PLMN 1-1", "TEST", "00101"];
    /// Location area and cell of the serving cell (`+CCED`), hexadecimal.
    pub const LAC: &str = "0001";
    pub const CELL_ID: &str = "0a1b";
    /// The network's clock for service centre time stamps: fixed, so that
    /// transcripts do not depend on the day (the emulator is sans-IO and
    /// has no calendar).
    pub const NETWORK_TIME: crate::pdu::Timestamp =
        crate::pdu::Timestamp { year: 26, month: 1, day: 1, hour: 12, minute: 0, second: 0, quarters: 0 };
    /// `#VVERSION` (p.39): "<Filename> <File size> <Date and time of generation>".
    pub const STACK_VERSION: &str = "mtg-emu_W302_V03.02 65536 Jan 20 2006 12:00:00";
    /// The first line of `#VALL` (p.39 prints "eDsoft-W302-V03.00").
    pub const STACK_BANNER: &str = "mtg-emu-W302-V03.02";
}

/// What the line discipline is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Assembling command lines.
    Command,
    /// Collecting `AT#BODYi` / `AT#RECiADD` text up to Ctrl-Z (p.18).
    TextEntry { target: TextTarget, text: Vec<u8> },
    /// A command is executing (its final result comes from a timer or the
    /// network); input waits, as in the unit's serial buffer.
    Busy,
    /// A socket is open: bytes are payload (ch. 5, App. B p.50-52).
    Data,
    /// Collecting a short message after `AT+CMGS` and its `> ` prompt, up
    /// to Ctrl-Z (send) or ESC (cancel) (27.005 §3.5.1): the text in text
    /// mode (to `destination`), the hexadecimal PDU of `length` octets in
    /// PDU mode.
    SmsEntry { destination: Option<String>, length: usize, text: Vec<u8> },
}

/// Something scheduled for later.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Timed {
    /// Output these bytes (an intermediate line of a running command).
    Emit(Vec<u8>),
    /// Run a radio event.
    Radio(radio::Event),
    /// TCPTXDELAY expired: send the pending payload.
    Flush,
    /// The FTP client's wait for its server may have expired.
    FtpTimeout,
    /// A deadline of the running mail service (ch. 3).
    Mail(services::mail::Deadline),
    /// PINGDELAY after echo request `seq` of `#PING` `query` (p.37).
    Ping { query: u32, seq: u16 },
}

/// One emulated unit.
pub struct Modem {
    flash: Flash,
    /// Live GSM settings (`ATE`, `ATV`, …); `ATZ` reloads them from the profile.
    settings: Profile,
    line: LineAssembler,
    last_line: Option<String>,
    mode: Mode,
    queued: VecDeque<u8>,
    out: Vec<u8>,
    radio: Radio,
    timers: Vec<(Instant, u64, Timed)>,
    timer_seq: u64,
    service: Option<services::Running>,
    net_requests: Vec<net::Request>,
    /// Data Terminal Ready as the host drives it (in-process transport only).
    dtr: bool,
    /// Field firmware or the manual's words (see [`EmulatorConfig::firmware`]).
    firmware: Firmware,
}

/// Delay between the steps of a simulated network procedure. Short, so that
/// suites run fast, but not zero, so that hosts see the real interleaving.
pub(crate) const STEP: Duration = Duration::from_millis(20);

/// Bytes kept while a command runs (see [`Modem::queue`]).
const QUEUE_LIMIT: usize = 64 * 1024;

impl Modem {
    pub fn new(config: &EmulatorConfig) -> Result<Modem, EmulatorError> {
        let flash = Flash::open(config.flash.as_deref())?;
        let settings = flash.stored.profile.clone();
        Ok(Modem {
            flash,
            settings,
            line: LineAssembler::default(),
            last_line: None,
            mode: Mode::Command,
            queued: VecDeque::new(),
            out: Vec::new(),
            radio: Radio { auto_attach: config.attach == Attach::Auto, ..Radio::default() },
            timers: Vec::new(),
            timer_seq: 0,
            service: None,
            net_requests: Vec::new(),
            dtr: true,
            firmware: config.firmware,
        })
        .map(|mut modem| {
            modem.auto_attach();
            modem
        })
    }

    /// The messages the host has sent to the simulated service centre, in
    /// order (a test reads them; each is also logged).
    pub fn sent_sms(&self) -> &[SentSms] {
        &self.radio.sms.sent
    }

    /// Bytes from the host.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) {
        if !bytes.is_empty() && self.radio.last_activity.is_some() {
            self.radio.last_activity = Some(now);
        }
        for &b in bytes {
            if self.mode == Mode::Busy {
                self.queue(b);
            } else {
                self.byte(b, now);
            }
        }
    }

    /// Bytes for the host, produced since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// When [`Modem::on_timer`] must next be called.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.iter().map(|(at, _, _)| *at).min()
    }

    /// Run everything that is due.
    pub fn on_timer(&mut self, now: Instant) {
        loop {
            let due = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, (at, _, _))| *at <= now)
                .min_by_key(|(_, (at, seq, _))| (*at, *seq))
                .map(|(i, _)| i);
            let Some(i) = due else { break };
            let (_, _, timed) = self.timers.remove(i);
            match timed {
                Timed::Emit(bytes) => self.out.extend_from_slice(&bytes),
                Timed::Radio(event) => self.radio_event(event, now),
                Timed::Flush => self.flush(),
                Timed::FtpTimeout => self.ftp_timer(now),
                Timed::Mail(deadline) => self.mail_deadline(deadline, now),
                Timed::Ping { query, seq } => self.ping_timer(query, seq, now),
            }
        }
        self.settle(now);
    }

    /// Apply an emulator control (radio event, fault). `Restart` is handled
    /// by whoever owns the modem: it builds a new one on the same flash.
    pub fn control(&mut self, control: &Control, now: Instant) -> Result<(), ControlError> {
        let result = self.radio_control(control, now);
        self.settle(now);
        result
    }

    /// Input held while a command ran, once no command runs any more: a
    /// service that ended with the IP link (its command answered by the
    /// link's error) leaves it behind. Called after timers, controls and
    /// network events (the unit's pump).
    fn settle(&mut self, now: Instant) {
        if self.mode != Mode::Busy && !self.queued.is_empty() {
            self.release_queued(now);
        }
    }

    /// The unit's address on the network: its session's (`#DISPLAYIP`'s MY
    /// IP), or 0.0.0.0 without a session.
    pub fn session_address(&self) -> std::net::Ipv4Addr {
        match &self.radio.session {
            radio::Session::Connected { my_ip, .. } => my_ip.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
            _ => std::net::Ipv4Addr::UNSPECIFIED,
        }
    }

    fn format(&self) -> Format {
        Format {
            verbose: self.settings.verbose,
            quiet: self.settings.quiet,
            cmee: self.settings.cmee,
            firmware: self.firmware,
        }
    }

    fn schedule(&mut self, at: Instant, timed: Timed) {
        self.timer_seq += 1;
        self.timers.push((at, self.timer_seq, timed));
    }

    /// Keep a byte for after the running command. Like a UART's buffer the
    /// queue is bounded: a host flooding a busy unit loses the excess.
    fn queue(&mut self, b: u8) {
        if self.queued.len() < QUEUE_LIMIT {
            self.queued.push_back(b);
        }
    }

    /// Every change of the line discipline passes here, and is logged.
    pub(crate) fn set_mode(&mut self, next: Mode, why: &str) {
        if next != self.mode {
            tracing::debug!(from = ?self.mode, to = ?next, why, "mode");
            self.mode = next;
        }
    }

    /// Leave [`Mode::Busy`] and process what the host sent meanwhile.
    fn release_queued(&mut self, now: Instant) {
        if self.mode == Mode::Busy {
            self.set_mode(Mode::Command, "the command has answered");
        }
        while self.mode != Mode::Busy {
            let Some(b) = self.queued.pop_front() else { break };
            self.byte(b, now);
        }
    }

    fn stack_open(&self) -> bool {
        self.flash.stored.wopen == 1
    }

    /// Persist the store; a failed write is the manual's EEPROM error.
    fn commit(&mut self) -> Outcome {
        match self.flash.commit() {
            Ok(()) => Outcome::Continue,
            Err(e) => {
                tracing::error!("parameter store: {e}");
                Outcome::Error(Error::Stack(StackError::EepromWriteFailed))
            }
        }
    }
}

#[cfg(test)]
mod tests;
