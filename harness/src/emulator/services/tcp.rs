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
//! - Before a client has connected, an `<ETX>` from the host aborts the
//!   listen (p.31). What the unit answers is not recovered: the emulator
//!   closes the listening socket and answers `OK`, as `#LTCPSTOP` does
//!   (p.32) (**inferred**); the `<ETX>` is not echoed.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::data_mode::{Coding, DataMode, ETX};
use super::Running;
use crate::at::codes::{Condition, StackError};
use crate::at::command::Form;
use crate::at::parameters::{Parameter, Value, DLEMODE, TCPPORT, TCPSERV, TCPTXDELAY};
use crate::at::response::{Final, Info};
use crate::emulator::net::{Event, Failure, Request};
use crate::emulator::radio::Session;
use crate::emulator::{Error, Mode, Modem, Outcome};

/// A TCP socket of the stack (ids 1 and 2, rev C).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socket {
    Listening { id: u8 },
    Connecting { id: u8 },
    Online { id: u8, data: DataMode },
}

impl Socket {
    pub fn id(&self) -> u8 {
        match self {
            Socket::Listening { id } | Socket::Connecting { id } | Socket::Online { id, .. } => *id,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Socket::Listening { id } => format!("TCP socket {id} listening"),
            Socket::Connecting { id } => format!("TCP socket {id} connecting"),
            Socket::Online { id, data } => format!("TCP socket {id} online ({:?} coding)", data.coding()),
        }
    }

    pub(super) fn data_mode(&mut self) -> Option<&mut DataMode> {
        match self {
            Socket::Online { data, .. } => Some(data),
            _ => None,
        }
    }
}

impl Modem {
    /// `AT#LTCPSTART`, `AT#LTCPSTOP`, `AT#OTCP` with their optional `=id`
    /// (rev C; rev B firmware had no id, which means socket 1).
    pub(crate) fn tcp_command(&mut self, name: &str, form: Form<'_>, _now: Instant) -> Outcome {
        let socket = match form {
            Form::Action => 1,
            Form::Set(id) => match id.trim() {
                "1" => 1,
                "2" => 2,
                _ => return Modem::answer(Condition::BadSocketId),
            },
            Form::Test => return Modem::answer(Condition::BadSocketId),
            Form::Read | Form::Malformed => return Outcome::Error(Error::Stack(StackError::SyntaxError)),
        };
        if name == "LTCPSTOP" {
            if let Some(Running::Tcp(Socket::Listening { id })) = self.service {
                if id == socket {
                    self.net_requests.push(Request::Close { socket });
                    self.set_service(None, "AT#LTCPSTOP");
                }
            }
            return Outcome::Continue;
        }
        if !matches!(self.radio.session, Session::Connected { .. }) {
            return Outcome::Error(Error::Stack(StackError::NotActive));
        }
        if self.service.is_some() {
            return Modem::answer(Condition::SecondService);
        }
        let port = match self.param(&TCPPORT, Some(socket)) {
            Value::Int(p) if p > 0 => p as u16,
            _ => return Modem::answer(Condition::UnusableConfiguration),
        };
        let server = self.param(&TCPSERV, Some(socket)).to_string();
        if name == "LTCPSTART" {
            // In listen mode TCPSERV is the allowed client, dotted decimal
            // only (App. B p.77); 255.255.255.255 allows any.
            let allowed = match server.parse::<IpAddr>() {
                Ok(ip) if ip == IpAddr::from([255, 255, 255, 255]) => None,
                Ok(ip) => Some(ip),
                Err(_) => return Modem::answer(Condition::UnusableConfiguration),
            };
            self.net_requests.push(Request::Listen { socket, port, allowed });
            self.set_service(Some(Running::Tcp(Socket::Listening { id: socket })), "AT#LTCPSTART");
            Outcome::Continue
        } else {
            if server.is_empty() {
                return Modem::answer(Condition::UnusableConfiguration);
            }
            self.net_requests.push(Request::Connect { socket, host: server, port });
            self.set_service(Some(Running::Tcp(Socket::Connecting { id: socket })), "AT#OTCP");
            // The command answers when the connection is up or has failed;
            // what the host sends meanwhile waits.
            self.set_mode(Mode::Busy, "AT#OTCP connecting");
            Outcome::Deferred
        }
    }

