//! Emulator controls: what a scenario's `emulator:` steps ask of the
//! reference emulator (radio events, faults, restarts) and of the control
//! lines. Shared by the scenario language, which writes them, and the
//! emulator, which performs them; neither knows the other.

use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// Emulator controls and control-line changes. Targets that cannot do them
/// make the scenario ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Control {
    /// Power-cycle the emulated unit; the parameter store survives.
    Restart,
    /// An incoming call: `count` rings from `number` (caller ID), `data` or voice.
    Ring {
        #[serde(default)]
        number: Option<String>,
        #[serde(default = "one")]
        count: u32,
        /// A voice call instead of a data call (the stack answers data calls only).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        voice: bool,
    },
    /// The far end of a call hangs up.
    RemoteHangup,
    /// GSM network registration state (`+CREG` stat).
    Registration(Registration),
    /// GPRS network registration state (`+CGREG` stat).
    GprsRegistration(Registration),
    /// Signal quality (`+CSQ` rssi, 0..31 or 99).
    Signal(u8),
    /// SIM state.
    Sim(SimState),
    /// Make the next GPRS activation fail the given way.
    GprsFault(GprsFault),
    /// How the far end of GSM data calls behaves from now on (default: it
    /// answers at 9600 bit/s).
    FarEnd(FarEnd),
    /// Move the emulator's clock forward: timers due within this time fire
    /// now (inactivity timer, call-back timer, redial delays).
    Advance(Dur),
    /// How long each step of a simulated network procedure takes (dialling,
    /// PPP negotiation, GPRS activation, hanging up); default 20 ms. A long
    /// pace lets a scenario see the intermediate #VSTATE states.
    Pace(Dur),
    /// Make the next write of the parameter store fail (`#CME ERROR: 34824`).
    FlashWriteFault,
    /// Data Terminal Ready as driven by the host.
    Dtr(bool),
    /// Request To Send as driven by the host (hardware flow control).
    Rts(bool),
    /// Check the lines the unit drives: Data Carrier Detect, Ring
    /// Indicator, Data Set Ready, Clear To Send (`None`: not checked). A
    /// mismatch is a finding.
    Lines {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dcd: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ri: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dsr: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cts: Option<bool>,
    },
    /// A peer on the simulated network, at `address` (`host:port`, dotted
    /// decimal), optionally known by `name` to the DNS servers. A scenario
    /// that declares one runs the unit on the simulated network (no socket
    /// is opened; time stays virtual).
    Peer {
        address: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        behaviour: PeerKind,
    },
    /// A client of the simulated network that connects to the unit's
    /// listening socket on `port` from `from` (`host:port`), sends `sends`
    /// (YAML escapes such as `"\x03"` give control bytes) and closes if told.
    Client {
        port: u16,
        from: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        sends: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        closes: bool,
    },
    /// An incoming short message from the network's service centre: stored
    /// on the SIM and announced per `AT+CNMI` (27.005 §3.4.1).
    Sms { from: String, text: String },
}

/// How a simulated peer behaves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum PeerKind {
    /// Sends back what it receives.
    Echo,
    /// Accepts and never answers.
    Silent,
    /// Refuses connections.
    Refuse,
    /// Accepts, then closes at once.
    Drop,
    /// Sends `greeting` on connection, then `reply` to each payload.
    Answer {
        #[serde(default)]
        greeting: String,
        #[serde(default)]
        reply: String,
    },
}

/// The far end of a GSM data call (ch. 2 #CONNECTIONSTART, p.13-14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FarEnd {
    /// Answers; the modems negotiate this speed (`CONNECT <speed>`).
    Connect(u32),
    /// Answers at 1200/75 bit/s (V.23, `CONNECT 1200/75`).
    #[serde(rename = "connect-1200-75")]
    Connect1200_75,
    Busy,
    NoAnswer,
    /// The modem handshake fails.
    NoCarrier,
    /// The call connects but PPP negotiation fails (`#CME ERROR: 37120`).
    PppFailure,
    /// PPP fails with one of the other codes the #CONNECTIONSTART table
    /// lists (37121, 28980, 28981; "only one response at a time").
    PppError(u32),
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Registration {
    NotRegistered,
    Home,
    Searching,
    Denied,
    Unknown,
    Roaming,
}

impl Registration {
    /// The `<stat>` value of 3GPP TS 27.007 `+CREG`/`+CGREG`.
    pub fn stat(self) -> u8 {
        match self {
            Registration::NotRegistered => 0,
            Registration::Home => 1,
            Registration::Searching => 2,
            Registration::Denied => 3,
            Registration::Unknown => 4,
            Registration::Roaming => 5,
        }
    }

    pub fn is_registered(self) -> bool {
        matches!(self, Registration::Home | Registration::Roaming)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimState {
    Ready,
    Absent,
    PinRequired,
    PukRequired,
    /// The SIM does not answer (`+CME ERROR: 13`).
    Failure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GprsFault {
    /// The network refuses the APN (`#CME ERROR: 35868`).
    ApnRejected,
    /// The session drops after activation (`#CME ERROR: 35841`).
    SessionLost,
    /// The activation gets an unexpected event (`#CME ERROR: 35866`).
    InvalidEvent,
    /// The open-session request fails (`#CME ERROR: 49155`, seen by driver code).
    OpenFailed,
}

/// A duration written `250ms`, `2s`, `1.5s`, `2m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
            Some(i) => s.split_at(i),
            None => return Err(format!("duration `{s}` has no unit: write e.g. `500ms`, `2s`, `1m`")),
        };
        let n: f64 = num.parse().map_err(|_| format!("duration `{s}`: `{num}` is not a number"))?;
        let secs = match unit.trim() {
            "ms" => n / 1000.0,
            "s" => n,
            "m" | "min" => n * 60.0,
            other => return Err(format!("duration `{s}`: unknown unit `{other}` (use ms, s or m)")),
        };
        Ok(Duration::from_secs_f64(secs))
    }
}

impl Serialize for Dur {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ms = self.0.as_millis();
        let text = match ms {
            0 => "0ms".to_string(),
            ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
            ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
            ms => format!("{ms}ms"),
        };
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Dur::parse(&s).map(Dur).map_err(de::Error::custom)
    }
}
