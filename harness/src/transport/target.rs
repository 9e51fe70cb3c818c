//! Which target to run against, as written on the command line or in
//! `MTG_TARGET` (syntax in the [module table](super)).
//!
//! The text is `SCHEME:BODY?KEY=VALUE&KEY=VALUE`. Values are taken verbatim
//! (no percent-decoding), so a file name cannot contain `&`. Every scheme
//! takes `caps=a,b,…`; the other keys depend on the scheme.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;

use super::emulator::EmulatorTransport;
use super::pty::{PtyError, PtyTransport};
use super::serial::{SerialSettings, SerialTransport, SettingError};
use super::tcp::{display_addr, TcpTransport};
use super::Transport;
use crate::at::Firmware;
use crate::emulator::net::NetMap;
use crate::emulator::{Attach, EmulatorConfig};
use crate::scenario::Capability;

/// The forms of a target, for hints.
const FORMS: &str = "use emu:, serial:PATH, tcp:HOST:PORT, rfc2217:HOST:PORT, labgrid:PLACE or pty:";

/// A target: where the serial line to the unit under test is.
///
/// `caps` holds the capabilities declared with `caps=`; see
/// [`Target::capabilities`] for what the target offers in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `emu:` — the reference emulator in process. `profile=manual` makes it
    /// answer in the manual's words where field firmware differs; without
    /// `profile=` it answers as field firmware (`mtg run --profile` may say
    /// otherwise). `attach=auto|manual`: see [`Attach`].
    Emulator { flash: Option<PathBuf>, firmware: Option<Firmware>, attach: Attach, caps: BTreeSet<Capability> },
    /// `serial:PATH` — a serial port.
    Serial { path: String, settings: SerialSettings, caps: BTreeSet<Capability> },
    /// `tcp:HOST:PORT` — raw serial over TCP. `host` has no brackets.
    Tcp { host: String, port: u16, caps: BTreeSet<Capability> },
    /// `rfc2217:HOST:PORT` — a serial line over RFC 2217 (Telnet COM-PORT-OPTION).
    Rfc2217 { host: String, port: u16, settings: SerialSettings, caps: BTreeSet<Capability> },
    /// `labgrid:PLACE` — a labgrid place, acquired for the run; its
    /// `NetworkSerialPort` is reached over RFC 2217 (see [`super::labgrid`]).
    Labgrid { place: String, coordinator: Option<String>, settings: SerialSettings, caps: BTreeSet<Capability> },
    /// `pty:` — the emulator behind a pseudo-terminal, opened as a serial port.
    Pty { flash: Option<PathBuf>, firmware: Option<Firmware>, attach: Attach, caps: BTreeSet<Capability> },
}

/// A target text that does not parse, or a target that cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("missing scheme in target `{target}`: {FORMS}")]
    MissingScheme { target: String },
    #[error("unknown scheme `{scheme}` in target `{target}`: {FORMS}")]
    UnknownScheme { target: String, scheme: String },
    #[error("unknown option `{option}` in target `{target}`: {scheme}: takes {valid}")]
    UnknownOption { target: String, scheme: String, option: String, valid: String },
    #[error("invalid {option} `{value}` in target `{target}`: expected {expected}")]
    InvalidOption { target: String, option: String, value: String, expected: String },
    #[error("unknown capability `{name}` in target `{target}`: valid capabilities are {valid}")]
    UnknownCapability { target: String, name: String, valid: String },
    #[error("invalid target `{target}`: {cause}")]
    Invalid { target: String, cause: String },
    #[error("cannot open target `{target}`: {cause}")]
    Open { target: String, cause: io::Error },
}

impl Target {
    /// Capabilities declared with `caps=`.
    pub fn declared_capabilities(&self) -> &BTreeSet<Capability> {
        match self {
            Target::Emulator { caps, .. }
            | Target::Serial { caps, .. }
            | Target::Tcp { caps, .. }
            | Target::Rfc2217 { caps, .. }
            | Target::Labgrid { caps, .. }
            | Target::Pty { caps, .. } => caps,
        }
    }

