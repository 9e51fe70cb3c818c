//! The simulated backend: an in-memory network on the emulator's clock.
//!
//! Peers are in-process objects set up by a test or a scenario: a TCP or UDP
//! peer that echoes, answers with set bytes, stays silent, refuses or drops
//! the connection; clients that connect to a listening socket; names the DNS
//! servers answer; hosts that answer echo requests. Every event comes
//! [`SimNetwork::latency`] after its cause, on the emulator's clock, so a
//! whole exchange runs in virtual time without opening a socket. What each
//! peer received is kept for server-side checks.
//!
//! Names: `Resolve` requests are answered from [`SimNetwork::name`] when
//! the modem has a DNS server set (DNSSERV1/2 not 0.0.0.0); `Connect` and
//! `SendTo` find the names of their peers whatever DNS servers were given,
//! a convenience of the simulation (the host backend asks the servers).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Backend, Event, Failure, Request};

/// How a simulated peer behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerBehaviour {
    /// Accepts, and sends back whatever it receives.
    Echo,
    /// Accepts, sends `greeting` at once, then answers each payload with `reply`.
    Answer { greeting: Vec<u8>, reply: Vec<u8> },
    /// Accepts and never sends anything.
    Silent,
    /// Refuses the connection.
    Refuse,
    /// Accepts, then closes at once.
    Drop,
}

/// A client that connects to the unit's listening socket on `port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimClient {
    pub port: u16,
    pub from: SocketAddr,
    /// What it sends once connected.
    pub sends: Vec<u8>,
    /// Whether it closes after sending.
    pub closes: bool,
}

#[derive(Debug)]
enum Socket {
    Listening,
    Stream { peer: SocketAddr, behaviour: Option<PeerBehaviour> },
    Datagram,
}

#[derive(Debug, Default)]
struct State {
    latency: Duration,
    names: BTreeMap<String, IpAddr>,
    peers: BTreeMap<SocketAddr, PeerBehaviour>,
    clients: Vec<SimClient>,
    reachable: BTreeSet<IpAddr>,
    sockets: HashMap<u8, Socket>,
    due: Vec<(Instant, u64, Event)>,
    seq: u64,
    received: BTreeMap<SocketAddr, Vec<u8>>,
    requests: Vec<Request>,
}

/// A simulated network. Cloning gives another handle on the same network,
/// so a test keeps one to set peers up and check what they received while
/// the emulator owns the other.
#[derive(Debug, Clone)]
pub struct SimNetwork(Arc<Mutex<State>>);

impl Default for SimNetwork {
    fn default() -> Self {
        SimNetwork::new()
    }
}

