//! Chapter 6, UDP socket services: `AT#OUDP`, `AT#LUDPSTART`,
//! `AT#LUDPSTOP` and the data mode they open (p.34-36, App. B p.50-52).
//!
//! - `AT#OUDP` opens a session to UDPSERV:UDPPORT (UDPSERV resolved by the
//!   DNS servers when it is a name: `#CME ERROR: 38027` when it cannot be,
//!   p.36) and answers `Ok_Info_WaitingForData`; datagrams are accepted
//!   only from that address (p.36). UDPSERV 255.255.255.255, "no filter"
//!   in listen mode, names no remote: `#CME ERROR: 36929` (**inferred**).
//! - `AT#LUDPSTART` listens on local UDPPORT (p.35). With UDPSERV
//!   255.255.255.255 any sender is taken; otherwise only UDPSERV (an
//!   address or a name, resolved first). The first datagram taken fixes the
//!   remote (its address and port): from then on datagrams go only to it
//!   and are taken only from it (p.35).
//!   **Inferred** (the response table of p.35 is cut after `OK_Info_Wa…`):
//!   the command answers `OK` once the port is open, as `#LTCPSTART` does
//!   (App. A p.48), and `Ok_Info_WaitingForData` comes with the first
//!   datagram, followed by its payload. Until then the line stays in
//!   command mode, which is what lets the host cancel with `AT#LUDPSTOP`
//!   "before the first datagram" (p.35).
//!   An `<ETX>` sent before the first datagram is a stray byte in command
//!   mode, not a cancel (**inferred**: p.35 names #LUDPSTOP for that and
//!   the `<ETX>` only "after it"; #LTCPSTART's `<ETX>` abort is TCP's, p.31).
//! - `AT#LUDPSTOP` cancels a listen that has taken no datagram: `OK`
//!   (**inferred**: the command is named on p.35, its page is not
//!   recovered; like `#LTCPSTOP` it is harmless when nothing listens).
//! - DLE coding always (UDP has no DLEMODE, p.35-36): payload ETX and DLE
//!   travel as `<DLE><ETX>` and `<DLE><DLE>` both ways; an `<ETX>` not
//!   preceded by `<DLE>` ends the session: `Ok_Info_SocketClosed`, `OK`
//!   (p.36, the row added in rev C).
//! - Host payload is held UDPTXDELAY ms after its first byte, then sent as
//!   one datagram; 0 sends each byte at once (p.34). A datagram is also
//!   sent when it holds 1460 bytes, the stack's TCP frame (**inferred**:
//!   p.34 speaks of "a partly filled datagram" without its full size).
//! - An error in a running session is reported by an `<ETX>`, then the
//!   error (p.36: "the stack first sends an <ETX>").

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::data_mode::{Coding, DataMode, ETX};
use super::resolver::Lookup;
use super::Running;
use crate::at::codes::{Condition, StackError};
use crate::at::parameters::{Value, UDPPORT, UDPSERV, UDPTXDELAY};
use crate::at::response::{Final, Info};
use crate::emulator::net::{Event, Request};
use crate::emulator::radio::Session as Link;
use crate::emulator::{Error, Mode, Modem, Outcome};

/// The stack socket id of the UDP session (TCP takes 1 and 2).
pub const SOCKET: u8 = 3;

/// UDPSERV that filters nothing in listen mode (p.34-35).
const ANY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::BROADCAST);

/// Which command opened the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `AT#OUDP`: to UDPSERV:UDPPORT.
    Active,
    /// `AT#LUDPSTART`: on local UDPPORT.
    Listen,
}

/// The UDP session of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// UDPSERV is a name the DNS servers are asked for.
    Resolving { kind: Kind, query: u32, port: u16 },
    /// The datagram socket is being opened; `peer` is the remote of an
    /// active session, or the sender a listen takes (None: any).
    Opening { kind: Kind, peer: Option<IpAddr>, port: u16 },
    /// `#LUDPSTART` answered; no datagram taken yet (command mode).
    Listening { allowed: Option<IpAddr> },
    /// Data mode with the remote fixed.
    Online { remote: SocketAddr, data: DataMode },
}

impl Session {
    pub(super) fn describe(&self) -> String {
        match self {
            Session::Resolving { kind, .. } => format!("UDP {kind:?} session resolving UDPSERV"),
            Session::Opening { kind, .. } => format!("UDP {kind:?} session opening"),
            Session::Listening { allowed: None } => "UDP listening for any sender".into(),
            Session::Listening { allowed: Some(ip) } => format!("UDP listening for {ip}"),
            Session::Online { remote, .. } => format!("UDP online with {remote}"),
        }
    }

