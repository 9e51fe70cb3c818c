//! A serial port, through tokio-serial.
//!
//! This is the transport for a physical unit on a USB adapter or a COM port,
//! and also the host side of the `pty:` target, so that the same code path is
//! exercised against the emulator as against real hardware.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_serial::{DataBits, FlowControl, Parity, SerialPort, SerialPortBuilderExt, SerialStream, StopBits};

use super::{ControlError, ControlFuture, Transport};
use crate::scenario::{Capability, Control};

/// Line settings of a serial port.
///
/// The default is the manual's setting for the units: 115200 baud, 8 data
/// bits, no parity, 1 stop bit, no flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialSettings {
    pub baud: u32,
    pub data_bits: DataBits,
    pub parity: Parity,
    pub stop_bits: StopBits,
    pub flow_control: FlowControl,
}

impl Default for SerialSettings {
    fn default() -> Self {
        SerialSettings {
            baud: 115_200,
            data_bits: DataBits::Eight,
            parity: Parity::None,
            stop_bits: StopBits::One,
            flow_control: FlowControl::None,
        }
    }
}

impl SerialSettings {
    /// The option keys [`SerialSettings::set`] understands, in canonical order.
    pub const KEYS: [&'static str; 5] = ["baud", "data", "parity", "stop", "flow"];

    /// Set one option from its text form (`baud=9600`, `parity=even` …).
    ///
    /// On error, returns what was expected, for the caller to put into its
    /// own message (which knows the whole target text).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SettingError> {
        let bad = |expected: &str| SettingError::InvalidValue { expected: expected.to_string() };
        match key {
            "baud" => {
                self.baud = value
                    .parse::<u32>()
                    .ok()
                    .filter(|&b| b > 0)
                    .ok_or_else(|| bad("a positive number of bits per second, e.g. 115200"))?;
            }
            "data" => {
                self.data_bits = match value {
                    "5" => DataBits::Five,
                    "6" => DataBits::Six,
                    "7" => DataBits::Seven,
                    "8" => DataBits::Eight,
                    _ => return Err(bad("5, 6, 7 or 8")),
                };
            }
            "parity" => {
                self.parity = match value {
                    "none" => Parity::None,
                    "even" => Parity::Even,
                    "odd" => Parity::Odd,
                    _ => return Err(bad("none, even or odd")),
                };
            }
            "stop" => {
                self.stop_bits = match value {
                    "1" => StopBits::One,
                    "2" => StopBits::Two,
                    _ => return Err(bad("1 or 2")),
                };
            }
            "flow" => {
                self.flow_control = match value {
                    "none" => FlowControl::None,
                    "rtscts" => FlowControl::Hardware,
                    "xonxoff" => FlowControl::Software,
                    _ => return Err(bad("none, rtscts or xonxoff")),
                };
            }
            _ => return Err(SettingError::UnknownKey),
        }
        Ok(())
    }

    /// The options that differ from the default, as `(key, value)` pairs in
    /// canonical order: the shortest text that gives back these settings.
    pub fn non_default_options(&self) -> Vec<(&'static str, String)> {
        let default = SerialSettings::default();
        let mut out = Vec::new();
        if self.baud != default.baud {
            out.push(("baud", self.baud.to_string()));
        }
        if self.data_bits != default.data_bits {
            out.push(("data", data_bits_number(self.data_bits).to_string()));
        }
        if self.parity != default.parity {
            out.push(("parity", parity_name(self.parity).to_string()));
        }
        if self.stop_bits != default.stop_bits {
            out.push(("stop", stop_bits_number(self.stop_bits).to_string()));
        }
        if self.flow_control != default.flow_control {
            out.push(("flow", flow_name(self.flow_control).to_string()));
        }
        out
    }
}

/// Why [`SerialSettings::set`] refused an option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error("not a serial setting (use baud, data, parity, stop or flow)")]
    UnknownKey,
    #[error("expected {expected}")]
    InvalidValue { expected: String },
}

/// `115200 8N1`, `9600 7E2 rtscts`: the usual shorthand.
impl fmt::Display for SerialSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parity = match self.parity {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
        };
        write!(f, "{} {}{}{}", self.baud, data_bits_number(self.data_bits), parity, stop_bits_number(self.stop_bits))?;
        if self.flow_control != FlowControl::None {
            write!(f, " {}", flow_name(self.flow_control))?;
        }
        Ok(())
    }
}

fn data_bits_number(bits: DataBits) -> u8 {
    match bits {
        DataBits::Five => 5,
        DataBits::Six => 6,
        DataBits::Seven => 7,
        DataBits::Eight => 8,
    }
}

fn parity_name(parity: Parity) -> &'static str {
    match parity {
        Parity::None => "none",
        Parity::Even => "even",
        Parity::Odd => "odd",
    }
}

fn stop_bits_number(bits: StopBits) -> u8 {
    match bits {
        StopBits::One => 1,
        StopBits::Two => 2,
    }
}

fn flow_name(flow: FlowControl) -> &'static str {
    match flow {
        FlowControl::None => "none",
        FlowControl::Hardware => "rtscts",
        FlowControl::Software => "xonxoff",
    }
}

