//! DNS on the wire (RFC 1035 §4), the little of it a modem's resolver needs:
//! an A query for one name, the addresses of the answer, and the rule for
//! asking DNSSERV2 after DNSSERV1 (p.20-21). The answering side (a question
//! read, a reply built) serves the simulated network and the DNS fixture.

use std::net::{IpAddr, Ipv4Addr};

/// The DNS port the modem's resolver asks (DNSSERV1/2 are addresses only, p.20-21).
pub const PORT: u16 = 53;

/// Record type A and class IN (RFC 1035 §3.2.2, §3.2.4).
pub const TYPE_A: u16 = 1;
pub const CLASS_IN: u16 = 1;
/// QTYPE `*` (RFC 1035 §3.2.3).
pub const TYPE_ANY: u16 = 255;

/// Response codes a reply carries (RFC 1035 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NxDomain = 3,
    NotImp = 4,
}

/// Why an answer gives no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The name does not exist (RCODE 3), or has no address.
    #[error("no such name")]
    NoSuchName,
    /// The server answered with another error code.
    #[error("the server answered with error code {0}")]
    Server(u8),
    /// Not an answer to our query, or malformed.
    #[error("malformed answer: {0}")]
    Malformed(&'static str),
    /// The name cannot be put in a query (empty label, label over 63 bytes).
    #[error("not a name a query can carry")]
    BadName,
}

/// An A query for `name` with transaction `id`, recursion desired.
pub fn query(id: u16, name: &str) -> Result<Vec<u8>, DnsError> {
    let mut q = Vec::with_capacity(name.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(DnsError::BadName);
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&TYPE_A.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(q)
}

/// The transaction id of a message, if it has a header.
pub fn message_id(msg: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.first()?, *msg.get(1)?]))
}

/// The IPv4 addresses of an answer to query `id`.
pub fn addresses(id: u16, answer: &[u8]) -> Result<Vec<IpAddr>, DnsError> {
    let header = answer.get(..12).ok_or(DnsError::Malformed("short header"))?;
    if u16::from_be_bytes([header[0], header[1]]) != id || header[2] & 0x80 == 0 {
        return Err(DnsError::Malformed("not the answer to this query"));
    }
    match header[3] & 0x0f {
        0 => {}
        3 => return Err(DnsError::NoSuchName),
        code => return Err(DnsError::Server(code)),
    }
    let questions = u16::from_be_bytes([header[4], header[5]]);
    let answers = u16::from_be_bytes([header[6], header[7]]);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(answer, at)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..answers {
        at = skip_name(answer, at)?;
        let fixed = answer.get(at..at + 10).ok_or(DnsError::Malformed("short record"))?;
        let (kind, class) = (u16::from_be_bytes([fixed[0], fixed[1]]), u16::from_be_bytes([fixed[2], fixed[3]]));
        let len = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let data = answer.get(at + 10..at + 10 + len).ok_or(DnsError::Malformed("short record data"))?;
        if kind == TYPE_A && class == CLASS_IN && len == 4 {
            out.push(IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3])));
        }
        at += 10 + len;
    }
    if out.is_empty() {
        return Err(DnsError::NoSuchName);
    }
    Ok(out)
}

/// The offset after a (possibly compressed) name starting at `at`.
fn skip_name(msg: &[u8], mut at: usize) -> Result<usize, DnsError> {
    loop {
        let len = *msg.get(at).ok_or(DnsError::Malformed("name runs past the end"))?;
        match len {
            0 => return Ok(at + 1),
            l if l & 0xc0 == 0xc0 => return Ok(at + 2),
            l => at += 1 + l as usize,
        }
    }
}

/// The question of a query: what a server reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: u16,
    /// Labels joined by dots, as asked (no trailing dot).
    pub name: String,
    pub kind: u16,
    pub class: u16,
}

/// The first question of a query, if `msg` is a standard query (QR 0,
/// OPCODE 0) that has one.
pub fn question(msg: &[u8]) -> Option<Question> {
    let header = msg.get(..12)?;
    if header[2] & 0x80 != 0 || header[2] & 0x78 != 0 || u16::from_be_bytes([header[4], header[5]]) == 0 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *msg.get(at)? as usize;
        if len == 0 {
            break;
        }
        // A query's name is never compressed (there is nothing before it).
        if len & 0xc0 != 0 {
            return None;
        }
        labels.push(String::from_utf8_lossy(msg.get(at + 1..at + 1 + len)?).into_owned());
        at += 1 + len;
    }
    let fixed = msg.get(at + 1..at + 5)?;
    Some(Question {
        id: u16::from_be_bytes([header[0], header[1]]),
        name: labels.join("."),
        kind: u16::from_be_bytes([fixed[0], fixed[1]]),
        class: u16::from_be_bytes([fixed[2], fixed[3]]),
    })
}

/// A reply to `query` with `rcode` and A records for `addresses` (none
/// unless NOERROR), echoing the question; `None` when `query` has no question.
pub fn reply(query: &[u8], rcode: Rcode, addresses: &[Ipv4Addr]) -> Option<Vec<u8>> {
    let end = skip_name(query, 12).ok()? + 4;
    let mut a = query.get(..end)?.to_vec();
    // QR, the query's opcode and RD kept; RA set.
    a[2] = 0x80 | (a[2] & 0x79);
    a[3] = 0x80 | rcode as u8;
    a[4..6].copy_from_slice(&1u16.to_be_bytes());
    let addresses = if rcode == Rcode::NoError { addresses } else { &[] };
    a[6..8].copy_from_slice(&(addresses.len() as u16).to_be_bytes());
    a[8..12].fill(0);
    for ip in addresses {
        // A pointer to the question's name, type A, class IN, TTL 60.
        a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        a.extend_from_slice(&ip.octets());
    }
    Some(a)
}