    pub(super) fn data_mode(&mut self) -> Option<&mut DataMode> {
        match self {
            Session::Online { data, .. } => Some(data),
            _ => None,
        }
    }

    /// Where host payload goes (online only).
    pub(super) fn remote(&self) -> Option<SocketAddr> {
        match self {
            Session::Online { remote, .. } => Some(*remote),
            _ => None,
        }
    }
}

impl Modem {
    /// `AT#OUDP`, `AT#LUDPSTART`, `AT#LUDPSTOP` (no socket id, p.35-36).
    pub(crate) fn udp_command(&mut self, name: &str) -> Outcome {
        if !matches!(self.radio.session, Link::Connected { .. }) {
            return Outcome::Error(Error::Stack(StackError::NotActive));
        }
        if name == "LUDPSTOP" {
            if let Some(Running::Udp(Session::Listening { .. })) = self.service {
                self.net_requests.push(Request::Close { socket: SOCKET });
                self.set_service(None, "AT#LUDPSTOP");
            }
            return Outcome::Continue;
        }
        if self.service.is_some() {
            return Modem::answer(Condition::SecondService);
        }
        let kind = if name == "OUDP" { Kind::Active } else { Kind::Listen };
        // p.34: "port number 0 is illegal" (0 is the unset default).
        let port = match self.param(&UDPPORT, None) {
            Value::Int(p) if p > 0 => p as u16,
            _ => return Modem::answer(Condition::UnusableConfiguration),
        };
        let server = self.param(&UDPSERV, None).to_string();
        let server = server.trim();
        if server.is_empty() {
            return Modem::answer(Condition::UnusableConfiguration);
        }
        let session = match self.look_up(server) {
            // 255.255.255.255 is "no filter" for a listen (p.34); an active
            // session has no remote to send to (inferred: 36929 as for an
            // unusable TCPSERV).
            Lookup::Address(ANY) if kind == Kind::Active => {
                return Modem::answer(Condition::UnusableConfiguration);
            }
            Lookup::Address(ip) => self.udp_open(kind, ip, port),
            Lookup::Asked(query) => Session::Resolving { kind, query, port },
        };
        self.set_service(Some(Running::Udp(session)), &format!("AT#{name}"));
        // The command answers once the socket is open or has failed; what
        // the host sends meanwhile waits.
        self.set_mode(Mode::Busy, "UDP session opening");
        Outcome::Deferred
    }

    /// Open the datagram socket for a session whose UDPSERV is `ip`.
    fn udp_open(&mut self, kind: Kind, ip: IpAddr, port: u16) -> Session {
        let (local, peer) = match kind {
            Kind::Active => (0, Some(ip)),
            Kind::Listen => (port, (ip != ANY).then_some(ip)),
        };
        self.net_requests.push(Request::Bind { socket: SOCKET, port: local });
        Session::Opening { kind, peer, port }
    }

