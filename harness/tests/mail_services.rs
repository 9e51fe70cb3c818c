//! The mail services of chapter 3 end to end: an emulated unit driven over
//! AT against the embedded SMTP and POP3 fixtures on loopback (real
//! sockets), the servers checked with Python's smtplib and poplib, and the
//! 3-minute server deadline on the simulated network (virtual time).
//!
//! Codes checked here: 38016 (connection refused, [code]), 36929, 37966 and
//! 35862 (chosen in `at::codes::Condition`, inferred), 37964 (p.68).

mod common;
use common::{command, read_until};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use mtg::emulator::EmulatorConfig;
use mtg::fixtures::pop3::Pop3Fixture;
use mtg::fixtures::smtp::{self, SmtpFixture};
use mtg::fixtures::{Fixture, Observation, Observe, ReceivedMail, Setup};
use mtg::transport::EmulatorTransport;
use rstest::rstest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A command answered with `OK` alone.
async fn ok(t: &mut EmulatorTransport, line: &str) {
    assert_eq!(command(t, line, "\r\n").await, "\r\nOK\r\n", "{line}");
}

/// A unit with the stack open and a GPRS session up (App. B, digest §10 B.7a).
async fn online(config: EmulatorConfig) -> EmulatorTransport {
    let mut t = EmulatorTransport::start(config).expect("emulator");
    command(&mut t, "ATE0", "OK\r\n").await;
    command(&mut t, "AT+CMEE=1;+WOPEN=1", "OK\r\n").await;
    command(&mut t, "AT+CGATT=1", "OK\r\n").await;
    command(&mut t, "AT#CONNECTIONSTART", "Ok_Info_GprsActivation\r\n").await;
    t
}

/// The SMTP parameters of a unit that sends to `server` (p.17-20).
async fn smtp_setup(t: &mut EmulatorTransport, server: SocketAddr) {
    ok(t, &format!("AT#SMTPSERV=\"{}\"", server.ip())).await;
    ok(t, &format!("AT#SMTPPORT={}", server.port())).await;
    ok(t, "AT#SENDERNAME=\"machine 245\"").await;
    ok(t, "AT#SENDERADDR=\"toto@myoper.com\"").await;
    ok(t, "AT#DOMAIN=\"a2myoper.com\"").await;
}

