//! The emulator's FTP services (ch. 4: `AT#FTPGET` p.28, `AT#FTPPUT` p.29;
//! App. B p.50-52, 73, 75) against the embedded FTP fixture on loopback,
//! over AT bytes as a host sends them; the failures and their chapter 9
//! codes; the fixture itself checked with Python's ftplib.

mod common;
use common::{command, read_until};
use std::net::{Ipv4Addr, SocketAddr};

use mtg::emulator::EmulatorConfig;
use mtg::fixtures::ftp::{FtpFixture, Misbehaviour, PASSWORD, USER};
use mtg::fixtures::{Fixture, Observation, Observe, Setup};
use mtg::transport::EmulatorTransport;
use rstest::rstest;
use tokio::io::AsyncWriteExt;

const ETX: u8 = 0x03;
const DLE: u8 = 0x10;

/// A unit with its stack open and a GPRS session up (as the TCP tests and
/// the bring-up fragment do).
async fn online_unit(config: EmulatorConfig) -> EmulatorTransport {
    let mut t = EmulatorTransport::start(config).expect("emulator");
    command(&mut t, "ATE0", "OK\r\n").await;
    command(&mut t, "AT+CMEE=1;+WOPEN=1", "OK\r\n").await;
    command(&mut t, "AT+CGATT=1", "OK\r\n").await;
    command(&mut t, "AT#CONNECTIONSTART", "Ok_Info_GprsActivation\r\n").await;
    t
}

/// FTP parameters pointing at `server`.
async fn configure(t: &mut EmulatorTransport, server: SocketAddr, user: &str, password: &str) {
    for line in [
        format!("AT#FTPSERV=\"{}\"", server.ip()),
        format!("AT#FTPPORT={}", server.port()),
        format!("AT#FTPUN=\"{user}\""),
        format!("AT#FTPPW=\"{password}\""),
    ] {
        assert_eq!(command(t, &line, "OK\r\n").await, "\r\nOK\r\n", "{line}");
    }
}

/// A command that fails: everything up to the end of its `#CME ERROR` line.
async fn refused(t: &mut EmulatorTransport, line: &str) -> String {
    t.write_all(format!("{line}\r").as_bytes()).await.unwrap();
    let mut got = read_until(t, b"ERROR: ").await;
    while !got.ends_with(b"\r\n") {
        got.extend(read_until(t, b"\r\n").await);
    }
    String::from_utf8_lossy(&got).into_owned()
}

async fn set(t: &mut EmulatorTransport, line: &str) {
    assert_eq!(command(t, line, "OK\r\n").await, "\r\nOK\r\n", "{line}");
}

fn every_byte() -> Vec<u8> {
    (0..=255u8).chain(0..=255u8).collect()
}

fn dle_coded(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().flat_map(|&b| if b == ETX || b == DLE { vec![DLE, b] } else { vec![b] }).collect()
}

async fn fixture(last_octet: u8) -> FtpFixture {
    FtpFixture::start(Ipv4Addr::new(127, 0, 0, last_octet)).await.expect("FTP fixture")
}

fn put_file(f: &FtpFixture, path: &str, bytes: &[u8]) {
    assert!(f.setup(&Setup::File { path: path.into(), bytes: bytes.to_vec() }).unwrap());
}

fn server_file(f: &FtpFixture, path: &str) -> Option<Vec<u8>> {
    match f.observe(&Observe::File { path: path.into() }).unwrap() {
        Some(Observation::File(file)) => file,
        other => panic!("{other:?}"),
    }
}