/// A modem-line ioctl that failed. A port without modem lines (a PTY, some
/// adapters) refuses them with ENOTTY or EINVAL: say "not available on this
/// port" rather than the bare OS error, so that a scenario needing the lines
/// is seen to be on the wrong rig, not to have failed.
fn unavailable(line: &str, e: tokio_serial::Error) -> String {
    // serialport keeps the OS's description, not its code.
    let text = e.to_string();
    let refused = ["Inappropriate ioctl", "Not a typewriter", "Invalid argument", "ENOTTY", "EINVAL"];
    if refused.iter().any(|r| text.contains(r)) {
        format!("{line} is not available on this port ({text})")
    } else {
        format!("{line}: {text}")
    }
}

/// Why a line check did not hold.
enum LineCheck {
    Io(String),
    Mismatch(String),
}

/// An open serial port.
///
/// DTR is left alone on open (a PTY has no DTR, and a real unit may react
/// to it); it is driven only by an explicit [`Control::Dtr`].
pub struct SerialTransport {
    stream: SerialStream,
    path: String,
    settings: SerialSettings,
    caps: BTreeSet<Capability>,
}

impl SerialTransport {
    /// Read DCD and RI from the port and compare them with what is expected.
    fn check_lines(&mut self, wanted: [Option<bool>; 4]) -> Result<(), LineCheck> {
        use tokio_serial::SerialPort;
        let show = |b: bool| if b { "on" } else { "off" };
        let mut wrong = Vec::new();
        for (want, name) in wanted.into_iter().zip(["DCD", "RI", "DSR", "CTS"]) {
            let Some(want) = want else { continue };
            let is = match name {
                "DCD" => self.stream.read_carrier_detect(),
                "RI" => self.stream.read_ring_indicator(),
                "DSR" => self.stream.read_data_set_ready(),
                _ => self.stream.read_clear_to_send(),
            }
            .map_err(|e| LineCheck::Io(unavailable(name, e)))?;
            if is != want {
                wrong.push(format!("{name} is {}", show(is)));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(LineCheck::Mismatch(wrong.join(", ")))
        }
    }

    /// Open `path` with `settings`. Must be called within a tokio runtime
    /// (the port is registered with its reactor).
    ///
    /// The error names the port and carries the OS cause.
    pub fn open(path: &str, settings: &SerialSettings) -> io::Result<SerialTransport> {
        let stream = tokio_serial::new(path, settings.baud)
            .data_bits(settings.data_bits)
            .parity(settings.parity)
            .stop_bits(settings.stop_bits)
            .flow_control(settings.flow_control)
            .open_native_async()
            .map_err(|e| {
                let e = io::Error::from(e);
                io::Error::new(e.kind(), format!("serial port {path}: {e}"))
            })?;
        Ok(SerialTransport { stream, path: path.to_string(), settings: *settings, caps: BTreeSet::new() })
    }

    /// Declare capabilities (a bare serial port offers none by itself: what
    /// is behind it is known only to whoever wired the rig).
    pub fn with_capabilities(mut self, caps: impl IntoIterator<Item = Capability>) -> Self {
        self.caps.extend(caps);
        self
    }

    /// The device path.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn settings(&self) -> &SerialSettings {
        &self.settings
    }

    /// Set Request To Send. The OS may refuse (a PTY has no modem lines).
    pub fn set_rts(&mut self, on: bool) -> io::Result<()> {
        self.stream.write_request_to_send(on).map_err(|e| {
            let kind = io::Error::from(e.clone()).kind();
            io::Error::new(kind, format!("serial port {}: {}", self.path, unavailable("RTS", e)))
        })
    }

    /// Set Data Terminal Ready. The OS may refuse (a PTY has no modem lines).
    pub fn set_dtr(&mut self, on: bool) -> io::Result<()> {
        self.stream.write_data_terminal_ready(on).map_err(|e| {
            let kind = io::Error::from(e.clone()).kind();
            io::Error::new(kind, format!("serial port {}: {}", self.path, unavailable("DTR", e)))
        })
    }
}

impl AsyncRead for SerialTransport {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SerialTransport {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    /// Nothing is buffered on our side: written bytes are already with the
    /// kernel driver, which transmits them. tokio-serial's own flush calls
    /// `tcdrain`, which blocks the runtime thread until the UART has sent
    /// everything (milliseconds at 115200 baud, while replies pile up
    /// unread), so it is deliberately not called.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// A serial line has no half-close; the port is closed on drop.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Transport for SerialTransport {
    fn describe(&self) -> String {
        format!("serial port {} ({})", self.path, self.settings)
    }

    fn capabilities(&self) -> BTreeSet<Capability> {
        self.caps.clone()
    }

    fn control<'a>(&'a mut self, control: &'a Control) -> ControlFuture<'a> {
        let result = match control {
            Control::Dtr(on) => self.set_dtr(*on).map_err(|e| ControlError::Failed {
                target: self.describe(),
                control: format!("{control:?}"),
                cause: e.to_string(),
            }),
            Control::Rts(on) => self.set_rts(*on).map_err(|e| ControlError::Failed {
                target: self.describe(),
                control: format!("{control:?}"),
                cause: e.to_string(),
            }),
            Control::Lines { dcd, ri, dsr, cts } => self.check_lines([*dcd, *ri, *dsr, *cts]).map_err(|e| match e {
                LineCheck::Io(cause) => {
                    ControlError::Failed { target: self.describe(), control: format!("{control:?}"), cause }
                }
                LineCheck::Mismatch(detail) => ControlError::Mismatch { target: self.describe(), detail },
            }),
            _ => Err(ControlError::Unsupported { target: self.describe(), control: format!("{control:?}") }),
        };
        Box::pin(std::future::ready(result))
    }
}
