//! The host backend: real sockets on the host's network (tokio), one task per
//! stack socket or query, turning what the sockets do into [`Event`]s.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{dns, Backend, Event, Failure, Request};

/// How long a connection attempt, a look-up or an echo request may take.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one DNS server has to answer before the next is asked.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

enum Command {
    Send(Vec<u8>),
    SendTo(SocketAddr, Vec<u8>),
    Close,
}

/// Real sockets of one emulated unit. Dropping it closes them all.
pub struct HostNetwork {
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    ready: VecDeque<Event>,
    sockets: HashMap<u8, (mpsc::UnboundedSender<Command>, JoinHandle<()>)>,
    queries: Vec<JoinHandle<()>>,
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
        for task in self.queries.drain(..) {
            task.abort();
        }
    }
}

impl HostNetwork {
    pub fn new() -> HostNetwork {
        let (tx, rx) = mpsc::unbounded_channel();
        HostNetwork { tx, rx, ready: VecDeque::new(), sockets: HashMap::new(), queries: Vec::new() }
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

    fn query<Fut>(&mut self, task: Fut)
    where
        Fut: std::future::Future<Output = Event> + Send + 'static,
    {
        self.queries.retain(|q| !q.is_finished());
        let events = self.tx.clone();
        self.queries.push(tokio::spawn(async move {
            let _ = events.send(task.await);
        }));
    }
}

impl Backend for HostNetwork {
    /// Must be called within a tokio runtime.
    fn perform(&mut self, request: Request, _now: Instant) {
        match request {
            Request::Listen { socket, port, allowed } => {
                // Bound here and now, so a client may connect as soon as the
                // command has answered (App. A p.48: `OK` at once).
                match bind_listener(port) {
                    Ok(listener) => self.open(socket, |rx, events| listen(socket, listener, allowed, rx, events)),
                    Err(e) => {
                        let cause = format!("listen on port {port}: {e}");
                        self.ready.push_back(failed(socket, Failure::Other, cause));
                    }
                }
            }
            Request::Connect { socket, host, port } => {
                self.open(socket, |rx, events| connect(socket, host, port, rx, events));
            }
            Request::Bind { socket, port } => {
                self.open(socket, |rx, events| datagrams(socket, port, rx, events));
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
                // Resolving may take time: do it off the interpreter's path.
                self.queries.push(tokio::spawn(async move {
                    match tokio::net::lookup_host((host.as_str(), port)).await.map(|mut a| a.next()) {
                        Ok(Some(to)) => {
                            let _ = tx.send(Command::SendTo(to, bytes));
                        }
                        Ok(None) | Err(_) => {
                            let cause = format!("{host}: name not resolved");
                            let _ = events.send(Event::Failed { socket, failure: Failure::Resolve, cause });
                        }
                    }
                }));
            }
            Request::Close { socket } => self.close(socket),
            Request::Resolve { query, name, servers } => self.query(resolve(query, name, servers)),
            Request::Ping { query, host, seq } => self.query(ping(query, host, seq)),
        }
    }

    fn poll_event(&mut self, _now: Instant) -> Option<Event> {
        if let Some(e) = self.ready.pop_front() {
            return Some(e);
        }
        self.rx.try_recv().ok()
    }

    fn is_live(&self) -> bool {
        !self.ready.is_empty() || self.sockets.values().any(|(_, t)| !t.is_finished()) || {
            self.queries.iter().any(|q| !q.is_finished())
        }
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

fn bind_listener(port: u16) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(listen_address(port))?;
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
                Some(Command::Send(_) | Command::SendTo(..)) => continue,
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
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(a) => a.collect(),
        Err(e) => {
            let _ = events.send(failed(socket, Failure::Resolve, format!("{host}: {e}")));
            return;
        }
    };
    let mut last = (Failure::Other, String::from("no address"));
    for addr in addrs {
        match tokio::time::timeout(NETWORK_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                let _ = events.send(Event::Connected { socket, peer: addr });
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
                Some(Command::SendTo(..)) => {}
                Some(Command::Close) | None => {
                    let _ = stream.shutdown().await;
                    return;
                }
            },
        }
    }
}