/// `AT#FTPGET` of every byte value, binary, passive (FTPMODE=1) and active
/// (FTPMODE=0): `Ok_Info_DataBegin`, the bytes with ETX and DLE DLE-coded,
/// `<ETX>`, `OK` (p.28, App. B p.73).
#[rstest]
#[case::active(0, 21)]
#[case::passive(1, 22)]
#[tokio::test]
async fn ftpget_binary_brings_every_byte_dle_coded(#[case] mode: u8, #[case] ip: u8) {
    let f = fixture(ip).await;
    let file = every_byte();
    put_file(&f, "/pub/all.bin", &file);
    let mut t = online_unit(EmulatorConfig::default()).await;
    configure(&mut t, f.endpoint(), USER, PASSWORD).await;
    set(&mut t, &format!("AT#FTPMODE={mode}")).await;
    set(&mut t, "AT#FTPTYPE=I").await;
    set(&mut t, "AT#FTPGETPATH=\"/pub\"").await;
    set(&mut t, "AT#FTPGETFILENAME=\"all.bin\"").await;
    t.write_all(b"AT#FTPGET\r").await.unwrap();
    let got = read_until(&mut t, b"\x03\r\nOK\r\n").await;
    let mut expected = b"\r\nOk_Info_DataBegin\r\n".to_vec();
    expected.extend(dle_coded(&file));
    expected.extend(b"\x03\r\nOK\r\n");
    assert_eq!(got, expected);
    let commands = f.commands();
    let data_command = if mode == 1 { "PASV" } else { "PORT" };
    assert!(commands.iter().any(|c| c.starts_with(data_command)), "{commands:?}");
    assert!(commands.iter().any(|c| c == "TYPE I"), "{commands:?}");
    // The unit is back in command mode and the stack is free again (p.49:
    // `#<Mnemonic>: <value>` then `OK`).
    assert_eq!(command(&mut t, "AT#FTPMODE?", "OK\r\n").await, format!("#FTPMODE: {mode}\r\n\r\nOK\r\n"));
}

/// FTPTYPE A: the server sends NVT-ASCII (CRLF line ends); the unit passes it on.
#[tokio::test]
async fn ftpget_ascii_brings_the_servers_line_ends() {
    let f = fixture(23).await;
    put_file(&f, "/notes.txt", b"line 1\nline 2\n");
    let mut t = online_unit(EmulatorConfig::default()).await;
    configure(&mut t, f.endpoint(), USER, PASSWORD).await;
    set(&mut t, "AT#FTPTYPE=A").await;
    set(&mut t, "AT#FTPMODE=1").await;
    set(&mut t, "AT#FTPGETFILENAME=\"notes.txt\"").await;
    let got = command(&mut t, "AT#FTPGET", "\x03\r\nOK\r\n").await;
    assert_eq!(got, "\r\nOk_Info_DataBegin\r\nline 1\r\nline 2\r\n\x03\r\nOK\r\n");
    assert!(f.commands().iter().any(|c| c == "TYPE A"));
}

/// `AT#FTPPUT` of every byte value, DLE-coded by the host and ended by an
/// `<ETX>` (p.29, App. B p.75): the server stores the bytes.
#[rstest]
#[case::active(0, 24)]
#[case::passive(1, 25)]
#[tokio::test]
async fn ftpput_binary_stores_the_hosts_bytes(#[case] mode: u8, #[case] ip: u8) {
    let f = fixture(ip).await;
    put_file(&f, "/in/.keep", b"");
    let mut t = online_unit(EmulatorConfig::default()).await;
    configure(&mut t, f.endpoint(), USER, PASSWORD).await;
    set(&mut t, &format!("AT#FTPMODE={mode}")).await;
    set(&mut t, "AT#FTPTYPE=I").await;
    set(&mut t, "AT#FTPPUTPATH=\"/in\"").await;
    set(&mut t, "AT#FTPPUTFILENAME=\"up.bin\"").await;
    let ready = command(&mut t, "AT#FTPPUT", "Ok_Info_WaitingForData\r\n").await;
    assert_eq!(ready, "\r\nOk_Info_WaitingForData\r\n");
    let file = every_byte();
    let mut wire = dle_coded(&file);
    wire.push(ETX);
    t.write_all(&wire).await.unwrap();
    // The payload is not echoed (p.75): the next thing is the result.
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    assert_eq!(server_file(&f, "/in/up.bin"), Some(file));
    assert_eq!(command(&mut t, "AT", "OK\r\n").await, "\r\nOK\r\n");
}

