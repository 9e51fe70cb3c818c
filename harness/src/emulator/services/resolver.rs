//! The stack's resolver (ch. 3 p.20-21): every server name of SMTPSERV,
//! POP3SERV, FTPSERV, TCPSERV, UDPSERV and PINGREMOTE is asked of DNSSERV1,
//! then of DNSSERV2 when DNSSERV1 "does not respond to a request" (p.21).
//!
//! Two ways in, so that services stay unaware of DNS:
//! - a service that connects by name (`Request::Connect`, `SendTo`) leaves
//!   the name to the network; the stack sends the DNS servers ahead of such
//!   a request ([`Modem::tell_dns_servers`]), and the network reports an
//!   unresolved name as `Failure::Resolve` (answered 38027, printed in every
//!   service's table);
//! - a service that must know the address before it answers (`#OUDP`,
//!   `#LUDPSTART`'s filter, `#PING`) asks with [`Modem::look_up`].

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::at::parameters::{Parameter, DNSSERV1, DNSSERV2};
use crate::emulator::net::{dns, Request};
use crate::emulator::Modem;

/// A host of a service's parameters: an address, or a name being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Address(IpAddr),
    /// A `Request::Resolve` with this query number is on its way.
    Asked(u32),
}

/// A query number no other query of this process has: a late answer to an
/// earlier query is never taken for the answer to a new one.
pub fn next_query() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Modem {
    /// DNSSERV1 then DNSSERV2 (p.20-21), port 53; 0.0.0.0 (the default)
    /// is no server.
    pub(crate) fn dns_servers(&self) -> Vec<SocketAddr> {
        [&DNSSERV1, &DNSSERV2].into_iter().filter_map(|p: &Parameter| self.dns_server(p)).collect()
    }

    fn dns_server(&self, p: &Parameter) -> Option<SocketAddr> {
        let ip: IpAddr = self.param(p, None).to_string().trim().parse().ok()?;
        (!ip.is_unspecified()).then_some(SocketAddr::new(ip, dns::PORT))
    }

    /// The address of `host` at once, or a look-up asked of the DNS servers.
    pub(crate) fn look_up(&mut self, host: &str) -> Lookup {
        if let Ok(ip) = host.parse() {
            return Lookup::Address(ip);
        }
        let query = next_query();
        let servers = self.dns_servers();
        self.net_requests.push(Request::Resolve { query, name: host.to_string(), servers });
        Lookup::Asked(query)
    }

    /// Put the DNS servers ahead of requests that dial a name, so the
    /// network resolves it as the modem would (whatever DNSSERV was when
    /// the session started: parameters may change between services).
    pub(crate) fn tell_dns_servers(&self, requests: &mut Vec<Request>) {
        if requests.iter().any(names_a_host) {
            requests.insert(0, Request::DnsServers { servers: self.dns_servers() });
        }
    }
}

fn names_a_host(request: &Request) -> bool {
    match request {
        Request::Connect { host, .. } | Request::SendTo { host, .. } => host.parse::<IpAddr>().is_err(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use rstest::rstest;

    use super::*;
    use crate::emulator::EmulatorConfig;

    fn modem(setup: &str) -> Modem {
        let mut m = Modem::new(&EmulatorConfig::default()).unwrap();
        m.receive(format!("ATE0\rAT+CMEE=1\rAT+WOPEN=1\r{setup}").as_bytes(), Instant::now());
        m.take_output();
        m
    }

    #[rstest]
    #[case::defaults("", &[])]
    #[case::both("AT#DNSSERV1=\"127.0.0.53\"\rAT#DNSSERV2=\"127.0.0.54\"\r", &["127.0.0.53:53", "127.0.0.54:53"])]
    #[case::second_only("AT#DNSSERV2=\"127.0.0.54\"\r", &["127.0.0.54:53"])]
    fn the_servers_are_dnsserv1_then_dnsserv2(#[case] setup: &str, #[case] expected: &[&str]) {
        let expected: Vec<SocketAddr> = expected.iter().map(|s| s.parse().unwrap()).collect();
        assert_eq!(modem(setup).dns_servers(), expected);
    }

    #[rstest]
    #[case::a_name(Request::Connect { socket: 1, host: "smtp.example.com".into(), port: 25 }, true)]
    #[case::an_address(Request::Connect { socket: 1, host: "127.0.0.2".into(), port: 25 }, false)]
    #[case::a_datagram(Request::SendTo { socket: 3, host: "echo.test".into(), port: 7, bytes: vec![] }, true)]
    #[case::no_host(Request::Close { socket: 1 }, false)]
    fn servers_go_ahead_of_a_request_that_names_a_host(#[case] request: Request, #[case] told: bool) {
        let m = modem("AT#DNSSERV1=\"127.0.0.53\"\r");
        let mut requests = vec![request.clone()];
        m.tell_dns_servers(&mut requests);
        let servers = vec!["127.0.0.53:53".parse().unwrap()];
        let expected = if told { vec![Request::DnsServers { servers }, request] } else { vec![request] };
        assert_eq!(requests, expected);
    }

    #[test]
    fn an_address_needs_no_look_up_and_a_name_asks_the_servers() {
        let mut m = modem("AT#DNSSERV1=\"127.0.0.53\"\r");
        assert_eq!(m.look_up("127.0.0.9"), Lookup::Address(IpAddr::from([127, 0, 0, 9])));
        assert!(m.net_requests.is_empty());
        let Lookup::Asked(query) = m.look_up("echo.test") else { panic!("a name is asked") };
        assert_eq!(
            m.net_requests,
            vec![Request::Resolve { query, name: "echo.test".into(), servers: vec!["127.0.0.53:53".parse().unwrap()] }]
        );
    }
}