impl SimNetwork {
    /// An empty network with a 5 ms latency.
    pub fn new() -> SimNetwork {
        SimNetwork(Arc::new(Mutex::new(State { latency: Duration::from_millis(5), ..State::default() })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Time between a cause and its effect.
    pub fn latency(&self, latency: Duration) -> &Self {
        self.state().latency = latency;
        self
    }

    /// The DNS servers answer `name` with `address`.
    pub fn name(&self, name: &str, address: IpAddr) -> &Self {
        self.state().names.insert(name.to_ascii_lowercase(), address);
        self
    }

    /// A peer at `address` (TCP and UDP alike).
    pub fn peer(&self, address: SocketAddr, behaviour: PeerBehaviour) -> &Self {
        self.state().peers.insert(address, behaviour);
        self
    }

    /// A client that will connect to the unit's listening socket (TCP), or
    /// send its bytes as one datagram to the unit's listening UDP port.
    pub fn client(&self, client: SimClient) -> &Self {
        self.state().clients.push(client);
        self
    }

    /// A host that answers echo requests.
    pub fn reachable(&self, host: IpAddr) -> &Self {
        self.state().reachable.insert(host);
        self
    }

    /// Everything the peer at `address` received, all connections together.
    pub fn received(&self, address: SocketAddr) -> Vec<u8> {
        self.state().received.get(&address).cloned().unwrap_or_default()
    }

    /// The unit was power-cycled: its sockets are gone, nothing more
    /// arrives on them (peers, names and what peers received stay).
    pub fn power_cycle(&self) {
        let mut s = self.state();
        s.sockets.clear();
        s.due.clear();
    }

    /// Every request the unit made, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.state().requests.clone()
    }
}

impl State {
    fn after(&mut self, now: Instant, steps: u32, event: Event) {
        self.seq += 1;
        let at = now + self.latency * steps;
        self.due.push((at, self.seq, event));
    }

    fn lookup(&self, host: &str) -> Option<IpAddr> {
        host.parse().ok().or_else(|| self.names.get(&host.to_ascii_lowercase()).copied())
    }

    /// A payload reached `peer`: record it and let the peer answer.
    fn deliver(
        &mut self,
        now: Instant,
        socket: u8,
        peer: SocketAddr,
        behaviour: Option<&PeerBehaviour>,
        bytes: Vec<u8>,
    ) {
        self.received.entry(peer).or_default().extend_from_slice(&bytes);
        let answer = match behaviour {
            Some(PeerBehaviour::Echo) => Some(bytes),
            Some(PeerBehaviour::Answer { reply, .. }) if !reply.is_empty() => Some(reply.clone()),
            _ => None,
        };
        if let Some(bytes) = answer {
            let datagram = matches!(self.sockets.get(&socket), Some(Socket::Datagram));
            let event =
                if datagram { Event::Datagram { socket, from: peer, bytes } } else { Event::Data { socket, bytes } };
            self.after(now, 1, event);
        }
    }

    fn perform(&mut self, request: Request, now: Instant) {
        self.requests.push(request.clone());
        match request {
            Request::Listen { socket, port, allowed } => {
                self.sockets.insert(socket, Socket::Listening);
                // The simulated unit listens on loopback; port 0 takes the
                // first dynamic port.
                let local = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), if port == 0 { 49152 } else { port });
                self.after(now, 0, Event::Listening { socket, local });
                let (coming, rest): (Vec<SimClient>, Vec<SimClient>) = std::mem::take(&mut self.clients)
                    .into_iter()
                    .partition(|c| c.port == port && allowed.is_none_or(|a| a == c.from.ip()));
                self.clients = rest;
                // One connection is accepted; listening ends with it (ch. 5).
                if let Some(c) = coming.into_iter().next() {
                    self.after(now, 1, Event::Connected { socket, peer: c.from });
                    if !c.sends.is_empty() {
                        self.after(now, 2, Event::Data { socket, bytes: c.sends });
                    }
                    if c.closes {
                        self.after(now, 3, Event::PeerClosed { socket });
                    }
                    self.sockets.insert(socket, Socket::Stream { peer: c.from, behaviour: None });
                }
            }
            Request::Connect { socket, host, port } => {
                let Some(ip) = self.lookup(&host) else {
                    let cause = format!("{host}: name not resolved");
                    return self.after(now, 1, Event::Failed { socket, failure: Failure::Resolve, cause });
                };
                let peer = SocketAddr::new(ip, port);
                match self.peers.get(&peer).cloned() {
                    None | Some(PeerBehaviour::Refuse) => {
                        let cause = format!("{peer}: connection refused");
                        self.after(now, 1, Event::Failed { socket, failure: Failure::Refused, cause });
                    }
                    Some(behaviour) => {
                        self.after(now, 1, Event::Connected { socket, peer });
                        match &behaviour {
                            PeerBehaviour::Drop => self.after(now, 2, Event::PeerClosed { socket }),
                            PeerBehaviour::Answer { greeting, .. } if !greeting.is_empty() => {
                                self.after(now, 2, Event::Data { socket, bytes: greeting.clone() })
                            }
                            _ => {}
                        }
                        self.sockets.insert(socket, Socket::Stream { peer, behaviour: Some(behaviour) });
                    }
                }
            }
            Request::Send { socket, bytes } => {
                if let Some(Socket::Stream { peer, behaviour }) = self.sockets.get(&socket) {
                    let (peer, behaviour) = (*peer, behaviour.clone());
                    self.deliver(now, socket, peer, behaviour.as_ref(), bytes);
                }
            }
            Request::Close { socket } => {
                self.sockets.remove(&socket);
                // Nothing more arrives on a closed socket.
                self.due.retain(|(_, _, e)| event_socket(e) != Some(socket));
            }
            Request::Bind { socket, port } => {
                self.sockets.insert(socket, Socket::Datagram);
                let local = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), if port == 0 { 49152 } else { port });
                self.after(now, 0, Event::Bound { socket, local });
                // Clients for this port send their bytes as one datagram
                // each (a listening UDP session, ch. 6).
                if port != 0 {
                    let (coming, rest): (Vec<SimClient>, Vec<SimClient>) =
                        std::mem::take(&mut self.clients).into_iter().partition(|c| c.port == port);
                    self.clients = rest;
                    for (i, c) in coming.into_iter().enumerate() {
                        self.after(now, 1 + i as u32, Event::Datagram { socket, from: c.from, bytes: c.sends });
                    }
                }
            }
            Request::SendTo { socket, host, port, bytes } => {
                if !matches!(self.sockets.get(&socket), Some(Socket::Datagram)) {
                    return;
                }
                let Some(ip) = self.lookup(&host) else {
                    let cause = format!("{host}: name not resolved");
                    return self.after(now, 1, Event::Failed { socket, failure: Failure::Resolve, cause });
                };
                let peer = SocketAddr::new(ip, port);
                let behaviour = self.peers.get(&peer).cloned();
                // A datagram to nobody is simply lost, as on a real network.
                self.deliver(now, socket, peer, behaviour.as_ref(), bytes);
            }
            Request::Ping { query, host, seq } => {
                if self.reachable.contains(&host) {
                    self.after(now, 2, Event::EchoReply { query, seq, from: host });
                }
            }
            // Kept in `requests()`; the simulation's names need no server.
            Request::DnsServers { .. } => {}
            Request::Cancel { query } => self.due.retain(|(_, _, e)| event_query(e) != Some(query)),
            Request::Resolve { query, name, servers } => {
                let usable = servers.iter().any(|s| !s.ip().is_unspecified());
                let event = match (usable, self.names.get(&name.to_ascii_lowercase())) {
                    (false, _) => Event::QueryFailed {
                        query,
                        failure: Failure::Resolve,
                        cause: format!("{name}: no DNS server configured"),
                    },
                    (true, Some(ip)) => Event::Resolved { query, addresses: vec![*ip] },
                    (true, None) => {
                        Event::QueryFailed { query, failure: Failure::Resolve, cause: format!("{name}: no such name") }
                    }
                };
                self.after(now, 2, event);
            }
        }
    }
}