/// A file of many frames both ways (the upload is sent in frames of 1460
/// bytes or after the hold time, p.31's rules for TCP taken for FTP).
#[tokio::test]
async fn a_large_file_goes_both_ways() {
    let f = fixture(27).await;
    let file: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    put_file(&f, "/big.bin", &file);
    let mut t = online_unit(EmulatorConfig::default()).await;
    configure(&mut t, f.endpoint(), USER, PASSWORD).await;
    set(&mut t, "AT#FTPMODE=1").await;
    set(&mut t, "AT#FTPGETFILENAME=\"big.bin\"").await;
    set(&mut t, "AT#FTPPUTFILENAME=\"copy.bin\"").await;
    t.write_all(b"AT#FTPGET\r").await.unwrap();
    let got = read_until(&mut t, b"\x03\r\nOK\r\n").await;
    let mut expected = b"\r\nOk_Info_DataBegin\r\n".to_vec();
    expected.extend(dle_coded(&file));
    expected.extend(b"\x03\r\nOK\r\n");
    assert!(got == expected, "download differs ({} bytes, {} expected)", got.len(), expected.len());
    command(&mut t, "AT#FTPPUT", "Ok_Info_WaitingForData\r\n").await;
    for chunk in dle_coded(&file).chunks(3000) {
        t.write_all(chunk).await.unwrap();
    }
    t.write_all(&[ETX]).await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    assert!(server_file(&f, "/copy.bin") == Some(file), "upload differs");
}

/// A host that sends its payload right after the command, without waiting
/// for `Ok_Info_WaitingForData`: the bytes wait in the serial buffer and
/// become the upload.
#[tokio::test]
async fn an_upload_sent_with_the_command_is_kept() {
    let f = fixture(28).await;
    let mut t = online_unit(EmulatorConfig::default()).await;
    configure(&mut t, f.endpoint(), USER, PASSWORD).await;
    set(&mut t, "AT#FTPMODE=1").await;
    set(&mut t, "AT#FTPPUTFILENAME=\"eager.bin\"").await;
    t.write_all(b"AT#FTPPUT\rab\x10\x03c\x03AT\r").await.unwrap();
    let got = read_until(&mut t, b"OK\r\n\r\nOK\r\n").await;
    assert_eq!(got, b"\r\nOk_Info_WaitingForData\r\n\r\nOK\r\n\r\nOK\r\n");
    assert_eq!(server_file(&f, "/eager.bin"), Some(b"ab\x03c".to_vec()));
}

/// FTPTYPE A: the unit sends 7-bit NVT-ASCII, the MSB forced to 0 (p.75);
/// the server stores CRLF as LF.
#[tokio::test]
async fn ftpput_ascii_forces_the_msb_to_zero() {
    let f = fixture(26).await;
    let mut t = online_unit(EmulatorConfig::default()).await;
    configure(&mut t, f.endpoint(), USER, PASSWORD).await;
    set(&mut t, "AT#FTPTYPE=A").await;
    set(&mut t, "AT#FTPMODE=1").await;
    set(&mut t, "AT#FTPPUTFILENAME=\"log.txt\"").await;
    command(&mut t, "AT#FTPPUT", "Ok_Info_WaitingForData\r\n").await;
    t.write_all(b"T=\xb2\xb1\r\nend\r\n\x03").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    assert_eq!(server_file(&f, "/log.txt"), Some(b"T=21\nend\n".to_vec()));
}

/// Failures against the real fixture and the code each answers
/// (`harness/src/at/codes.rs`, the `Ftp*` conditions).
#[rstest]
// 530: the configured login is refused (36929, inferred).
#[case::login_refused(31, "wrong", Misbehaviour::None, 1, "/pub", "all.bin", 36929)]
// 550 on RETR: no such file (36929, inferred).
#[case::missing_file(32, PASSWORD, Misbehaviour::None, 1, "/pub", "none.bin", 36929)]
// 550 on CWD: no such path (36929, inferred).
#[case::missing_path(33, PASSWORD, Misbehaviour::None, 1, "/nowhere", "all.bin", 36929)]
// PASV names a port where nobody listens: the data connection fails (38016).
#[case::passive_data_refused(34, PASSWORD, Misbehaviour::RefuseData, 1, "/pub", "all.bin", 38016)]
// After PORT the server cannot connect back: 425 (38016).
#[case::active_data_refused(35, PASSWORD, Misbehaviour::RefuseData, 0, "/pub", "all.bin", 38016)]
// The server drops the control connection after the login (37966).
#[case::server_closes_early(36, PASSWORD, Misbehaviour::CloseAfterLogin, 1, "/pub", "all.bin", 37966)]
#[tokio::test]
async fn ftpget_failures_answer_their_codes(
    #[case] ip: u8,
    #[case] password: &str,
    #[case] misbehaviour: Misbehaviour,
    #[case] mode: u8,
    #[case] path: &str,
    #[case] file: &str,
    #[case] code: u32,
) {
    let f = fixture(ip).await;
    put_file(&f, "/pub/all.bin", b"data");
    f.misbehave(misbehaviour);
    let mut t = online_unit(EmulatorConfig::default()).await;
    configure(&mut t, f.endpoint(), USER, password).await;
    set(&mut t, &format!("AT#FTPMODE={mode}")).await;
    set(&mut t, &format!("AT#FTPGETPATH=\"{path}\"")).await;
    set(&mut t, &format!("AT#FTPGETFILENAME=\"{file}\"")).await;
    let got = refused(&mut t, "AT#FTPGET").await;
    // The failure comes before any data: no DataBegin, no ETX (p.50).
    assert_eq!(got, format!("\r\n#CME ERROR: {code}\r\n"));
    assert_eq!(command(&mut t, "AT", "OK\r\n").await, "\r\nOK\r\n");
}

