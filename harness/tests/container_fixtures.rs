//! The container fixtures (Exim, Dovecot, vsftpd, dnsmasq, socat in the
//! image `fixtures/container/build-image.sh` builds) against ordinary
//! clients over loopback: Python's smtplib, poplib, ftplib and sockets.
//!
//! Without the image (or a Docker engine) each test says why it is skipped
//! and passes; with `MTG_REQUIRE_CONTAINERS=1` (CI, which builds the image
//! first) that is a failure instead. Start times are printed (run with
//! `--nocapture` to see them).

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use mtg::fixtures::container::{image_tag, remove_leftovers, Account, ContainerFixture, ContainerFixtures, LABEL};
use mtg::fixtures::{Fixture, Observation, Observe, ReceivedMail, Service, Setup};

/// The fixtures, or `None` (with the reason printed) when they cannot run here.
fn fixtures(test: &str) -> Option<ContainerFixtures> {
    let required = std::env::var("MTG_REQUIRE_CONTAINERS").is_ok_and(|v| v == "1");
    let outcome = image_tag(&mtg::workspace_root()).and_then(|tag| ContainerFixtures::connect(&tag));
    match outcome {
        Ok(fixtures) => Some(fixtures),
        Err(e) if required => panic!("{test}: MTG_REQUIRE_CONTAINERS=1, but the container fixtures cannot run: {e}"),
        Err(e) => {
            eprintln!("{test}: skipped: {e}");
            None
        }
    }
}

fn account() -> Account {
    Account { user: "mtg".into(), password: "s3cret-pw".into() }
}