    /// What the transport offers by itself: the in-process emulator offers
    /// radio, calls, control lines and emulator controls; behind a PTY only
    /// radio and calls (a PTY has no control lines); a serial port or a TCP
    /// line nothing, since what is behind it is known only from `caps=`.
    /// Network services (SMTP, FTP, echo servers …) are never implied: the
    /// fixtures that provide them declare them.
    pub fn default_capabilities(&self) -> BTreeSet<Capability> {
        match self {
            Target::Emulator { .. } => EmulatorTransport::CAPABILITIES.into_iter().collect(),
            Target::Pty { .. } => PtyTransport::CAPABILITIES.into_iter().collect(),
            Target::Serial { .. } | Target::Tcp { .. } | Target::Rfc2217 { .. } | Target::Labgrid { .. } => {
                BTreeSet::new()
            }
        }
    }

    /// Everything the target offers: its defaults plus what `caps=` declares.
    pub fn capabilities(&self) -> BTreeSet<Capability> {
        let mut caps = self.default_capabilities();
        caps.extend(self.declared_capabilities().iter().copied());
        caps
    }

    /// The emulator configuration, for the emulator targets.
    pub fn emulator_config(&self) -> Option<EmulatorConfig> {
        match self {
            Target::Emulator { flash, firmware, attach, .. } | Target::Pty { flash, firmware, attach, .. } => {
                Some(EmulatorConfig {
                    flash: flash.clone(),
                    firmware: firmware.unwrap_or_default(),
                    attach: *attach,
                    ..EmulatorConfig::default()
                })
            }
            Target::Serial { .. } | Target::Tcp { .. } | Target::Rfc2217 { .. } | Target::Labgrid { .. } => None,
        }
    }

    /// Open the serial line. Errors name the target and give the OS cause.
    /// Must be called within a tokio runtime.
    pub async fn open(&self) -> Result<Box<dyn Transport>, TargetError> {
        self.open_with(None).await
    }

