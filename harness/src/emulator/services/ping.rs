//! Chapter 7, PING services: `AT#PING` with PINGREMOTE, PINGNUM and
//! PINGDELAY (p.37-38).
//!
//! - PINGREMOTE is an address or a name (resolved by the DNS servers:
//!   `#CME ERROR: 38027` when it cannot be, p.38).
//! - PINGNUM echo requests are sent. PINGDELAY (seconds) is both how long
//!   a request waits for its reply and the gap between requests (p.37):
//!   request n+1 leaves PINGDELAY after request n, or at once when request
//!   n got no reply in that time.
//! - Each request prints one line as p.38's example does:
//!   `"<PINGREMOTE>" is alive : time = <ms> ms`, or
//!   `NO answer from "<PINGREMOTE>"`; `OK` follows the last. The lines are
//!   framed as the stack's information text, `text<CR><LF>` (p.49;
//!   **inferred**: p.38 prints the lines without their framing).
//! - An error while sending the requests is `#CME ERROR: <value>` (p.38;
//!   the value is not recovered, see [`Condition::PingFailed`]).
//! - The command holds the line until its `OK` (what the host sends
//!   meanwhile waits).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::resolver::{next_query, Lookup};
use super::Running;
use crate::at::codes::{Condition, StackError};
use crate::at::parameters::{Value, PINGDELAY, PINGNUM, PINGREMOTE};
use crate::at::response::Final;
use crate::emulator::net::{Event, Request};
use crate::emulator::radio::Session;
use crate::emulator::{Error, Mode, Modem, Outcome, Timed};

/// A running `#PING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// PINGREMOTE as set: the lines quote it (p.38).
    target: String,
    query: u32,
    count: u16,
    delay: Duration,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// PINGREMOTE is a name the DNS servers are asked for.
    Resolving,
    /// Request `seq` left at `sent`; its reply is awaited until `sent + delay`.
    Waiting { host: IpAddr, seq: u16, sent: Instant },
    /// Request `seq` was answered; `seq + 1` leaves at `sent + delay`.
    Pausing { host: IpAddr, seq: u16 },
}

impl Ping {
    pub(super) fn describe(&self) -> String {
        match self.stage {
            Stage::Resolving => format!("PING resolving {:?}", self.target),
            Stage::Waiting { host, seq, .. } => format!("PING {host} request {seq}/{} out", self.count),
            Stage::Pausing { host, seq } => format!("PING {host} request {seq}/{} answered", self.count),
        }
    }
}

impl Modem {
    /// `AT#PING` (p.38).
    pub(crate) fn ping_command(&mut self, now: Instant) -> Outcome {
        if !matches!(self.radio.session, Session::Connected { .. }) {
            return Outcome::Error(Error::Stack(StackError::NotActive));
        }
        if self.service.is_some() {
            return Modem::answer(Condition::SecondService);
        }
        let target = self.param(&PINGREMOTE, None).to_string().trim().to_string();
        if target.is_empty() {
            return Modem::answer(Condition::UnusableConfiguration);
        }
        let int = |v: Value| match v {
            Value::Int(n) => n.clamp(1, 255),
            _ => 1,
        };
        let count = int(self.param(&PINGNUM, None)) as u16;
        let delay = Duration::from_secs(int(self.param(&PINGDELAY, None)) as u64);
        let (query, stage) = match self.look_up(&target) {
            Lookup::Asked(query) => (query, Stage::Resolving),
            Lookup::Address(host) => {
                let query = next_query();
                (query, self.echo_request(query, host, 1, delay, now))
            }
        };
        let ping = Ping { target, query, count, delay, stage };
        self.set_service(Some(Running::Ping(ping)), "AT#PING");
        self.set_mode(Mode::Busy, "AT#PING running");
        Outcome::Deferred
    }

    fn echo_request(&mut self, query: u32, host: IpAddr, seq: u16, delay: Duration, now: Instant) -> Stage {
        self.net_requests.push(Request::Ping { query, host, seq });
        self.schedule(now + delay, Timed::Ping { query, seq });
        Stage::Waiting { host, seq, sent: now }
    }

    fn set_ping_stage(&mut self, stage: Stage) {
        if let Some(Running::Ping(mut ping)) = self.service.clone() {
            ping.stage = stage;
            self.set_service(Some(Running::Ping(ping)), "PING");
        }
    }