/// An upload whose file the server refuses (553) answers before data mode.
#[tokio::test]
async fn ftpput_to_a_missing_directory_is_refused() {
    let f = fixture(37).await;
    let mut t = online_unit(EmulatorConfig::default()).await;
    configure(&mut t, f.endpoint(), USER, PASSWORD).await;
    set(&mut t, "AT#FTPMODE=1").await;
    set(&mut t, "AT#FTPPUTFILENAME=\"no/such/dir.bin\"").await;
    assert_eq!(refused(&mut t, "AT#FTPPUT").await, "\r\n#CME ERROR: 36929\r\n");
}

/// Nobody listens at FTPSERV:FTPPORT: the control connection is refused (38016).
#[tokio::test]
async fn ftpget_without_a_server_is_refused() {
    let port = std::net::TcpListener::bind("127.0.0.38:0").unwrap().local_addr().unwrap().port();
    let mut t = online_unit(EmulatorConfig::default()).await;
    configure(&mut t, SocketAddr::from(([127, 0, 0, 38], port)), USER, PASSWORD).await;
    set(&mut t, "AT#FTPGETFILENAME=\"x\"").await;
    assert_eq!(command(&mut t, "AT#FTPGET", "38016\r\n").await, "\r\n#CME ERROR: 38016\r\n");
}

