//! The host backend: real sockets on the host's network (tokio), one task per
//! stack socket or query, turning what the sockets do into [`Event`]s.
//!
//! Names are resolved the way the modem does it, never by the host's
//! resolver: a DNS query (net/dns.rs) to DNSSERV1, then DNSSERV2 when
//! DNSSERV1 does not respond (p.20-21). `Resolve` requests carry their
//! servers; `Connect` and `SendTo` use the servers the stack last gave with
//! `DnsServers`. Every endpoint dialled, DNS servers included, goes through
//! the [`NetMap`] (see net/map.rs for what is rewritten and what is not).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::dns::{self, Attempt, Next};
use super::{internet_checksum as checksum, Backend, Event, Failure, NetMap, Request};

/// How long a connection attempt may take.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one DNS server has to answer before the next is asked (the
/// unit's own time-out is not recovered; 5 s is the common resolver default).
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

enum Command {
    Send(Vec<u8>),
    /// A datagram to the endpoint the stack dialled, sent to where the map
    /// routes it.
    SendTo {
        dialled: SocketAddr,
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    Close,
}

/// Real sockets of one emulated unit. Dropping it closes them all.
pub struct HostNetwork {
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    ready: VecDeque<Event>,
    sockets: HashMap<u8, (mpsc::UnboundedSender<Command>, JoinHandle<()>)>,
    /// Look-ups and echo requests by query number (several echo requests
    /// of one `#PING` share it); 0 holds the look-ups of `SendTo`.
    queries: HashMap<u32, Vec<JoinHandle<()>>>,
    map: Arc<NetMap>,
    /// The modem's DNS servers as it dials them (before the map).
    dns_servers: Vec<SocketAddr>,
}

impl Default for HostNetwork {
    fn default() -> Self {
        HostNetwork::new()
    }
}

impl Drop for HostNetwork {
    fn drop(&mut self) {
        for (_, (_, task)) in self.sockets.drain() {
            task.abort();
        }
        for task in self.queries.drain().flat_map(|(_, tasks)| tasks) {
            task.abort();
        }
    }
}

impl HostNetwork {
    /// Sockets that dial every endpoint as it is written.
    pub fn new() -> HostNetwork {
        HostNetwork::with_map(NetMap::default())
    }

    /// Sockets that dial (and listen) through `map`.
    pub fn with_map(map: NetMap) -> HostNetwork {
        let (tx, rx) = mpsc::unbounded_channel();
        HostNetwork {
            tx,
            rx,
            ready: VecDeque::new(),
            sockets: HashMap::new(),
            queries: HashMap::new(),
            map: Arc::new(map),
            dns_servers: Vec::new(),
        }
    }

    /// Run a socket's task, replacing whatever the socket id had.
    fn open<F, Fut>(&mut self, socket: u8, task: F)
    where
        F: FnOnce(mpsc::UnboundedReceiver<Command>, mpsc::UnboundedSender<Event>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.close(socket);
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(task(rx, self.tx.clone()));
        self.sockets.insert(socket, (tx, handle));
    }

    fn close(&mut self, socket: u8) {
        if let Some((tx, task)) = self.sockets.remove(&socket) {
            // Let the task shut the stream down cleanly, then make sure it ends.
            let _ = tx.send(Command::Close);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                task.abort();
            });
        }
    }

    /// Run a query's task; it ends with an event, or with none (an echo
    /// request nobody answered).
    fn query<Fut>(&mut self, query: u32, task: Fut)
    where
        Fut: std::future::Future<Output = Option<Event>> + Send + 'static,
    {
        self.forget_finished();
        let events = self.tx.clone();
        let handle = tokio::spawn(async move {
            if let Some(event) = task.await {
                let _ = events.send(event);
            }
        });
        self.queries.entry(query).or_default().push(handle);
    }

    fn forget_finished(&mut self) {
        self.queries.retain(|_, tasks| {
            tasks.retain(|t| !t.is_finished());
            !tasks.is_empty()
        });
    }

    fn resolver(&self, servers: Vec<SocketAddr>) -> Resolver {
        Resolver { servers, map: self.map.clone() }
    }
}