    /// What the network did for the running `#PING`.
    pub(super) fn ping_event(&mut self, event: Event, now: Instant) {
        let Some(Running::Ping(ping)) = self.service.clone() else { return };
        match (ping.stage, event) {
            (Stage::Resolving, Event::Resolved { query, addresses }) if query == ping.query => {
                match addresses.into_iter().find(IpAddr::is_ipv4) {
                    Some(host) => {
                        let stage = self.echo_request(ping.query, host, 1, ping.delay, now);
                        self.set_ping_stage(stage);
                    }
                    None => self.ping_not_resolved(now, "no IPv4 address"),
                }
            }
            (Stage::Resolving, Event::QueryFailed { query, cause, .. }) if query == ping.query => {
                self.ping_not_resolved(now, &cause);
            }
            (Stage::Waiting { host, seq, sent }, Event::EchoReply { query, seq: s, .. })
                if query == ping.query && s == seq =>
            {
                let ms = now.saturating_duration_since(sent).as_millis();
                self.ping_line(&format!("\"{}\" is alive : time = {ms} ms", ping.target));
                if seq >= ping.count {
                    self.ping_done(now);
                } else {
                    self.set_ping_stage(Stage::Pausing { host, seq });
                }
            }
            (Stage::Waiting { .. } | Stage::Pausing { .. }, Event::QueryFailed { query, cause, .. })
                if query == ping.query =>
            {
                tracing::warn!("AT#PING: {cause}");
                self.net_requests.push(Request::Cancel { query });
                self.set_service(None, "the echo requests failed");
                self.answer_now(Condition::PingFailed);
                self.release_queued(now);
            }
            // Late replies, and events that are not this service's.
            _ => {}
        }
    }

    /// PINGDELAY has passed since request `seq` of `query` left.
    pub(crate) fn ping_timer(&mut self, query: u32, seq: u16, now: Instant) {
        let Some(Running::Ping(ping)) = self.service.clone() else { return };
        if ping.query != query {
            return;
        }
        let host = match ping.stage {
            Stage::Waiting { host, seq: s, .. } if s == seq => {
                // No reply in time: that request is lost (p.37).
                self.net_requests.push(Request::Cancel { query });
                self.ping_line(&format!("NO answer from \"{}\"", ping.target));
                host
            }
            Stage::Pausing { host, seq: s } if s == seq => host,
            _ => return,
        };
        if seq >= ping.count {
            self.ping_done(now);
        } else {
            let stage = self.echo_request(query, host, seq + 1, ping.delay, now);
            self.set_ping_stage(stage);
        }
    }

    fn ping_line(&mut self, line: &str) {
        self.format().stack_info(&mut self.out, line);
    }

    fn ping_done(&mut self, now: Instant) {
        self.set_service(None, "the echo requests are done");
        self.format().final_result(&mut self.out, Final::Ok);
        self.release_queued(now);
    }

