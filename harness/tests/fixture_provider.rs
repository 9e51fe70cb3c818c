//! The fixture providers of a run: `auto` falling back to the embedded
//! servers when the image is absent, the container set mirroring the
//! embedded one (names, variables, addresses of their own), the modem's
//! mail and POP3 retrieval looking the same whichever servers it meets, and
//! a server stopped mid-transfer.
//!
//! Tests needing the containers say why they are skipped and pass when the
//! image (or a Docker engine) is missing; with `MTG_REQUIRE_CONTAINERS=1`
//! (CI, which builds the image first) that is a failure instead.

mod common;
use common::{command, read_until};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Duration;

use mtg::emulator::EmulatorConfig;
use mtg::fixtures::container::{image_tag, ContainerFixtures};
use mtg::fixtures::{render, FixtureSet, Observe, Provider, Setup};
use mtg::transport::EmulatorTransport;
use tokio::io::AsyncWriteExt;

/// The container image, or `None` (with the reason printed) when the
/// containers cannot run here.
fn image(test: &str) -> Option<String> {
    let required = std::env::var("MTG_REQUIRE_CONTAINERS").is_ok_and(|v| v == "1");
    let outcome =
        image_tag(&mtg::workspace_root()).and_then(|tag| ContainerFixtures::connect(&tag).map(|_| tag.clone()));
    match outcome {
        Ok(tag) => Some(tag),
        Err(e) if required => panic!("{test}: MTG_REQUIRE_CONTAINERS=1, but the container fixtures cannot run: {e}"),
        Err(e) => {
            eprintln!("{test}: skipped: {e}");
            None
        }
    }
}

/// The container tests one at a time: they count this process's containers.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Ids of the fixture containers this test process started.
fn our_containers() -> Vec<String> {
    containers_of(std::process::id())
}

/// Ids of the fixture containers process `pid` started.
fn containers_of(pid: u32) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=org.mtg.pid={pid}")])
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect()
}

/// `mtg run --fixtures auto` with `env`: what it said on stderr and the
/// provider line of its record.
fn auto_run(env: (&str, &str)) -> (String, String) {
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_mtg"))
        .args(["run", "--fixtures", "auto", "--exact", "services.otcp.http-get", "--out"])
        .arg(out.path())
        .env(env.0, env.1)
        .env_remove("MTG_FIXTURES")
        .output()
        .expect("mtg runs");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    (stderr, std::fs::read_to_string(out.path().join("run.json")).unwrap())
}

#[test]
fn auto_falls_back_to_the_embedded_servers_when_the_image_is_absent() {
    let (stderr, record) = auto_run(("MTG_FIXTURE_IMAGE", "mtg-fixtures:does-not-exist"));
    assert!(stderr.contains("mtg: fixtures: auto chose the embedded servers: "), "{stderr}");
    // Either reason is a fallback: no such image, or no engine on this machine.
    assert!(
        stderr.contains("mtg-fixtures:does-not-exist is not built") || stderr.contains("Docker engine does not answer"),
        "{stderr}"
    );
    assert!(record.contains("\"embedded: smtp 127.0.0.2:"), "the record names the provider: {record}");
}

#[test]
fn auto_falls_back_to_the_embedded_servers_when_no_docker_engine_answers() {
    // An engine address where nothing listens stands for a stopped engine.
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("unix://{}/docker.sock", dir.path().display());
    let (stderr, record) = auto_run(("DOCKER_HOST", &socket));
    assert!(stderr.contains("auto chose the embedded servers: the Docker engine does not answer"), "{stderr}");
    assert!(record.contains("\"embedded: smtp 127.0.0.2:"), "{record}");
}

