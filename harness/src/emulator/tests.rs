//! Unit tests of the interpreter. Behaviour against the manual is tested by
//! the scenarios; these pin down the mechanics and robustness.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use rstest::rstest;

use super::*;
use crate::at::Firmware;

/// Feed `input`, then run the timers of the next ten seconds on a virtual
/// clock (long timers such as PHYTIMEOUT stay pending, as in real time).
fn talk(modem: &mut Modem, input: &[u8]) -> String {
    let mut now = Instant::now();
    let horizon = now + Duration::from_secs(10);
    modem.receive(input, now);
    let mut guard = 0;
    while let Some(at) = modem.next_timer().filter(|at| *at <= horizon) {
        guard += 1;
        assert!(guard < 10_000, "timers never settle");
        now = now.max(at);
        modem.on_timer(now);
    }
    String::from_utf8_lossy(&modem.take_output()).into_owned()
}

fn open_modem() -> Modem {
    let mut m = Modem::new(&EmulatorConfig::default()).unwrap();
    talk(&mut m, b"ATE0\rAT+CMEE=1\rAT+WOPEN=1\r");
    m
}

#[rstest]
#[case(b"AT\r", "AT\r\r\nOK\r\n")]
#[case(b"ATE0\r", "ATE0\r\r\nOK\r\n")]
#[case(b"AT+NOPE\r", "AT+NOPE\r\r\nERROR\r\n")]
#[case(b"ATV0\rAT\r", "ATV0\r\r0\rAT\r\r0\r")]
#[case(b"ATQ1\rAT\r", "ATQ1\rAT\r")]
#[case(b"AT#VPHY\r", "AT#VPHY\r\r\nERROR\r\n")]
fn fresh_unit_answers(#[case] input: &[u8], #[case] expected: &str) {
    let mut m = Modem::new(&EmulatorConfig::default()).unwrap();
    assert_eq!(talk(&mut m, input), expected);
}

#[rstest]
#[case("AT#REDIALCOUNT=15\r", "\r\n#CME ERROR: 34882\r\n")]
#[case("AT#REDIALCOUNT=14\rAT#REDIALCOUNT?\r", "\r\nOK\r\n#REDIALCOUNT: 14\r\n\r\nOK\r\n")]
#[case("AT#TCPPORT=2,\"23\"\rAT#TCPPORT=2\r", "\r\nOK\r\n#TCPPORT: 2,23\r\n\r\nOK\r\n")]
#[case("AT#TCPSERV=\"host\"\rAT#TCPSERV=1\r", "\r\nOK\r\n#TCPSERV: 1,\"host\"\r\n\r\nOK\r\n")]
#[case("AT#NOSUCH\r", "\r\n#CME ERROR: 34817\r\n")]
#[case("at#redialcount?\r", "#REDIALCOUNT: 5\r\n\r\nOK\r\n")]
#[case("AT#VDNS\r", "#DNSSERV1: \"0.0.0.0\"\r\n#DNSSERV2: \"0.0.0.0\"\r\n\r\nOK\r\n")]
#[case("AT#BODY1\rHello<x>\x08^\x1aAT#BODY1?\r", "\r\nOK\r\n#BODY1: \"Hello<x^\"\r\n\r\nOK\r\n")]
fn stack_answers(#[case] input: &str, #[case] expected: &str) {
    let mut m = open_modem();
    assert_eq!(talk(&mut m, input.as_bytes()), expected);
}

#[test]
fn vphy_defaults_match_the_manual_block() {
    let mut m = open_modem();
    let out = talk(&mut m, b"AT#VPHY\r");
    let lines: Vec<&str> = out.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines,
        [
            "#ANSWERMODE: 0",
            "#CALLBACKTIMER: 2",
            "#CALLSCREENNUM: \"0\"",
            "#DIALN1: \"\"",
            "#DIALN2: \"\"",
            "#DIALSELECT: 1",
            "#GPRSMODE: 1",
            "#PHYTIMEOUT: 15",
            "#REDIALCOUNT: 5",
            "#REDIALDELAY: 5",
            "#RINGCOUNT: 0",
            "OK"
        ]
    );
}

#[test]
fn rec_add_keeps_ten_addresses() {
    let mut m = open_modem();
    let mut input = b"AT#REC1ADD\r".to_vec();
    for i in 1..=11 {
        input.extend_from_slice(format!("a{i}@x.org\r\n").as_bytes());
    }
    input.extend_from_slice(b"\x1aAT#VMAIL1\r");
    let out = talk(&mut m, &input);
    assert!(out.contains("#REC1=a1@x.org,a2@x.org"), "{out}");
    assert!(out.contains("a10@x.org\r\n"), "{out}");
    assert!(!out.contains("a11"), "{out}");
}