impl Backend for HostNetwork {
    /// Must be called within a tokio runtime.
    fn perform(&mut self, request: Request, _now: Instant) {
        match request {
            Request::Listen { socket, port, allowed } => {
                // Bound here and now, so a client may connect as soon as the
                // command has answered (App. A p.48: `OK` at once).
                let at = self.map.route(listen_address(port));
                match bind_listener(at) {
                    Ok(listener) => self.open(socket, |rx, events| listen(socket, listener, allowed, rx, events)),
                    // A listener just stopped (`#LTCPSTOP` then `#LTCPSTART`
                    // on the same port) lets go of the port when its task
                    // next runs: try again for a moment before giving up.
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                        self.open(socket, move |rx, events| async move {
                            for _ in 0..40 {
                                tokio::time::sleep(Duration::from_millis(25)).await;
                                if let Ok(listener) = bind_listener(at) {
                                    return listen(socket, listener, allowed, rx, events).await;
                                }
                            }
                            let _ = events.send(failed(socket, Failure::Other, format!("listen on port {port}: {e}")));
                        });
                    }
                    Err(e) => {
                        let cause = format!("listen on port {port}: {e}");
                        self.ready.push_back(failed(socket, Failure::Other, cause));
                    }
                }
            }
            Request::Connect { socket, host, port } => {
                let resolver = self.resolver(self.dns_servers.clone());
                self.open(socket, |rx, events| connect(socket, host, port, resolver, rx, events));
            }
            Request::Bind { socket, port } => {
                // A listening session listens where the map says; an active
                // one (port 0) takes any local port, as a TCP connect does.
                let local =
                    if port == 0 { SocketAddr::from(([0, 0, 0, 0], 0)) } else { self.map.route(listen_address(port)) };
                let map = self.map.clone();
                self.open(socket, |rx, events| datagrams(socket, local, map, rx, events));
            }
            Request::Send { socket, bytes } => {
                if let Some((tx, _)) = self.sockets.get(&socket) {
                    let _ = tx.send(Command::Send(bytes));
                }
            }
            Request::SendTo { socket, host, port, bytes } => {
                let Some((tx, _)) = self.sockets.get(&socket) else { return };
                let tx = tx.clone();
                let events = self.tx.clone();
                let resolver = self.resolver(self.dns_servers.clone());
                // Resolving may take time: do it off the interpreter's path.
                self.forget_finished();
                let task = tokio::spawn(async move {
                    match resolver.addresses(&host).await {
                        Ok(ips) => {
                            let dialled = SocketAddr::new(ips[0], port);
                            let to = resolver.map.route(dialled);
                            let _ = tx.send(Command::SendTo { dialled, to, bytes });
                        }
                        Err(cause) => {
                            let _ = events.send(Event::Failed { socket, failure: Failure::Resolve, cause });
                        }
                    }
                });
                self.queries.entry(0).or_default().push(task);
            }
            Request::Close { socket } => self.close(socket),
            Request::Resolve { query, name, servers } => {
                let resolver = self.resolver(servers);
                self.query(query, async move {
                    Some(match resolver.lookup(&name).await {
                        Ok(addresses) => Event::Resolved { query, addresses },
                        Err(cause) => Event::QueryFailed { query, failure: Failure::Resolve, cause },
                    })
                });
            }
            Request::Ping { query, host, seq } => self.query(query, ping(query, host, seq)),
            Request::DnsServers { servers } => self.dns_servers = servers,
            Request::Cancel { query } => {
                for task in self.queries.remove(&query).unwrap_or_default() {
                    task.abort();
                }
            }
        }
    }

    fn poll_event(&mut self, _now: Instant) -> Option<Event> {
        if let Some(e) = self.ready.pop_front() {
            return Some(e);
        }
        self.rx.try_recv().ok()
    }

    fn is_live(&self) -> bool {
        !self.ready.is_empty()
            || self.sockets.values().any(|(_, t)| !t.is_finished())
            || self.queries.values().flatten().any(|q| !q.is_finished())
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.ready.is_empty() {
            return Poll::Ready(());
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(e)) => {
                self.ready.push_back(e);
                Poll::Ready(())
            }
            // The sender lives in `self`: the channel never closes.
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }

    fn name(&self) -> &'static str {
        "host network"
    }
}