#[test]
fn a_named_provider_that_cannot_run_is_an_error_not_a_fallback() {
    let run = Command::new(env!("CARGO_BIN_EXE_mtg"))
        .args(["run", "--fixtures", "containers", "--exact", "services.otcp.http-get", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .env("MTG_FIXTURE_IMAGE", "mtg-fixtures:does-not-exist")
        .output()
        .expect("mtg runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: --fixtures: "), "{stderr}");
}

#[test]
fn the_container_set_mirrors_the_embedded_one_and_both_run_at_once() {
    let _one = serial();
    let Some(image) = image("mirror") else { return };
    let embedded = FixtureSet::embedded().unwrap();
    let containers = FixtureSet::containers(&image).unwrap();
    assert_eq!(*containers.provider(), Provider::Containers);
    assert_eq!(containers.capabilities(), embedded.capabilities());

    // The same names resolve, each to its server's own address.
    let names = |set: &FixtureSet| set.zone().into_iter().map(|(n, _)| n).collect::<BTreeSet<_>>();
    assert_eq!(names(&containers), names(&embedded));
    for (name, ip) in containers.zone() {
        assert_eq!(ip.octets()[..3], [127, 0, 1], "{name} on {ip}");
    }
    // The same variables, but for those the containers say they lack.
    let ev = embedded.vars();
    let cv = containers.vars();
    for (k, v) in &ev {
        if k.ends_with(".host") {
            assert_ne!(cv.get(k), Some(v), "{k}: both sets on one address");
        }
        match cv.get(k) {
            Some(_) => assert_eq!(containers.not_provided(k), None),
            None => {
                let why = containers.not_provided(k).unwrap_or_else(|| panic!("{k} missing without a reason"));
                assert!(why.contains(k) && why.contains("containers"), "{why}");
            }
        }
    }
    assert_eq!(cv["smtp.user"], ev["smtp.user"]);
    // Every container server has a log; HTTP is embedded and has none.
    let logged: BTreeSet<&str> = containers.server_logs().into_iter().map(|(s, _)| s).collect();
    assert_eq!(logged, BTreeSet::from(["smtp", "pop3", "ftp", "tcp-echo", "udp-echo", "dns"]));
    let dir = tempfile::tempdir().unwrap();
    let files = containers.keep_logs(&dir.path().join("servers")).unwrap();
    assert_eq!(files.len(), 6);
    assert!(dir.path().join("servers/smtp.log").is_file());
    assert!(embedded.keep_logs(&dir.path().join("none")).unwrap().is_empty());

    assert_eq!(our_containers().len(), 6);
    drop(containers);
    assert_eq!(our_containers(), Vec::<String>::new(), "the set's containers are removed with it");
}

async fn ok(t: &mut EmulatorTransport, line: &str) {
    assert_eq!(command(t, line, "\r\n").await, "\r\nOK\r\n", "{line}");
}

/// A unit with the stack open and a GPRS session up.
async fn online() -> EmulatorTransport {
    online_with(EmulatorConfig::default()).await
}

async fn online_with(config: EmulatorConfig) -> EmulatorTransport {
    let mut t = EmulatorTransport::start(config).expect("emulator");
    command(&mut t, "ATE0", "OK\r\n").await;
    command(&mut t, "AT+CMEE=1;+WOPEN=1", "OK\r\n").await;
    command(&mut t, "AT+CGATT=1", "OK\r\n").await;
    command(&mut t, "AT#CONNECTIONSTART", "Ok_Info_GprsActivation\r\n").await;
    t
}

fn host_port(set: &FixtureSet, server: &str) -> (String, String) {
    let vars = set.vars();
    (vars[&format!("{server}.host")].clone(), vars[&format!("{server}.port")].clone())
}

/// Through `set`'s DNS and the well-known ports of its net map (as
/// scenarios dial them): an HTTP GET to `www.fixture.test`, a TCP and a UDP
/// echo. What the modem passed on, and what the echo servers recorded.
async fn net_round(set: &FixtureSet, tag: &str) -> (Vec<String>, String) {
    let mut t = online_with(EmulatorConfig { net_map: set.net_map(), ..EmulatorConfig::default() }).await;
    let vars = set.vars();
    ok(&mut t, &format!("AT#DNSSERV1=\"{}\"", vars["dns.host"])).await;
    ok(&mut t, "AT#TCPSERV=1,\"www.fixture.test\"").await;
    ok(&mut t, "AT#TCPPORT=1,80").await;
    let mut passed = command(&mut t, "AT#OTCP=1", "Ok_Info_WaitingForData\r\n").await;
    t.write_all(format!("GET /provider-{tag} HTTP/1.0\r\nHost: www.fixture.test\r\n\r\n").as_bytes()).await.unwrap();
    let answer = String::from_utf8_lossy(&read_until(&mut t, b"Ok_Info_SocketClosed\r\n").await).into_owned();
    // The date header is the server's clock.
    passed += &answer.lines().filter(|l| !l.starts_with("date:")).collect::<Vec<_>>().join("\n");
    ok(&mut t, "AT").await;

    ok(&mut t, &format!("AT#TCPSERV=1,\"{}\"", vars["tcp-echo.host"])).await;
    ok(&mut t, "AT#TCPPORT=1,7").await;
    passed += &command(&mut t, "AT#OTCP=1", "Ok_Info_WaitingForData\r\n").await;
    let payload = format!("provider-{tag} tcp \x10\x03");
    t.write_all(payload.as_bytes()).await.unwrap();
    passed += &String::from_utf8_lossy(&read_until(&mut t, payload.as_bytes()).await);
    t.write_all(b"\x03").await.unwrap();
    passed += &String::from_utf8_lossy(&read_until(&mut t, b"OK\r\n").await);

    ok(&mut t, &format!("AT#UDPSERV=\"{}\"", vars["udp-echo.host"])).await;
    ok(&mut t, "AT#UDPPORT=7").await;
    passed += &command(&mut t, "AT#OUDP", "Ok_Info_WaitingForData\r\n").await;
    let payload = format!("provider-{tag} udp");
    t.write_all(payload.as_bytes()).await.unwrap();
    passed += &String::from_utf8_lossy(&read_until(&mut t, payload.as_bytes()).await);
    t.write_all(b"\x03").await.unwrap();
    passed += &String::from_utf8_lossy(&read_until(&mut t, b"OK\r\n").await);
    ok(&mut t, "AT#CONNECTIONSTOP").await;

    let prefix = format!("provider-{tag}");
    let mut seen = Vec::new();
    for what in [Observe::Streams, Observe::Datagrams] {
        // The TCP echo records a connection once it is closed.
        for _ in 0..50 {
            let lines = render::lines(&set.observe(&what).unwrap(), prefix.as_bytes());
            if !lines[0].starts_with("no ") {
                seen.extend(lines);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let untag = |s: String| s.replace(&format!("provider-{tag}"), "provider-X");
    (seen.into_iter().map(untag).collect(), untag(passed))
}

#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_http_and_echo_look_the_same_through_the_modem_on_both_sets() {
    let _one = serial();
    let Some(image) = image("net") else { return };
    let embedded = FixtureSet::embedded().unwrap();
    let containers = tokio::task::spawn_blocking(move || FixtureSet::containers(&image)).await.unwrap().unwrap();
    let (seen_e, passed_e) = net_round(&embedded, "e").await;
    let (seen_c, passed_c) = net_round(&containers, "c").await;
    assert_eq!(passed_c, passed_e);
    assert!(passed_e.contains("hello from the fixture"), "{passed_e}");
    assert_eq!(seen_c, seen_e);
    assert_eq!(seen_e.len(), 2, "one connection and one datagram: {seen_e:?}");
}

/// The modem sends a mail through `set`'s SMTP server, then fetches one
/// from its POP3 server: what the server saw (rendered as a golden shows
/// it) and what the modem passed on to the host.
async fn mail_round(set: &FixtureSet, tag: &str) -> (Vec<String>, String) {
    let mut t = online().await;
    let (host, port) = host_port(set, "smtp");
    ok(&mut t, &format!("AT#SMTPSERV=\"{host}\"")).await;
    ok(&mut t, &format!("AT#SMTPPORT={port}")).await;
    ok(&mut t, &format!("AT#SMTPUN=\"{}\"", set.vars()["smtp.user"])).await;
    ok(&mut t, &format!("AT#SMTPPW=\"{}\"", set.vars()["smtp.password"])).await;
    ok(&mut t, "AT#SENDERNAME=\"machine 245\"").await;
    ok(&mut t, "AT#SENDERADDR=\"toto@myoper.com\"").await;
    ok(&mut t, "AT#DOMAIN=\"a2myoper.com\"").await;
    let to = format!("provider-{tag}@x.org");
    ok(&mut t, &format!("AT#REC1=\"{to}\"")).await;
    ok(&mut t, "AT#SUBJ1=\"Alarm 7\"").await;
    t.write_all(b"AT#BODY1\rLine one\r\n.dot line\r\nend\x1a").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    assert_eq!(command(&mut t, "AT#SENDMAIL1", "\r\n").await, "\r\nOK\r\n", "{tag}");
    // Exim delivers a moment after its 250.
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = render::lines(&set.observe(&Observe::Mail { to: to.clone() }).unwrap(), b"");
        if seen != ["no mail"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let user = format!("provider-{tag}");
    let message = b"From: \"Ops\" <ops@x.org>\r\nTo: cam@x.org\r\nCc: boss@a2myoper.com\r\nSubject: one\r\nX-Other: hidden\r\n\r\nHello\r\n.leading dot\r\n".to_vec();
    set.setup(&Setup::Mailbox { user: user.clone(), password: "pop-pw".into(), messages: vec![message] }).unwrap();
    let (host, port) = host_port(set, "pop3");
    ok(&mut t, &format!("AT#POP3SERV=\"{host}\"")).await;
    ok(&mut t, &format!("AT#POP3PORT={port}")).await;
    ok(&mut t, &format!("AT#POP3UN=\"{user}\"")).await;
    ok(&mut t, "AT#POP3PW=\"pop-pw\"").await;
    let mut fetched = String::new();
    for mode in [1, 0] {
        ok(&mut t, &format!("AT#POP3HEADERMODE={mode}")).await;
        fetched += &command(&mut t, "AT#GETMAIL", "\r\nOK\r\n").await;
    }

    // FTP: a text file fetched in ASCII and binary, active and passive, and
    // one uploaded; the modem passes on the bytes as the server sends them.
    let dir = format!("/provider-{tag}");
    set.setup(&Setup::File { path: format!("{dir}/notes.txt"), bytes: b"line 1\nline 2\r\n\x03end".to_vec() }).unwrap();
    let (host, port) = host_port(set, "ftp");
    ok(&mut t, &format!("AT#FTPSERV=\"{host}\"")).await;
    ok(&mut t, &format!("AT#FTPPORT={port}")).await;
    ok(&mut t, &format!("AT#FTPUN=\"{}\"", set.vars()["ftp.user"])).await;
    ok(&mut t, &format!("AT#FTPPW=\"{}\"", set.vars()["ftp.password"])).await;
    ok(&mut t, &format!("AT#FTPGETPATH=\"{dir}\"")).await;
    ok(&mut t, "AT#FTPGETFILENAME=\"notes.txt\"").await;
    for (kind, mode) in [("A", 1), ("I", 0)] {
        ok(&mut t, &format!("AT#FTPTYPE={kind}")).await;
        ok(&mut t, &format!("AT#FTPMODE={mode}")).await;
        fetched += &command(&mut t, "AT#FTPGET", "\x03\r\nOK\r\n").await;
    }
    ok(&mut t, &format!("AT#FTPPUTPATH=\"{dir}\"")).await;
    ok(&mut t, "AT#FTPPUTFILENAME=\"up.txt\"").await;
    ok(&mut t, "AT#FTPTYPE=I").await;
    assert_eq!(command(&mut t, "AT#FTPPUT", "Ok_Info_WaitingForData\r\n").await, "\r\nOk_Info_WaitingForData\r\n");
    t.write_all(b"up 1\r\nup 2\x03").await.unwrap();
    fetched += &String::from_utf8_lossy(&read_until(&mut t, b"OK\r\n").await);
    seen.extend(render::lines(&set.observe(&Observe::File { path: format!("{dir}/up.txt") }).unwrap(), b""));
    (seen, fetched)
}

// The lock is held across awaits on purpose: it serialises whole tests.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_modem_meets_the_real_servers_as_it_meets_the_embedded_ones() {
    let _one = serial();
    let Some(image) = image("same answers") else { return };
    let embedded = FixtureSet::embedded().unwrap();
    let containers = tokio::task::spawn_blocking(move || FixtureSet::containers(&image)).await.unwrap().unwrap();
    let (sent_e, fetched_e) = mail_round(&embedded, "e").await;
    let (sent_c, fetched_c) = mail_round(&containers, "c").await;
    // The recipient differs by the tag only.
    let sent_c: Vec<String> = sent_c.iter().map(|l| l.replace("provider-c@", "provider-e@")).collect();
    assert_eq!(sent_c, sent_e, "Exim's view of the modem's mail, rendered, is the embedded server's");
    assert!(sent_e.contains(&"Subject: Alarm 7".to_string()), "{sent_e:?}");
    assert_eq!(
        fetched_c, fetched_e,
        "what the modem passes on from Dovecot is what it passes on from the embedded server"
    );
    assert!(fetched_e.contains("Ok_Info_Mail\r\nFrom: \"Ops\" <ops@x.org>\r\n"), "{fetched_e}");
    assert!(fetched_e.contains("Ok_Info_DataBegin\r\nline 1\r\n"), "{fetched_e}");
    assert!(sent_e.contains(&"| up 1<CR><LF>".to_string()), "{sent_e:?}");
}

// The lock is held across awaits on purpose: it serialises whole tests.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_transfer_closes_the_socket_and_the_unit_carries_on() {
    let _one = serial();
    let Some(image) = image("stopped") else { return };
    let fixtures = tokio::task::spawn_blocking(move || ContainerFixtures::connect(&image)).await.unwrap().unwrap();
    // A dedicated server: the run's shared ones stay up.
    let dedicated = tokio::task::spawn_blocking(move || fixtures.tcp_echo(Ipv4Addr::new(127, 0, 1, 40)))
        .await
        .unwrap()
        .expect("socat starts");
    let at = mtg::fixtures::Fixture::endpoint(&dedicated);
    let IpAddr::V4(ip) = at.ip() else { unreachable!() };
    let mut t = online().await;
    ok(&mut t, &format!("AT#TCPSERV=1,\"{ip}\"")).await;
    ok(&mut t, &format!("AT#TCPPORT=1,{}", at.port())).await;
    assert_eq!(command(&mut t, "AT#OTCP=1", "\r\n").await, "\r\nOk_Info_WaitingForData\r\n");
    t.write_all(b"first half ").await.unwrap();
    assert_eq!(read_until(&mut t, b"first half ").await, b"first half ");
    // The server goes away in the middle of the exchange.
    tokio::task::spawn_blocking(move || drop(dedicated)).await.unwrap();
    let closed = String::from_utf8_lossy(&read_until(&mut t, b"Ok_Info_SocketClosed\r\n").await).into_owned();
    assert!(closed.starts_with('\x03'), "the payload ends with ETX before the close is reported: {closed:?}");
    // The unit carries on: commands answer and the session still stands.
    ok(&mut t, "AT").await;
    let again = command(&mut t, "AT#OTCP=1", "\r\n").await;
    assert!(again.contains("ERROR"), "nothing listens there any more: {again:?}");
    ok(&mut t, "AT#CONNECTIONSTOP").await;
    assert_eq!(our_containers(), Vec::<String>::new());
}

/// A scenario using `${smtp.refuse-port}`, which only the embedded SMTP
/// server gives.
const REFUSE_PORT: &str = r##"id: provider.refuse-port
title: "a variable only the embedded servers give"
source: {chapter: 3, command: "#SMTPPORT", page: 20}
basis: project-choice
steps:
  - send: AT+WOPEN=1
    expect: OK
  - send: AT#SMTPPORT=${smtp.refuse-port}
    expect: OK
"##;

#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variable_the_containers_lack_skips_the_scenario_with_the_reason() {
    use mtg::runner::events::Discard;
    use mtg::runner::{suite::run_one, Options, Verdict};
    use std::sync::Arc;

    let _one = serial();
    let Some(image) = image("lacking variable") else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("refuse-port.yaml");
    std::fs::write(&path, REFUSE_PORT).unwrap();
    let scenario = mtg::scenario::load::load_file(&path, dir.path()).expect("the scenario loads");
    let target: mtg::transport::Target = "emu:".parse().unwrap();
    let embedded = FixtureSet::embedded().unwrap();
    let containers = tokio::task::spawn_blocking(move || FixtureSet::containers(&image)).await.unwrap().unwrap();
    for (set, expect_skip) in [(embedded, false), (containers, true)] {
        let provider = set.provider().to_string();
        let options = Options { fixtures: Some(Arc::new(set)), ..Options::default() };
        let outcome = run_one(&scenario, &target, &options, &Discard).await;
        match (&outcome.verdict, expect_skip) {
            (Verdict::Pass, false) => {}
            (Verdict::Skipped(why), true) => {
                assert!(why.contains("smtp.refuse-port") && why.contains("Exim"), "{why}");
            }
            (other, _) => panic!("{provider}: {other:?} {:?}", outcome.message),
        }
    }
}

#[test]
fn ctrl_c_during_a_run_on_containers_exits_130_and_removes_them() {
    use std::io::{BufRead, BufReader};
    let Some(image) = image("ctrl-c") else { return };
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mtg"))
        .args(["run", "--fixtures", "containers", "-j", "1", "--out"])
        .arg(out.path())
        .env("MTG_FIXTURE_IMAGE", &image)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("mtg runs");
    let pid = child.id();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    // Once the servers are up and scenarios run, interrupt.
    while !seen.contains("mtg: running ") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "mtg ended before running: {seen}");
        seen += &line;
    }
    assert_eq!(containers_of(pid).len(), 6, "{seen}");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signals a child of this test.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(out.path().join("run.json").is_file(), "the record is written");
    assert_eq!(containers_of(pid), Vec::<String>::new(), "the run's containers are removed");
    assert!(out.path().join("servers/smtp.log").is_file(), "an interrupted run keeps the server logs");
}