#[test]
fn flash_survives_restart_and_delflash_restores_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { flash: Some(dir.path().join("flash.json")), ..EmulatorConfig::default() };
    let mut m = Modem::new(&config).unwrap();
    talk(&mut m, b"ATE0\rAT+WOPEN=1\rAT#REDIALCOUNT=14\r");
    let mut again = Modem::new(&config).unwrap();
    assert_eq!(talk(&mut again, b"AT#REDIALCOUNT?\r"), "AT#REDIALCOUNT?\r#REDIALCOUNT: 14\r\n\r\nOK\r\n");
    assert_eq!(
        talk(&mut again, b"ATE0\rAT#DELFLASH\rAT#REDIALCOUNT?\r"),
        "ATE0\r\r\nOK\r\n\r\nOK\r\n#REDIALCOUNT: 5\r\n\r\nOK\r\n"
    );
}

#[test]
fn gprs_session_comes_up_and_goes_down() {
    let mut m = open_modem();
    assert_eq!(talk(&mut m, b"AT#CONNECTIONSTART\r"), "\r\n#CME ERROR: 35865\r\n");
    talk(&mut m, b"AT+CGATT=1\r");
    let out = talk(&mut m, b"AT#CONNECTIONSTART\r");
    assert_eq!(out, "\r\n10.64.0.2\r\n\r\nOk_Info_GprsActivation\r\n");
    assert_eq!(talk(&mut m, b"AT#VSTATE\r"), "#STATE: \"CONNECTED\"\r\n\r\nOK\r\n");
    assert_eq!(talk(&mut m, b"AT#CONNECTIONSTART\r"), "\r\n#CME ERROR: 35840\r\n");
    assert_eq!(talk(&mut m, b"AT#CONNECTIONSTOP\rAT#DISPLAYIP\r"), "\r\n#CME ERROR: 35867\r\n\r\nOK\r\n");
}

/// The session comes up in the background: #VSTATE shows it (p.39).
#[test]
fn the_interpreter_answers_while_a_session_comes_up() {
    let mut m = open_modem();
    talk(&mut m, b"AT+CGATT=1\r");
    let now = Instant::now();
    m.receive(b"AT#CONNECTIONSTART\rAT#VSTATE\r", now);
    assert_eq!(String::from_utf8(m.take_output()).unwrap(), "#STATE: \"CHECKING\"\r\n\r\nOK\r\n");
    m.on_timer(now + Duration::from_secs(1));
    let out = String::from_utf8(m.take_output()).unwrap();
    assert!(out.ends_with("Ok_Info_GprsActivation\r\n"), "{out:?}");
}

fn open_modem_as(firmware: Firmware) -> Modem {
    let mut m = Modem::new(&EmulatorConfig { firmware, ..EmulatorConfig::default() }).unwrap();
    talk(&mut m, b"ATE0\rAT+CMEE=1\rAT+WOPEN=1\r");
    m
}