/// Runs a Python client; its stdout, or a panic with its stderr and the
/// server's log.
fn python(fixture: &ContainerFixture, script: &str, args: &[&str]) -> String {
    let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "python client failed: {}\n--- {:?} container log ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        fixture.service(),
        fixture.logs()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn report_start(fixture: &ContainerFixture) {
    println!("{:?} container started in {:.2?} on {}", fixture.service(), fixture.started_in(), fixture.endpoint());
}

const SEND_MAIL: &str = r#"
import smtplib, sys
host, port, user, password, mech = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
s = smtplib.SMTP(host, port, timeout=20)
s.ehlo("modem")
if mech != "none":
    s.user, s.password = user, password
    code, text = s.auth(mech, getattr(s, "auth_" + mech.lower()), initial_response_ok=False)
    assert code == 235, (code, text)
msg = ("Subject: " + mech + "\r\nFrom: modem@a2myoper.com\r\n\r\nfirst line\r\n.leading dot\r\nlast\r\n").encode()
refused = s.sendmail("modem@a2myoper.com", ["Alice@Example.com", "bob"], msg)
assert not refused, refused
s.quit()
"#;

#[test]
fn smtp_delivers_each_recipient_and_keeps_the_envelope() {
    let Some(fixtures) = fixtures("smtp") else { return };
    let smtp = fixtures.smtp(Ipv4Addr::new(127, 0, 0, 21), account()).expect("Exim starts");
    report_start(&smtp);
    let vars = smtp.vars();
    assert!(vars.contains(&("smtp.user".into(), "mtg".into())), "{vars:?}");
    let host = smtp.endpoint().ip().to_string();
    let port = smtp.endpoint().port().to_string();
    for mech in ["LOGIN", "PLAIN", "none"] {
        python(&smtp, SEND_MAIL, &[&host, &port, "mtg", "s3cret-pw", mech]);
    }

    let body = b"From: modem@a2myoper.com\r\n\r\nfirst line\r\n.leading dot\r\nlast\r\n";
    let expected = |mech: &str, auth: Option<&str>| ReceivedMail {
        from: "modem@a2myoper.com".into(),
        to: vec!["Alice@Example.com".into(), "bob".into()],
        data: [format!("Subject: {mech}\r\n").as_bytes(), body].concat(),
        auth_user: auth.map(str::to_string),
    };
    let want = vec![expected("LOGIN", Some("mtg")), expected("PLAIN", Some("mtg")), expected("none", None)];
    // Each recipient has its own maildir, holding every copy it got.
    for to in ["alice@example.com", "bob"] {
        let seen = smtp.observe(&Observe::Mail { to: to.into() }).expect("maildir readable");
        assert_eq!(seen, Some(Observation::Mails(want.clone())), "mail to {to}\n{}", smtp.logs());
    }
    let nobody = smtp.observe(&Observe::Mail { to: "carol@example.com".into() }).unwrap();
    assert_eq!(nobody, Some(Observation::Mails(vec![])));
    assert_eq!(smtp.observe(&Observe::Streams).unwrap(), None, "SMTP does not record streams");
}

const POP3_FETCH: &str = r#"
import poplib, sys
host, port, user, password, delete = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
p = poplib.POP3(host, port, timeout=20)
p.user(user)
p.pass_(password)
count, _ = p.stat()
for i in range(1, count + 1):
    resp, lines, _ = p.retr(i)
    sys.stdout.write("<<%s>>" % b"\r\n".join(lines).decode())
if delete == "yes":
    p.dele(1)
p.quit()
"#;

#[test]
fn pop3_serves_the_mailboxes_the_harness_writes() {
    let Some(fixtures) = fixtures("pop3") else { return };
    let pop3 = fixtures.pop3(Ipv4Addr::new(127, 0, 0, 22)).expect("Dovecot starts");
    report_start(&pop3);
    let host = pop3.endpoint().ip().to_string();
    let port = pop3.endpoint().port().to_string();
    let first = b"Subject: one\r\n\r\nfirst\r\n".to_vec();
    let second = b"Subject: two\r\n\r\nsecond\r\n..dots stay\r\n".to_vec();
    let mailbox = |user: &str, password: &str, messages: Vec<Vec<u8>>| Setup::Mailbox {
        user: user.into(),
        password: password.into(),
        messages,
    };
    assert!(pop3.setup(&mailbox("alice", "pw-a", vec![first.clone(), second.clone()])).unwrap());

    let got = python(&pop3, POP3_FETCH, &[&host, &port, "alice", "pw-a", "yes"]);
    assert_eq!(got, "<<Subject: one\r\n\r\nfirst>><<Subject: two\r\n\r\nsecond\r\n..dots stay>>");
    assert_eq!(
        pop3.observe(&Observe::Mailbox { user: "alice".into() }).unwrap(),
        Some(Observation::Mailbox(vec![second.clone()])),
        "DELE 1 then QUIT leaves the second message"
    );

    // A user added while Dovecot runs, and a mailbox refilled with a new
    // password at once: no reload needed.
    assert!(pop3.setup(&mailbox("bob", "pw-b", vec![first.clone()])).unwrap());
    assert_eq!(python(&pop3, POP3_FETCH, &[&host, &port, "bob", "pw-b", "no"]), "<<Subject: one\r\n\r\nfirst>>");
    let refilled = Instant::now();
    assert!(pop3.setup(&mailbox("bob", "pw-b2", vec![second.clone(), first.clone()])).unwrap());
    println!("POP3 mailbox refilled with a new password in {:.2?}", refilled.elapsed());
    assert_eq!(
        python(&pop3, POP3_FETCH, &[&host, &port, "bob", "pw-b2", "no"]),
        "<<Subject: two\r\n\r\nsecond\r\n..dots stay>><<Subject: one\r\n\r\nfirst>>"
    );
    assert!(pop3.setup(&mailbox("../x", "p", vec![])).is_err(), "a user that is no file name is refused");
}

const FTP_SESSION: &str = r#"
import ftplib, io, sys
host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
f = ftplib.FTP()
f.connect(host, port, timeout=20)
f.login(user, password)
for passive in (True, False):
    f.set_pasv(passive)
    b = io.BytesIO()
    f.retrbinary("RETR /pub/get.bin", b.write)
    sys.stdout.write("%s:%s;" % ("passive" if passive else "active", b.getvalue().hex()))
f.set_pasv(False)
f.storbinary("STOR /put-active.bin", io.BytesIO(b"from the modem, active\r\n"))
f.set_pasv(True)
f.mkd("/in")
f.storbinary("STOR /in/put-passive.bin", io.BytesIO(bytes(range(256))))
f.quit()
"#;

#[test]
fn ftp_serves_and_receives_files_passive_and_active() {
    let Some(fixtures) = fixtures("ftp") else { return };
    let ftp = fixtures.ftp(Ipv4Addr::new(127, 0, 0, 23), account()).expect("vsftpd starts");
    report_start(&ftp);
    let vars = ftp.vars();
    assert!(vars.contains(&("ftp.password".into(), "s3cret-pw".into())), "{vars:?}");
    let content = b"binary \x00\x01\xff and text\r\n".to_vec();
    assert!(ftp.setup(&Setup::File { path: "/pub/get.bin".into(), bytes: content.clone() }).unwrap());

    let host = ftp.endpoint().ip().to_string();
    let port = ftp.endpoint().port().to_string();
    let got = python(&ftp, FTP_SESSION, &[&host, &port, "mtg", "s3cret-pw"]);
    let hex: String = content.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, format!("passive:{hex};active:{hex};"));

    let file = |path: &str| ftp.observe(&Observe::File { path: path.into() }).unwrap();
    assert_eq!(file("/put-active.bin"), Some(Observation::File(Some(b"from the modem, active\r\n".to_vec()))));
    assert_eq!(file("/in/put-passive.bin"), Some(Observation::File(Some((0..=255).collect()))));
    assert_eq!(file("/absent.bin"), Some(Observation::File(None)));
    assert!(ftp.setup(&Setup::File { path: "/../escape".into(), bytes: vec![] }).is_err());
}