    /// Open the serial line; an emulated unit's network dials through
    /// `net_map` (the run's servers standing in for the manual's hosts).
    pub async fn open_with(&self, net_map: Option<&NetMap>) -> Result<Box<dyn Transport>, TargetError> {
        let declared = self.declared_capabilities().iter().copied();
        let config = || {
            let mut config = self.emulator_config().expect("an emulator target");
            if let Some(map) = net_map {
                config.net_map = map.clone();
            }
            config
        };
        let opened: io::Result<Box<dyn Transport>> = match self {
            Target::Emulator { .. } => EmulatorTransport::start(config())
                .map(|t| Box::new(t.with_capabilities(declared)) as Box<dyn Transport>)
                .map_err(io::Error::other),
            Target::Pty { .. } => PtyTransport::start(config())
                .map(|t| Box::new(t.with_capabilities(declared)) as Box<dyn Transport>)
                .map_err(|e| match e {
                    PtyError::Open(e) => e,
                    PtyError::Setup { ref cause, .. } => io::Error::new(cause.kind(), e.to_string()),
                    e @ PtyError::Emulator(_) => io::Error::other(e),
                }),
            Target::Serial { path, settings, .. } => SerialTransport::open(path, settings)
                .map(|t| Box::new(t.with_capabilities(declared)) as Box<dyn Transport>),
            Target::Tcp { host, port, .. } => TcpTransport::connect(host, *port)
                .await
                .map(|t| Box::new(t.with_capabilities(declared)) as Box<dyn Transport>),
            Target::Rfc2217 { host, port, settings, .. } => super::Rfc2217Transport::connect(host, *port, settings)
                .await
                .map(|t| Box::new(t.with_capabilities(declared)) as Box<dyn Transport>),
            Target::Labgrid { place, coordinator, settings, .. } => {
                let client = super::labgrid::Client::new(coordinator.clone());
                match super::labgrid::endpoint(&client, place) {
                    Ok((host, port)) => super::labgrid::connect(&host, port, settings)
                        .await
                        .map(|t| Box::new(t.with_capabilities(declared)) as Box<dyn Transport>),
                    Err(e) => Err(e),
                }
            }
        };
        let opened = opened.map_err(|cause| TargetError::Open { target: self.to_string(), cause })?;
        // CI's fault injection (split reads, a late <LF>): see transport::fault.
        match super::Faults::from_env()
            .map_err(|e| TargetError::Invalid { target: self.to_string(), cause: e.to_string() })?
        {
            Some(faults) => Ok(Box::new(super::FaultInjector::new(opened, faults))),
            None => Ok(opened),
        }
    }
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Target, TargetError> {
        let text = text.trim();
        let target = || text.to_string();
        let (scheme, rest) = text.split_once(':').ok_or_else(|| TargetError::MissingScheme { target: target() })?;
        let (body, query) = match rest.split_once('?') {
            Some((body, query)) => (body, query),
            None => (rest, ""),
        };
        let mut options = Options::parse(text, scheme, query)?;
        let caps = match options.take("caps") {
            Some(list) => parse_capabilities(text, list)?,
            None => BTreeSet::new(),
        };
        let target = match scheme {
            "emu" | "pty" => {
                if !body.is_empty() {
                    return Err(TargetError::Invalid {
                        target: target(),
                        cause: format!("{scheme}: takes no path (write {scheme}: or {scheme}:?flash=FILE)"),
                    });
                }
                let flash = options.take("flash").map(PathBuf::from);
                let attach = match options.take("attach") {
                    None => Attach::default(),
                    Some(mode) => mode.parse().map_err(|cause| TargetError::Invalid { target: target(), cause })?,
                };
                let firmware = match options.take("profile") {
                    None => None,
                    Some(value) => Some(Firmware::parse(value).ok_or_else(|| TargetError::InvalidOption {
                        target: target(),
                        option: "profile".to_string(),
                        value: value.to_string(),
                        expected: Firmware::ALL.map(Firmware::name).join(" or "),
                    })?),
                };
                options.finish(&["flash", "profile", "attach", "caps"])?;
                if scheme == "emu" {
                    Target::Emulator { flash, firmware, attach, caps }
                } else {
                    Target::Pty { flash, firmware, attach, caps }
                }
            }
            "serial" | "rfc2217" => {
                if body.is_empty() {
                    return Err(TargetError::Invalid {
                        target: target(),
                        cause: if scheme == "serial" {
                            "serial: needs a device path, e.g. serial:/dev/ttyUSB0".to_string()
                        } else {
                            "rfc2217: needs HOST:PORT, e.g. rfc2217:localhost:3001".to_string()
                        },
                    });
                }
                let mut settings = SerialSettings::default();
                for key in SerialSettings::KEYS {
                    if scheme == "rfc2217" && key == "flow" {
                        continue; // refused below, as unknown
                    }
                    if let Some(value) = options.take(key) {
                        settings.set(key, value).map_err(|e| match e {
                            SettingError::InvalidValue { expected } => TargetError::InvalidOption {
                                target: target(),
                                option: key.to_string(),
                                value: value.to_string(),
                                expected,
                            },
                            // Only known keys are passed.
                            SettingError::UnknownKey => TargetError::Invalid {
                                target: target(),
                                cause: format!("`{key}` is not a serial setting"),
                            },
                        })?;
                    }
                }
                // RFC 2217 carries the line's settings, not its flow control.
                let mut valid: Vec<&str> =
                    SerialSettings::KEYS.iter().copied().filter(|k| scheme == "serial" || *k != "flow").collect();
                valid.push("caps");
                options.finish(&valid)?;
                if scheme == "rfc2217" {
                    let (host, port) = parse_host_port(text, body)?;
                    Target::Rfc2217 { host, port, settings, caps }
                } else {
                    Target::Serial { path: body.to_string(), settings, caps }
                }
            }
            "labgrid" => {
                if body.is_empty() {
                    return Err(TargetError::Invalid {
                        target: target(),
                        cause: "labgrid: needs a place name, e.g. labgrid:mtg-unit-1".to_string(),
                    });
                }
                let coordinator = options.take("coordinator").map(str::to_string);
                let mut settings = SerialSettings::default();
                for key in SerialSettings::KEYS.iter().copied().filter(|k| *k != "flow") {
                    if let Some(value) = options.take(key) {
                        settings.set(key, value).map_err(|_| TargetError::InvalidOption {
                            target: target(),
                            option: key.to_string(),
                            value: value.to_string(),
                            expected: "a serial setting as in rfc2217:".to_string(),
                        })?;
                    }
                }
                let mut valid: Vec<&str> = SerialSettings::KEYS.iter().copied().filter(|k| *k != "flow").collect();
                valid.extend(["coordinator", "caps"]);
                options.finish(&valid)?;
                Target::Labgrid { place: body.to_string(), coordinator, settings, caps }
            }
            "tcp" => {
                let (host, port) = parse_host_port(text, body)?;
                options.finish(&["caps"])?;
                Target::Tcp { host, port, caps }
            }
            "" => return Err(TargetError::MissingScheme { target: target() }),
            other => return Err(TargetError::UnknownScheme { target: target(), scheme: other.to_string() }),
        };
        Ok(target)
    }
}