/// Each difference between field firmware and the manual
/// (`scenarios/errata.yaml`), in both profiles.
#[rstest]
// E1 (p.14, ch. 9 p.42): the GPRS activation message.
#[case::e1_field(
    Firmware::Field,
    "AT+CGATT=1\rAT#CONNECTIONSTART\r",
    "\r\nOK\r\n\r\n10.64.0.2\r\n\r\nOk_Info_GprsActivation\r\n"
)]
#[case::e1_manual(
    Firmware::Manual,
    "AT+CGATT=1\rAT#CONNECTIONSTART\r",
    "\r\nOK\r\n\r\n10.64.0.2\r\n\r\nOK_Info_GPRSActivation\r\n"
)]
// The numeric code is the same in both (ch. 9: 3086).
#[case::e1_numeric(Firmware::Manual, "ATV0\rAT+CGATT=1\rAT#CONNECTIONSTART\r", "\r0\r\r0\r10.64.0.2\r\n\r3086\r")]
// E8 (p.15): #DISPLAYIP in GPRS mode.
#[case::e8_field(
    Firmware::Field,
    "AT+CGATT=1\rAT#CONNECTIONSTART\r|AT#DISPLAYIP\r",
    "\r\nOK\r\n\r\n10.64.0.2\r\n\r\nOk_Info_GprsActivation\r\n#MY IP: \"10.64.0.2\"\r\n#PEER IP: \"0.0.0.0\"\r\n#GATEWAY IP: \"0.0.0.0\"\r\n\r\nOK\r\n"
)]
#[case::e8_manual(
    Firmware::Manual,
    "AT+CGATT=1\rAT#CONNECTIONSTART\r|AT#DISPLAYIP\r",
    "\r\nOK\r\n\r\n10.64.0.2\r\n\r\nOK_Info_GPRSActivation\r\nMY IP: 10.64.0.2\r\nGateway IP: 0.0.0.0\r\n\r\nOK\r\n"
)]
// E9 (p.39): no OK after #NO SERVICE in the manual's table.
#[case::e9_field(Firmware::Field, "AT+CFUN=0\rAT#VSTATE\r", "\r\nOK\r\n#NO SERVICE\r\n\r\nOK\r\n")]
#[case::e9_manual(Firmware::Manual, "AT+CFUN=0\rAT#VSTATE\r", "\r\nOK\r\n#NO SERVICE\r\n")]
#[case::e9_idle_both(Firmware::Manual, "AT#VSTATE\r", "#STATE: \"IDLE\"\r\n\r\nOK\r\n")]
// E10 (p.20, digest §13 item 36): AT#SMTPAUTH.
#[case::e10_field(Firmware::Field, "AT#SMTPAUTH=1\rAT#SMTPAUTH?\r", "\r\nOK\r\n#SMTPAUTH: 1\r\n\r\nOK\r\n")]
#[case::e10_field_range(Firmware::Field, "AT#SMTPAUTH=2\r", "\r\n#CME ERROR: 34882\r\n")]
#[case::e10_manual(
    Firmware::Manual,
    "AT#SMTPAUTH=1\rAT#SMTPAUTH?\r",
    "\r\n#CME ERROR: 34817\r\n\r\n#CME ERROR: 34817\r\n"
)]
fn firmware_profiles_differ_where_the_errata_say(
    #[case] firmware: Firmware,
    #[case] input: &str,
    #[case] expected: &str,
) {
    let mut m = open_modem_as(firmware);
    // `|` waits for the timers between parts (a session comes up in the background).
    let out: String = input.split('|').map(|part| talk(&mut m, part.as_bytes())).collect();
    assert_eq!(out, expected);
}