fn only_mail(fixture: &SmtpFixture) -> ReceivedMail {
    let mails = fixture.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    mails.into_iter().next().unwrap()
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

#[tokio::test]
async fn sendmail1_sends_the_predefined_mail_to_two_recipients_and_a_copy() {
    let server = SmtpFixture::start(ip(31)).await.unwrap();
    let mut t = online(EmulatorConfig::default()).await;
    smtp_setup(&mut t, server.endpoint()).await;
    t.write_all(b"AT#REC1ADD\ra@x.org\r\nb@y.org\r\n\x1a").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    ok(&mut t, "AT#CCREC1=\"c@z.org\"").await;
    ok(&mut t, "AT#SUBJ1=\"Alarm 7\"").await;
    t.write_all(b"AT#BODY1\rLine one\r\n.dot line\r\nend\x1a").await.unwrap();
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");

    assert_eq!(command(&mut t, "AT#SENDMAIL1", "\r\n").await, "\r\nOK\r\n");

    let mail = only_mail(&server);
    assert_eq!(mail.from, "toto@myoper.com");
    assert_eq!(mail.to, ["a@x.org", "b@y.org", "c@z.org"]);
    assert_eq!(mail.auth_user, None, "authentication is off while SMTPUN/SMTPPW are empty (p.20)");
    assert_eq!(
        String::from_utf8_lossy(&mail.data),
        "From: \"machine 245\" <toto@myoper.com>\r\nTo: a@x.org, b@y.org\r\nCc: c@z.org\r\nSubject: Alarm 7\r\n\r\n\
         Line one\r\n.dot line\r\nend\r\n"
    );
    // What the server saw by address.
    let Some(Observation::Mails(to_b)) = server.observe(&Observe::Mail { to: "b@y.org".into() }).unwrap() else {
        panic!("the SMTP fixture answers Observe::Mail")
    };
    assert_eq!(to_b, [mail]);
    // The unit is back in command mode, and the other mails are sent by number.
    ok(&mut t, "AT").await;
}

#[tokio::test]
async fn sendmail_authenticates_when_smtpun_and_smtppw_are_set() {
    let server = SmtpFixture::start(ip(32)).await.unwrap();
    let mut t = online(EmulatorConfig::default()).await;
    smtp_setup(&mut t, server.endpoint()).await;
    ok(&mut t, &format!("AT#SMTPUN=\"{}\"", smtp::USER)).await;
    ok(&mut t, &format!("AT#SMTPPW=\"{}\"", smtp::PASSWORD)).await;
    ok(&mut t, "AT#REC2=\"ops@x.org\"").await;
    ok(&mut t, "AT#SUBJ2=\"two\"").await;
    assert_eq!(command(&mut t, "AT#SENDMAIL2", "\r\n").await, "\r\nOK\r\n");
    let mail = only_mail(&server);
    assert_eq!(mail.auth_user.as_deref(), Some(smtp::USER));
    assert_eq!(mail.to, ["ops@x.org"]);
    // BODY2 is empty: the mail is a header and an empty line.
    assert!(String::from_utf8_lossy(&mail.data).ends_with("Subject: two\r\n\r\n"), "{:?}", mail.data);
}

#[tokio::test]
async fn putmail_sends_what_the_host_types_until_the_terminator() {
    let server = SmtpFixture::start(ip(33)).await.unwrap();
    let mut t = online(EmulatorConfig::default()).await;
    smtp_setup(&mut t, server.endpoint()).await;
    ok(&mut t, "AT#REC1=\"a@x.org\"").await;
    ok(&mut t, "AT#SUBJ1=\"data\"").await;
    let open = command(&mut t, "AT#PUTMAIL", "Ok_Info_WaitingForData\r\n").await;
    assert_eq!(open, "\r\nOk_Info_WaitingForData\r\n");
    // A line that starts with a dot, and bytes that are not text: every byte
    // is payload in this data mode (no DLE coding, p.50).
    let body: &[u8] = b"first\r\n.starts with a dot\r\nraw \x00\x03\x10\x1a\xff end\r\n..two dots\r\n";
    t.write_all(body).await.unwrap();
    t.write_all(b".\r\n").await.unwrap();
    // The body is not echoed (p.23); OK once the server took the mail.
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    let mail = only_mail(&server);
    let mut expected = b"From: \"machine 245\" <toto@myoper.com>\r\nTo: a@x.org\r\nSubject: data\r\n\r\n".to_vec();
    expected.extend_from_slice(body);
    assert_eq!(mail.data, expected, "{:?}", String::from_utf8_lossy(&mail.data));
    ok(&mut t, "AT").await;
}

#[tokio::test]
async fn putmail_body_typed_in_pieces_across_txdelay() {
    let server = SmtpFixture::start(ip(34)).await.unwrap();
    let mut t = online(EmulatorConfig::default()).await;
    smtp_setup(&mut t, server.endpoint()).await;
    ok(&mut t, "AT#REC1=\"a@x.org\"").await;
    // A command line ended by <CR><LF>: the <LF> is no body byte.
    t.write_all(b"AT#PUTMAIL\r\n").await.unwrap();
    read_until(&mut t, b"Ok_Info_WaitingForData\r\n").await;
    // Pauses longer than the 100 ms the unit holds body bytes.
    for piece in [b"a\r\n.".as_slice(), b"x\r\n.", b"\r", b"\n"] {
        t.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(read_until(&mut t, b"OK\r\n").await, b"\r\nOK\r\n");
    let data = only_mail(&server).data;
    assert!(data.ends_with(b"\r\n\r\na\r\n.x\r\n"), "{:?}", String::from_utf8_lossy(&data));
}

/// How a refusal scenario differs from a mail that goes through.
#[derive(Debug, Clone, Copy)]
enum Port {
    Service,
    RefusingGreeting,
    Closed,
}

#[rstest]
#[case::recipient_refused("toto@myoper.com", "a2myoper.com", "refuse-rcpt@x.org", None, Port::Service, 36929)]
#[case::recipient_busy("toto@myoper.com", "a2myoper.com", "busy-rcpt@x.org", None, Port::Service, 37966)]
#[case::closed_at_rcpt("toto@myoper.com", "a2myoper.com", "close-rcpt@x.org", None, Port::Service, 37966)]
#[case::data_refused("toto@myoper.com", "a2myoper.com", "refuse-data@x.org", None, Port::Service, 37966)]
#[case::message_refused("toto@myoper.com", "a2myoper.com", "refuse-message@x.org", None, Port::Service, 37966)]
#[case::sender_refused("refuse-sender@myoper.com", "a2myoper.com", "a@x.org", None, Port::Service, 36929)]
#[case::ehlo_and_helo_refused("toto@myoper.com", "refuse-ehlo.example", "a@x.org", None, Port::Service, 36929)]
#[case::auth_refused("toto@myoper.com", "a2myoper.com", "a@x.org", Some("wrong"), Port::Service, 36929)]
#[case::greeting_refused("toto@myoper.com", "a2myoper.com", "a@x.org", None, Port::RefusingGreeting, 37966)]
#[case::connection_refused("toto@myoper.com", "a2myoper.com", "a@x.org", None, Port::Closed, 38016)]
#[tokio::test]
async fn each_refusal_answers_its_code(
    #[case] sender: &str,
    #[case] domain: &str,
    #[case] rec: &str,
    #[case] password: Option<&str>,
    #[case] port: Port,
    #[case] code: u32,
) {
    let server = SmtpFixture::start(ip(35)).await.unwrap();
    let endpoint = match port {
        Port::Service => server.endpoint(),
        Port::RefusingGreeting => server.refuse_endpoint(),
        Port::Closed => {
            let l = std::net::TcpListener::bind((ip(35), 0)).unwrap();
            l.local_addr().unwrap()
        }
    };
    let mut t = online(EmulatorConfig::default()).await;
    smtp_setup(&mut t, endpoint).await;
    ok(&mut t, &format!("AT#SENDERADDR=\"{sender}\"")).await;
    ok(&mut t, &format!("AT#DOMAIN=\"{domain}\"")).await;
    ok(&mut t, &format!("AT#REC1=\"{rec}\"")).await;
    if let Some(pw) = password {
        ok(&mut t, &format!("AT#SMTPUN=\"{}\"", smtp::USER)).await;
        ok(&mut t, &format!("AT#SMTPPW=\"{pw}\"")).await;
    }
    // A refused message comes after the body: #PUTMAIL's case is the test below.
    let commands: &[&str] =
        if rec.starts_with("refuse-message") { &["AT#SENDMAIL1"] } else { &["AT#SENDMAIL1", "AT#PUTMAIL"] };
    for &cmd in commands {
        let got = command(&mut t, cmd, &format!("{code}\r\n")).await;
        assert_eq!(got, format!("\r\n#CME ERROR: {code}\r\n"), "{cmd}");
        // The unit keeps serving, and parameters can be set again.
        ok(&mut t, "AT#SUBJ1=\"again\"").await;
    }
    assert_eq!(server.mails(), [], "no mail was taken");
}

#[tokio::test]
async fn putmail_error_after_the_data_mode_is_not_preceded_by_the_terminator() {
    let server = SmtpFixture::start(ip(36)).await.unwrap();
    let mut t = online(EmulatorConfig::default()).await;
    smtp_setup(&mut t, server.endpoint()).await;
    ok(&mut t, "AT#REC1=\"refuse-message@x.org\"").await;
    command(&mut t, "AT#PUTMAIL", "Ok_Info_WaitingForData\r\n").await;
    t.write_all(b"hello\r\n.\r\n").await.unwrap();
    // p.50: "an error message not preceded by [CR][LF].[CR][LF]".
    assert_eq!(read_until(&mut t, b"37966\r\n").await, b"\r\n#CME ERROR: 37966\r\n");
}

/// Refusals before any connection: what the unit checks itself.
#[tokio::test]
async fn mail_commands_refused_before_connecting() {
    let mut t = online(EmulatorConfig::default()).await;
    // Nothing to send to, no server (inferred: 36929, the parameters are unusable).
    for cmd in ["AT#SENDMAIL1", "AT#SENDMAIL3", "AT#PUTMAIL", "AT#GETMAIL"] {
        assert_eq!(command(&mut t, cmd, "\r\n").await, "\r\n#CME ERROR: 36929\r\n", "{cmd}");
    }
    // The commands take no argument.
    assert_eq!(command(&mut t, "AT#SENDMAIL1?", "\r\n").await, "\r\n#CME ERROR: 34819\r\n");
    assert_eq!(command(&mut t, "AT#SENDMAIL4", "\r\n").await, "\r\n#CME ERROR: 34817\r\n");
    // Another service holds the stack (p.21-23: "except when ... already in
    // a process using TCP resources").
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    ok(&mut t, &format!("AT#TCPPORT=1,{port}")).await;
    ok(&mut t, "AT#TCPSERV=1,\"255.255.255.255\"").await;
    ok(&mut t, "AT#LTCPSTART=1").await;
    for cmd in ["AT#SENDMAIL2", "AT#PUTMAIL", "AT#GETMAIL"] {
        assert_eq!(command(&mut t, cmd, "\r\n").await, "\r\n#CME ERROR: 36872\r\n", "{cmd}");
    }
    ok(&mut t, "AT#LTCPSTOP=1").await;
}

fn message(from: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "Received: from relay.example by pop3server\r\nFrom: {from}\r\nTo: mypop3un@a2myoper.com\r\n\
         Cc: boss@a2myoper.com\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example>\r\n\r\n{body}"
    )
    .into_bytes()
}

async fn pop3_unit(server: &Pop3Fixture, user: &str, password: &str, header_mode: u8) -> EmulatorTransport {
    let mut t = online(EmulatorConfig::default()).await;
    let endpoint = server.endpoint();
    ok(&mut t, &format!("AT#POP3SERV=\"{}\"", endpoint.ip())).await;
    ok(&mut t, &format!("AT#POP3PORT={}", endpoint.port())).await;
    ok(&mut t, &format!("AT#POP3UN=\"{user}\"")).await;
    ok(&mut t, &format!("AT#POP3PW=\"{password}\"")).await;
    ok(&mut t, &format!("AT#POP3HEADERMODE={header_mode}")).await;
    t
}

#[tokio::test]
async fn getmail_retrieves_each_mail_then_reports_no_mail() {
    let server = Pop3Fixture::start(ip(41)).await.unwrap();
    let first = message("\"Ops\" <ops@x.org>", "one", "Hello\r\n.hidden dot\r\n");
    let second = message("ops@x.org", "two", "Bye\r\n");
    let setup =
        Setup::Mailbox { user: "mypop3un".into(), password: "mypop3passwd".into(), messages: vec![first, second] };
    assert!(server.setup(&setup).unwrap());
    let mut t = pop3_unit(&server, "mypop3un", "mypop3passwd", 1).await;

    // POP3HEADERMODE=1: From, Cc and Subject (p.19), an empty line, the body.
    let got = command(&mut t, "AT#GETMAIL", "\r\nOK\r\n").await;
    assert_eq!(
        got,
        "\r\nOk_Info_Mail\r\nFrom: \"Ops\" <ops@x.org>\r\nCc: boss@a2myoper.com\r\nSubject: one\r\n\r\n\
         Hello\r\n.hidden dot\r\n.\r\n\r\nOK\r\n"
    );
    let got = command(&mut t, "AT#GETMAIL", "\r\nOK\r\n").await;
    assert_eq!(
        got,
        "\r\nOk_Info_Mail\r\nFrom: ops@x.org\r\nCc: boss@a2myoper.com\r\nSubject: two\r\n\r\nBye\r\n.\r\n\r\nOK\r\n"
    );
    assert_eq!(command(&mut t, "AT#GETMAIL", "\r\nOK\r\n").await, "\r\nOk_Info_NoMail\r\n\r\nOK\r\n");
    let left = server.observe(&Observe::Mailbox { user: "mypop3un".into() }).unwrap();
    assert_eq!(left, Some(Observation::Mailbox(vec![])), "retrieved mails are deleted (inferred)");
}

#[tokio::test]
async fn getmail_without_header_sends_the_body_alone() {
    let server = Pop3Fixture::start(ip(42)).await.unwrap();
    let setup = Setup::Mailbox {
        user: "cam".into(),
        password: "pw".into(),
        messages: vec![message("ops@x.org", "snap", "take a picture\r\n")],
    };
    server.setup(&setup).unwrap();
    let mut t = pop3_unit(&server, "cam", "pw", 0).await;
    let got = command(&mut t, "AT#GETMAIL", "\r\nOK\r\n").await;
    assert_eq!(got, "\r\nOk_Info_Mail\r\ntake a picture\r\n.\r\n\r\nOK\r\n");
}

#[tokio::test]
async fn getmail_with_a_bad_password_is_refused_and_keeps_the_mail() {
    let server = Pop3Fixture::start(ip(43)).await.unwrap();
    let setup =
        Setup::Mailbox { user: "u".into(), password: "right".into(), messages: vec![message("a@x", "s", "b\r\n")] };
    server.setup(&setup).unwrap();
    let mut t = pop3_unit(&server, "u", "wrong", 1).await;
    assert_eq!(command(&mut t, "AT#GETMAIL", "\r\n").await, "\r\n#CME ERROR: 36929\r\n");
    assert_eq!(server.messages("u").len(), 1);
    ok(&mut t, "AT#POP3PW=\"right\"").await;
    assert!(command(&mut t, "AT#GETMAIL", "\r\nOK\r\n").await.starts_with("\r\nOk_Info_Mail\r\n"));
}

#[tokio::test]
async fn getmail_error_in_the_middle_of_a_mail_ends_it_first() {
    let server = Pop3Fixture::start(ip(44)).await.unwrap();
    let setup = Setup::Mailbox {
        user: "close-retr".into(),
        password: "pw".into(),
        messages: vec![message("a@x", "s", "b\r\n")],
    };
    server.setup(&setup).unwrap();
    let mut t = pop3_unit(&server, "close-retr", "pw", 1).await;
    // The server closes after the first line: the end mark, then the error (p.21, p.50).
    let got = command(&mut t, "AT#GETMAIL", "ERROR: 37966\r\n").await;
    assert_eq!(got, "\r\nOk_Info_Mail\r\n.\r\n\r\n#CME ERROR: 37966\r\n");
    assert_eq!(server.messages("close-retr").len(), 1, "nothing is deleted without QUIT");
}

/// A fixture that is dropped ends its open sessions too.
#[tokio::test]
async fn dropping_a_fixture_ends_its_sessions() {
    let smtp = SmtpFixture::start(ip(61)).await.unwrap();
    let pop3 = Pop3Fixture::start(ip(61)).await.unwrap();
    let mut buf = [0u8; 128];
    let mut sessions = Vec::new();
    for (endpoint, greeting) in [(smtp.endpoint(), "220 smtp.a2myoper.com ESMTP"), (pop3.endpoint(), "+OK")] {
        let mut s = tokio::net::TcpStream::connect(endpoint).await.unwrap();
        let n = s.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with(greeting));
        sessions.push(s);
    }
    drop((smtp, pop3));
    for mut s in sessions {
        let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.expect("closed");
        assert_eq!(read.unwrap_or(0), 0);
    }
}