    fn ping_not_resolved(&mut self, now: Instant, cause: &str) {
        tracing::info!("PINGREMOTE: {cause}");
        self.set_service(None, "PINGREMOTE not resolved");
        // p.38: "#CME ERROR: 38027" when the remote is not resolved.
        self.format().stack_error(&mut self.out, StackError::NotResolved);
        self.release_queued(now);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::emulator::net::Failure;
    use crate::emulator::EmulatorConfig;

    fn output(m: &mut Modem) -> String {
        String::from_utf8_lossy(&m.take_output()).into_owned()
    }

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

    fn pings(m: &mut Modem) -> Vec<(u32, u16)> {
        m.take_requests()
            .into_iter()
            .filter_map(|r| match r {
                Request::Ping { query, seq, .. } => Some((query, seq)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn replies_and_a_lost_request_print_the_manuals_lines() {
        let t0 = Instant::now();
        let mut m = online("AT#PINGREMOTE=\"192.0.2.1\"\rAT#PINGNUM=3\rAT#PINGDELAY=2\rAT#PING\r", t0);
        let [(query, 1)] = pings(&mut m)[..] else { panic!("one request first") };
        m.receive(b"AT\r", t0);
        m.net_event(
            Event::EchoReply { query, seq: 1, from: "192.0.2.1".parse().unwrap() },
            t0 + Duration::from_millis(90),
        );
        assert_eq!(output(&mut m), "\"192.0.2.1\" is alive : time = 90 ms\r\n");
        // The next request leaves PINGDELAY after the first, not at the reply.
        m.on_timer(t0 + Duration::from_secs(1));
        assert_eq!(pings(&mut m), vec![]);
        m.on_timer(t0 + Duration::from_secs(2));
        assert_eq!(pings(&mut m), vec![(query, 2)]);
        // No reply within PINGDELAY: NO answer, and the next leaves at once.
        m.on_timer(t0 + Duration::from_secs(4));
        assert_eq!(output(&mut m), "NO answer from \"192.0.2.1\"\r\n");
        assert_eq!(
            m.take_requests(),
            vec![Request::Cancel { query }, Request::Ping { query, host: "192.0.2.1".parse().unwrap(), seq: 3 }]
        );
        // A late reply to request 2 is not taken for request 3.
        m.net_event(
            Event::EchoReply { query, seq: 2, from: "192.0.2.1".parse().unwrap() },
            t0 + Duration::from_secs(4),
        );
        assert_eq!(output(&mut m), "");
        m.net_event(
            Event::EchoReply { query, seq: 3, from: "192.0.2.1".parse().unwrap() },
            t0 + Duration::from_millis(4010),
        );
        // The last line, OK, then the AT the host sent meanwhile.
        assert_eq!(output(&mut m), "\"192.0.2.1\" is alive : time = 10 ms\r\n\r\nOK\r\n\r\nOK\r\n");
    }

    #[test]
    fn a_name_is_resolved_first_and_the_lines_quote_it() {
        let t0 = Instant::now();
        let mut m = online("AT#DNSSERV1=\"192.0.2.53\"\rAT#PINGREMOTE=\"wavecom.com\"\rAT#PINGNUM=1\rAT#PING\r", t0);
        let requests = m.take_requests();
        let [Request::Resolve { query, .. }] = requests[..] else { panic!("{requests:?}") };
        m.net_event(Event::Resolved { query, addresses: vec!["192.0.2.80".parse().unwrap()] }, t0);
        assert_eq!(m.take_requests(), vec![Request::Ping { query, host: "192.0.2.80".parse().unwrap(), seq: 1 }]);
        m.net_event(
            Event::EchoReply { query, seq: 1, from: "192.0.2.80".parse().unwrap() },
            t0 + Duration::from_millis(900),
        );
        assert_eq!(output(&mut m), "\"wavecom.com\" is alive : time = 900 ms\r\n\r\nOK\r\n");
    }

    #[rstest::rstest]
    #[case::not_resolved(Failure::Resolve, "\r\n#CME ERROR: 38027\r\n")]
    fn a_name_that_does_not_resolve(#[case] failure: Failure, #[case] expected: &str) {
        let t0 = Instant::now();
        let mut m = online("AT#DNSSERV1=\"192.0.2.53\"\rAT#PINGREMOTE=\"nowhere.test\"\rAT#PING\r", t0);
        let requests = m.take_requests();
        let [Request::Resolve { query, .. }] = requests[..] else { panic!("{requests:?}") };
        m.net_event(Event::QueryFailed { query, failure, cause: "no such name".into() }, t0);
        assert_eq!(output(&mut m), expected);
    }

    #[test]
    fn requests_that_cannot_be_sent_answer_an_error() {
        let t0 = Instant::now();
        let mut m = online("AT#PINGREMOTE=\"192.0.2.1\"\rAT#PING\r", t0);
        let [(query, 1)] = pings(&mut m)[..] else { panic!("one request first") };
        let cause = "ICMP echo is not permitted on this host".to_string();
        m.net_event(Event::QueryFailed { query, failure: Failure::Other, cause }, t0);
        assert_eq!(output(&mut m), "\r\n#CME ERROR: 36872\r\n");
        assert_eq!(m.take_requests(), vec![Request::Cancel { query }]);
    }

    #[test]
    fn a_session_lost_under_ping_ends_it_and_the_line_takes_commands_again() {
        use crate::control::{Control, GprsFault};
        let t0 = Instant::now();
        let mut m = online("AT#PINGREMOTE=\"192.0.2.1\"\rAT#PINGDELAY=30\rAT#PING\r", t0);
        m.take_requests();
        m.receive(b"AT\r", t0);
        m.control(&Control::GprsFault(GprsFault::SessionLost), t0).unwrap();
        // The control settles the line: the AT sent meanwhile is answered after the error.
        assert_eq!(output(&mut m), "\r\n#CME ERROR: 35841\r\n\r\nOK\r\n");
        m.on_timer(t0 + Duration::from_secs(30));
        assert_eq!(output(&mut m), "", "nothing more of the ended #PING");
    }

    #[rstest::rstest]
    #[case::no_remote("AT#PING\r", "\r\n#CME ERROR: 36929\r\n")]
    fn refusals(#[case] input: &str, #[case] expected: &str) {
        let t0 = Instant::now();
        let mut m = online("", t0);
        m.receive(input.as_bytes(), t0);
        assert_eq!(output(&mut m), expected);
    }
}
