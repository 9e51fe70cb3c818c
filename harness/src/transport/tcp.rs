//! Raw serial over TCP: a terminal server (ser2net and the like) in front of
//! a real unit, or `mtg emulator --listen`.
//!
//! The TCP stream carries exactly the bytes of the serial line: no telnet
//! negotiation, no RFC 2217 (so no control lines either).

use std::collections::BTreeSet;
use std::io;
use std::time::Duration;

use tokio::net::TcpStream;

use super::Transport;
use crate::scenario::Capability;

/// How long a connection attempt may take. An unreachable host would
/// otherwise keep the run waiting for the OS timeout (minutes).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A serial line carried over a TCP connection.
pub struct TcpTransport {
    stream: TcpStream,
    peer: String,
    caps: BTreeSet<Capability>,
}

/// Open a TCP stream to `host:port`, giving up after [`CONNECT_TIMEOUT`];
/// returns it with the peer's display text. Errors name the address and
/// carry the OS cause. Shared by raw TCP and RFC 2217 lines.
pub(super) async fn connect_stream(host: &str, port: u16) -> io::Result<(TcpStream, String)> {
    let peer = display_addr(host, port);
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port))).await {
        Ok(Ok(stream)) => Ok((stream, peer)),
        Ok(Err(e)) => Err(io::Error::new(e.kind(), format!("connect to {peer}: {e}"))),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connect to {peer}: no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        )),
    }
}

impl TcpTransport {
    /// Connect to `host:port` (a name, an IPv4 or an IPv6 address without
    /// brackets), giving up after [`CONNECT_TIMEOUT`].
    ///
    /// The error names the address and carries the OS cause (e.g. connection
    /// refused).
    pub async fn connect(host: &str, port: u16) -> io::Result<TcpTransport> {
        let (stream, peer) = connect_stream(host, port).await?;
        Self::with_peer(stream, peer)
    }

    /// Wrap an established connection.
    pub fn from_stream(stream: TcpStream) -> io::Result<TcpTransport> {
        let peer = stream.peer_addr()?.to_string();
        Self::with_peer(stream, peer)
    }

    fn with_peer(stream: TcpStream, peer: String) -> io::Result<TcpTransport> {
        // A command line is a few bytes: without TCP_NODELAY, Nagle's
        // algorithm would hold it back waiting for the previous segment's
        // ACK, adding delayed-ACK latency (tens of ms) to every exchange and
        // distorting timing checks.
        stream.set_nodelay(true)?;
        Ok(TcpTransport { stream, peer, caps: BTreeSet::new() })
    }

    /// Declare capabilities (a bare TCP line offers none by itself: what is
    /// behind it is known only to whoever set up the rig).
    pub fn with_capabilities(mut self, caps: impl IntoIterator<Item = Capability>) -> Self {
        self.caps.extend(caps);
        self
    }

    /// `host:port` of the far end, as given (IPv6 in brackets).
    pub fn peer(&self) -> &str {
        &self.peer
    }
}

/// `host:port`, bracketing IPv6 addresses.
pub(crate) fn display_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

super::byte_stream!(TcpTransport, stream);

impl Transport for TcpTransport {
    fn describe(&self) -> String {
        format!("tcp {}", self.peer)
    }

    fn capabilities(&self) -> BTreeSet<Capability> {
        self.caps.clone()
    }
}