/// An answer to `query` giving `addresses` (RCODE 3 when there are none):
/// what a simulated or test DNS server sends back.
pub fn answer(query: &[u8], addresses: &[Ipv4Addr]) -> Option<Vec<u8>> {
    let rcode = if addresses.is_empty() { Rcode::NxDomain } else { Rcode::NoError };
    reply(query, rcode, addresses)
}

/// The name asked by a query.
pub fn question_name(query: &[u8]) -> Option<String> {
    question(query).map(|q| q.name)
}

/// What one DNS server did with the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// An answer to this query came back (addresses, or why none).
    Answered(Result<Vec<IpAddr>, DnsError>),
    /// No answer in time, the server unreachable, or nothing usable came
    /// back (the cause, for the log and the error).
    NoAnswer(String),
}

/// What the resolver does after one server's attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The name is resolved.
    Resolved(Vec<IpAddr>),
    /// The answer is final: the next server is not asked.
    Final(DnsError),
    /// Ask the next server (DNSSERV2 after DNSSERV1).
    AskNext,
}

/// The fallback rule. p.21: DNSSERV2 "is used in the case where the
/// primary DNS server does not respond to a request", so only a server that
/// does not respond passes the question on. Any answer to the query —
/// addresses, NXDOMAIN, another error code — is a response, hence final:
/// that an NXDOMAIN (or SERVFAIL) from DNSSERV1 is not asked again of
/// DNSSERV2 is **inferred** from that sentence (the unit's resolver was not
/// observed).
pub fn next(attempt: Attempt) -> Next {
    match attempt {
        Attempt::Answered(Ok(addresses)) => Next::Resolved(addresses),
        Attempt::Answered(Err(e)) => Next::Final(e),
        Attempt::NoAnswer(_) => Next::AskNext,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[test]
    fn query_and_answer_round_trip() {
        let q = query(0x1234, "smtp.example.com").unwrap();
        assert_eq!(question_name(&q).as_deref(), Some("smtp.example.com"));
        let ip = Ipv4Addr::new(127, 0, 0, 5);
        let a = answer(&q, &[ip]).unwrap();
        assert_eq!(addresses(0x1234, &a), Ok(vec![IpAddr::V4(ip)]));
        assert_eq!(addresses(0x9999, &a), Err(DnsError::Malformed("not the answer to this query")));
        assert_eq!(addresses(0x1234, &answer(&q, &[]).unwrap()), Err(DnsError::NoSuchName));
        assert_eq!(query(1, "a..b"), Err(DnsError::BadName));
        assert!(addresses(0x1234, &a[..20]).is_err());
    }

    #[test]
    fn a_question_is_read_and_a_reply_is_no_question() {
        let q = query(7, "Echo.Example.").unwrap();
        assert_eq!(question(&q), Some(Question { id: 7, name: "Echo.Example".into(), kind: TYPE_A, class: CLASS_IN }));
        let r = reply(&q, Rcode::ServFail, &[Ipv4Addr::LOCALHOST]).unwrap();
        assert_eq!(question(&r), None, "a reply is not a query");
        assert_eq!(addresses(7, &r), Err(DnsError::Server(2)));
        assert_eq!(question(&q[..14]), None);
    }

    #[rstest]
    #[case::addresses(Attempt::Answered(Ok(vec![IpAddr::from([127, 0, 0, 4])])), Next::Resolved(vec![IpAddr::from([127, 0, 0, 4])]))]
    #[case::nxdomain_is_final(Attempt::Answered(Err(DnsError::NoSuchName)), Next::Final(DnsError::NoSuchName))]
    #[case::servfail_is_an_answer(Attempt::Answered(Err(DnsError::Server(2))), Next::Final(DnsError::Server(2)))]
    #[case::silence(Attempt::NoAnswer("no answer within 5 s".into()), Next::AskNext)]
    #[case::unreachable(Attempt::NoAnswer("connection refused".into()), Next::AskNext)]
    fn dnsserv2_only_when_dnsserv1_does_not_respond(#[case] attempt: Attempt, #[case] expected: Next) {
        assert_eq!(next(attempt), expected);
    }

    fn name() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-z0-9-]{1,20}", 1..5).prop_map(|labels| labels.join("."))
    }

    proptest! {
        #[test]
        fn answers_give_back_the_addresses_served(
            id in any::<u16>(),
            name in name(),
            ips in prop::collection::vec(any::<[u8; 4]>(), 0..6),
        ) {
            let ips: Vec<Ipv4Addr> = ips.into_iter().map(Ipv4Addr::from).collect();
            let q = query(id, &name).unwrap();
            prop_assert_eq!(question_name(&q), Some(name));
            let got = addresses(id, &answer(&q, &ips).unwrap());
            if ips.is_empty() {
                prop_assert_eq!(got, Err(DnsError::NoSuchName));
            } else {
                prop_assert_eq!(got, Ok(ips.into_iter().map(IpAddr::V4).collect::<Vec<_>>()));
            }
        }

        #[test]
        fn any_bytes_are_read_without_panic(id in any::<u16>(), bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            let _ = addresses(id, &bytes);
            let _ = question(&bytes);
            let _ = reply(&bytes, Rcode::NoError, &[Ipv4Addr::LOCALHOST]);
        }
    }
}