/// A DNS query for `name` (type A): the answer's address, or the rcode.
fn resolve(server: std::net::SocketAddr, name: &str) -> Result<Ipv4Addr, u8> {
    let mut query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    socket.send_to(&query, server).unwrap();
    let mut answer = [0u8; 512];
    let n = socket.recv(&mut answer).expect("dnsmasq answers");
    let rcode = answer[3] & 0x0f;
    let answers = u16::from_be_bytes([answer[6], answer[7]]);
    if rcode != 0 || answers == 0 {
        return Err(rcode);
    }
    // The A record's data are the last four bytes of a one-answer reply.
    Ok(Ipv4Addr::new(answer[n - 4], answer[n - 3], answer[n - 2], answer[n - 1]))
}

#[test]
fn dns_answers_the_zone_and_nxdomain_for_the_rest() {
    let Some(fixtures) = fixtures("dns") else { return };
    let zone = vec![
        ("smtp.a2myoper.com".to_string(), Ipv4Addr::new(127, 0, 0, 21)),
        ("ftp.a2myoper.com".to_string(), Ipv4Addr::new(127, 0, 0, 23)),
    ];
    let dns = fixtures.dns(Ipv4Addr::new(127, 0, 0, 24), &zone).expect("dnsmasq starts");
    report_start(&dns);
    assert_eq!(dns.service(), Service::Dns);
    assert_eq!(resolve(dns.endpoint(), "smtp.a2myoper.com"), Ok(Ipv4Addr::new(127, 0, 0, 21)));
    assert_eq!(resolve(dns.endpoint(), "ftp.a2myoper.com"), Ok(Ipv4Addr::new(127, 0, 0, 23)));
    assert_eq!(resolve(dns.endpoint(), "www.example.org"), Err(3), "NXDOMAIN, as a resolver answers");
}

const TCP_ECHO: &str = r#"
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
for payload in (b"hello echo\r\n", b"second connection"):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        got += s.recv(1024)
    assert got == payload, got
    s.close()
"#;

#[test]
fn echo_servers_echo_and_record() {
    let Some(fixtures) = fixtures("echo") else { return };
    let tcp = fixtures.tcp_echo(Ipv4Addr::new(127, 0, 0, 25)).expect("TCP echo starts");
    report_start(&tcp);
    let host = tcp.endpoint().ip().to_string();
    python(&tcp, TCP_ECHO, &[&host, &tcp.endpoint().port().to_string()]);
    assert_eq!(
        tcp.observe(&Observe::Streams).unwrap(),
        Some(Observation::Streams(vec![b"hello echo\r\n".to_vec(), b"second connection".to_vec()]))
    );

    let udp = fixtures.udp_echo(Ipv4Addr::new(127, 0, 0, 25)).expect("UDP echo starts");
    report_start(&udp);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let datagrams = [b"one".to_vec(), b"two \x00 bytes".to_vec(), b"three".to_vec()];
    for d in &datagrams {
        socket.send_to(d, udp.endpoint()).unwrap();
        let mut buf = [0u8; 1500];
        let (n, from) = socket.recv_from(&mut buf).expect("echoed");
        assert_eq!((&buf[..n], from), (&d[..], udp.endpoint()));
    }
    assert_eq!(udp.observe(&Observe::Datagrams).unwrap(), Some(Observation::Datagrams(datagrams.to_vec())));
}

