//! DNS on the wire (RFC 1035 §4), the little of it a modem's resolver needs:
//! an A query for one name, and the addresses of the answer.

use std::net::{IpAddr, Ipv4Addr};

/// Why an answer gives no address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// The name does not exist (RCODE 3).
    NoSuchName,
    /// The server answered with another error code.
    Server(u8),
    /// Not an answer to our query, or malformed.
    Malformed(&'static str),
    /// The name cannot be put in a query (empty label, label over 63 bytes).
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
    q.extend_from_slice(&[0, 1, 0, 1]);
    Ok(q)
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
        if kind == 1 && class == 1 && len == 4 {
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

/// An answer to `query` giving `addresses` (RCODE 3 when there are none):
/// what a simulated or test DNS server sends back.
pub fn answer(query: &[u8], addresses: &[Ipv4Addr]) -> Option<Vec<u8>> {
    let end = skip_name(query, 12).ok()? + 4;
    let mut a = query.get(..end)?.to_vec();
    a[2] = 0x81;
    a[3] = if addresses.is_empty() { 0x83 } else { 0x80 };
    a[6..8].copy_from_slice(&(addresses.len() as u16).to_be_bytes());
    for ip in addresses {
        // A pointer to the question's name, type A, class IN, TTL 60.
        a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        a.extend_from_slice(&ip.octets());
    }
    Some(a)
}

/// The name asked by a query.
pub fn question_name(query: &[u8]) -> Option<String> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(at)? as usize;
        if len == 0 {
            return Some(labels.join("."));
        }
        labels.push(String::from_utf8_lossy(query.get(at + 1..at + 1 + len)?).into_owned());
        at += 1 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
