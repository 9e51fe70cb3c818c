//! FTP replies as the unit's client reads them (RFC 959 §4.2): a three-digit
//! code, one line `123 text` or several lines from `123-text` to the line
//! that starts with the same code and a space, and the `227` passive reply
//! (RFC 959 §4.1.2, RFC 1123 §4.1.2.6: "scan for the first digit").
//!
//! The manual says only that the unit "logs in and issues a standard GET/PUT"
//! (App. B p.73/75); the protocol itself is the RFC's.

use std::net::{Ipv4Addr, SocketAddrV4};

/// One complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text of every line, code and separator removed.
    pub lines: Vec<String>,
}

impl Reply {
    /// 1xx: positive preliminary (more replies follow).
    pub fn preliminary(&self) -> bool {
        self.code / 100 == 1
    }

    /// 2xx or 3xx.
    pub fn positive(&self) -> bool {
        matches!(self.code / 100, 2 | 3)
    }

    /// 4xx: transient negative.
    pub fn transient(&self) -> bool {
        self.code / 100 == 4
    }
}

/// What the server sent is not an FTP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("not an FTP reply line: {0:?}")]
    Malformed(String),
    #[error("reply line longer than {MAX_LINE} bytes")]
    TooLong,
}

/// Longest reply line kept (a server sending more is broken).
const MAX_LINE: usize = 4096;

/// Assembles replies from control-connection bytes, however they are split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyParser {
    line: Vec<u8>,
    /// The code and lines of a multi-line reply in progress.
    open: Option<Reply>,
}

impl ReplyParser {
    /// Feed bytes; every reply they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Reply>, ReplyError> {
        let mut done = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                if self.line.len() >= MAX_LINE {
                    return Err(ReplyError::TooLong);
                }
                self.line.push(b);
                continue;
            }
            // Lines end with CRLF; a bare LF is accepted too.
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            if let Some(reply) = self.line_done(text)? {
                done.push(reply);
            }
        }
        Ok(done)
    }

    fn line_done(&mut self, text: String) -> Result<Option<Reply>, ReplyError> {
        let code = leading_code(&text);
        let sep = text.as_bytes().get(3).copied();
        if let Some(open) = &mut self.open {
            // Inside a multi-line reply only `<code><SP>` ends it; any other
            // line (even one starting with other digits) is text.
            if code == Some(open.code) && sep != Some(b'-') && (sep == Some(b' ') || text.len() == 3) {
                open.lines.push(text.get(4..).unwrap_or("").to_string());
                return Ok(self.open.take());
            }
            open.lines.push(text);
            return Ok(None);
        }
        let Some(code) = code else { return Err(ReplyError::Malformed(text)) };
        let rest = text.get(4..).unwrap_or("").to_string();
        match sep {
            Some(b'-') => {
                self.open = Some(Reply { code, lines: vec![rest] });
                Ok(None)
            }
            None | Some(b' ') => Ok(Some(Reply { code, lines: vec![rest] })),
            Some(_) => Err(ReplyError::Malformed(text)),
        }
    }
}

/// The reply code a line starts with (100 to 599).
fn leading_code(text: &str) -> Option<u16> {
    let digits = text.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    (100..600).contains(&code).then_some(code)
}

/// The data address of a `227` reply: the first six comma-separated numbers
/// after the code, `h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2; RFC 1123 §4.1.2.6
/// says not to rely on the parentheses).
pub fn passive_address(reply: &Reply) -> Option<SocketAddrV4> {
    let text = reply.lines.join(" ");
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let numbers: Vec<u8> = text[start..]
        .split(|c: char| !(c.is_ascii_digit() || c == ','))
        .next()?
        .split(',')
        .take(6)
        .map(|n| n.parse::<u8>().ok())
        .collect::<Option<Vec<u8>>>()?;
    let [a, b, c, d, p1, p2] = numbers[..] else { return None };
    Some(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), u16::from_be_bytes([p1, p2])))
}