/// Refusals before anything is sent: an argument (34819), no file name
/// (36929), another service running (36872), and parameters cannot be set
/// meanwhile (37123).
#[tokio::test]
async fn ftp_commands_refuse_an_unusable_configuration_and_a_busy_stack() {
    let mut t = online_unit(EmulatorConfig::default()).await;
    // The commands take no argument (p.28/29: `AT#FTPGET`, `AT#FTPPUT`).
    assert_eq!(command(&mut t, "AT#FTPGET?", "34819\r\n").await, "\r\n#CME ERROR: 34819\r\n");
    assert_eq!(command(&mut t, "AT#FTPPUT=1", "34819\r\n").await, "\r\n#CME ERROR: 34819\r\n");
    set(&mut t, "AT#FTPSERV=\"127.0.0.39\"").await;
    assert_eq!(command(&mut t, "AT#FTPGET", "\r\n#CME ERROR: 36929\r\n").await, "\r\n#CME ERROR: 36929\r\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    set(&mut t, &format!("AT#TCPPORT=1,{port}")).await;
    set(&mut t, "AT#TCPSERV=1,\"255.255.255.255\"").await;
    set(&mut t, "AT#LTCPSTART=1").await;
    let refused = command(&mut t, "AT#FTPPUTFILENAME=\"f\"", "37123\r\n").await;
    assert_eq!(refused, "\r\n#CME ERROR: 37123\r\n");
    assert_eq!(command(&mut t, "AT#FTPPUT", "36872\r\n").await, "\r\n#CME ERROR: 36872\r\n");
}

/// The same services on the simulated network: the failures that need a
/// server that misbehaves in time or a name that does not resolve, on the
/// unit's virtual clock.
mod simulated {
    use std::net::SocketAddr;
    use std::time::Duration;

    use mtg::emulator::{EmulatorConfig, Network, PeerBehaviour, SimNetwork};
    use rstest::rstest;

    use mtg::transport::Transport;
    use tokio::io::AsyncWriteExt;

    use super::{command, online_unit, set};

    async fn unit(net: &SimNetwork, server: &str) -> mtg::transport::EmulatorTransport {
        let config = EmulatorConfig { network: Network::Simulated(net.clone()), ..EmulatorConfig::default() };
        let mut t = online_unit(config).await;
        set(&mut t, &format!("AT#FTPSERV=\"{server}\"")).await;
        set(&mut t, "AT#FTPUN=\"u\"").await;
        set(&mut t, "AT#FTPPW=\"p\"").await;
        set(&mut t, "AT#FTPGETFILENAME=\"f\"").await;
        t
    }

    /// A server that accepts and never answers: 35862 after the client's
    /// wait (3 minutes, inferred), in virtual time.
    #[tokio::test]
    async fn a_silent_server_times_out() {
        let net = SimNetwork::new();
        net.peer("192.0.2.30:21".parse().unwrap(), PeerBehaviour::Silent);
        let mut t = unit(&net, "192.0.2.30").await;
        let started = t.now();
        let wall = std::time::Instant::now();
        assert_eq!(command(&mut t, "AT#FTPGET", "35862\r\n").await, "\r\n#CME ERROR: 35862\r\n");
        assert!(t.now() - started >= Duration::from_secs(180), "{:?}", t.now() - started);
        assert!(wall.elapsed() < Duration::from_secs(5), "{:?}", wall.elapsed());
    }

    /// The GPRS session drops while the unit waits for the server: the
    /// link's own report (35841) ends the command and the unit takes
    /// commands again.
    #[tokio::test]
    async fn the_session_lost_during_a_transfer_ends_it() {
        use mtg::control::{Control, GprsFault};
        let net = SimNetwork::new();
        net.peer("192.0.2.32:21".parse().unwrap(), PeerBehaviour::Silent);
        let mut t = unit(&net, "192.0.2.32").await;
        t.write_all(b"AT#FTPGET\r").await.unwrap();
        t.control(&Control::GprsFault(GprsFault::SessionLost)).await.unwrap();
        let got = super::read_until(&mut t, b"35841\r\n").await;
        assert_eq!(got, b"\r\n#CME ERROR: 35841\r\n");
        assert_eq!(command(&mut t, "AT", "OK\r\n").await, "\r\nOK\r\n");
        // No IP link any more: 35867 (p.28 "once an IP link is established").
        assert_eq!(command(&mut t, "AT#FTPGET", "35867\r\n").await, "\r\n#CME ERROR: 35867\r\n");
    }

    /// Replies the client cannot go on with.
    #[rstest]
    // A name the DNS does not know: 38027 (p.28).
    #[case::not_resolved(None, "ftp.nowhere.example", 38027)]
    // A transient refusal of the login (4xx): 36872 (inferred).
    #[case::busy(Some(("220 hi\r\n", "452 later\r\n")), "192.0.2.31", 36872)]
    // 421 "closing control connection": 37966 (inferred).
    #[case::closing(Some(("421 bye\r\n", "")), "192.0.2.31", 37966)]
    // Not FTP at all: 36929 (inferred).
    #[case::not_ftp(Some(("SSH-2.0-x\r\n", "")), "192.0.2.31", 36929)]
    #[tokio::test]
    async fn server_answers_map_to_codes(#[case] peer: Option<(&str, &str)>, #[case] server: &str, #[case] code: u32) {
        let net = SimNetwork::new();
        if let Some((greeting, reply)) = peer {
            let addr: SocketAddr = format!("{server}:21").parse().unwrap();
            let behaviour =
                PeerBehaviour::Answer { greeting: greeting.as_bytes().to_vec(), reply: reply.as_bytes().to_vec() };
            net.peer(addr, behaviour);
        }
        let mut t = unit(&net, server).await;
        let got = command(&mut t, "AT#FTPGET", &format!("{code}\r\n")).await;
        assert_eq!(got, format!("\r\n#CME ERROR: {code}\r\n"));
    }
}

/// The fixture against a client we did not write: Python's ftplib, passive
/// and active, download, upload, listing, size, delete.
#[rstest]
#[case::passive(true, 41)]
#[case::active(false, 42)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ftplib_talks_to_the_fixture(#[case] passive: bool, #[case] ip: u8) {
    let f = fixture(ip).await;
    put_file(&f, "/pub/hello.bin", &every_byte());
    put_file(&f, "/pub/readme.txt", b"one\ntwo\n");
    let script = r#"
import ftplib, io, sys
host, port, user, pw, passive = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "1"
ftp = ftplib.FTP()
ftp.connect(host, port, timeout=10)
ftp.login(user, pw)
ftp.set_pasv(passive)
ftp.cwd("/pub")
assert ftp.pwd() == "/pub", ftp.pwd()
buf = io.BytesIO()
ftp.retrbinary("RETR hello.bin", buf.write)
assert buf.getvalue() == bytes(range(256)) * 2, "binary download"
lines = []
ftp.retrlines("RETR readme.txt", lines.append)
assert lines == ["one", "two"], lines
ftp.storbinary("STOR up.bin", io.BytesIO(b"\x00\x03\x10\xff"))
assert ftp.size("up.bin") == 4
ftp.storlines("STOR up.txt", io.BytesIO(b"a\nb\n"))
names = sorted(ftp.nlst())
assert names == ["hello.bin", "readme.txt", "up.bin", "up.txt"], names
listing = []
ftp.retrlines("LIST", listing.append)
assert len(listing) == 4 and all(l.startswith("-rw") for l in listing), listing
ftp.delete("hello.bin")
assert ftp.sendcmd("SYST").startswith("215")
assert ftp.sendcmd("EPSV").startswith("229")
assert ftp.mkd("made") == "/pub/made", "MKD"
ftp.cwd("made")
ftp.sendcmd("CDUP")
assert ftp.pwd() == "/pub", ftp.pwd()
assert ftp.sendcmd("NOOP").startswith("200")
try:
    ftp.sendcmd("PORT 10,0,0,1,4,1")
    raise SystemExit("PORT to a non-loopback address was accepted")
except ftplib.error_perm as e:
    assert str(e).startswith("504"), e
try:
    ftp.retrbinary("RETR hello.bin", buf.write)
    raise SystemExit("a deleted file was served")
except ftplib.error_perm as e:
    assert str(e).startswith("550"), e
try:
    bad = ftplib.FTP(); bad.connect(host, port, timeout=10); bad.login(user, "wrong")
    raise SystemExit("a wrong password was accepted")
except ftplib.error_perm as e:
    assert str(e).startswith("530"), e
ftp.quit()
print("ok")
"#;
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(f.endpoint().ip().to_string())
        .arg(f.endpoint().port().to_string())
        .arg(USER)
        .arg(PASSWORD)
        .arg(if passive { "1" } else { "0" })
        .output()
        .await
        .expect("python3");
    assert!(
        out.status.success(),
        "ftplib: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
    assert_eq!(server_file(&f, "/pub/up.bin"), Some(b"\x00\x03\x10\xff".to_vec()));
    assert_eq!(server_file(&f, "/pub/up.txt"), Some(b"a\nb\n".to_vec()));
    assert_eq!(server_file(&f, "/pub/hello.bin"), None);
    let used = if passive { "PASV" } else { "PORT" };
    assert!(f.commands().iter().any(|c| c.starts_with(used)), "{:?}", f.commands());
}

/// What the fixture offers the framework: variables, names, setup, observe.
#[tokio::test]
async fn the_fixture_offers_its_account_and_files() {
    let f = fixture(43).await;
    assert_eq!(f.service(), mtg::fixtures::Service::Ftp);
    assert_eq!(f.endpoint().ip(), std::net::IpAddr::from([127, 0, 0, 43]));
    assert_eq!(
        f.vars(),
        vec![("ftp.user".to_string(), USER.to_string()), ("ftp.password".to_string(), PASSWORD.to_string())]
    );
    assert_eq!(f.names(), vec!["ftp.a2myoper.com".to_string()]);
    assert_eq!(server_file(&f, "/a/b.txt"), None);
    put_file(&f, "a/b.txt", b"x");
    assert_eq!(server_file(&f, "/a/b.txt"), Some(b"x".to_vec()));
    assert!(f.setup(&Setup::File { path: "/".into(), bytes: vec![] }).is_err());
    assert_eq!(f.observe(&Observe::Datagrams).unwrap(), None);
}