/// `HOST:PORT`, the host possibly a bracketed IPv6 address.
fn parse_host_port(text: &str, body: &str) -> Result<(String, u16), TargetError> {
    let invalid = |cause: String| TargetError::Invalid { target: text.to_string(), cause };
    let (host, port) =
        body.rsplit_once(':').ok_or_else(|| invalid("tcp: needs HOST:PORT, e.g. tcp:localhost:5000".to_string()))?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .ok_or_else(|| invalid(format!("unbalanced `[` in host `{host}`: write tcp:[::1]:5000")))?,
        None => host,
    };
    if host.is_empty() {
        return Err(invalid("tcp: needs a host before the port, e.g. tcp:localhost:5000".to_string()));
    }
    let port = port.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| TargetError::InvalidOption {
        target: text.to_string(),
        option: "port".to_string(),
        value: port.to_string(),
        expected: "a TCP port number, 1 to 65535".to_string(),
    })?;
    Ok((host.to_string(), port))
}

/// `gprs,smtp`: every name must be a known capability.
fn parse_capabilities(text: &str, list: &str) -> Result<BTreeSet<Capability>, TargetError> {
    let mut caps = BTreeSet::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        let cap = Capability::parse(name).ok_or_else(|| TargetError::UnknownCapability {
            target: text.to_string(),
            name: name.to_string(),
            valid: Capability::ALL.map(Capability::name).join(", "),
        })?;
        caps.insert(cap);
    }
    Ok(caps)
}

/// The `KEY=VALUE&…` part of a target, consumed key by key so that leftovers
/// are reported as unknown.
struct Options<'t> {
    text: &'t str,
    scheme: &'t str,
    pairs: Vec<(&'t str, &'t str)>,
}