/// The argument of a `PORT` command for `addr` (RFC 959 §4.1.2).
pub fn port_argument(addr: SocketAddrV4) -> String {
    let [a, b, c, d] = addr.ip().octets();
    let [p1, p2] = addr.port().to_be_bytes();
    format!("{a},{b},{c},{d},{p1},{p2}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn parse_all(bytes: &[u8]) -> Result<Vec<Reply>, ReplyError> {
        ReplyParser::default().feed(bytes)
    }

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply { code, lines: lines.iter().map(|l| l.to_string()).collect() }
    }

    #[rstest]
    #[case::one_line(b"220 ready\r\n".as_slice(), vec![reply(220, &["ready"])])]
    #[case::bare_lf(b"331 password\n".as_slice(), vec![reply(331, &["password"])])]
    #[case::code_only(b"200\r\n".as_slice(), vec![reply(200, &[""])])]
    #[case::two_replies(b"150 here\r\n226 done\r\n".as_slice(), vec![reply(150, &["here"]), reply(226, &["done"])])]
    #[case::multi_line(
        b"220-Welcome\r\n220-to the test\r\n220 server\r\n".as_slice(),
        vec![reply(220, &["Welcome", "220-to the test", "server"])]
    )]
    #[case::multi_line_with_other_codes_inside(
        b"211-Features:\r\n SIZE\r\n226 not the end\r\n211 End\r\n".as_slice(),
        vec![reply(211, &["Features:", " SIZE", "226 not the end", "End"])]
    )]
    #[case::incomplete(b"220 rea".as_slice(), vec![])]
    fn replies(#[case] input: &[u8], #[case] expected: Vec<Reply>) {
        assert_eq!(parse_all(input).unwrap(), expected);
    }

    #[rstest]
    #[case(b"hello\r\n".as_slice())]
    #[case(b"99 low\r\n".as_slice())]
    #[case(b"600 high\r\n".as_slice())]
    #[case(b"220x what\r\n".as_slice())]
    fn malformed(#[case] input: &[u8]) {
        assert!(matches!(parse_all(input), Err(ReplyError::Malformed(_))), "{input:?}");
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        assert_eq!(parse_all(&vec![b'2'; MAX_LINE + 1]), Err(ReplyError::TooLong));
    }

    #[rstest]
    #[case("Entering Passive Mode (127,0,0,2,195,80)", Some("127.0.0.2:50000"))]
    #[case("Entering Passive Mode 10,1,2,3,0,21", Some("10.1.2.3:21"))]
    #[case("=127,0,0,1,4,1 ok", Some("127.0.0.1:1025"))]
    #[case("Entering Passive Mode (127,0,0,1,4)", None)]
    #[case("Entering Passive Mode (300,0,0,1,4,1)", None)]
    #[case("no address here", None)]
    fn passive_replies(#[case] text: &str, #[case] expected: Option<&str>) {
        let got = passive_address(&reply(227, &[text]));
        assert_eq!(got, expected.map(|e| e.parse().unwrap()));
    }

    #[test]
    fn port_argument_round_trips_through_the_passive_parser() {
        let addr: SocketAddrV4 = "127.0.0.1:40961".parse().unwrap();
        assert_eq!(port_argument(addr), "127,0,0,1,160,1");
        assert_eq!(passive_address(&reply(227, &[&format!("({})", port_argument(addr))])), Some(addr));
    }

    fn line_text() -> impl Strategy<Value = String> {
        "[ -~]{0,40}"
    }

    proptest! {
        /// Replies written by the RFC's rules parse back to themselves,
        /// however the bytes are split.
        #[test]
        fn written_replies_parse_back(
            replies in proptest::collection::vec(
                (100u16..600, proptest::collection::vec(line_text(), 1..4)), 1..5),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut wire = Vec::new();
            let mut expected = Vec::new();
            for (code, lines) in &replies {
                let last = lines.len() - 1;
                let mut kept = Vec::new();
                for (i, line) in lines.iter().enumerate() {
                    // A middle line that looks like the end would end the reply.
                    let line = if i < last && line.starts_with(&format!("{code} ")) {
                        format!("x{line}")
                    } else {
                        line.clone()
                    };
                    let sep = if i == last { ' ' } else { '-' };
                    if i == 0 || i == last {
                        wire.extend_from_slice(format!("{code}{sep}{line}\r\n").as_bytes());
                    } else {
                        // Middle lines are plain text, as RFC 959 allows.
                        let line = format!(" {line}");
                        wire.extend_from_slice(format!("{line}\r\n").as_bytes());
                        kept.push(line);
                        continue;
                    }
                    kept.push(line);
                }
                expected.push(Reply { code: *code, lines: kept });
            }
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
            points.sort_unstable();
            let mut parser = ReplyParser::default();
            let mut got = Vec::new();
            let mut from = 0;
            for p in points.into_iter().chain([wire.len()]) {
                got.extend(parser.feed(&wire[from..p]).unwrap());
                from = p;
            }
            prop_assert_eq!(got, expected);
        }

        /// Any bytes at all: the parser answers, never panics.
        #[test]
        fn arbitrary_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = ReplyParser::default().feed(&bytes);
        }
    }
}