/// #VSTATE while a session is set up (CHECKING, p.39): OK only in the field.
#[rstest]
#[case(Firmware::Field, "#STATE: \"CHECKING\"\r\n\r\nOK\r\n")]
#[case(Firmware::Manual, "#STATE: \"CHECKING\"\r\n")]
fn vstate_checking_by_profile(#[case] firmware: Firmware, #[case] expected: &str) {
    let mut m = open_modem_as(firmware);
    talk(&mut m, b"AT+CGATT=1\r");
    let now = Instant::now();
    m.receive(b"AT#CONNECTIONSTART\rAT#VSTATE\r", now);
    assert_eq!(String::from_utf8(m.take_output()).unwrap(), expected);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("MTG_FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// Never panics, never hangs, output stays bounded, and the unit still
    /// answers a plain `AT` afterwards.
    #[test]
    fn any_input_leaves_the_unit_serving(
        junk in proptest::collection::vec(prop_oneof![
            any::<u8>(),
            Just(b'\r'), Just(b'A'), Just(b'T'), Just(b'#'), Just(b'+'), Just(b'"'), Just(b'='), Just(b'?'), Just(0x1a),
        ], 0..600),
        prefix in prop_oneof![Just(&b""[..]), Just(&b"AT+WOPEN=1\r"[..]), Just(&b"AT+CMEE=1;+WOPEN=1\rAT+CGATT=1\r"[..])],
    ) {
        let mut m = Modem::new(&EmulatorConfig::default()).unwrap();
        let mut input = prefix.to_vec();
        input.extend_from_slice(&junk);
        let out = talk(&mut m, &input);
        prop_assert!(out.len() < 64 * 1024 + input.len() * 64);
        // Leave text entry, finish any line, then ask.
        let after = talk(&mut m, b"\x1a\r\rATE1\rAT\r");
        prop_assert!(after.ends_with("AT\r\r\nOK\r\n") || after.ends_with("AT\r\r0\r") || after.ends_with("AT\r"),
            "unit stopped answering: {:?}", after);
    }

    /// The same in data mode (a TCP socket, DLE/ETX coding) and in text
    /// entry (AT#BODY1, ended by Ctrl-Z): any bytes, then the way out (an
    /// ETX, Ctrl-Z), and the unit answers `AT` again; the bytes the host
    /// typed in data mode reach the network DLE-decoded, never more of them
    /// than were typed.
    #[test]
    fn any_bytes_in_data_mode_or_text_entry_leave_the_unit_serving(
        junk in proptest::collection::vec(prop_oneof![
            any::<u8>(), Just(0x03u8), Just(0x10u8), Just(b'\r'), Just(b'\n'), Just(b'.'), Just(0x1a),
        ], 0..600),
        text_entry in any::<bool>(),
    ) {
        use crate::emulator::net::{Event, Request};
        let mut m = open_modem();
        if text_entry {
            talk(&mut m, b"AT#BODY1\r");
        } else {
            talk(&mut m, b"AT+CGATT=1\rAT#CONNECTIONSTART\rAT#TCPSERV=1,\"192.0.2.7\"\rAT#TCPPORT=1,7\r");
            let t0 = Instant::now();
            m.receive(b"AT#OTCP=1\r", t0);
            m.take_requests();
            m.net_event(Event::Connected { socket: 1, peer: "192.0.2.7:7".parse().unwrap() }, t0);
            m.take_output();
        }
        let out = talk(&mut m, &junk);
        prop_assert!(out.len() < 64 * 1024 + junk.len() * 64);
        let requests = m.take_requests();
        let sent: usize =
            requests.iter().map(|r| if let Request::Send { bytes, .. } = r { bytes.len() } else { 0 }).sum();
        prop_assert!(sent <= junk.len(), "{} bytes sent for {} typed", sent, junk.len());
        // This test is the network: a connection the junk opened again
        // (`A/` repeats AT#OTCP=1) is refused, as a real network would
        // answer it one way or another.
        for r in requests {
            if let Request::Connect { socket, .. } = r {
                let cause = "refused by the test's network".to_string();
                m.net_event(Event::Failed { socket, failure: crate::emulator::net::Failure::Refused, cause }, Instant::now());
            }
        }
        // A byte first, so that a DLE the junk ended with does not escape the ETX.
        let after = talk(&mut m, b"x\x03\x1a\r\rATE1\rAT\r");
        prop_assert!(after.ends_with("AT\r\r\nOK\r\n") || after.ends_with("AT\r\r0\r") || after.ends_with("AT\r"),
            "unit stopped answering: {:?}", after);
    }
}

/// The TCP service at its request/event boundary, the way smoltcp tests its
/// sockets: commands in, network requests out; network events in, bytes for
/// the host out. No backend, no socket, no clock but the test's.
mod tcp_boundary {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use super::{open_modem, talk};
    use crate::emulator::net::{Event, Failure, Request};
    use crate::emulator::Modem;

    fn peer() -> SocketAddr {
        "192.0.2.7:7000".parse().unwrap()
    }

    /// A unit with a GPRS session and socket 1 configured for `server`.
    fn online(server: &str) -> Modem {
        let mut m = open_modem();
        talk(&mut m, b"AT+CGATT=1\rAT#CONNECTIONSTART\r");
        talk(&mut m, format!("AT#TCPSERV=1,\"{server}\"\rAT#TCPPORT=1,7000\r").as_bytes());
        assert_eq!(m.take_requests(), vec![]);
        m
    }

    fn output(m: &mut Modem) -> String {
        String::from_utf8_lossy(&m.take_output()).into_owned()
    }

    #[test]
    fn connect_exchange_and_local_close() {
        let mut m = online("192.0.2.7");
        let t0 = Instant::now();
        m.receive(b"AT#OTCP=1\r", t0);
        assert_eq!(m.take_requests(), vec![Request::Connect { socket: 1, host: "192.0.2.7".into(), port: 7000 }]);
        assert_eq!(output(&mut m), "", "the command answers when the connection is up");
        // What the host types meanwhile waits for the answer.
        m.receive(b"early", t0);
        m.net_event(Event::Connected { socket: 1, peer: peer() }, t0);
        assert_eq!(output(&mut m), "\r\nOk_Info_WaitingForData\r\n");
        // Payload is held for TCPTXDELAY (100 ms by default), then sent.
        assert_eq!(m.take_requests(), vec![]);
        m.on_timer(t0 + Duration::from_millis(100));
        assert_eq!(m.take_requests(), vec![Request::Send { socket: 1, bytes: b"early".to_vec() }]);
        // From the network: ETX and DLE reach the host escaped (DLEMODE=1).
        m.net_event(Event::Data { socket: 1, bytes: b"x\x03y".to_vec() }, t0);
        assert_eq!(output(&mut m), "x\u{10}\u{3}y");
        // An unescaped ETX from the host: what was typed goes, the socket closes, OK.
        m.receive(b"z\x03", t0);
        assert_eq!(
            m.take_requests(),
            vec![Request::Send { socket: 1, bytes: b"z".to_vec() }, Request::Close { socket: 1 }]
        );
        assert_eq!(output(&mut m), "\r\nOK\r\n");
    }

    #[test]
    fn peer_close_is_reported_with_etx_then_socket_closed() {
        let mut m = online("192.0.2.7");
        let t0 = Instant::now();
        m.receive(b"AT#OTCP=1\r", t0);
        m.take_requests();
        m.net_event(Event::Connected { socket: 1, peer: peer() }, t0);
        output(&mut m);
        m.net_event(Event::PeerClosed { socket: 1 }, t0);
        assert_eq!(output(&mut m), "\u{3}\r\nOk_Info_SocketClosed\r\n\r\nOK\r\n");
        // Back in command mode.
        assert_eq!(talk(&mut m, b"AT\r"), "\r\nOK\r\n");
    }

    #[rstest::rstest]
    #[case(Failure::Refused, "\r\n#CME ERROR: 38016\r\n")]
    #[case(Failure::Other, "\r\n#CME ERROR: 38016\r\n")]
    #[case(Failure::Resolve, "\r\n#CME ERROR: 38027\r\n")]
    fn a_failed_connection_answers_its_code(#[case] failure: Failure, #[case] expected: &str) {
        let mut m = online("echo.example");
        let t0 = Instant::now();
        m.receive(b"AT#OTCP=1\r", t0);
        m.take_requests();
        m.net_event(Event::Failed { socket: 1, failure, cause: "test".into() }, t0);
        assert_eq!(output(&mut m), expected);
        assert_eq!(talk(&mut m, b"AT\r"), "\r\nOK\r\n", "the unit keeps serving");
    }

    #[test]
    fn listen_accept_and_a_late_connection_is_closed() {
        let mut m = online("255.255.255.255");
        let t0 = Instant::now();
        m.receive(b"AT#LTCPSTART=1\r", t0);
        assert_eq!(m.take_requests(), vec![Request::Listen { socket: 1, port: 7000, allowed: None }]);
        assert_eq!(output(&mut m), "\r\nOK\r\n");
        m.net_event(Event::Listening { socket: 1, local: "127.0.0.1:2000".parse().unwrap() }, t0);
        m.net_event(Event::Connected { socket: 1, peer: peer() }, t0);
        assert_eq!(output(&mut m), "\r\nOk_Info_WaitingForData\r\n");
        m.receive(b"\x03", t0);
        assert_eq!(m.take_requests(), vec![Request::Close { socket: 1 }]);
        // A connection that arrives for a service that has ended is closed.
        m.net_event(Event::Connected { socket: 2, peer: peer() }, t0);
        assert_eq!(m.take_requests(), vec![Request::Close { socket: 2 }]);
    }

    #[test]
    fn a_listening_socket_that_cannot_listen_answers_36872() {
        let mut m = online("255.255.255.255");
        let t0 = Instant::now();
        m.receive(b"AT#LTCPSTART=1\r", t0);
        m.take_requests();
        output(&mut m);
        m.net_event(Event::Failed { socket: 1, failure: Failure::Other, cause: "port in use".into() }, t0);
        assert_eq!(output(&mut m), "\r\n#CME ERROR: 36872\r\n");
    }
}

#[test]
fn sent_messages_reach_the_service_centre_in_both_modes() {
    let mut m = open_modem();
    let out = talk(&mut m, b"AT+CMGF=1\rAT+CMGS=\"+15555550199\"\rhi\rthere\x1a");
    // Echo is off: only the prompts, one more after each <CR> (27.005 §3.5.1).
    assert_eq!(out, "\r\nOK\r\n\r\n> \r\n> \r\n+CMGS: 0\r\n\r\nOK\r\n");
    let out = talk(&mut m, b"AT+CMGF=0\rAT+CMGS=18\r0021000B913316325476F8000005E8329BFD06\x1a");
    assert!(out.ends_with("+CMGS: 1\r\n\r\nOK\r\n"), "{out:?}");
    let sent = m.sent_sms();
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[0].to.as_str(), sent[0].text.as_str()), ("+15555550199", "hi\rthere"));
    assert_eq!((sent[1].to.as_str(), sent[1].text.as_str(), sent[1].reference), ("+33612345678", "hello", 1));
    assert_eq!(sent[1].service_centre, identity::SERVICE_CENTRE);
    assert!(sent[1].pdu.is_some());
}