/// Whether Docker still knows a container.
fn container_exists(id: &str) -> bool {
    Command::new("docker").args(["container", "inspect", id]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn the_whole_set_starts_and_every_container_is_removed() {
    let Some(fixtures) = fixtures("set") else { return };
    let addr = |last| Ipv4Addr::new(127, 0, 0, last);
    let began = Instant::now();
    // Started at once, as a run would: the set is ready when the slowest is.
    let set: Vec<ContainerFixture> = std::thread::scope(|s| {
        let starts = [
            s.spawn(|| fixtures.smtp(addr(31), account())),
            s.spawn(|| fixtures.pop3(addr(32))),
            s.spawn(|| fixtures.ftp(addr(33), account())),
            s.spawn(|| fixtures.dns(addr(34), &[("smtp.a2myoper.com".into(), addr(31))])),
            s.spawn(|| fixtures.tcp_echo(addr(35))),
            s.spawn(|| fixtures.udp_echo(addr(35))),
        ];
        starts.into_iter().map(|h| h.join().unwrap().expect("the server starts")).collect()
    });
    let whole = began.elapsed();
    for fixture in &set {
        report_start(fixture);
        assert!(fixture.is_running().unwrap());
        assert!(fixture.logs().contains("ready on"), "{:?}: {}", fixture.service(), fixture.logs());
    }
    println!("whole set of {} containers started in {whole:.2?} (started together)", set.len());
    let ids: Vec<String> = set.iter().map(|f| f.container_id().to_string()).collect();
    assert!(ids.iter().all(|id| container_exists(id)));
    // Nothing published, nothing listening beyond each server's own address.
    for (fixture, id) in set.iter().zip(&ids) {
        let ports = Command::new("docker").args(["port", id]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&ports.stdout).trim(), "", "{:?} publishes ports", fixture.service());
        if fixture.service() != Service::UdpEcho {
            let elsewhere = std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, fixture.endpoint().port()));
            let connected = std::net::TcpStream::connect_timeout(&elsewhere, Duration::from_secs(1));
            assert!(connected.is_err(), "{:?} also answers on {elsewhere}", fixture.service());
        }
    }
    drop(set);
    for id in &ids {
        assert!(!container_exists(id), "container {id} was not removed");
    }
}

#[test]
fn containers_of_a_harness_that_is_gone_are_removed() {
    let Some(fixtures) = fixtures("leftovers") else { return };
    let mut child = Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let run = |pid: u32| {
        let out = Command::new("docker")
            .args(["run", "-d", "--network", "none", "--label", &format!("{LABEL}=test"), "--label"])
            .arg(format!("org.mtg.pid={pid}"))
            .args(["--entrypoint", "/bin/sleep", fixtures.image(), "120"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let left = run(dead_pid);
    let ours = run(std::process::id());
    // (Another test connecting at the same time may remove it first.)
    remove_leftovers().unwrap();
    assert!(!container_exists(&left), "the dead harness's container stays");
    assert!(container_exists(&ours), "a live harness's container was removed");
    Command::new("docker").args(["rm", "-f", &ours]).output().unwrap();
}

#[test]
fn a_panic_still_removes_the_container() {
    let Some(fixtures) = fixtures("panic") else { return };
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let echo = fixtures.tcp_echo(Ipv4Addr::new(127, 0, 0, 36)).expect("TCP echo starts");
        tx.send(echo.container_id().to_string()).unwrap();
        panic!("a scenario failed with the fixture in hand");
    })
    .join();
    assert!(outcome.is_err());
    let id = rx.recv().unwrap();
    assert!(!container_exists(&id), "container {id} outlived the panic");
}

#[test]
fn a_server_that_fails_to_start_says_why_with_its_log() {
    let Some(fixtures) = fixtures("failed start") else { return };
    let began = Instant::now();
    // The entrypoint refuses a zone entry that is not name=address.
    let zone = [("two words".to_string(), Ipv4Addr::new(127, 0, 0, 21))];
    let err = fixtures.dns(Ipv4Addr::new(127, 0, 0, 37), &zone).expect_err("dnsmasq is not started");
    let text = err.to_string();
    assert!(text.contains("dns container did not start") && text.contains("bad MTG_ZONE entry 'two'"), "{text}");
    assert!(began.elapsed() < Duration::from_secs(20), "the failure is seen when the container exits");
}

#[test]
fn a_missing_image_is_a_clear_error_and_nothing_is_pulled() {
    let Some(_) = fixtures("missing image") else { return };
    let err = ContainerFixtures::connect("mtg-fixtures:no-such-tag").expect_err("no such image");
    let text = err.to_string();
    assert!(text.contains("mtg-fixtures:no-such-tag") && text.contains("build-image.sh"), "{text}");
}