/// The server deadline on the simulated network: three minutes of the
/// unit's time, no wall time.
mod simulated {
    use std::net::SocketAddr;
    use std::time::Duration;

    use mtg::emulator::{EmulatorConfig, Network, PeerBehaviour, SimNetwork};
    use mtg::transport::Transport;

    #[rstest::rstest]
    #[case::smtp("AT#SMTPSERV=\"silent.example\"", "AT#SMTPPORT=25", "AT#SENDMAIL1", 37964)]
    #[case::putmail("AT#SMTPSERV=\"silent.example\"", "AT#SMTPPORT=25", "AT#PUTMAIL", 37964)]
    #[case::pop3("AT#POP3SERV=\"silent.example\"", "AT#POP3UN=\"u\"", "AT#GETMAIL", 35862)]
    #[tokio::test]
    async fn a_silent_server_times_out(
        #[case] server: &str,
        #[case] other: &str,
        #[case] cmd: &str,
        #[case] code: u32,
    ) {
        let net = SimNetwork::new();
        for port in [25, 110] {
            let peer: SocketAddr = SocketAddr::from(([192, 0, 2, 25], port));
            net.peer(peer, PeerBehaviour::Silent).name("silent.example", peer.ip());
        }
        let config = EmulatorConfig { network: Network::Simulated(net.clone()), ..EmulatorConfig::default() };
        let mut t = super::online(config).await;
        for line in [server, other, "AT#REC1=\"a@x.org\"", "AT#SENDERADDR=\"toto@myoper.com\""] {
            super::ok(&mut t, line).await;
        }
        let started = t.now();
        let wall = std::time::Instant::now();
        let got = super::command(&mut t, cmd, &format!("{code}\r\n")).await;
        assert_eq!(got, format!("\r\n#CME ERROR: {code}\r\n"));
        assert!(t.now() - started >= Duration::from_secs(180), "{:?}", t.now() - started);
        assert!(wall.elapsed() < Duration::from_secs(5), "{:?}", wall.elapsed());
        super::ok(&mut t, "AT").await;
    }

