//! The emulator's TCP socket services against real sockets on loopback
//! (ch. 5, App. A p.48): listen, connect, data both ways with DLE coding,
//! local and remote close, and the "service is running" refusal (37123).

mod common;
use common::{command, read_until};
use std::time::Duration;

use mtg::emulator::EmulatorConfig;
use mtg::transport::EmulatorTransport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn online_unit() -> EmulatorTransport {
    let mut t = EmulatorTransport::start(EmulatorConfig::default()).expect("emulator");
    command(&mut t, "ATE0", "OK\r\n").await;
    command(&mut t, "AT+CMEE=1;+WOPEN=1", "OK\r\n").await;
    command(&mut t, "AT+CGATT=1", "OK\r\n").await;
    command(&mut t, "AT#CONNECTIONSTART", "Ok_Info_GprsActivation\r\n").await;
    t
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn listening_socket_bridges_a_client_with_dle_coding() {
    let mut t = online_unit().await;
    let port = free_port();
    command(&mut t, &format!("AT#TCPPORT=1,{port}"), "OK\r\n").await;
    command(&mut t, "AT#TCPSERV=1,\"255.255.255.255\"", "OK\r\n").await;
    let ok = command(&mut t, "AT#LTCPSTART=1", "OK\r\n").await;
    assert_eq!(ok, "\r\nOK\r\n");
    // While it listens, the service runs: parameters cannot be set (p.53).
    let refused = command(&mut t, "AT#TCPPORT=1,23", "37123\r\n").await;
    assert_eq!(refused, "\r\n#CME ERROR: 37123\r\n");

    let mut client = TcpStream::connect(("127.0.0.1", port)).await.expect("connect to the listening unit");
    read_until(&mut t, b"Ok_Info_WaitingForData\r\n").await;
    // Network payload with ETX and DLE reaches the host escaped.
    client.write_all(b"a\x03b\x10c").await.unwrap();
    let got = read_until(&mut t, b"c").await;
    assert_eq!(got, b"a\x10\x03b\x10\x10c");
    // Host payload: DLE-escaped ETX arrives as ETX at the peer.
    t.write_all(b"x\x10\x03y").await.unwrap();
    let mut buf = [0u8; 16];
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf)).await.unwrap().unwrap();
        seen.extend_from_slice(&buf[..n]);
    }
    assert_eq!(seen, b"x\x03y");
    // The peer closes: ETX, Ok_Info_SocketClosed, OK (App. A p.48).
    drop(client);
    let closed = read_until(&mut t, b"OK\r\n").await;
    assert_eq!(closed, b"\x03\r\nOk_Info_SocketClosed\r\n\r\nOK\r\n");
    // Back in command mode.
    assert_eq!(command(&mut t, "AT", "OK\r\n").await, "\r\nOK\r\n");
}

#[tokio::test]
async fn open_socket_to_a_server_and_close_it_with_etx() {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let echo = tokio::spawn(async move {
        let (mut s, _) = server.accept().await.unwrap();
        let mut buf = [0u8; 64];
        let mut all = Vec::new();
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                return all;
            }
            all.extend_from_slice(&buf[..n]);
            s.write_all(&buf[..n]).await.unwrap();
        }
    });
    let mut t = online_unit().await;
    command(&mut t, &format!("AT#TCPPORT=2,{port}"), "OK\r\n").await;
    command(&mut t, "AT#TCPSERV=2,\"127.0.0.1\"", "OK\r\n").await;
    command(&mut t, "AT#TCPTXDELAY=2,0", "OK\r\n").await;
    let open = command(&mut t, "AT#OTCP=2", "Ok_Info_WaitingForData\r\n").await;
    assert_eq!(open, "\r\nOk_Info_WaitingForData\r\n");
    t.write_all(b"hello").await.unwrap();
    assert_eq!(read_until(&mut t, b"hello").await, b"hello");
    t.write_all(b"\x03").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    assert_eq!(echo.await.unwrap(), b"hello");
}

#[tokio::test]
async fn refused_connection_is_reported_and_the_unit_keeps_serving() {
    let mut t = online_unit().await;
    let port = free_port();
    command(&mut t, &format!("AT#TCPPORT=1,{port}"), "OK\r\n").await;
    command(&mut t, "AT#TCPSERV=1,\"127.0.0.1\"", "OK\r\n").await;
    let out = command(&mut t, "AT#OTCP=1", "\r\n#CME ERROR: 38016\r\n").await;
    assert!(out.ends_with("#CME ERROR: 38016\r\n"), "{out:?}");
    assert_eq!(command(&mut t, "AT", "OK\r\n").await, "\r\nOK\r\n");
}