    /// What the network did to the UDP session.
    pub(super) fn udp_event(&mut self, event: Event, now: Instant) {
        let Some(Running::Udp(session)) = &self.service else { return };
        let session = session.clone();
        match (session, event) {
            (Session::Resolving { kind, query, port }, Event::Resolved { query: q, addresses }) if q == query => {
                match addresses.iter().find(|a| a.is_ipv4()) {
                    Some(ip) => {
                        let next = self.udp_open(kind, *ip, port);
                        self.set_service(Some(Running::Udp(next)), "UDPSERV resolved");
                    }
                    None => self.udp_not_resolved(now, "no IPv4 address"),
                }
            }
            (Session::Resolving { query, .. }, Event::QueryFailed { query: q, cause, .. }) if q == query => {
                self.udp_not_resolved(now, &cause);
            }
            (Session::Opening { kind, peer, port }, Event::Bound { socket: SOCKET, local }) => {
                tracing::debug!(%local, "UDP socket open");
                let f = self.format();
                match (kind, peer) {
                    (Kind::Active, Some(ip)) => {
                        let remote = SocketAddr::new(ip, port);
                        self.udp_online(remote, "AT#OUDP: socket open");
                        f.final_result(&mut self.out, Final::Info(Info::WaitingForData));
                    }
                    (_, allowed) => {
                        let listening = Session::Listening { allowed };
                        self.set_service(Some(Running::Udp(listening)), "AT#LUDPSTART: listening");
                        f.final_result(&mut self.out, Final::Ok);
                    }
                }
                self.release_queued(now);
            }
            (Session::Opening { kind, .. }, Event::Failed { socket: SOCKET, cause, .. }) => {
                tracing::info!("UDP session: {cause}");
                self.set_service(None, "the UDP socket could not be opened");
                self.answer_now(if kind == Kind::Listen {
                    Condition::CannotListen
                } else {
                    Condition::UdpSessionFailed
                });
                self.release_queued(now);
            }
            (Session::Listening { allowed }, Event::Datagram { socket: SOCKET, from, bytes }) => {
                if allowed.is_some_and(|ip| ip != from.ip()) {
                    tracing::debug!(%from, "datagram from a sender UDPSERV does not allow: dropped (p.35)");
                    return;
                }
                // The first datagram fixes the remote, port included (p.35).
                self.udp_online(from, "the first datagram fixes the remote");
                self.format().final_result(&mut self.out, Final::Info(Info::WaitingForData));
                self.udp_to_host(&bytes);
            }
            (Session::Online { remote, .. }, Event::Datagram { socket: SOCKET, from, bytes }) => {
                if from == remote {
                    self.udp_to_host(&bytes);
                } else {
                    tracing::debug!(%from, %remote, "datagram from another sender: dropped (p.35-36)");
                }
            }
            (Session::Listening { .. } | Session::Online { .. }, Event::Failed { socket: SOCKET, cause, .. }) => {
                tracing::info!("UDP session: {cause}");
                let online = self.mode == Mode::Data;
                self.net_requests.push(Request::Close { socket: SOCKET });
                self.set_service(None, "the UDP session failed");
                // p.36: "the stack first sends an <ETX>, then the error message".
                if online {
                    self.out.push(ETX);
                }
                self.answer_now(Condition::UdpSessionFailed);
            }
            // Events of other sockets and queries are not this service's.
            _ => {}
        }
    }

    fn udp_not_resolved(&mut self, now: Instant, cause: &str) {
        tracing::info!("UDPSERV: {cause}");
        self.set_service(None, "UDPSERV not resolved");
        // p.36: "#CME ERROR: 38027" when the remote name is not resolved.
        self.format().stack_error(&mut self.out, StackError::NotResolved);
        self.release_queued(now);
    }

    fn udp_online(&mut self, remote: SocketAddr, why: &str) {
        let delay = match self.param(&UDPTXDELAY, None) {
            Value::Int(ms) => Duration::from_millis(ms.max(0) as u64),
            _ => Duration::ZERO,
        };
        let online = Session::Online { remote, data: DataMode::new(Coding::Dle, delay) };
        self.set_service(Some(Running::Udp(online)), why);
    }

    fn udp_to_host(&mut self, bytes: &[u8]) {
        if let Some(data) = self.service.as_mut().and_then(Running::data_mode) {
            data.to_host(bytes, &mut self.out);
        }
    }

    /// The host ended the session with an unescaped ETX (p.36): what it
    /// typed has been sent; close, `Ok_Info_SocketClosed`, `OK`.
    pub(super) fn udp_local_close(&mut self) {
        self.net_requests.push(Request::Close { socket: SOCKET });
        self.set_service(None, "the host sent ETX");
        let f = self.format();
        f.final_result(&mut self.out, Final::Info(Info::SocketClosed));
        f.final_result(&mut self.out, Final::Ok);
    }
}

#[cfg(test)]
mod tests {
    //! The packetiser and p.35's rules at the request/event boundary, on a
    //! virtual clock: host bytes in, datagrams (`SendTo`) out.
    use std::time::{Duration, Instant};

    use rstest::rstest;

    use super::*;
    use crate::emulator::EmulatorConfig;

    fn output(m: &mut Modem) -> String {
        String::from_utf8_lossy(&m.take_output()).into_owned()
    }

    /// A unit with a session and the UDP parameters set.
    fn online(setup: &str, t0: Instant) -> Modem {
        let mut m = Modem::new(&EmulatorConfig::default()).unwrap();
        m.receive(b"ATE0\rAT+CMEE=1\rAT+WOPEN=1\rAT+CGATT=1\rAT#CONNECTIONSTART\r", t0);
        let mut now = t0;
        while let Some(at) = m.next_timer().filter(|at| *at < t0 + Duration::from_secs(5)) {
            now = now.max(at);
            m.on_timer(now);
        }
        m.receive(setup.as_bytes(), t0);
        output(&mut m);
        m
    }

