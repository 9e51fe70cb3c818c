//! The emulator's UDP (ch. 6), PING (ch. 7) and DNS (p.20-21) services, and
//! the `<ETX>` that aborts a pending `#LTCPSTART` (p.31), driven over AT
//! against real servers on loopback: the embedded DNS and echo fixtures,
//! reached through the net map. The fixtures themselves are checked with
//! Python's `socket` module, a client that is not ours.

mod common;
use common::{command, read_until, read_until_within};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use mtg::emulator::net::{icmp_echo_permitted, NetMap};
use mtg::emulator::{EmulatorConfig, Network, SimNetwork};
use mtg::fixtures::dns::DnsFixture;
use mtg::fixtures::echo::{TcpEchoFixture, UdpEchoFixture};
use mtg::fixtures::{Fixture, Observation, Observe};
use mtg::transport::EmulatorTransport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const WAIT: Duration = Duration::from_secs(5);

/// A unit with the stack open and a GPRS session up, as the TCP tests do.
async fn online(config: EmulatorConfig) -> EmulatorTransport {
    let mut t = EmulatorTransport::start(config).expect("emulator");
    command(&mut t, "ATE0", "OK\r\n").await;
    command(&mut t, "AT+CMEE=1;+WOPEN=1", "OK\r\n").await;
    command(&mut t, "AT+CGATT=1", "OK\r\n").await;
    command(&mut t, "AT#CONNECTIONSTART", "Ok_Info_GprsActivation\r\n").await;
    t
}