/// The emulator listens on loopback only unless told otherwise: a listening
/// "modem" port must not open the test machine to its network.
fn listen_address(port: u16) -> SocketAddr {
    let host: IpAddr = std::env::var("MTG_EMULATOR_LISTEN_HOST")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    SocketAddr::new(host, port)
}

fn failed(socket: u8, failure: Failure, cause: String) -> Event {
    Event::Failed { socket, failure, cause }
}

fn bind_listener(at: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(at)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

async fn listen(
    socket: u8,
    listener: std::net::TcpListener,
    allowed: Option<IpAddr>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            let _ = events.send(failed(socket, Failure::Other, format!("listen: {e}")));
            return;
        }
    };
    let local = listener.local_addr().unwrap_or_else(|_| listen_address(0));
    let _ = events.send(Event::Listening { socket, local });
    let (stream, peer) = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                // TCPSERV filters the allowed client (p.30, App. B p.77).
                Ok((stream, peer)) if allowed.is_none_or(|a| a == peer.ip()) => break (stream, peer),
                Ok(_) => continue,
                Err(e) => {
                    let _ = events.send(failed(socket, Failure::Other, e.to_string()));
                    return;
                }
            },
            command = commands.recv() => match command {
                Some(Command::Send(_) | Command::SendTo { .. }) => continue,
                Some(Command::Close) | None => return,
            },
        }
    };
    drop(listener);
    let _ = stream.set_nodelay(true);
    let _ = events.send(Event::Connected { socket, peer });
    bridge(socket, stream, commands, events).await;
}

async fn connect(
    socket: u8,
    host: String,
    port: u16,
    resolver: Resolver,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let ips = match resolver.addresses(&host).await {
        Ok(ips) => ips,
        Err(cause) => {
            let _ = events.send(failed(socket, Failure::Resolve, cause));
            return;
        }
    };
    let mut last = (Failure::Other, String::from("no address"));
    for ip in ips {
        let dialled = SocketAddr::new(ip, port);
        let addr = resolver.map.route(dialled);
        match tokio::time::timeout(NETWORK_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                // The stack sees the peer it dialled, not where the map sent it.
                let _ = events.send(Event::Connected { socket, peer: dialled });
                bridge(socket, stream, commands, events).await;
                return;
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = (Failure::Refused, format!("{addr}: {e}"));
            }
            Ok(Err(e)) => last = (Failure::Other, format!("{addr}: {e}")),
            Err(_) => last = (Failure::Other, format!("{addr}: timed out")),
        }
    }
    let _ = events.send(failed(socket, last.0, last.1));
}

/// Move bytes between the peer and the stack until either side closes.
async fn bridge(
    socket: u8,
    mut stream: TcpStream,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut buf = vec![0u8; 4096];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    let _ = events.send(Event::PeerClosed { socket });
                    return;
                }
                Ok(n) => {
                    let _ = events.send(Event::Data { socket, bytes: buf[..n].to_vec() });
                }
            },
            command = commands.recv() => match command {
                Some(Command::Send(bytes)) => {
                    if stream.write_all(&bytes).await.is_err() {
                        let _ = events.send(Event::PeerClosed { socket });
                        return;
                    }
                }
                Some(Command::SendTo { .. }) => {}
                Some(Command::Close) | None => {
                    let _ = stream.shutdown().await;
                    return;
                }
            },
        }
    }
}