/// The same services on the simulated network: a whole TCP exchange with
/// no socket opened and no real time spent (the peer answers on the unit's
/// virtual clock).
mod simulated {
    use std::net::SocketAddr;
    use std::time::Duration;

    use mtg::emulator::{EmulatorConfig, Network, PeerBehaviour, SimClient, SimNetwork};
    use mtg::transport::{EmulatorTransport, Transport};
    use tokio::io::AsyncWriteExt;

    async fn online(net: &SimNetwork) -> EmulatorTransport {
        let config = EmulatorConfig { network: Network::Simulated(net.clone()), ..EmulatorConfig::default() };
        let mut t = EmulatorTransport::start(config).expect("emulator");
        for (line, until) in [
            ("ATE0", "OK\r\n"),
            ("AT+CMEE=1;+WOPEN=1", "OK\r\n"),
            ("AT+CGATT=1", "OK\r\n"),
            ("AT#CONNECTIONSTART", "Ok_Info_GprsActivation\r\n"),
        ] {
            super::command(&mut t, line, until).await;
        }
        t
    }

    #[tokio::test]
    async fn tcp_exchange_with_an_echo_peer_opens_no_socket() {
        let net = SimNetwork::new();
        let peer: SocketAddr = "192.0.2.10:7".parse().unwrap();
        net.peer(peer, PeerBehaviour::Echo).name("echo.example", peer.ip()).latency(Duration::from_secs(1));
        let mut t = online(&net).await;
        super::command(&mut t, "AT#TCPSERV=1,\"echo.example\"", "OK\r\n").await;
        super::command(&mut t, "AT#TCPPORT=1,7", "OK\r\n").await;
        let started = t.now();
        let wall = std::time::Instant::now();
        super::command(&mut t, "AT#OTCP=1", "Ok_Info_WaitingForData\r\n").await;
        // DLE coding both ways: the peer sees a real ETX, the host an escaped one.
        t.write_all(b"a\x10\x03b").await.unwrap();
        let echoed = super::read_until(&mut t, b"b").await;
        assert_eq!(echoed, b"a\x10\x03b");
        assert_eq!(net.received(peer), b"a\x03b");
        // An ETX alone closes the socket (p.30): OK.
        t.write_all(b"\x03").await.unwrap();
        assert_eq!(super::read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
        // Connect, TCPTXDELAY and the echo took seconds of the unit's time, not of ours.
        assert!(t.now() - started >= Duration::from_secs(2), "{:?}", t.now() - started);
        assert!(wall.elapsed() < Duration::from_secs(1), "{:?}", wall.elapsed());
    }

    #[tokio::test]
    async fn listening_unit_takes_a_simulated_client_and_reports_its_close() {
        let net = SimNetwork::new();
        let from: SocketAddr = "198.51.100.4:40000".parse().unwrap();
        net.client(SimClient { port: 5000, from, sends: b"hello\x03".to_vec(), closes: true });
        let mut t = online(&net).await;
        super::command(&mut t, "AT#TCPPORT=2,5000", "OK\r\n").await;
        super::command(&mut t, "AT#TCPSERV=2,\"198.51.100.4\"", "OK\r\n").await;
        let got = super::command(&mut t, "AT#LTCPSTART=2", "Ok_Info_SocketClosed\r\n\r\nOK\r\n").await;
        assert_eq!(
            got,
            "\r\nOK\r\n\r\nOk_Info_WaitingForData\r\nhello\u{10}\u{3}\u{3}\r\nOk_Info_SocketClosed\r\n\r\nOK\r\n"
        );
    }

    #[tokio::test]
    async fn refused_and_unresolved_connections_answer_their_codes() {
        let net = SimNetwork::new();
        net.peer("192.0.2.20:23".parse().unwrap(), PeerBehaviour::Refuse);
        let mut t = online(&net).await;
        super::command(&mut t, "AT#TCPSERV=1,\"192.0.2.20\"", "OK\r\n").await;
        super::command(&mut t, "AT#TCPPORT=1,23", "OK\r\n").await;
        assert_eq!(super::command(&mut t, "AT#OTCP=1", "\r\n").await, "\r\n#CME ERROR: 38016\r\n");
        super::command(&mut t, "AT#TCPSERV=1,\"nowhere.example\"", "OK\r\n").await;
        assert_eq!(super::command(&mut t, "AT#OTCP=1", "\r\n").await, "\r\n#CME ERROR: 38027\r\n");
    }
}