/// A datagram socket: datagrams both ways until closed.
async fn datagrams(
    socket: u8,
    port: u16,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let udp = match UdpSocket::bind(listen_address(port)).await {
        Ok(u) => u,
        Err(e) => {
            let _ = events.send(failed(socket, Failure::Other, format!("bind UDP port {port}: {e}")));
            return;
        }
    };
    if let Ok(local) = udp.local_addr() {
        let _ = events.send(Event::Bound { socket, local });
    }
    let mut buf = vec![0u8; 65536];
    loop {
        tokio::select! {
            got = udp.recv_from(&mut buf) => match got {
                Ok((n, from)) => {
                    let _ = events.send(Event::Datagram { socket, from, bytes: buf[..n].to_vec() });
                }
                Err(e) => tracing::debug!(socket, "datagram receive: {e}"),
            },
            command = commands.recv() => match command {
                Some(Command::SendTo(to, bytes)) => {
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

/// Ask each DNS server in turn (DNSSERV1 first), as the modem's resolver does.
async fn resolve(query: u32, name: String, servers: Vec<SocketAddr>) -> Event {
    let id = (query & 0xffff) as u16;
    let packet = match dns::query(id, &name) {
        Ok(p) => p,
        Err(e) => return Event::QueryFailed { query, failure: Failure::Resolve, cause: format!("{name}: {e:?}") },
    };
    let mut cause = String::from("no DNS server configured");
    for server in servers {
        let attempt = async {
            let udp = UdpSocket::bind(SocketAddr::new(local_for(server.ip()), 0)).await?;
            udp.send_to(&packet, server).await?;
            let mut buf = vec![0u8; 1500];
            loop {
                let (n, from) = udp.recv_from(&mut buf).await?;
                if from == server {
                    return Ok::<_, std::io::Error>(buf[..n].to_vec());
                }
            }
        };
        match tokio::time::timeout(DNS_TIMEOUT, attempt).await {
            Ok(Ok(answer)) => match dns::addresses(id, &answer) {
                Ok(addresses) => return Event::Resolved { query, addresses },
                Err(e) => cause = format!("{server}: {e:?}"),
            },
            Ok(Err(e)) => cause = format!("{server}: {e}"),
            Err(_) => cause = format!("{server}: no answer within {} s", DNS_TIMEOUT.as_secs()),
        }
    }
    Event::QueryFailed { query, failure: Failure::Resolve, cause: format!("{name}: {cause}") }
}

fn local_for(server: IpAddr) -> IpAddr {
    if server.is_loopback() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        IpAddr::from([0, 0, 0, 0])
    }
}

/// One ICMP echo request through an unprivileged ICMP socket (Linux
/// `net.ipv4.ping_group_range`); where the host forbids it, the query fails
/// with the reason.
async fn ping(query: u32, host: IpAddr, seq: u16) -> Event {
    let fail = |cause: String| Event::QueryFailed { query, failure: Failure::Other, cause };
    let IpAddr::V4(_) = host else { return fail(format!("{host}: only IPv4 is supported")) };
    let udp = match icmp_socket() {
        Ok(s) => s,
        Err(e) => return fail(format!("ICMP echo is not permitted on this host ({e}); see net.ipv4.ping_group_range")),
    };
    // Type 8 (echo request), code 0; the kernel fills the identifier and checksum.
    let mut packet = vec![8, 0, 0, 0, 0, 0];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(b"mtg-emulator ping");
    if let Err(e) = udp.send_to(&packet, SocketAddr::new(host, 0)).await {
        return fail(format!("{host}: {e}"));
    }
    let mut buf = [0u8; 1500];
    let wait = async {
        loop {
            let (n, from) = udp.recv_from(&mut buf).await?;
            if n >= 8 && buf[0] == 0 && u16::from_be_bytes([buf[6], buf[7]]) == seq {
                return Ok::<_, std::io::Error>(from.ip());
            }
        }
    };
    match tokio::time::timeout(NETWORK_TIMEOUT, wait).await {
        Ok(Ok(from)) => Event::EchoReply { query, seq, from },
        Ok(Err(e)) => fail(format!("{host}: {e}")),
        Err(_) => fail(format!("{host}: no echo reply")),
    }
}

fn icmp_socket() -> std::io::Result<UdpSocket> {
    use std::os::fd::FromRawFd;
    // SAFETY: a plain socket(2) call; the descriptor is owned by the
    // std socket built from it right after the check.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, libc::IPPROTO_ICMP) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh, valid descriptor that nothing else owns.
    let std_socket = unsafe { std::net::UdpSocket::from_raw_fd(fd) };
    UdpSocket::from_std(std_socket)
}
