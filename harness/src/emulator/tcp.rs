//! Chapter 5, TCP socket services: `AT#LTCPSTART`, `AT#LTCPSTOP`, `AT#OTCP`
//! and the data mode they open (p.30-32, App. A p.48, App. B p.50-52, 77-78).
//!
//! - `AT#LTCPSTART=id` answers `OK` at once and listens on TCPPORT (App. A
//!   p.48); while it listens the service runs, so parameters cannot be set
//!   (`#CME ERROR: 37123`). A client allowed by TCPSERV gets the unit into
//!   data mode with `Ok_Info_WaitingForData`.
//! - `AT#OTCP=id` connects to TCPSERV:TCPPORT and answers
//!   `Ok_Info_WaitingForData` once connected.
//! - In data mode with DLEMODE=1, an `<ETX>` not preceded by `<DLE>` closes
//!   the socket (`OK`); payload ETX/DLE travel as `<DLE><ETX>`/`<DLE><DLE>`
//!   both ways. A peer close is reported by `<ETX>` (DLEMODE=1 only), then
//!   `Ok_Info_SocketClosed` and `OK`. With DLEMODE=0 the host cannot close.
//! - Payload from the host is sent after TCPTXDELAY ms, or at once when a
//!   frame (1460 bytes) is full.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::network::{Event, Request};
use super::radio::Session;
use super::{Error, Mode, Modem, Outcome, Timed};
use crate::at::codes::StackError;
use crate::at::parameters::{Parameter, Value, DLEMODE, TCPPORT, TCPSERV, TCPTXDELAY};
use crate::at::response::{Final, Info};

const ETX: u8 = 0x03;
const DLE: u8 = 0x10;
/// A full TCP frame of user data.
const FRAME: usize = 1460;

/// A running IP service (p.53: while one runs, parameters cannot be set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Service {
    Listening { socket: u8 },
    Connecting { socket: u8 },
    Online { socket: u8, dle: bool, escaped: bool, pending: Vec<u8>, flush_armed: bool },
}

impl Modem {
    /// `AT#LTCPSTART`, `AT#LTCPSTOP`, `AT#OTCP` with their optional `=id`
    /// (rev C; rev B firmware had no id, which means socket 1).
    pub(crate) fn tcp_command(&mut self, name: &str, rest: &str, now: Instant) -> Outcome {
        let socket = match rest {
            "" => 1,
            r => match r.strip_prefix('=').map(str::trim) {
                Some("1") => 1,
                Some("2") => 2,
                Some(_) => return Outcome::Error(Error::Stack(StackError::BadArgumentValue)),
                None => return Outcome::Error(Error::Stack(StackError::SyntaxError)),
            },
        };
        if name == "LTCPSTOP" {
            if let Some(Service::Listening { socket: s }) = self.service {
                if s == socket {
                    self.service = None;
                    self.net_requests.push(Request::Close { socket });
                }
            }
            return Outcome::Continue;
        }
        if !matches!(self.radio.session, Session::Connected { .. }) {
            return Outcome::Error(Error::Stack(StackError::NotActive));
        }
        if self.service.is_some() {
            return Outcome::Error(Error::Stack(StackError::ServiceRunning));
        }
        let port = match self.param(&TCPPORT, Some(socket)) {
            Value::Int(p) if p > 0 => p as u16,
            _ => return Outcome::Error(Error::Stack(StackError::BadConfiguration)),
        };
        let server = self.param(&TCPSERV, Some(socket)).to_string();
        if name == "LTCPSTART" {
            // In listen mode TCPSERV is the allowed client, dotted decimal
            // only (App. B p.77); 255.255.255.255 allows any.
            let allowed = match server.parse::<IpAddr>() {
                Ok(ip) if ip == IpAddr::from([255, 255, 255, 255]) => None,
                Ok(ip) => Some(ip),
                Err(_) => return Outcome::Error(Error::Stack(StackError::BadConfiguration)),
            };
            self.net_requests.push(Request::Listen { socket, port, allowed });
            self.service = Some(Service::Listening { socket });
            Outcome::Continue
        } else {
            if server.is_empty() {
                return Outcome::Error(Error::Stack(StackError::BadConfiguration));
            }
            self.net_requests.push(Request::Connect { socket, host: server, port });
            self.service = Some(Service::Connecting { socket });
            self.mode = Mode::Busy;
            let _ = now;
            Outcome::Deferred
        }
    }