fn event_socket(e: &Event) -> Option<u8> {
    match e {
        Event::Listening { socket, .. }
        | Event::Connected { socket, .. }
        | Event::Data { socket, .. }
        | Event::PeerClosed { socket }
        | Event::Failed { socket, .. }
        | Event::Bound { socket, .. }
        | Event::Datagram { socket, .. } => Some(*socket),
        Event::EchoReply { .. } | Event::Resolved { .. } | Event::QueryFailed { .. } => None,
    }
}

fn event_query(e: &Event) -> Option<u32> {
    match e {
        Event::EchoReply { query, .. } | Event::Resolved { query, .. } | Event::QueryFailed { query, .. } => {
            Some(*query)
        }
        _ => None,
    }
}

impl Backend for SimNetwork {
    fn perform(&mut self, request: Request, now: Instant) {
        self.state().perform(request, now);
    }

    fn poll_event(&mut self, now: Instant) -> Option<Event> {
        let mut s = self.state();
        let i = s
            .due
            .iter()
            .enumerate()
            .filter(|(_, (at, _, _))| *at <= now)
            .min_by_key(|(_, (at, seq, _))| (*at, *seq))
            .map(|(i, _)| i)?;
        let (_, _, event) = s.due.remove(i);
        if let Event::PeerClosed { socket } = event {
            s.sockets.remove(&socket);
        }
        Some(event)
    }

    fn next_due(&self) -> Option<Instant> {
        self.state().due.iter().map(|(at, _, _)| *at).min()
    }

    fn name(&self) -> &'static str {
        "simulated network"
    }
}

#[cfg(test)]
mod tests {
    //! The backend at its request/event boundary, the way smoltcp tests its
    //! sockets: requests in, events out, on a virtual clock.
    use super::*;

    fn run(net: &mut SimNetwork, t0: Instant) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(at) = net.next_due() {
            out.push(net.poll_event(at.max(t0)).expect("due event"));
        }
        out
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connect_echo_and_close() {
        let mut net = SimNetwork::new();
        net.peer(addr("10.0.0.7:7"), PeerBehaviour::Echo).name("echo.test", "10.0.0.7".parse().unwrap());
        let t0 = Instant::now();
        net.perform(Request::Connect { socket: 1, host: "echo.test".into(), port: 7 }, t0);
        assert_eq!(run(&mut net, t0), vec![Event::Connected { socket: 1, peer: addr("10.0.0.7:7") }]);
        net.perform(Request::Send { socket: 1, bytes: b"ping".to_vec() }, t0);
        assert_eq!(run(&mut net, t0), vec![Event::Data { socket: 1, bytes: b"ping".to_vec() }]);
        assert_eq!(net.received(addr("10.0.0.7:7")), b"ping");
        net.perform(Request::Send { socket: 1, bytes: b"late".to_vec() }, t0);
        net.perform(Request::Close { socket: 1 }, t0);
        assert_eq!(run(&mut net, t0), vec![], "nothing arrives on a closed socket");
    }