#[test]
fn no_message_leaves_without_network() {
    let mut m = open_modem();
    m.control(&Control::Registration(crate::control::Registration::NotRegistered), Instant::now()).unwrap();
    let out = talk(&mut m, b"AT+CMGF=1\rAT+CMGS=\"+1555\"\rhi\x1a");
    assert!(out.ends_with("+CMS ERROR: 331\r\n"), "{out:?}");
    assert!(m.sent_sms().is_empty());
    let err = m.control(&Control::Sms { from: "+1".into(), text: "x".into() }, Instant::now()).unwrap_err();
    assert!(matches!(err, ControlError::Sms(_)), "{err}");
}

#[test]
fn messages_survive_a_restart_and_old_stores_have_none() {
    let dir = tempfile::tempdir().unwrap();
    let flash = dir.path().join("flash.json");
    // A store written before messages existed.
    std::fs::write(&flash, br#"{"wopen": 1, "wind": 8}"#).unwrap();
    let config = EmulatorConfig { flash: Some(flash), ..EmulatorConfig::default() };
    let mut m = Modem::new(&config).unwrap();
    assert_eq!(talk(&mut m, b"ATE0\rAT+CPMS?\r"), "ATE0\r\r\nOK\r\n\r\n+CPMS: \"SM\",0,20,\"SM\",0,20\r\n\r\nOK\r\n");
    m.control(&Control::Sms { from: "+33612345678".into(), text: "kept".into() }, Instant::now()).unwrap();
    let mut again = Modem::new(&config).unwrap();
    let out = talk(&mut again, b"ATE0\rAT+CMGF=1\rAT+CMGR=1\r");
    assert!(out.contains("\"REC UNREAD\",\"+33612345678\",,\"26/01/01,12:00:00+00\"\r\nkept\r\n"), "{out:?}");
}

#[test]
fn attach_follows_the_setting() {
    let mut manual = Modem::new(&EmulatorConfig::default()).unwrap();
    assert_eq!(talk(&mut manual, b"ATE0\rAT+CGATT?\r"), "ATE0\r\r\nOK\r\n\r\n+CGATT: 0\r\n\r\nOK\r\n");
    let config = EmulatorConfig { attach: Attach::Auto, ..EmulatorConfig::default() };
    let mut auto = Modem::new(&config).unwrap();
    assert_eq!(talk(&mut auto, b"ATE0\rAT+CGATT?\r"), "ATE0\r\r\nOK\r\n\r\n+CGATT: 1\r\n\r\nOK\r\n");
    // Lost and regained registration: attached again without AT+CGATT=1.
    let now = Instant::now();
    auto.control(&Control::Sim(crate::control::SimState::Absent), now).unwrap();
    talk(&mut auto, b"AT+CGATT=0\r");
    auto.control(&Control::Sim(crate::control::SimState::Ready), now).unwrap();
    assert_eq!(talk(&mut auto, b"AT+CGREG?\r"), "\r\n+CGREG: 0,1\r\n\r\nOK\r\n");
    assert_eq!("auto".parse::<Attach>(), Ok(Attach::Auto));
    assert!("sometimes".parse::<Attach>().is_err());
}

#[test]
fn scripted_controls_run_after_their_delay() {
    let config = EmulatorConfig {
        scripted: vec![(Duration::from_secs(2), Control::Sms { from: "+1".into(), text: "later".into() })],
        network: Network::Simulated(SimNetwork::new()),
        ..EmulatorConfig::default()
    };
    let mut unit = Unit::new(&config).unwrap();
    let t0 = Instant::now();
    unit.receive(b"ATE0\rAT+CNMI=2,1\r", t0);
    unit.pump(t0);
    assert_eq!(unit.next_event().map(|at| at - t0), Some(Duration::from_secs(2)));
    unit.pump(t0 + Duration::from_secs(2));
    let out = String::from_utf8_lossy(&unit.take_output()).into_owned();
    assert!(out.ends_with("+CMTI: \"SM\",1\r\n"), "{out:?}");
}