    /// What the network did to the TCP service.
    pub(super) fn tcp_event(&mut self, event: Event, now: Instant) {
        let f = self.format();
        let Some(Running::Tcp(current)) = &self.service else { return };
        let current_id = current.id();
        match event {
            Event::Connected { socket, peer } => {
                let connecting = matches!(current, Socket::Connecting { .. });
                let waiting = matches!(current, Socket::Listening { .. }) || connecting;
                if socket != current_id || !waiting {
                    self.net_requests.push(Request::Close { socket });
                    return;
                }
                let coding =
                    if self.param_int_socket(&DLEMODE, socket) == 1 { Coding::Dle } else { Coding::Transparent };
                let delay = Duration::from_millis(self.param_int_socket(&TCPTXDELAY, socket).max(0) as u64);
                let online = Socket::Online { id: socket, data: DataMode::new(coding, delay) };
                self.set_service(Some(Running::Tcp(online)), &format!("connected to {peer}"));
                f.final_result(&mut self.out, Final::Info(Info::WaitingForData));
                if connecting {
                    self.release_queued(now);
                }
            }
            Event::Data { socket, bytes } if socket == current_id => {
                if let Some(data) = self.service.as_mut().and_then(Running::data_mode) {
                    data.to_host(&bytes, &mut self.out);
                }
            }
            Event::PeerClosed { socket } if socket == current_id => {
                let Socket::Online { data, .. } = current else { return };
                let dle = data.coding() == Coding::Dle;
                self.set_service(None, "the peer closed the connection");
                if dle {
                    self.out.push(ETX);
                }
                f.final_result(&mut self.out, Final::Info(Info::SocketClosed));
                f.final_result(&mut self.out, Final::Ok);
            }
            Event::Failed { socket, failure, cause } if socket == current_id => {
                tracing::info!(socket, ?failure, "{cause}");
                match current {
                    Socket::Connecting { .. } => {
                        self.set_service(None, "the connection failed");
                        // 38027 is printed in every service's table (p.21-22).
                        if failure == Failure::Resolve {
                            f.stack_error(&mut self.out, StackError::NotResolved);
                        } else {
                            self.answer_now(Condition::TcpOpenFailed);
                        }
                        self.release_queued(now);
                    }
                    Socket::Listening { .. } => {
                        self.set_service(None, "listening failed");
                        self.answer_now(Condition::CannotListen);
                    }
                    Socket::Online { .. } => {}
                }
            }
            // Events of other sockets, datagrams and queries are not this service's.
            _ => {}
        }
    }

    /// The host closed the socket with an unescaped ETX (p.30/32, App. A
    /// p.48): what it typed has been sent; close, `OK`.
    pub(super) fn tcp_local_close(&mut self) {
        let Some(Running::Tcp(s)) = &self.service else { return };
        let socket = s.id();
        self.net_requests.push(Request::Close { socket });
        self.set_service(None, "the host sent ETX");
        self.format().final_result(&mut self.out, Final::Ok);
    }

    /// An `<ETX>` in command mode while a socket listens with no client
    /// yet aborts the listen (p.31): close it, `OK` (inferred, see the
    /// module doc). Returns whether `b` was taken so.
    pub(crate) fn etx_aborts_listen(&mut self, b: u8) -> bool {
        let Some(Running::Tcp(Socket::Listening { id })) = self.service else { return false };
        if b != ETX {
            return false;
        }
        self.net_requests.push(Request::Close { socket: id });
        self.set_service(None, "the host sent ETX before a client connected");
        self.format().final_result(&mut self.out, Final::Ok);
        true
    }

    fn param_int_socket(&self, param: &Parameter, socket: u8) -> i64 {
        match self.param(param, Some(socket)) {
            Value::Int(n) => n,
            _ => 0,
        }
    }
}
