//! What the modem's IP stack did on the network, from the modem's point of
//! view, for captures (`OUT/captures/<id>.pcapng`): the streams it opened
//! (the address it reached and the port it dialled), the bytes each way,
//! the datagrams, the closes.
//!
//! The unit records every request and event here as it performs them; the
//! log is a handle shared with whoever built the unit (like the simulated
//! network), who reads it after the scenario.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::{Event, Request};

/// One thing the stack did on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traffic {
    /// A stream is up between the modem's `local` and `remote` (for a
    /// connection the modem opened, `remote` has the port it dialled; for
    /// one it accepted, `remote` is the client).
    Opened { socket: u8, local: SocketAddr, remote: SocketAddr, outgoing: bool },
    /// Stream bytes: `sent` by the modem, or received.
    Data { socket: u8, sent: bool, bytes: Vec<u8> },
    /// The stream closed, by the modem (`local`) or the peer.
    Closed { socket: u8, local: bool },
    /// A datagram between the modem's `local` and `remote`.
    Datagram { local: SocketAddr, remote: SocketAddr, sent: bool, bytes: Vec<u8> },
}

/// A shared, append-only log of [`Traffic`] with the instant of each.
#[derive(Debug, Clone, Default)]
pub struct TrafficLog {
    inner: Arc<Mutex<Log>>,
}

#[derive(Debug, Default)]
struct Log {
    entries: Vec<(Instant, Traffic)>,
    /// What each socket asked for, until its event says how it went.
    dialled: HashMap<u8, (String, u16)>,
    /// Streams up: the endpoints of each, for its closes and data.
    open: HashMap<u8, (SocketAddr, SocketAddr)>,
    /// The local port of each datagram socket.
    bound: HashMap<u8, u16>,
    next_port: u16,
}

impl TrafficLog {
    pub fn new() -> TrafficLog {
        TrafficLog::default()
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything recorded so far, in order.
    pub fn entries(&self) -> Vec<(Instant, Traffic)> {
        self.log().entries.clone()
    }

    /// A request the stack makes; `me` is the modem's address on the
    /// network (its session's), when it has one.
    pub fn request(&self, request: &Request, me: Ipv4Addr, now: Instant) {
        let mut log = self.log();
        match request {
            Request::Connect { socket, host, port } => {
                log.dialled.insert(*socket, (host.clone(), *port));
            }
            Request::Send { socket, bytes } if log.open.contains_key(socket) => {
                log.entries.push((now, Traffic::Data { socket: *socket, sent: true, bytes: bytes.clone() }));
            }
            Request::Close { socket } => {
                if log.open.remove(socket).is_some() {
                    log.entries.push((now, Traffic::Closed { socket: *socket, local: true }));
                }
                log.bound.remove(socket);
            }
            Request::SendTo { socket, host, port, bytes } => {
                let remote_ip: IpAddr = host.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                let local_port = log.local_port(*socket);
                let local = SocketAddr::new(IpAddr::V4(me), local_port);
                let remote = SocketAddr::new(remote_ip, *port);
                log.entries.push((now, Traffic::Datagram { local, remote, sent: true, bytes: bytes.clone() }));
            }
            _ => {}
        }
    }

    /// An event of the network.
    pub fn event(&self, event: &Event, me: Ipv4Addr, now: Instant) {
        let mut log = self.log();
        match event {
            Event::Connected { socket, peer } => {
                let dialled = log.dialled.remove(socket);
                let outgoing = dialled.is_some();
                // The modem's view: the address reached, on the port it dialled.
                let remote = match dialled {
                    Some((_, port)) => SocketAddr::new(peer.ip(), port),
                    None => *peer,
                };
                let port = log.next_local_port();
                let local = SocketAddr::new(IpAddr::V4(me), port);
                log.open.insert(*socket, (local, remote));
                log.entries.push((now, Traffic::Opened { socket: *socket, local, remote, outgoing }));
            }
            Event::Data { socket, bytes } if log.open.contains_key(socket) => {
                log.entries.push((now, Traffic::Data { socket: *socket, sent: false, bytes: bytes.clone() }));
            }
            Event::PeerClosed { socket } if log.open.remove(socket).is_some() => {
                log.entries.push((now, Traffic::Closed { socket: *socket, local: false }));
            }
            Event::Bound { socket, local } => {
                log.bound.insert(*socket, local.port());
            }
            Event::Datagram { socket, from, bytes } => {
                let local_port = log.local_port(*socket);
                let local = SocketAddr::new(IpAddr::V4(me), local_port);
                log.entries.push((now, Traffic::Datagram { local, remote: *from, sent: false, bytes: bytes.clone() }));
            }
            _ => {}
        }
    }
}

impl Log {
    /// Ephemeral ports from 49152 (RFC 6335), one per stream.
    fn next_local_port(&mut self) -> u16 {
        self.next_port = self.next_port.max(49151) + 1;
        self.next_port
    }

    fn local_port(&mut self, socket: u8) -> u16 {
        if let Some(p) = self.bound.get(&socket) {
            return *p;
        }
        let p = self.next_local_port();
        self.bound.insert(socket, p);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dialled_stream_shows_the_dialled_port_and_its_bytes() {
        let log = TrafficLog::new();
        let me = Ipv4Addr::new(10, 64, 0, 1);
        let t = Instant::now();
        log.request(&Request::Connect { socket: 9, host: "smtp.a2myoper.com".into(), port: 25 }, me, t);
        log.event(&Event::Connected { socket: 9, peer: "127.0.0.2:40125".parse().unwrap() }, me, t);
        log.event(&Event::Data { socket: 9, bytes: b"220 hi\r\n".to_vec() }, me, t);
        log.request(&Request::Send { socket: 9, bytes: b"QUIT\r\n".to_vec() }, me, t);
        log.request(&Request::Close { socket: 9 }, me, t);
        let kinds: Vec<Traffic> = log.entries().into_iter().map(|(_, k)| k).collect();
        let Traffic::Opened { remote, local, outgoing: true, .. } = &kinds[0] else { panic!("{kinds:?}") };
        assert_eq!(*remote, "127.0.0.2:25".parse().unwrap());
        assert_eq!(local.ip(), IpAddr::V4(me));
        assert_eq!(kinds[1], Traffic::Data { socket: 9, sent: false, bytes: b"220 hi\r\n".to_vec() });
        assert_eq!(kinds[2], Traffic::Data { socket: 9, sent: true, bytes: b"QUIT\r\n".to_vec() });
        assert_eq!(kinds[3], Traffic::Closed { socket: 9, local: true });
    }
}