    /// Network work requested since the last call (performed by the serve loop).
    pub fn take_requests(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.net_requests)
    }

    /// What the network did.
    pub fn net_event(&mut self, event: Event, now: Instant) {
        let f = self.format();
        match event {
            Event::Listening { .. } => {}
            Event::Connected { socket, .. } => match self.service {
                Some(Service::Listening { socket: s }) | Some(Service::Connecting { socket: s }) if s == socket => {
                    let was_connecting = matches!(self.service, Some(Service::Connecting { .. }));
                    let dle = self.param_int_socket(&DLEMODE, socket) == 1;
                    self.service =
                        Some(Service::Online { socket, dle, escaped: false, pending: Vec::new(), flush_armed: false });
                    f.final_result(&mut self.out, Final::Info(Info::WaitingForData));
                    self.mode = Mode::Data;
                    if was_connecting {
                        self.release_queued(now);
                    }
                }
                _ => self.net_requests.push(Request::Close { socket }),
            },
            Event::Data { socket, bytes } => {
                if let Some(Service::Online { socket: s, dle, .. }) = &self.service {
                    if *s == socket {
                        if *dle {
                            for b in bytes {
                                if b == ETX || b == DLE {
                                    self.out.push(DLE);
                                }
                                self.out.push(b);
                            }
                        } else {
                            self.out.extend_from_slice(&bytes);
                        }
                    }
                }
            }
            Event::PeerClosed { socket } => {
                if let Some(Service::Online { socket: s, dle, .. }) = &self.service {
                    if *s == socket {
                        let dle = *dle;
                        self.service = None;
                        self.mode = Mode::Command;
                        if dle {
                            self.out.push(ETX);
                        }
                        f.final_result(&mut self.out, Final::Info(Info::SocketClosed));
                        f.final_result(&mut self.out, Final::Ok);
                    }
                }
            }
            Event::Failed { socket, resolve, cause } => {
                eprintln!("mtg-emulator: socket {socket}: {cause}");
                match self.service {
                    Some(Service::Connecting { socket: s }) if s == socket => {
                        self.service = None;
                        f.stack_error(
                            &mut self.out,
                            if resolve { StackError::NotResolved } else { StackError::TcpOpenFailed },
                        );
                        self.release_queued(now);
                    }
                    Some(Service::Listening { socket: s }) if s == socket => {
                        self.service = None;
                        f.stack_error(&mut self.out, StackError::ResourceUnavailable);
                    }
                    _ => {}
                }
            }
        }
    }

    /// A byte from the host in data mode.
    pub(crate) fn data_byte(&mut self, b: u8, now: Instant) {
        let Some(Service::Online { socket, dle, escaped, pending, .. }) = &mut self.service else {
            self.mode = Mode::Command;
            return;
        };
        let socket = *socket;
        if *dle && !*escaped && b == ETX {
            // Local close (p.30/32, App. A p.48): flush, close, `OK`.
            let rest = std::mem::take(pending);
            if !rest.is_empty() {
                self.net_requests.push(Request::Send { socket, bytes: rest });
            }
            self.net_requests.push(Request::Close { socket });
            self.service = None;
            self.mode = Mode::Command;
            self.format().final_result(&mut self.out, Final::Ok);
            return;
        }
        if *dle && !*escaped && b == DLE {
            *escaped = true;
            return;
        }
        *escaped = false;
        pending.push(b);
        let full = pending.len() >= FRAME;
        let delay = self.param_int_socket(&TCPTXDELAY, socket);
        if full || delay == 0 {
            self.flush(socket);
        } else if let Some(Service::Online { flush_armed, .. }) = &mut self.service {
            if !*flush_armed {
                *flush_armed = true;
                self.schedule(now + Duration::from_millis(delay as u64), Timed::Flush);
            }
        }
    }

    /// Send what the host has typed so far (TCPTXDELAY expired or frame full).
    pub(crate) fn flush(&mut self, target: u8) {
        if let Some(Service::Online { socket, pending, flush_armed, .. }) = &mut self.service {
            if *socket == target || target == 0 {
                *flush_armed = false;
                if !pending.is_empty() {
                    let bytes = std::mem::take(pending);
                    let socket = *socket;
                    self.net_requests.push(Request::Send { socket, bytes });
                }
            }
        }
    }

    /// End of the service when the IP link goes (CONNECTIONSTOP, session lost).
    pub(crate) fn stop_services(&mut self) {
        if let Some(s) = self.service.take() {
            let socket = match s {
                Service::Listening { socket } | Service::Connecting { socket } | Service::Online { socket, .. } => {
                    socket
                }
            };
            self.net_requests.push(Request::Close { socket });
            if self.mode == Mode::Data {
                self.mode = Mode::Command;
            }
        }
    }

    fn param_int_socket(&self, param: &Parameter, socket: u8) -> i64 {
        match self.param(param, Some(socket)) {
            Value::Int(n) => n,
            _ => 0,
        }
    }
}
