//! The IP services that run over a session (ch. 3 to 7): one module per
//! service, one enum of running services, and data mode written once.
//!
//! While a service runs it holds the stack: parameters cannot be set (p.53,
//! `#CME ERROR: 37123`) and no second service starts. Every change of the
//! running service goes through [`Modem::set_service`], which logs it and
//! puts the line in or out of data mode.
//!
//! # Adding a service
//! 1. Write `services/<name>.rs`: the service's state (a type), its commands
//!    as `impl Modem` methods (check the session, send network
//!    [`Request`]s, call `set_service`), and its reaction to network
//!    [`Event`]s.
//! 2. Add one arm to [`Running`] (its `describe`, `data_mode` and `sockets`
//!    arms say how it looks in logs, whether it is in data mode, and what
//!    to close when the session goes) and one arm in `net_event`,
//!    `send_payload` and `end_data_mode` below.
//! 3. Route its AT# commands from the stack command table.

pub mod data_mode;
pub mod ftp;
pub mod mail;
pub mod ping;
pub mod pop3;
pub mod resolver;
pub mod smtp;
pub mod tcp;
pub mod udp;

use std::time::Instant;

pub use data_mode::{Coding, DataMode, HostByte};

use super::net::{Event, Request};
use super::{Mode, Modem, Timed};

/// The service running on the stack, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Running {
    /// A TCP socket of chapter 5.
    Tcp(tcp::Socket),
    /// An `AT#FTPGET` or `AT#FTPPUT` of chapter 4.
    Ftp(Box<ftp::Transfer>),
    /// `#SENDMAILi` or `#PUTMAIL` (ch. 3).
    Smtp(Box<smtp::Smtp>),
    /// `#GETMAIL` (ch. 3).
    Pop3(Box<pop3::Pop3>),
    /// The UDP session of chapter 6.
    Udp(udp::Session),
    /// `#PING` of chapter 7.
    Ping(ping::Ping),
}

impl Running {
    /// How the service shows in logs.
    fn describe(&self) -> String {
        match self {
            Running::Tcp(s) => s.describe(),
            Running::Ftp(t) => t.describe(),
            Running::Smtp(s) => s.describe(),
            Running::Pop3(p) => p.describe(),
            Running::Udp(s) => s.describe(),
            Running::Ping(p) => p.describe(),
        }
    }

    /// The data mode, while the line carries the service's payload.
    pub fn data_mode(&mut self) -> Option<&mut DataMode> {
        match self {
            Running::Tcp(s) => s.data_mode(),
            Running::Ftp(t) => t.data_mode(),
            Running::Smtp(s) => s.data_mode(),
            Running::Pop3(_) => None,
            Running::Udp(s) => s.data_mode(),
            Running::Ping(_) => None,
        }
    }

    /// The network sockets the service holds.
    fn sockets(&self) -> Vec<u8> {
        match self {
            Running::Tcp(s) => vec![s.id()],
            Running::Ftp(_) => vec![ftp::CONTROL, ftp::DATA],
            Running::Smtp(_) => vec![mail::SMTP_SOCKET],
            Running::Pop3(_) => vec![mail::POP3_SOCKET],
            Running::Udp(_) => vec![udp::SOCKET],
            Running::Ping(_) => Vec::new(),
        }
    }
}

impl Modem {
    /// Every change of the running service passes here: it is logged, and
    /// the line follows the service into and out of data mode.
    pub(crate) fn set_service(&mut self, mut next: Option<Running>, why: &str) {
        let from = self.service.as_ref().map(Running::describe).unwrap_or_else(|| "none".into());
        let to = next.as_ref().map(Running::describe).unwrap_or_else(|| "none".into());
        tracing::debug!(%from, %to, why, "service");
        let data = next.as_mut().is_some_and(|s| s.data_mode().is_some());
        self.service = next;
        if data {
            self.set_mode(Mode::Data, why);
        } else if self.mode == Mode::Data {
            self.set_mode(Mode::Command, why);
        }
    }

    /// A service holds the stack's resources (p.53: parameters may be set
    /// online "only if no application process is running").
    pub(crate) fn service_running(&self) -> bool {
        self.service.is_some()
    }

    /// Network work requested since the last call (performed by the unit).
    pub fn take_requests(&mut self) -> Vec<Request> {
        let mut requests = std::mem::take(&mut self.net_requests);
        self.tell_dns_servers(&mut requests);
        requests
    }