/// Fails on purpose on any unit; needs the SMTP server so the set starts.
const FAILS: &str = r##"id: provider.fails
title: "a scenario that fails on purpose"
source: {chapter: 3, command: "#SMTPPORT", page: 20}
basis: project-choice
requires: [smtp]
steps:
  - send: AT
    expect: NOT-THE-ANSWER
"##;

#[test]
fn a_failed_scenario_keeps_the_container_logs_redacted_in_the_run_output() {
    let Some(image) = image("logs") else { return };
    let scenarios = tempfile::tempdir().unwrap();
    std::fs::write(scenarios.path().join("fails.yaml"), FAILS).unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_mtg"))
        .args(["run", "--fixtures", "containers", "--no-golden", "--scenarios"])
        .arg(scenarios.path())
        .arg("--out")
        .arg(out.path())
        .env("MTG_FIXTURE_IMAGE", &image)
        .output()
        .expect("mtg runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("server logs kept in"), "{stderr}");
    for service in ["smtp", "pop3", "ftp", "dns", "tcp-echo", "udp-echo"] {
        let log = std::fs::read_to_string(out.path().join(format!("servers/{service}.log"))).unwrap();
        assert!(log.contains(&format!("mtg-fixture: {service} ready on")), "{service}: {log}");
        for secret in [mtg::fixtures::smtp::PASSWORD, mtg::fixtures::ftp::PASSWORD] {
            assert!(!log.contains(secret), "{service} log shows a password: {log}");
        }
    }
}