impl<'t> Options<'t> {
    fn parse(text: &'t str, scheme: &'t str, query: &'t str) -> Result<Options<'t>, TargetError> {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| TargetError::Invalid {
                target: text.to_string(),
                cause: format!("option `{pair}` has no value: write KEY=VALUE"),
            })?;
            if key.is_empty() {
                return Err(TargetError::Invalid {
                    target: text.to_string(),
                    cause: format!("option `{pair}` has no name: write KEY=VALUE"),
                });
            }
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(TargetError::Invalid {
                    target: text.to_string(),
                    cause: format!("option `{key}` is given twice"),
                });
            }
            pairs.push((key, value));
        }
        Ok(Options { text, scheme, pairs })
    }

    fn take(&mut self, key: &str) -> Option<&'t str> {
        let i = self.pairs.iter().position(|(k, _)| *k == key)?;
        Some(self.pairs.remove(i).1)
    }

    /// Fail on the first option nobody took.
    fn finish(self, valid: &[&str]) -> Result<(), TargetError> {
        match self.pairs.first() {
            None => Ok(()),
            Some((key, _)) => Err(TargetError::UnknownOption {
                target: self.text.to_string(),
                scheme: self.scheme.to_string(),
                option: key.to_string(),
                valid: valid.join(", "),
            }),
        }
    }
}

/// The canonical text: options in a fixed order, defaults left out, so that
/// it parses back to the same target.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut options: Vec<(&str, String)> = Vec::new();
        match self {
            Target::Emulator { flash, firmware, attach, .. } | Target::Pty { flash, firmware, attach, .. } => {
                let scheme = if matches!(self, Target::Emulator { .. }) { "emu" } else { "pty" };
                write!(f, "{scheme}:")?;
                if let Some(flash) = flash {
                    options.push(("flash", flash.display().to_string()));
                }
                if let Some(firmware) = firmware {
                    options.push(("profile", firmware.to_string()));
                }
                if *attach == Attach::Auto {
                    options.push(("attach", "auto".to_string()));
                }
            }
            Target::Serial { path, settings, .. } => {
                write!(f, "serial:{path}")?;
                options.extend(settings.non_default_options());
            }
            Target::Tcp { host, port, .. } => write!(f, "tcp:{}", display_addr(host, *port))?,
            Target::Rfc2217 { host, port, settings, .. } => {
                write!(f, "rfc2217:{}", display_addr(host, *port))?;
                options.extend(settings.non_default_options());
            }
            Target::Labgrid { place, coordinator, settings, .. } => {
                write!(f, "labgrid:{place}")?;
                if let Some(c) = coordinator {
                    options.push(("coordinator", c.clone()));
                }
                options.extend(settings.non_default_options());
            }
        }
        let caps = self.declared_capabilities();
        if !caps.is_empty() {
            let names: Vec<&str> = caps.iter().map(|c| c.name()).collect();
            options.push(("caps", names.join(",")));
        }
        for (i, (key, value)) in options.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{key}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod rfc2217_tests {
    use super::*;

    #[test]
    fn rfc2217_targets_parse_and_print_back() {
        let t: Target = "rfc2217:rig-3.lab:3001?baud=9600&parity=even&caps=gprs".parse().unwrap();
        match &t {
            Target::Rfc2217 { host, port, settings, .. } => {
                assert_eq!((host.as_str(), *port, settings.baud), ("rig-3.lab", 3001, 9600));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.to_string().parse::<Target>().unwrap(), t);
        assert!("rfc2217:host:1?flow=rtscts".parse::<Target>().is_err());
        assert!("rfc2217:?baud=9600".parse::<Target>().is_err());
    }
}

#[cfg(test)]
mod labgrid_tests {
    use super::*;

    #[test]
    fn labgrid_targets_parse_and_print_back() {
        let t: Target = "labgrid:mtg-unit-1?coordinator=127.0.0.1:20408&baud=9600&caps=gprs".parse().unwrap();
        match &t {
            Target::Labgrid { place, coordinator, settings, .. } => {
                assert_eq!(place, "mtg-unit-1");
                assert_eq!(coordinator.as_deref(), Some("127.0.0.1:20408"));
                assert_eq!(settings.baud, 9600);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.to_string().parse::<Target>().unwrap(), t);
        assert!(t.default_capabilities().is_empty());
        assert!("labgrid:?caps=gprs".parse::<Target>().is_err());
        assert!("labgrid:p?flow=rtscts".parse::<Target>().is_err());
    }
}