    /// What the network did.
    pub fn net_event(&mut self, event: Event, now: Instant) {
        match &self.service {
            Some(Running::Tcp(_)) => self.tcp_event(event, now),
            Some(Running::Ftp(_)) => self.ftp_event(event, now),
            Some(Running::Smtp(_)) => self.smtp_event(event, now),
            Some(Running::Pop3(_)) => self.pop3_event(event, now),
            Some(Running::Udp(_)) => self.udp_event(event, now),
            Some(Running::Ping(_)) => self.ping_event(event, now),
            None => {
                // A connection that arrives after its service ended is closed.
                if let Event::Connected { socket, .. } = event {
                    self.net_requests.push(Request::Close { socket });
                }
            }
        }
    }

    /// A byte from the host in data mode.
    pub(crate) fn data_byte(&mut self, b: u8, now: Instant) {
        if let Some(Running::Smtp(_)) = self.service {
            self.smtp_host_byte(now);
        }
        let Some(mode) = self.service.as_mut().and_then(Running::data_mode) else {
            self.set_mode(Mode::Command, "no service in data mode");
            return;
        };
        match mode.host_byte(b) {
            HostByte::Held => {}
            HostByte::ArmTimer(delay) => self.schedule(now + delay, Timed::Flush),
            HostByte::Flush => self.flush(),
            HostByte::End => {
                self.flush();
                self.end_data_mode(now);
            }
        }
    }

    /// Send what the host has typed so far (TXDELAY expired, frame full, end).
    pub(crate) fn flush(&mut self) {
        let Some(service) = &mut self.service else { return };
        let Some(mode) = service.data_mode() else { return };
        let bytes = mode.take_pending();
        if bytes.is_empty() {
            return;
        }
        match service {
            Running::Tcp(s) => {
                let socket = s.id();
                self.net_requests.push(Request::Send { socket, bytes });
            }
            Running::Ftp(t) => {
                let bytes = t.outgoing(bytes);
                self.net_requests.push(Request::Send { socket: ftp::DATA, bytes });
            }
            Running::Smtp(_) => self.smtp_body(&bytes),
            Running::Udp(s) => {
                // One datagram per flush, to the remote the session fixed (p.34-35).
                if let Some(to) = s.remote() {
                    let (host, port) = (to.ip().to_string(), to.port());
                    self.net_requests.push(Request::SendTo { socket: udp::SOCKET, host, port, bytes });
                }
            }
            Running::Pop3(_) | Running::Ping(_) => {}
        }
    }

    /// The host ended the data mode (an unescaped ETX, the mail terminator).
    fn end_data_mode(&mut self, now: Instant) {
        match &self.service {
            Some(Running::Tcp(_)) => self.tcp_local_close(),
            Some(Running::Ftp(_)) => self.ftp_host_end(now),
            Some(Running::Smtp(_)) => self.smtp_end_of_body(),
            Some(Running::Udp(_)) => self.udp_local_close(),
            Some(Running::Pop3(_)) | Some(Running::Ping(_)) | None => {}
        }
    }

    /// End of the service when the IP link goes (CONNECTIONSTOP, session lost).
    pub(crate) fn stop_services(&mut self) {
        if matches!(self.service, Some(Running::Ftp(_))) {
            self.ftp_link_lost();
        }
        // A socket in data mode with ETX coding ends its data with an ETX
        // before the error that follows (p.36: "on an error the stack first
        // sends an <ETX>, then the error message"; read for every socket).
        if let Some(Running::Udp(_) | Running::Tcp(_)) = &self.service {
            let dle = self.service.as_mut().and_then(Running::data_mode).is_some_and(|m| m.coding() == Coding::Dle);
            if dle && self.mode == Mode::Data {
                self.out.push(data_mode::ETX);
            }
        }
        if let Some(service) = &self.service {
            for socket in service.sockets() {
                self.net_requests.push(Request::Close { socket });
            }
            self.set_service(None, "the IP link ended");
            self.disarm_mail_deadline();
            // A command that waited on the service (#OTCP, #OUDP, #PING)
            // has its answer in what ended the link (35841, 35862, NO
            // CARRIER): the line takes commands again.
            if self.mode == Mode::Busy {
                self.set_mode(Mode::Command, "the IP link ended under a running command");
            }
        }
    }
}