    /// The GPRS session drops while the unit waits for a silent server:
    /// 35841 ends the command and the unit takes commands again.
    #[tokio::test]
    async fn a_session_lost_during_getmail_ends_it() {
        use mtg::control::{Control, GprsFault};
        let net = SimNetwork::new();
        let peer: SocketAddr = SocketAddr::from(([192, 0, 2, 25], 110));
        net.peer(peer, PeerBehaviour::Silent);
        let config = EmulatorConfig { network: Network::Simulated(net), ..EmulatorConfig::default() };
        let mut t = super::online(config).await;
        super::ok(&mut t, "AT#POP3SERV=\"192.0.2.25\"").await;
        super::ok(&mut t, "AT#POP3UN=\"u\"").await;
        use tokio::io::AsyncWriteExt;
        t.write_all(b"AT#GETMAIL\r").await.unwrap();
        // Typed while the command runs: answered after it.
        t.write_all(b"AT\r").await.unwrap();
        t.control(&Control::GprsFault(GprsFault::SessionLost)).await.unwrap();
        let got = super::read_until(&mut t, b"OK\r\n").await;
        assert_eq!(got, b"\r\n#CME ERROR: 35841\r\n\r\nOK\r\n");
        assert_eq!(super::command(&mut t, "AT#VSTATE", "OK\r\n").await, "#STATE: \"IDLE\"\r\n\r\nOK\r\n");
    }