/// A unit on the host network whose dials go through `map`.
async fn online_with(map: NetMap) -> EmulatorTransport {
    online(EmulatorConfig { net_map: map, ..EmulatorConfig::default() }).await
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

fn at(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = tokio::time::timeout(WAIT, socket.recv_from(&mut buf)).await.expect("a datagram").unwrap();
    (buf[..n].to_vec(), from)
}

#[tokio::test]
async fn oudp_to_the_udp_echo_with_dle_coding_and_udptxdelay_packetisation() {
    let echo = UdpEchoFixture::start(ip(21)).await.unwrap();
    let mut map = NetMap::default();
    map.insert(at(ip(21), 7), echo.endpoint());
    let mut t = online_with(map).await;
    command(&mut t, "AT#UDPSERV=\"127.0.0.21\"", "OK\r\n").await;
    command(&mut t, "AT#UDPPORT=7", "OK\r\n").await;
    command(&mut t, "AT#UDPTXDELAY=100", "OK\r\n").await;
    assert_eq!(command(&mut t, "AT#OUDP", "\r\n").await, "\r\nOk_Info_WaitingForData\r\n");

    // Payload ETX and DLE: escaped by the host, plain in the datagram, escaped back.
    t.write_all(b"a\x10\x03b\x10\x10c").await.unwrap();
    assert_eq!(read_until(&mut t, b"c").await, b"a\x10\x03b\x10\x10c");
    // One burst within UDPTXDELAY is one datagram; a later burst another.
    t.write_all(b"xy").await.unwrap();
    assert_eq!(read_until(&mut t, b"xy").await, b"xy");
    tokio::time::sleep(Duration::from_millis(300)).await;
    t.write_all(b"z").await.unwrap();
    assert_eq!(read_until(&mut t, b"z").await, b"z");
    // ETX ends the session (p.36).
    t.write_all(b"\x03").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOk_Info_SocketClosed\r\n\r\nOK\r\n");

    // UDPTXDELAY 0: each byte is its own datagram (p.34).
    command(&mut t, "AT#UDPTXDELAY=0", "OK\r\n").await;
    command(&mut t, "AT#OUDP", "Ok_Info_WaitingForData\r\n").await;
    t.write_all(b"123").await.unwrap();
    assert_eq!(read_until(&mut t, b"3").await, b"123");
    t.write_all(b"\x03").await.unwrap();
    read_until(&mut t, b"OK\r\n").await;

    let expected: Vec<Vec<u8>> =
        [&b"a\x03b\x10c"[..], b"xy", b"z", b"1", b"2", b"3"].iter().map(|d| d.to_vec()).collect();
    assert_eq!(echo.observe(&Observe::Datagrams).unwrap(), Some(Observation::Datagrams(expected)));
}

#[tokio::test]
async fn ludpstart_with_255_255_255_255_takes_any_first_sender_then_only_it() {
    let port = free_udp_port();
    let mut t = online_with(NetMap::default()).await;
    command(&mut t, "AT#UDPSERV=\"255.255.255.255\"", "OK\r\n").await;
    command(&mut t, &format!("AT#UDPPORT={port}"), "OK\r\n").await;
    assert_eq!(command(&mut t, "AT#LUDPSTART", "\r\n").await, "\r\nOK\r\n");

    let first = UdpSocket::bind(at(ip(22), 0)).await.unwrap();
    let other = UdpSocket::bind(at(ip(23), 0)).await.unwrap();
    first.send_to(b"hi\x03", at(ip(1), port)).await.unwrap();
    assert_eq!(read_until(&mut t, b"\x10\x03").await, b"\r\nOk_Info_WaitingForData\r\nhi\x10\x03");
    // The host answers the remote the first datagram fixed.
    t.write_all(b"yo").await.unwrap();
    let (bytes, from) = recv(&first).await;
    assert_eq!((bytes.as_slice(), from), (&b"yo"[..], at(ip(1), port)), "from the port the unit listens on");
    // Another sender is no longer heard; the first still is.
    other.send_to(b"stranger", at(ip(1), port)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    first.send_to(b"again", at(ip(1), port)).await.unwrap();
    assert_eq!(read_until(&mut t, b"again").await, b"again");
    t.write_all(b"\x03").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOk_Info_SocketClosed\r\n\r\nOK\r\n");
}

#[tokio::test]
async fn ludpstart_with_an_address_hears_only_udpserv_and_ludpstop_cancels() {
    let port = free_udp_port();
    let mut t = online_with(NetMap::default()).await;
    command(&mut t, "AT#UDPSERV=\"127.0.0.24\"", "OK\r\n").await;
    command(&mut t, &format!("AT#UDPPORT={port}"), "OK\r\n").await;
    // Cancelled before any datagram (p.35): the port is free again.
    assert_eq!(command(&mut t, "AT#LUDPSTART", "\r\n").await, "\r\nOK\r\n");
    assert_eq!(command(&mut t, "AT#LUDPSTOP", "\r\n").await, "\r\nOK\r\n");
    let mut freed = false;
    for _ in 0..50 {
        if std::net::UdpSocket::bind(at(ip(1), port)).is_ok() {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(freed, "#LUDPSTOP released port {port}");

    assert_eq!(command(&mut t, "AT#LUDPSTART", "\r\n").await, "\r\nOK\r\n");
    let stranger = UdpSocket::bind(at(ip(25), 0)).await.unwrap();
    let allowed = UdpSocket::bind(at(ip(24), 0)).await.unwrap();
    stranger.send_to(b"stranger", at(ip(1), port)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    allowed.send_to(b"friend", at(ip(1), port)).await.unwrap();
    assert_eq!(read_until(&mut t, b"friend").await, b"\r\nOk_Info_WaitingForData\r\nfriend");
    t.write_all(b"back").await.unwrap();
    assert_eq!(recv(&allowed).await.0, b"back");
    t.write_all(b"\x03").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOk_Info_SocketClosed\r\n\r\nOK\r\n");
}

/// `"127.0.0.1" is alive : time = N ms` lines, as p.38 prints them.
fn alive_lines(text: &str, target: &str) -> usize {
    let line = regex::Regex::new(&format!(r#"^"{}" is alive : time = [0-9]+ ms$"#, regex::escape(target))).unwrap();
    text.split("\r\n").filter(|l| line.is_match(l)).count()
}

#[tokio::test]
async fn ping_loopback_twice_on_the_host_network() {
    if let Err(why) = icmp_echo_permitted() {
        eprintln!("skipped: this host forbids ICMP echo entirely: {why}");
        return;
    }
    let mut t = online_with(NetMap::default()).await;
    command(&mut t, "AT#PINGREMOTE=\"127.0.0.1\"", "OK\r\n").await;
    command(&mut t, "AT#PINGNUM=2", "OK\r\n").await;
    command(&mut t, "AT#PINGDELAY=1", "OK\r\n").await;
    let out = command(&mut t, "AT#PING", "\r\nOK\r\n").await;
    assert_eq!(alive_lines(&out, "127.0.0.1"), 2, "{out:?}");
    assert!(out.ends_with(" ms\r\n\r\nOK\r\n"), "{out:?}");
}

#[tokio::test]
async fn ping_a_name_the_dns_servers_resolve() {
    if let Err(why) = icmp_echo_permitted() {
        eprintln!("skipped: this host forbids ICMP echo entirely: {why}");
        return;
    }
    let dns = DnsFixture::start(ip(26), vec![("loop.test".into(), ip(1))]).await.unwrap();
    let mut map = NetMap::default();
    map.insert(at(ip(26), 53), dns.endpoint());
    let mut t = online_with(map).await;
    command(&mut t, "AT#DNSSERV1=\"127.0.0.26\"", "OK\r\n").await;
    command(&mut t, "AT#PINGREMOTE=\"loop.test\"", "OK\r\n").await;
    command(&mut t, "AT#PINGNUM=1", "OK\r\n").await;
    let out = command(&mut t, "AT#PING", "\r\nOK\r\n").await;
    assert_eq!(alive_lines(&out, "loop.test"), 1, "{out:?}");
    assert_eq!(dns.queries(), ["loop.test"]);
    command(&mut t, "AT#PINGREMOTE=\"nowhere.test\"", "OK\r\n").await;
    assert_eq!(command(&mut t, "AT#PING", "\r\n").await, "\r\n#CME ERROR: 38027\r\n");
}

/// Loopback always answers; the no-reply form runs on the simulated network,
/// in virtual time.
#[tokio::test]
async fn ping_without_reply_prints_no_answer_on_the_simulated_network() {
    let net = SimNetwork::new();
    net.reachable("192.0.2.1".parse().unwrap());
    let mut t = online(EmulatorConfig { network: Network::Simulated(net.clone()), ..EmulatorConfig::default() }).await;
    command(&mut t, "AT#PINGREMOTE=\"192.0.2.99\"", "OK\r\n").await;
    command(&mut t, "AT#PINGNUM=2", "OK\r\n").await;
    command(&mut t, "AT#PINGDELAY=3", "OK\r\n").await;
    let wall = std::time::Instant::now();
    let out = command(&mut t, "AT#PING", "\r\nOK\r\n").await;
    assert_eq!(out, "NO answer from \"192.0.2.99\"\r\nNO answer from \"192.0.2.99\"\r\n\r\nOK\r\n");
    assert!(wall.elapsed() < Duration::from_secs(3), "six seconds of PINGDELAY passed on the unit's clock");
    command(&mut t, "AT#PINGREMOTE=\"192.0.2.1\"", "OK\r\n").await;
    let out = command(&mut t, "AT#PING", "\r\nOK\r\n").await;
    assert_eq!(out, "\"192.0.2.1\" is alive : time = 10 ms\r\n".repeat(2) + "\r\nOK\r\n");
}

/// The DNS fixture and TCP echo behind the manual's kind of names: DNSSERV1
/// resolves `echo.example`, and the net map sends the unit's dial of port
/// 25 to where the echo server really listens.
#[tokio::test]
async fn otcp_to_a_name_resolved_by_dnsserv1_through_the_net_map() {
    let dns = DnsFixture::start(ip(31), vec![("echo.example".into(), ip(32))]).await.unwrap();
    let echo = TcpEchoFixture::start(ip(32)).await.unwrap();
    let mut map = NetMap::default();
    map.insert(at(ip(31), 53), dns.endpoint());
    map.insert(at(ip(32), 25), echo.endpoint());
    let mut t = online_with(map).await;
    command(&mut t, "AT#DNSSERV1=\"127.0.0.31\"", "OK\r\n").await;
    command(&mut t, "AT#TCPSERV=1,\"echo.example\"", "OK\r\n").await;
    command(&mut t, "AT#TCPPORT=1,25", "OK\r\n").await;
    command(&mut t, "AT#TCPTXDELAY=1,0", "OK\r\n").await;
    assert_eq!(command(&mut t, "AT#OTCP=1", "\r\n").await, "\r\nOk_Info_WaitingForData\r\n");
    t.write_all(b"hello").await.unwrap();
    assert_eq!(read_until(&mut t, b"hello").await, b"hello");
    t.write_all(b"\x03").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    assert_eq!(dns.queries(), ["echo.example"]);
    // The echo server saw the bytes once the close has reached it.
    for _ in 0..50 {
        if echo.streams() == [b"hello".to_vec()] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(echo.observe(&Observe::Streams).unwrap(), Some(Observation::Streams(vec![b"hello".to_vec()])));
}

/// p.21: DNSSERV2 "is used in the case where the primary DNS server does not
/// respond": a silent DNSSERV1 (the resolver's 5 s time-out), or one with
/// nothing listening (at once).
#[tokio::test]
async fn dnsserv2_answers_when_dnsserv1_does_not() {
    let silent = DnsFixture::start(ip(33), vec![("echo.example".into(), ip(35))]).await.unwrap();
    silent.set_silent(true);
    let second = DnsFixture::start(ip(34), vec![("echo.example".into(), ip(35))]).await.unwrap();
    let echo = TcpEchoFixture::start(ip(35)).await.unwrap();
    let nobody = std::net::UdpSocket::bind(at(ip(36), 0)).unwrap();
    let mut map = NetMap::default();
    map.insert(at(ip(33), 53), silent.endpoint());
    map.insert(at(ip(34), 53), second.endpoint());
    map.insert(at(ip(36), 53), nobody.local_addr().unwrap());
    drop(nobody);
    map.insert(at(ip(35), 7), echo.endpoint());
    let mut t = online_with(map).await;
    command(&mut t, "AT#DNSSERV2=\"127.0.0.34\"", "OK\r\n").await;
    command(&mut t, "AT#TCPSERV=1,\"echo.example\"", "OK\r\n").await;
    command(&mut t, "AT#TCPPORT=1,7", "OK\r\n").await;
    for (dnsserv1, asked_first) in [("127.0.0.33", true), ("127.0.0.36", false)] {
        command(&mut t, &format!("AT#DNSSERV1=\"{dnsserv1}\""), "OK\r\n").await;
        t.write_all(b"AT#OTCP=1\r").await.unwrap();
        // An error instead would show in the time-out's message.
        let open = read_until_within(&mut t, b"Ok_Info_WaitingForData\r\n", Duration::from_secs(15)).await;
        assert_eq!(open, b"\r\nOk_Info_WaitingForData\r\n");
        t.write_all(b"\x03").await.unwrap();
        read_until(&mut t, b"OK\r\n").await;
        assert_eq!(silent.queries().len(), 1, "DNSSERV1 {dnsserv1} asked: {asked_first}");
    }
    assert_eq!(second.queries(), ["echo.example", "echo.example"]);
}

/// An NXDOMAIN from DNSSERV1 is final (inferred from p.21): DNSSERV2, which
/// knows the name, is not asked, and each service answers 38027.
#[tokio::test]
async fn nxdomain_from_dnsserv1_is_final_and_answers_38027() {
    let first = DnsFixture::start(ip(37), vec![]).await.unwrap();
    let second = DnsFixture::start(ip(38), vec![("known.example".into(), ip(1))]).await.unwrap();
    let mut map = NetMap::default();
    map.insert(at(ip(37), 53), first.endpoint());
    map.insert(at(ip(38), 53), second.endpoint());
    let mut t = online_with(map).await;
    command(&mut t, "AT#DNSSERV1=\"127.0.0.37\"", "OK\r\n").await;
    command(&mut t, "AT#DNSSERV2=\"127.0.0.38\"", "OK\r\n").await;
    command(&mut t, "AT#TCPSERV=1,\"known.example\"", "OK\r\n").await;
    command(&mut t, "AT#TCPPORT=1,7", "OK\r\n").await;
    assert_eq!(command(&mut t, "AT#OTCP=1", "\r\n").await, "\r\n#CME ERROR: 38027\r\n");
    command(&mut t, "AT#UDPSERV=\"known.example\"", "OK\r\n").await;
    command(&mut t, "AT#UDPPORT=7", "OK\r\n").await;
    assert_eq!(command(&mut t, "AT#OUDP", "\r\n").await, "\r\n#CME ERROR: 38027\r\n");
    command(&mut t, "AT#PINGREMOTE=\"known.example\"", "OK\r\n").await;
    assert_eq!(command(&mut t, "AT#PING", "\r\n").await, "\r\n#CME ERROR: 38027\r\n");
    assert_eq!(first.queries(), ["known.example"; 3]);
    assert_eq!(second.queries(), Vec::<String>::new(), "DNSSERV2 is not asked after an answer");
    assert_eq!(command(&mut t, "AT", "\r\n").await, "\r\nOK\r\n", "the unit keeps serving");
}

/// OUDP to a name: UDPSERV resolved by DNSSERV1, datagrams through the map.
#[tokio::test]
async fn oudp_to_a_name() {
    let dns = DnsFixture::start(ip(39), vec![("udp-echo.example".into(), ip(40))]).await.unwrap();
    let echo = UdpEchoFixture::start(ip(40)).await.unwrap();
    let mut map = NetMap::default();
    map.insert(at(ip(39), 53), dns.endpoint());
    map.insert(at(ip(40), 7), echo.endpoint());
    let mut t = online_with(map).await;
    command(&mut t, "AT#DNSSERV1=\"127.0.0.39\"", "OK\r\n").await;
    command(&mut t, "AT#UDPSERV=\"udp-echo.example\"", "OK\r\n").await;
    command(&mut t, "AT#UDPPORT=7", "OK\r\n").await;
    command(&mut t, "AT#OUDP", "Ok_Info_WaitingForData\r\n").await;
    t.write_all(b"ping").await.unwrap();
    assert_eq!(read_until(&mut t, b"ping").await, b"ping");
    t.write_all(b"\x03").await.unwrap();
    read_until(&mut t, b"OK\r\n").await;
    assert_eq!(echo.datagrams(), [b"ping".to_vec()]);
}

/// p.31: "Before a client has connected, the listen can be aborted by sending
/// <ETX>"; the answer is not recovered: the emulator closes the port and
/// answers OK (inferred).
#[tokio::test]
async fn etx_aborts_a_pending_ltcpstart() {
    let port = free_tcp_port();
    let mut t = online_with(NetMap::default()).await;
    command(&mut t, &format!("AT#TCPPORT=1,{port}"), "OK\r\n").await;
    command(&mut t, "AT#TCPSERV=1,\"255.255.255.255\"", "OK\r\n").await;
    assert_eq!(command(&mut t, "AT#LTCPSTART=1", "\r\n").await, "\r\nOK\r\n");
    t.write_all(b"\x03").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    // The port no longer listens, and parameters may be set again.
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(at(ip(1), port)).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the listening port {port} was closed");
    assert_eq!(command(&mut t, "AT#TCPPORT=1,23", "\r\n").await, "\r\nOK\r\n");
}

/// The listening side of the net map: a unit asked to listen on port 23
/// listens where the map says.
#[tokio::test]
async fn the_net_map_says_where_a_listening_port_really_listens() {
    let real = free_tcp_port();
    let mut map = NetMap::default();
    map.insert(at(ip(1), 23), at(ip(1), real));
    let mut t = online_with(map).await;
    command(&mut t, "AT#TCPPORT=1,23", "OK\r\n").await;
    command(&mut t, "AT#TCPSERV=1,\"255.255.255.255\"", "OK\r\n").await;
    command(&mut t, "AT#LTCPSTART=1", "OK\r\n").await;
    let mut client = TcpStream::connect(at(ip(1), real)).await.expect("the unit listens on the mapped port");
    read_until(&mut t, b"Ok_Info_WaitingForData\r\n").await;
    client.write_all(b"over").await.unwrap();
    assert_eq!(read_until(&mut t, b"over").await, b"over");
    drop(client);
    read_until(&mut t, b"Ok_Info_SocketClosed\r\n\r\nOK\r\n").await;
}

#[rstest::rstest]
#[case::missing(None, "cannot read net map")]
#[case::malformed(Some("- dial: nowhere\n"), "is not a list of `dial:`/`to:` address pairs")]
fn mtg_emulator_names_a_bad_net_map(#[case] content: Option<&str>, #[case] message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.yaml");
    if let Some(text) = content {
        std::fs::write(&path, text).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mtg"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--net-map"])
        .arg(&path)
        .output()
        .expect("run mtg");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()) && stderr.contains(message), "{stderr}");
}

/// Python 3 runs `script` with `args`; `None` (and a printed reason) where
/// there is no Python.
async fn python(script: &str, args: &[String]) -> Option<String> {
    let out = match tokio::process::Command::new("python3").arg("-c").arg(script).args(args).output().await {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: python3 cannot be run ({e})");
            return None;
        }
    };
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

const PYTHON_DNS: &str = r#"
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])

def query(name, qid):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\x00' + struct.pack('>HH', 1, 1)

def parse(r, qid):
    rid, flags, qd, an, ns, ar = struct.unpack('>HHHHHH', r[:12])
    assert rid == qid and flags & 0x8000
    at = 12
    while r[at] != 0:
        at += 1 + r[at]
    at += 5
    addrs = []
    for _ in range(an):
        if r[at] & 0xc0 == 0xc0:
            at += 2
        else:
            while r[at] != 0:
                at += 1 + r[at]
            at += 1
        typ, cls, ttl, ln = struct.unpack('>HHIH', r[at:at + 10])
        at += 10
        if typ == 1 and cls == 1:
            addrs.append(socket.inet_ntoa(r[at:at + ln]))
        at += ln
    return '%d %s' % (flags & 0xf, ','.join(addrs))

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
for qid, name in [(0x4242, 'echo.example'), (7, 'nowhere.example'), (8, 'quiet.example')]:
    u.sendto(query(name, qid), (host, port))
    try:
        r, _ = u.recvfrom(512)
        print('udp', name, parse(r, qid))
    except socket.timeout:
        print('udp', name, 'silent')
t = socket.create_connection((host, port), timeout=5)
m = query('Echo.Example', 9)
t.sendall(struct.pack('>H', len(m)) + m)
ln = struct.unpack('>H', t.recv(2))[0]
r = b''
while len(r) < ln:
    r += t.recv(ln - len(r))
print('tcp', 'Echo.Example', parse(r, 9))
"#;

#[tokio::test]
async fn the_dns_fixture_answers_a_python_client() {
    let dns = DnsFixture::start(ip(41), vec![("echo.example".into(), ip(42))]).await.unwrap();
    dns.silence("quiet.example");
    let args = [dns.endpoint().ip().to_string(), dns.endpoint().port().to_string()];
    let Some(out) = python(PYTHON_DNS, &args).await else { return };
    assert_eq!(
        out,
        "udp echo.example 0 127.0.0.42\nudp nowhere.example 3 \nudp quiet.example silent\ntcp Echo.Example 0 127.0.0.42\n"
    );
    assert_eq!(dns.queries(), ["echo.example", "nowhere.example", "quiet.example", "echo.example"]);
}

const PYTHON_ECHO: &str = r#"
import socket, sys
host, tport, uport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for payload in [b'hello tcp', b'second\x03connection']:
    t = socket.create_connection((host, tport), timeout=5)
    t.sendall(payload)
    got = b''
    while len(got) < len(payload):
        got += t.recv(100)
    print('tcp', got == payload)
    t.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
for payload in [b'one', b'two\x10']:
    u.sendto(payload, (host, uport))
    got, sender = u.recvfrom(100)
    print('udp', got == payload, sender[1] == uport)
"#;

#[tokio::test]
async fn the_echo_fixtures_answer_a_python_client_and_record_what_it_sent() {
    let tcp = TcpEchoFixture::start(ip(43)).await.unwrap();
    let udp = UdpEchoFixture::start(ip(43)).await.unwrap();
    let args = [ip(43).to_string(), tcp.endpoint().port().to_string(), udp.endpoint().port().to_string()];
    let Some(out) = python(PYTHON_ECHO, &args).await else { return };
    assert_eq!(out, "tcp True\ntcp True\nudp True True\nudp True True\n");
    assert_eq!(
        tcp.observe(&Observe::Streams).unwrap(),
        Some(Observation::Streams(vec![b"hello tcp".to_vec(), b"second\x03connection".to_vec()]))
    );
    assert_eq!(
        udp.observe(&Observe::Datagrams).unwrap(),
        Some(Observation::Datagrams(vec![b"one".to_vec(), b"two\x10".to_vec()]))
    );
    assert_eq!(tcp.observe(&Observe::Datagrams).unwrap(), None, "each fixture answers for its own server");
}

/// A child process killed (by its own handle) when the test ends, passed or not.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `mtg emulator --net-map FILE` dials through the map read from the file:
/// the unit's `#OTCP` to 127.0.0.44:25 reaches the echo server's real port.
#[tokio::test]
async fn mtg_emulator_dials_through_the_net_map_file() {
    let echo = TcpEchoFixture::start(ip(44)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.yaml");
    std::fs::write(&path, format!("- dial: 127.0.0.44:25\n  to: {}\n", echo.endpoint())).unwrap();
    let port = free_tcp_port();
    let _emulator = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_mtg"))
            .args(["emulator", "--listen", &format!("127.0.0.1:{port}"), "--net-map"])
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start mtg emulator"),
    );
    let mut line = None;
    for _ in 0..250 {
        if let Ok(s) = TcpStream::connect(at(ip(1), port)).await {
            line = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut line = line.expect("mtg emulator listens");
    let mut got = Vec::new();
    for (send, until) in [
        (&b"ATE0\r"[..], &b"OK\r\n"[..]),
        (b"AT+CMEE=1;+WOPEN=1\r", b"OK\r\n"),
        (b"AT+CGATT=1\r", b"OK\r\n"),
        (b"AT#CONNECTIONSTART\r", b"Ok_Info_GprsActivation\r\n"),
        (b"AT#TCPSERV=1,\"127.0.0.44\"\r", b"OK\r\n"),
        (b"AT#TCPPORT=1,25\r", b"OK\r\n"),
        (b"AT#OTCP=1\r", b"\r\n\r\n"),
    ] {
        line.write_all(send).await.unwrap();
        got.clear();
        let mut buf = [0u8; 256];
        while !got.windows(until.len()).any(|w| w == until) && !got.ends_with(b"WaitingForData\r\n") {
            let n = tokio::time::timeout(WAIT, line.read(&mut buf)).await.expect("an answer").unwrap();
            assert!(n > 0, "the emulator closed the line");
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(got, b"\r\nOk_Info_WaitingForData\r\n");
    let mut buf = [0u8; 256];
    for (send, until) in [(&b"mapped"[..], &b"mapped"[..]), (b"\x03", b"OK\r\n")] {
        line.write_all(send).await.unwrap();
        got.clear();
        while !got.ends_with(until) {
            let n = tokio::time::timeout(WAIT, line.read(&mut buf)).await.expect("an answer").unwrap();
            assert!(n > 0, "the emulator closed the line");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, if until == b"mapped" { until } else { b"\r\nOK\r\n" });
    }
    assert_eq!(echo.streams(), [b"mapped".to_vec()], "echoed by the server behind the map");
}