    fn peer() -> SocketAddr {
        "192.0.2.9:5000".parse().unwrap()
    }

    /// `AT#OUDP` to 192.0.2.9:5000 with UDPTXDELAY `delay`, socket open.
    fn active(delay: u32, t0: Instant) -> Modem {
        let mut m = online(&format!("AT#UDPSERV=\"192.0.2.9\"\rAT#UDPPORT=5000\rAT#UDPTXDELAY={delay}\rAT#OUDP\r"), t0);
        assert_eq!(m.take_requests(), vec![Request::Bind { socket: SOCKET, port: 0 }]);
        m.net_event(Event::Bound { socket: SOCKET, local: "127.0.0.1:40000".parse().unwrap() }, t0);
        assert_eq!(output(&mut m), "\r\nOk_Info_WaitingForData\r\n");
        m
    }

    fn datagrams(m: &mut Modem) -> Vec<Vec<u8>> {
        m.take_requests()
            .into_iter()
            .filter_map(|r| match r {
                Request::SendTo { socket: SOCKET, host, port, bytes } => {
                    assert_eq!((host.as_str(), port), ("192.0.2.9", 5000));
                    Some(bytes)
                }
                _ => None,
            })
            .collect()
    }

    /// Host bytes at times (ms after the session opened) and the datagrams
    /// sent: UDPTXDELAY holds a datagram after its first byte (p.34).
    #[rstest]
    #[case::one_burst(100, &[(0, b"abc".as_slice())], &[b"abc".as_slice()])]
    #[case::two_bursts_apart(100, &[(0, b"ab".as_slice()), (150, b"cd".as_slice())], &[b"ab".as_slice(), b"cd"])]
    #[case::within_the_delay(100, &[(0, b"ab".as_slice()), (60, b"cd".as_slice())], &[b"abcd".as_slice()])]
    #[case::no_delay_each_byte(0, &[(0, b"xyz".as_slice())], &[b"x".as_slice(), b"y", b"z"])]
    #[case::dle_decoded(100, &[(0, b"a\x10\x03b\x10\x10c".as_slice())], &[b"a\x03b\x10c".as_slice()])]
    #[case::escape_split_across_bursts(20, &[(0, b"a\x10".as_slice()), (40, b"\x03".as_slice())], &[b"a".as_slice(), b"\x03"])]
    fn host_bytes_become_datagrams(#[case] delay: u32, #[case] input: &[(u64, &[u8])], #[case] expected: &[&[u8]]) {
        let t0 = Instant::now();
        let mut m = active(delay, t0);
        let mut sent = Vec::new();
        for (ms, bytes) in input {
            let at = t0 + Duration::from_millis(*ms);
            while let Some(due) = m.next_timer().filter(|due| *due <= at) {
                m.on_timer(due);
            }
            m.receive(bytes, at);
            sent.extend(datagrams(&mut m));
        }
        m.on_timer(t0 + Duration::from_secs(2));
        sent.extend(datagrams(&mut m));
        assert_eq!(sent, expected.iter().map(|d| d.to_vec()).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_datagram_goes_at_once() {
        let t0 = Instant::now();
        let mut m = active(1000, t0);
        m.receive(&vec![b'x'; 1500], t0);
        let sent = datagrams(&mut m);
        assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [1460]);
    }

    #[test]
    fn datagrams_from_the_remote_reach_the_host_dle_coded_and_etx_closes() {
        let t0 = Instant::now();
        let mut m = active(100, t0);
        m.net_event(Event::Datagram { socket: SOCKET, from: peer(), bytes: b"a\x03\x10".to_vec() }, t0);
        let stranger = "192.0.2.9:5001".parse().unwrap();
        m.net_event(Event::Datagram { socket: SOCKET, from: stranger, bytes: b"no".to_vec() }, t0);
        assert_eq!(output(&mut m), "a\u{10}\u{3}\u{10}\u{10}", "only UDPSERV:UDPPORT is heard (p.36)");
        m.receive(b"end\x03", t0);
        assert_eq!(datagrams(&mut m), vec![b"end".to_vec()]);
        assert_eq!(output(&mut m), "\r\nOk_Info_SocketClosed\r\n\r\nOK\r\n");
        m.receive(b"AT\r", t0);
        assert_eq!(output(&mut m), "\r\nOK\r\n");
    }

    #[rstest]
    #[case::any_sender("255.255.255.255", "198.51.100.7:4000", true)]
    #[case::the_allowed_sender("198.51.100.7", "198.51.100.7:4000", true)]
    #[case::another_sender("198.51.100.7", "198.51.100.8:4000", false)]
    fn a_listen_takes_its_first_datagram_by_udpserv(#[case] udpserv: &str, #[case] from: &str, #[case] taken: bool) {
        let t0 = Instant::now();
        let mut m = online(&format!("AT#UDPSERV=\"{udpserv}\"\rAT#UDPPORT=6000\rAT#LUDPSTART\r"), t0);
        assert_eq!(m.take_requests(), vec![Request::Bind { socket: SOCKET, port: 6000 }]);
        m.net_event(Event::Bound { socket: SOCKET, local: "127.0.0.1:6000".parse().unwrap() }, t0);
        assert_eq!(output(&mut m), "\r\nOK\r\n");
        let from: SocketAddr = from.parse().unwrap();
        m.net_event(Event::Datagram { socket: SOCKET, from, bytes: b"hi".to_vec() }, t0);
        if taken {
            assert_eq!(output(&mut m), "\r\nOk_Info_WaitingForData\r\nhi");
            m.receive(b"yo\x03", t0);
            let requests = m.take_requests();
            assert_eq!(
                requests[0],
                Request::SendTo {
                    socket: SOCKET,
                    host: from.ip().to_string(),
                    port: from.port(),
                    bytes: b"yo".to_vec()
                },
                "host payload goes to the remote the first datagram fixed"
            );
        } else {
            assert_eq!(output(&mut m), "");
            // Still in command mode: the listen is cancelled (p.35).
            m.receive(b"AT#LUDPSTOP\r", t0);
            assert_eq!(m.take_requests(), vec![Request::Close { socket: SOCKET }]);
            assert_eq!(output(&mut m), "\r\nOK\r\n");
        }
    }

    #[rstest]
    #[case::port_zero("AT#UDPSERV=\"192.0.2.9\"\rAT#OUDP\r", "\r\nOK\r\n\r\n#CME ERROR: 36929\r\n")]
    #[case::no_server("AT#UDPPORT=7\rAT#OUDP\r", "\r\nOK\r\n\r\n#CME ERROR: 36929\r\n")]
    #[case::listen_no_server("AT#UDPPORT=7\rAT#LUDPSTART\r", "\r\nOK\r\n\r\n#CME ERROR: 36929\r\n")]
    #[case::active_to_no_filter(
        "AT#UDPSERV=\"255.255.255.255\"\rAT#UDPPORT=7\rAT#OUDP\r",
        "\r\nOK\r\n\r\nOK\r\n\r\n#CME ERROR: 36929\r\n"
    )]
    #[case::stop_with_nothing_listening("AT#LUDPSTOP\r", "\r\nOK\r\n")]
    fn refusals(#[case] input: &str, #[case] expected: &str) {
        let t0 = Instant::now();
        let mut m = online("", t0);
        m.receive(input.as_bytes(), t0);
        assert_eq!(output(&mut m), expected);
    }

    #[test]
    fn a_name_that_does_not_resolve_answers_38027() {
        let t0 = Instant::now();
        let mut m = online("AT#DNSSERV1=\"192.0.2.53\"\rAT#UDPSERV=\"nowhere.test\"\rAT#UDPPORT=7\rAT#OUDP\r", t0);
        let requests = m.take_requests();
        let [Request::Resolve { query, name, servers }] = requests.as_slice() else { panic!("{requests:?}") };
        assert_eq!(
            (name.as_str(), servers.as_slice()),
            ("nowhere.test", ["192.0.2.53:53".parse().unwrap()].as_slice())
        );
        m.receive(b"AT\r", t0);
        assert_eq!(output(&mut m), "", "the host waits for the answer");
        let failure = crate::emulator::net::Failure::Resolve;
        m.net_event(Event::QueryFailed { query: *query, failure, cause: "no such name".into() }, t0);
        assert_eq!(output(&mut m), "\r\n#CME ERROR: 38027\r\n\r\nOK\r\n");
    }

    #[test]
    fn an_error_online_is_preceded_by_etx() {
        let t0 = Instant::now();
        let mut m = active(0, t0);
        let failure = crate::emulator::net::Failure::Other;
        m.net_event(Event::Failed { socket: SOCKET, failure, cause: "unreachable".into() }, t0);
        assert_eq!(output(&mut m), "\u{3}\r\n#CME ERROR: 36872\r\n");
        assert_eq!(m.take_requests(), vec![Request::Close { socket: SOCKET }]);
    }
}