/// A datagram socket: datagrams both ways until closed. Senders are
/// reported as the modem dialled them (the map undone).
async fn datagrams(
    socket: u8,
    local: SocketAddr,
    map: Arc<NetMap>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let udp = match UdpSocket::bind(local).await {
        Ok(u) => u,
        Err(e) => {
            let _ = events.send(failed(socket, Failure::Other, format!("bind UDP {local}: {e}")));
            return;
        }
    };
    if let Ok(local) = udp.local_addr() {
        let _ = events.send(Event::Bound { socket, local });
    }
    let mut buf = vec![0u8; 65536];
    // Where each endpoint this socket sent to was dialled: a reply from it
    // is reported as coming from what the stack dialled, whatever else the
    // map says about that endpoint.
    let mut dialled_as: std::collections::HashMap<SocketAddr, SocketAddr> = std::collections::HashMap::new();
    loop {
        tokio::select! {
            got = udp.recv_from(&mut buf) => match got {
                Ok((n, from)) => {
                    let from = dialled_as.get(&from).copied().unwrap_or_else(|| map.unroute(from));
                    let _ = events.send(Event::Datagram { socket, from, bytes: buf[..n].to_vec() });
                }
                // An ICMP error for an earlier datagram (Linux reports some on
                // unconnected sockets too): the network lost it, nothing more.
                Err(e) => tracing::debug!(socket, "datagram receive: {e}"),
            },
            command = commands.recv() => match command {
                Some(Command::SendTo { dialled, to, bytes }) => {
                    dialled_as.insert(to, dialled);
                    if let Err(e) = udp.send_to(&bytes, to).await {
                        let _ = events.send(failed(socket, Failure::Other, format!("send to {to}: {e}")));
                    }
                }
                Some(Command::Send(_)) => {}
                Some(Command::Close) | None => return,
            },
        }
    }
}

/// The modem's resolver: its DNS servers, asked in turn, through the map.
#[derive(Clone)]
struct Resolver {
    servers: Vec<SocketAddr>,
    map: Arc<NetMap>,
}

impl Resolver {
    /// The addresses of `host`: itself when it is an address, else asked of
    /// the DNS servers.
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(vec![ip]),
            Err(_) => self.lookup(host).await,
        }
    }

    /// Ask each DNS server in turn (DNSSERV1 first), as the modem's
    /// resolver does ([`dns::next`]); the error says what each server did.
    async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        let id = transaction_id();
        let packet = dns::query(id, name).map_err(|e| format!("{name}: {e}"))?;
        if self.servers.is_empty() {
            return Err(format!("{name}: no DNS server configured (DNSSERV1 and DNSSERV2 are 0.0.0.0)"));
        }
        let mut causes = Vec::new();
        for (i, &server) in self.servers.iter().enumerate() {
            let real = self.map.route(server);
            let shown = if real == server { server.to_string() } else { format!("{server} (at {real})") };
            let attempt = ask(&packet, id, real).await;
            tracing::debug!(name, server = %shown, ?attempt, "DNS query");
            if let Attempt::NoAnswer(cause) = &attempt {
                causes.push(format!("DNSSERV{} {shown}: {cause}", i + 1));
            }
            match dns::next(attempt) {
                Next::Resolved(addresses) => return Ok(addresses),
                Next::Final(e) => return Err(format!("{name}: DNS server {shown} answered: {e}")),
                Next::AskNext => {}
            }
        }
        Err(format!("{name}: {}", causes.join("; ")))
    }
}

/// One query to one server, over UDP. The socket is connected, so a server
/// with nothing listening is known at once (ICMP port unreachable) rather
/// than after the time-out.
async fn ask(packet: &[u8], id: u16, server: SocketAddr) -> Attempt {
    let exchange = async {
        let udp = UdpSocket::bind(SocketAddr::new(local_for(server.ip()), 0)).await?;
        udp.connect(server).await?;
        udp.send(packet).await?;
        let mut buf = vec![0u8; 1500];
        loop {
            let n = udp.recv(&mut buf).await?;
            // Anything that is not the answer to this query is not a response.
            if dns::message_id(&buf[..n]) == Some(id) && n > 2 && buf[2] & 0x80 != 0 {
                return Ok::<_, std::io::Error>(buf[..n].to_vec());
            }
        }
    };
    match tokio::time::timeout(DNS_TIMEOUT, exchange).await {
        Ok(Ok(answer)) => match dns::addresses(id, &answer) {
            Err(dns::DnsError::Malformed(why)) => Attempt::NoAnswer(format!("malformed answer: {why}")),
            result => Attempt::Answered(result),
        },
        Ok(Err(e)) => Attempt::NoAnswer(e.to_string()),
        Err(_) => Attempt::NoAnswer(format!("no answer within {} s", DNS_TIMEOUT.as_secs())),
    }
}

