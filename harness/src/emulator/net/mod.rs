//! The emulator's network side: what the IP stack asks of the network and
//! what the network does, behind one [`Backend`] trait.
//!
//! The interpreter and its services stay synchronous and sans-IO: they ask
//! for network work with [`Request`]s and learn what happened through
//! [`Event`]s. Two backends perform the requests:
//!
//! - [`HostNetwork`]: real sockets on the host (tokio), for real servers;
//! - [`SimNetwork`]: an in-memory network whose peers accept, echo, refuse,
//!   drop, stay silent or answer names as a test or scenario sets them up; it
//!   opens no socket and runs on the emulator's (virtual) clock.
//!
//! Streams and datagrams are addressed by the stack's socket id (chapter 5:
//! ids 1 and 2; the UDP socket of chapter 6 takes its own id); look-ups and
//! echo requests by a query number of the service that asked.

pub mod dns;
mod host;
pub mod map;
mod sim;
pub mod tap;

pub use host::{icmp_echo_permitted, HostNetwork};
pub use map::NetMap;
pub use sim::{PeerBehaviour, SimClient, SimNetwork};
pub use tap::{Traffic, TrafficLog};

use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};
use std::time::Instant;

/// Network work the stack asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `AT#LTCPSTART`: listen on `port`; accept only `allowed` (None = any,
    /// TCPSERV 255.255.255.255).
    Listen { socket: u8, port: u16, allowed: Option<IpAddr> },
    /// `AT#OTCP`: connect to `host:port` (a name or dotted decimal).
    Connect { socket: u8, host: String, port: u16 },
    /// Payload for the stream peer.
    Send { socket: u8, bytes: Vec<u8> },
    /// Close the stream or datagram socket, or stop listening.
    Close { socket: u8 },
    /// Open a datagram socket on local `port` (0: any).
    Bind { socket: u8, port: u16 },
    /// One datagram to `host:port`.
    SendTo { socket: u8, host: String, port: u16, bytes: Vec<u8> },
    /// An ICMP echo request (`AT#PING`).
    Ping { query: u32, host: IpAddr, seq: u16 },
    /// Resolve `name` by asking the modem's DNS servers (DNSSERV1, DNSSERV2).
    Resolve { query: u32, name: String, servers: Vec<SocketAddr> },
    /// The modem's DNS servers (DNSSERV1 then DNSSERV2, p.20-21), for the
    /// names of the `Connect` and `SendTo` requests that follow: the stack
    /// sends it ahead of any such request that names a host.
    DnsServers { servers: Vec<SocketAddr> },
    /// The service no longer waits for `query` (an echo request that timed
    /// out): stop it, a late answer is not wanted.
    Cancel { query: u32 },
}

/// The Internet checksum (RFC 1071): ICMP echo requests, and the packets
/// captures synthesise.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The name could not be resolved.
    Resolve,
    /// The peer refused the connection.
    Refused,
    /// Anything else: unreachable, timed out, port in use, not supported.
    Other,
}

/// What the network did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A listening socket is up on `local` (the FTP client's `PORT` names it).
    Listening { socket: u8, local: SocketAddr },
    /// A peer connected (listen) or the connection is up (connect).
    Connected { socket: u8, peer: SocketAddr },
    /// Stream payload from the peer.
    Data { socket: u8, bytes: Vec<u8> },
    /// The peer closed the connection.
    PeerClosed { socket: u8 },
    /// A request on `socket` failed.
    Failed { socket: u8, failure: Failure, cause: String },
    /// A datagram socket is open on `local`.
    Bound { socket: u8, local: SocketAddr },
    /// A datagram arrived.
    Datagram { socket: u8, from: SocketAddr, bytes: Vec<u8> },
    /// An echo reply to request `seq` of `query`.
    EchoReply { query: u32, seq: u16, from: IpAddr },
    /// A look-up answered.
    Resolved { query: u32, addresses: Vec<IpAddr> },
    /// A query (look-up or echo) failed.
    QueryFailed { query: u32, failure: Failure, cause: String },
}

/// A network the emulator's stack talks through.
pub trait Backend: Send {
    /// Start performing `request` at emulated time `now`.
    fn perform(&mut self, request: Request, now: Instant);

    /// The next event that has happened by `now`, if any.
    fn poll_event(&mut self, now: Instant) -> Option<Event>;

    /// When the next simulated event is due (virtual time); real backends
    /// have none.
    fn next_due(&self) -> Option<Instant> {
        None
    }

    /// Whether real traffic may arrive at any moment: then the emulator's
    /// clock must follow the wall clock.
    fn is_live(&self) -> bool {
        false
    }

    /// Register the task to be woken when a real event arrives; `Ready`
    /// when one is waiting.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }

    /// A short name for logs and descriptions.
    fn name(&self) -> &'static str;
}