    #[test]
    fn refusal_unknown_name_and_drop() {
        let mut net = SimNetwork::new();
        net.peer(addr("10.0.0.1:25"), PeerBehaviour::Refuse).peer(addr("10.0.0.2:25"), PeerBehaviour::Drop);
        let t0 = Instant::now();
        net.perform(Request::Connect { socket: 1, host: "10.0.0.1".into(), port: 25 }, t0);
        net.perform(Request::Connect { socket: 2, host: "nowhere.test".into(), port: 25 }, t0);
        let events = run(&mut net, t0);
        assert!(matches!(events[0], Event::Failed { socket: 1, failure: Failure::Refused, .. }), "{events:?}");
        assert!(matches!(events[1], Event::Failed { socket: 2, failure: Failure::Resolve, .. }), "{events:?}");
        net.perform(Request::Connect { socket: 1, host: "10.0.0.2".into(), port: 25 }, t0);
        assert_eq!(
            run(&mut net, t0),
            vec![Event::Connected { socket: 1, peer: addr("10.0.0.2:25") }, Event::PeerClosed { socket: 1 }]
        );
    }

    #[test]
    fn listening_socket_accepts_an_allowed_client_only() {
        let mut net = SimNetwork::new();
        let client = |from: &str| SimClient { port: 2000, from: addr(from), sends: b"hi".to_vec(), closes: true };
        net.client(client("10.9.9.9:4000")).client(client("10.1.1.1:4000"));
        let t0 = Instant::now();
        let allowed = Some("10.1.1.1".parse().unwrap());
        net.perform(Request::Listen { socket: 2, port: 2000, allowed }, t0);
        assert_eq!(
            run(&mut net, t0),
            vec![
                Event::Listening { socket: 2, local: "127.0.0.1:2000".parse().unwrap() },
                Event::Connected { socket: 2, peer: addr("10.1.1.1:4000") },
                Event::Data { socket: 2, bytes: b"hi".to_vec() },
                Event::PeerClosed { socket: 2 },
            ]
        );
    }

    #[test]
    fn a_cancelled_query_answers_no_more() {
        let mut net = SimNetwork::new();
        let ip: IpAddr = "10.0.0.53".parse().unwrap();
        net.reachable(ip);
        let t0 = Instant::now();
        net.perform(Request::Ping { query: 4, host: ip, seq: 1 }, t0);
        net.perform(Request::Ping { query: 5, host: ip, seq: 1 }, t0);
        net.perform(Request::Cancel { query: 4 }, t0);
        net.perform(Request::DnsServers { servers: vec![addr("10.0.0.1:53")] }, t0);
        assert_eq!(run(&mut net, t0), vec![Event::EchoReply { query: 5, seq: 1, from: ip }]);
    }

    #[test]
    fn events_wait_for_the_clock() {
        let mut net = SimNetwork::new();
        net.latency(Duration::from_secs(2)).peer(addr("10.0.0.7:7"), PeerBehaviour::Silent);
        let t0 = Instant::now();
        net.perform(Request::Connect { socket: 1, host: "10.0.0.7".into(), port: 7 }, t0);
        assert_eq!(net.poll_event(t0 + Duration::from_secs(1)), None);
        assert_eq!(net.next_due(), Some(t0 + Duration::from_secs(2)));
        assert!(net.poll_event(t0 + Duration::from_secs(2)).is_some());
    }

    #[test]
    fn datagrams_look_ups_and_echo_requests() {
        let mut net = SimNetwork::new();
        let ip: IpAddr = "10.0.0.53".parse().unwrap();
        net.peer(addr("10.0.0.53:9"), PeerBehaviour::Echo).name("udp.test", ip).reachable(ip);
        let t0 = Instant::now();
        net.perform(Request::Bind { socket: 3, port: 0 }, t0);
        net.perform(Request::SendTo { socket: 3, host: "udp.test".into(), port: 9, bytes: b"d".to_vec() }, t0);
        net.perform(Request::Resolve { query: 7, name: "UDP.test".into(), servers: vec![addr("10.0.0.1:53")] }, t0);
        net.perform(Request::Resolve { query: 8, name: "udp.test".into(), servers: vec![addr("0.0.0.0:53")] }, t0);
        net.perform(Request::Ping { query: 9, host: ip, seq: 1 }, t0);
        net.perform(Request::Ping { query: 9, host: "10.0.0.99".parse().unwrap(), seq: 2 }, t0);
        let events = run(&mut net, t0);
        assert!(matches!(events[0], Event::Bound { socket: 3, .. }), "{events:?}");
        assert!(events.contains(&Event::Datagram { socket: 3, from: addr("10.0.0.53:9"), bytes: b"d".to_vec() }));
        assert!(events.contains(&Event::Resolved { query: 7, addresses: vec![ip] }));
        assert!(events.iter().any(|e| matches!(e, Event::QueryFailed { query: 8, failure: Failure::Resolve, .. })));
        assert!(events.contains(&Event::EchoReply { query: 9, seq: 1, from: ip }));
        assert!(!events.iter().any(|e| matches!(e, Event::EchoReply { seq: 2, .. })), "unreachable hosts stay silent");
    }
}