/// A fresh DNS transaction id (RFC 1035 §4.1.1): a counter started from
/// the clock, so that two units' queries differ.
fn transaction_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let _ = NEXT.compare_exchange(0, (seed as u16) | 1, Ordering::Relaxed, Ordering::Relaxed);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn local_for(server: IpAddr) -> IpAddr {
    if server.is_loopback() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        IpAddr::from([0, 0, 0, 0])
    }
}

/// How this host lets the emulator send ICMP echo requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpSocket {
    /// An unprivileged ICMP socket (Linux `net.ipv4.ping_group_range`).
    Datagram,
    /// A raw socket (root or CAP_NET_RAW).
    Raw,
}

/// Whether this host lets the emulator send echo requests, and how; the
/// error names why not.
pub fn icmp_echo_permitted() -> Result<IcmpSocket, String> {
    open_icmp().map(|(kind, _)| kind)
}

/// One ICMP echo request through an unprivileged ICMP socket, or a raw
/// socket where only that is allowed (root); where the host forbids both,
/// the query fails with the reason. No reply is no event: the service's
/// PINGDELAY decides when a request is lost (p.37), and cancels the task.
async fn ping(query: u32, host: IpAddr, seq: u16) -> Option<Event> {
    let fail = |cause: String| Some(Event::QueryFailed { query, failure: Failure::Other, cause });
    let IpAddr::V4(_) = host else { return fail(format!("{host}: only IPv4 is supported")) };
    let (kind, socket) = match open_icmp() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // The kernel sets the identifier of a datagram ICMP socket; a raw
    // socket's is ours, distinct per unit and query.
    let ident = (std::process::id() as u16) ^ (query as u16);
    let mut packet = vec![8, 0, 0, 0];
    packet.extend_from_slice(&ident.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(b"mtg-emulator ping");
    if kind == IcmpSocket::Raw {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    if let Err(e) = socket.send_to(&packet, SocketAddr::new(host, 0)).await {
        return fail(format!("{host}: {e}"));
    }
    let mut buf = [0u8; 1500];
    let wait = async {
        loop {
            let (n, from) = socket.recv_from(&mut buf).await?;
            // A raw socket reads the IP header too, and every ICMP message
            // of the host (our own request on loopback among them).
            let icmp = match kind {
                IcmpSocket::Datagram => &buf[..n],
                IcmpSocket::Raw => {
                    let header = usize::from(buf[0] & 0x0f) * 4;
                    buf.get(header..n).unwrap_or_default()
                }
            };
            let ours = kind == IcmpSocket::Datagram || icmp.get(4..6) == Some(&ident.to_be_bytes()[..]);
            if icmp.len() >= 8 && icmp[0] == 0 && ours && icmp[6..8] == seq.to_be_bytes() {
                return Ok::<_, std::io::Error>(from.ip());
            }
        }
    };
    // PINGDELAY is at most 255 s (p.37): no service waits longer.
    match tokio::time::timeout(Duration::from_secs(256), wait).await {
        Ok(Ok(from)) => Some(Event::EchoReply { query, seq, from }),
        Ok(Err(e)) => fail(format!("{host}: {e}")),
        Err(_) => None,
    }
}

fn open_icmp() -> Result<(IcmpSocket, UdpSocket), String> {
    let unprivileged = match icmp_socket(libc::SOCK_DGRAM) {
        Ok(s) => return Ok((IcmpSocket::Datagram, s)),
        Err(e) => e,
    };
    match icmp_socket(libc::SOCK_RAW) {
        Ok(s) => Ok((IcmpSocket::Raw, s)),
        Err(raw) => Err(format!(
            "ICMP echo is not permitted on this host: an unprivileged ICMP socket was refused ({unprivileged}; \
             allow the group with sysctl net.ipv4.ping_group_range) and a raw socket too ({raw}; needs root or \
             CAP_NET_RAW)"
        )),
    }
}

fn icmp_socket(kind: libc::c_int) -> std::io::Result<UdpSocket> {
    use std::os::fd::FromRawFd;
    // SAFETY: a plain socket(2) call; the descriptor is owned by the
    // std socket built from it right after the check.
    let fd =
        unsafe { libc::socket(libc::AF_INET, kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, libc::IPPROTO_ICMP) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh, valid descriptor that nothing else owns.
    let std_socket = unsafe { std::net::UdpSocket::from_raw_fd(fd) };
    UdpSocket::from_std(std_socket)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use rstest::rstest;

    use super::*;
    use crate::fixtures::dns::DnsFixture;
    use crate::fixtures::Fixture;

    /// What DNSSERV1 does in a case.
    #[derive(Debug, Clone, Copy)]
    enum First {
        Answers,
        NxDomain,
        Silent,
        Absent,
    }

    /// The resolver against two real servers (DNS fixtures reached through
    /// the map, as the modem's DNSSERV1 and DNSSERV2).
    #[rstest]
    #[case::dnsserv1_answers(First::Answers, Ok(Ipv4Addr::new(127, 0, 0, 71)), false)]
    #[case::nxdomain_is_final(First::NxDomain, Err("answered: no such name"), false)]
    #[case::dnsserv1_has_no_server(First::Absent, Ok(Ipv4Addr::new(127, 0, 0, 72)), true)]
    #[case::dnsserv1_is_silent(First::Silent, Ok(Ipv4Addr::new(127, 0, 0, 72)), true)]
    #[tokio::test]
    async fn the_resolver_asks_dnsserv2_only_when_dnsserv1_does_not_respond(
        #[case] first: First,
        #[case] expected: Result<Ipv4Addr, &str>,
        #[case] second_asked: bool,
    ) {
        let name = "host.example";
        let zone1 = match first {
            First::NxDomain => vec![],
            _ => vec![(name.to_string(), Ipv4Addr::new(127, 0, 0, 71))],
        };
        let dns1 = DnsFixture::start(Ipv4Addr::new(127, 0, 0, 61), zone1).await.unwrap();
        dns1.set_silent(matches!(first, First::Silent));
        let dns2 = DnsFixture::start(Ipv4Addr::new(127, 0, 0, 62), vec![(name.into(), Ipv4Addr::new(127, 0, 0, 72))])
            .await
            .unwrap();
        let (dial1, dial2) = ("192.0.2.1:53".parse().unwrap(), "192.0.2.2:53".parse().unwrap());
        let mut map = NetMap::default();
        let to1 = match first {
            First::Absent => std::net::UdpSocket::bind("127.0.0.61:0").unwrap().local_addr().unwrap(),
            _ => dns1.endpoint(),
        };
        map.insert(dial1, to1);
        map.insert(dial2, dns2.endpoint());
        let resolver = Resolver { servers: vec![dial1, dial2], map: Arc::new(map) };
        let got = resolver.lookup(name).await;
        match expected {
            Ok(ip) => assert_eq!(got, Ok(vec![IpAddr::V4(ip)])),
            Err(cause) => assert!(got.as_ref().is_err_and(|e| e.contains(cause)), "{got:?}"),
        }
        assert_eq!(dns2.queries().len(), usize::from(second_asked), "{:?}", dns2.queries());
    }

    #[tokio::test]
    async fn no_dns_server_is_an_error_that_says_so() {
        let resolver = Resolver { servers: vec![], map: Arc::new(NetMap::default()) };
        let got = resolver.addresses("host.example").await;
        assert!(got.as_ref().is_err_and(|e| e.contains("no DNS server configured")), "{got:?}");
        assert_eq!(resolver.addresses("127.0.0.9").await, Ok(vec![IpAddr::from([127, 0, 0, 9])]));
    }

    #[test]
    fn checksum_of_an_echo_request() {
        // RFC 1071's example words sum to 0xddf2; the checksum is its complement.
        assert_eq!(checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), !0xddf2);
        let mut packet = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1, b'x'];
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&packet), 0, "a packet with its checksum sums to zero");
    }
}