    #[tokio::test]
    async fn an_unknown_server_name_answers_38027() {
        let net = SimNetwork::new();
        let config = EmulatorConfig { network: Network::Simulated(net), ..EmulatorConfig::default() };
        let mut t = super::online(config).await;
        for line in ["AT#SMTPSERV=\"nowhere.example\"", "AT#REC1=\"a@x.org\"", "AT#SENDERADDR=\"t@x.org\""] {
            super::ok(&mut t, line).await;
        }
        assert_eq!(super::command(&mut t, "AT#SENDMAIL1", "\r\n").await, "\r\n#CME ERROR: 38027\r\n");
        super::ok(&mut t, "AT#POP3SERV=\"nowhere.example\"").await;
        super::ok(&mut t, "AT#POP3UN=\"u\"").await;
        assert_eq!(super::command(&mut t, "AT#GETMAIL", "\r\n").await, "\r\n#CME ERROR: 38027\r\n");
    }
}

/// The embedded servers against clients this project did not write:
/// Python's smtplib and poplib.
mod python {
    use super::*;

    async fn python(script: &str) -> String {
        let out =
            tokio::process::Command::new("python3").arg("-c").arg(script).output().await.expect("python3 is installed");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "python failed: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[tokio::test]
    async fn smtplib_sends_with_auth_plain_and_login_and_sees_refusals() {
        let server = SmtpFixture::start(ip(51)).await.unwrap();
        let a = server.endpoint();
        let script = format!(
            r#"
import smtplib
s = smtplib.SMTP("{ip}", {port})
s.ehlo("client.example")
s.login("{user}", "{pw}")
s.sendmail("sender@example.org", ["one@x.org", "two@y.org"], b"Subject: py\r\n\r\n.leading dot\r\nline\r\n")
try:
    s.sendmail("sender@example.org", ["refuse-rcpt@x.org"], b"x\r\n")
except smtplib.SMTPRecipientsRefused as e:
    print("refused", e.recipients["refuse-rcpt@x.org"][0])
s.quit()
s = smtplib.SMTP("{ip}", {port})
s.ehlo("client.example")
s.user, s.password = "{user}", "{pw}"
print("login", s.auth("LOGIN", s.auth_login, initial_response_ok=False)[0])
print("noop", s.noop()[0], s.rset()[0])
s.quit()
s = smtplib.SMTP("{ip}", {port})
s.ehlo("client.example")
try:
    s.login("{user}", "bad")
except smtplib.SMTPAuthenticationError as e:
    print("auth", e.smtp_code)
s.quit()
"#,
            ip = a.ip(),
            port = a.port(),
            user = smtp::USER,
            pw = smtp::PASSWORD
        );
        let out = python(&script).await;
        assert_eq!(out, "refused 550\nlogin 235\nnoop 250 250\nauth 535\n");
        let mail = only_mail(&server);
        assert_eq!(mail.from, "sender@example.org");
        assert_eq!(mail.to, ["one@x.org", "two@y.org"]);
        assert_eq!(mail.auth_user.as_deref(), Some(smtp::USER));
        assert_eq!(mail.data, b"Subject: py\r\n\r\n.leading dot\r\nline\r\n");
    }

    #[tokio::test]
    async fn poplib_lists_retrieves_and_deletes_at_quit() {
        let server = Pop3Fixture::start(ip(52)).await.unwrap();
        let setup = Setup::Mailbox {
            user: "mypop3un".into(),
            password: "mypop3passwd".into(),
            messages: vec![b"Subject: a\r\n\r\n.dot\r\n".to_vec(), b"Subject: b\r\n\r\n1\r\n2\r\n".to_vec()],
        };
        server.setup(&setup).unwrap();
        let a = server.endpoint();
        let script = format!(
            r#"
import poplib
p = poplib.POP3("{ip}", {port})
p.user("mypop3un")
p.pass_("mypop3passwd")
print("stat", p.stat())
print("list", p.list()[1])
print("uidl", len(p.uidl()[1]))
print("retr", p.retr(1)[1])
print("top", p.top(2, 1)[1])
p.dele(1)
print("stat", p.stat())
p.rset()
p.dele(1)
p.noop()
p.quit()
q = poplib.POP3("{ip}", {port})
q.user("mypop3un")
try:
    q.pass_("nope")
except poplib.error_proto as e:
    print("bad", e.args[0][:4])
q.quit()
"#,
            ip = a.ip(),
            port = a.port()
        );
        let out = python(&script).await;
        assert_eq!(
            out,
            "stat (2, 40)\nlist [b'1 20', b'2 20']\nuidl 2\nretr [b'Subject: a', b'', b'.dot']\n\
             top [b'Subject: b', b'', b'1']\nstat (1, 20)\nbad b'-ERR'\n"
        );
        assert_eq!(server.messages("mypop3un"), [b"Subject: b\r\n\r\n1\r\n2\r\n".to_vec()]);
    }
}
