//! The AT# parameter table of chapters 2 to 7.
//!
//! The manual describes every parameter the same way (Definition, Values,
//! Syntax: `Set Value: AT#X=<value>`, `Get Value: AT#X? or AT#V…, AT#VALL`),
//! so the emulator describes them the same way too: one row per parameter
//! with its value domain, default, display group(s) and whether it belongs to
//! a chapter-5 TCP socket. Behaviour that is not regular (multi-line entry,
//! socket-id reads, display formats) lives in `commands.rs` and `display.rs`.

use std::fmt;

use crate::scenario::Basis;

/// What values a parameter accepts (the manual's "Values:" paragraph).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// One of the listed integers.
    Enum(&'static [i64]),
    /// An integer in one of the inclusive ranges, a multiple of `step`.
    Ranges { ranges: &'static [(i64, i64)], step: i64 },
    /// A TCP/UDP port: 1 to 5 digits, at most 65,535 ("the port
    /// identification fields are 16 bits long", p.19); `zero` says whether 0
    /// may be set (UDPPORT: "port number 0 is illegal", p.34).
    Port { zero: bool },
    /// "32-bit number in dotted-decimal notation".
    Ipv4,
    /// "32-bit number in dotted-decimal notation … or alphanumeric ASCII text
    /// string up to N characters if DNS is available".
    Host { max: usize },
    /// "Alphanumeric ASCII text string up to N characters".
    Text { max: usize },
    /// "Decimal phone numbers".
    Phone,
    /// CALLSCREENNUM (p.7): `0`, `*`, a decimal phone number, or text up to 64.
    ScreenNumber,
    /// One of the listed letters (FTPTYPE `A`/`I`).
    Letter(&'static [&'static str]),
}

impl Domain {
    /// Integer domains display bare (`#REDIALCOUNT: 5`), the others quoted
    /// (`#PPPMYIP: "0.0.0.0"`), as in the display examples of p.15-16 and p.24.
    pub fn is_numeric(self) -> bool {
        matches!(self, Domain::Enum(_) | Domain::Ranges { .. } | Domain::Port { .. })
    }
}

/// A display command's group (the commands listed in each "Get Value" line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Phy,
    Ppp,
    Gprs,
    Smtp,
    Pop3,
    /// #VMAIL1..3 (index 1..3).
    Mail(u8),
    Dns,
    Ftp,
    Tcp,
    Udp,
    Ping,
}

/// A stored value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Text(String),
    /// RECi holds up to ten addresses (p.18).
    List(Vec<String>),
}

impl Value {
    /// The text shown after `#X: ` — quoted for text domains.
    pub fn display(&self, domain: Domain) -> String {
        match self {
            Value::Int(n) => n.to_string(),
            Value::Text(s) if domain.is_numeric() || matches!(domain, Domain::Letter(_)) => s.clone(),
            Value::Text(s) => format!("\"{s}\""),
            Value::List(items) => format!("\"{}\"", items.join(",")),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Text(s) => f.write_str(s),
            Value::List(items) => f.write_str(&items.join(",")),
        }
    }
}

/// A default as written in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initial {
    Int(i64),
    Text(&'static str),
    /// "No default": an empty string.
    None,
}

impl Initial {
    pub fn value(self) -> Value {
        match self {
            Initial::Int(n) => Value::Int(n),
            Initial::Text(s) => Value::Text(s.to_string()),
            Initial::None => Value::Text(String::new()),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    /// Mnemonic without `#`, upper case.
    pub name: &'static str,
    pub domain: Domain,
    pub default: Initial,
    /// Display commands that list it besides `#VALL`.
    pub groups: &'static [Group],
    /// Chapter 5: one value per TCP socket id {1,2} (rev C).
    pub per_socket: bool,
    /// The display commands print it in clear; transcripts must redact it.
    pub secret: bool,
    /// Manual page of its definition.
    pub page: u16,
    /// Whether the domain/default is read in the manual or inferred.
    pub basis: Basis,
}

const M: Basis = Basis::Manual;
const I: Basis = Basis::Inferred;

macro_rules! p {
    ($name:literal, $domain:expr, $default:expr, [$($g:expr),*], $page:literal, $basis:expr) => {
        Parameter { name: $name, domain: $domain, default: $default, groups: &[$($g),*], per_socket: false,
            secret: false, page: $page, basis: $basis }
    };
    ($name:literal, $domain:expr, $default:expr, [$($g:expr),*], $page:literal, $basis:expr, secret) => {
        Parameter { name: $name, domain: $domain, default: $default, groups: &[$($g),*], per_socket: false,
            secret: true, page: $page, basis: $basis }
    };
    ($name:literal, $domain:expr, $default:expr, [$($g:expr),*], $page:literal, $basis:expr, socket) => {
        Parameter { name: $name, domain: $domain, default: $default, groups: &[$($g),*], per_socket: true,
            secret: false, page: $page, basis: $basis }
    };
}

use Domain::*;
use Group::*;
use Initial as D;

const TXDELAY: Domain = Ranges { ranges: &[(0, 32760)], step: 20 };

/// Every AT# parameter of chapters 2 to 7, in the manual's order.
///
/// Readings chosen where the manual contradicts itself (each is also written
/// in the scenario that tests it):
/// - REDIALDELAY (p.8): "between 5 and 14 inclusive" yet "if configured to
///   zero … immediately": both 0 and 5..14 are accepted.
/// - PPPMODE (p.9): "between 0 and 4" lists 1-4 and 9; rev C "removed value 0":
///   accepts 1, 2, 3, 4, 9.
/// - GPRSMODE (p.11) names #VGPRS as its display, but the #VGPRS example
///   (p.16) omits it and the #VPHY example shows it: it is displayed by #VPHY.
/// - UDPPORT (p.34): "default is 0" but "0 is illegal": 0 is the default and
///   cannot be set.
/// - DLEMODE (p.30): the default is printed without a value; 1 is chosen
///   (inferred: the examples of p.48 close sockets with ETX).
/// - FTP parameters (p.26-27) were not recovered: domains inferred.
pub const TABLE: &[Parameter] = &[
    // Chapter 2 - Dialing services (p.7-11)
    p!("ANSWERMODE", Enum(&[0, 1, 2, 3]), D::Int(0), [Phy], 7, M),
    p!("CALLBACKTIMER", Ranges { ranges: &[(2, 255)], step: 1 }, D::Int(2), [Phy], 7, M),
    p!("CALLSCREENNUM", ScreenNumber, D::Text("0"), [Phy], 7, M),
    p!("REDIALCOUNT", Ranges { ranges: &[(0, 14)], step: 1 }, D::Int(5), [Phy], 8, M),
    p!("REDIALDELAY", Ranges { ranges: &[(0, 0), (5, 14)], step: 1 }, D::Int(5), [Phy], 8, M),
    p!("PHYTIMEOUT", Ranges { ranges: &[(1, 255)], step: 1 }, D::Int(15), [Phy], 8, M),
    p!("RINGCOUNT", Ranges { ranges: &[(0, 15)], step: 1 }, D::Int(0), [Phy], 8, M),
    p!("DIALN1", Phone, D::None, [Phy], 8, M),
    p!("DIALN2", Phone, D::None, [Phy], 9, M),
    p!("DIALSELECT", Enum(&[1, 2]), D::Int(1), [Phy], 9, M),
    p!("ISPPW", Text { max: 64 }, D::None, [Ppp], 9, M, secret),
    p!("ISPUN", Text { max: 64 }, D::None, [Ppp], 9, M),
    p!("PPPMODE", Enum(&[1, 2, 3, 4, 9]), D::Int(1), [Ppp], 9, M),
    p!("PPPMYIP", Ipv4, D::Text("0.0.0.0"), [Ppp], 10, M),
    p!("PPPPEERIP", Ipv4, D::Text("0.0.0.0"), [Ppp], 10, M),
    p!("PPPSERVUN", Text { max: 64 }, D::None, [Ppp], 10, M),
    p!("PPPSERVPW", Text { max: 64 }, D::None, [Ppp], 10, M, secret),
    p!("APNPW", Text { max: 120 }, D::None, [Gprs], 10, M, secret),
    p!("APNSERV", Text { max: 120 }, D::None, [Gprs], 11, M),
    p!("APNUN", Text { max: 120 }, D::None, [Gprs], 11, M),
    p!("GPRSCID", Ranges { ranges: &[(1, 4)], step: 1 }, D::Int(1), [Gprs], 11, M),
    p!("GPRSMODE", Enum(&[0, 1]), D::Int(1), [Phy], 11, M),
    // Chapter 3 - SMTP/POP3 e-mail services (p.17-21)
    p!("SENDERNAME", Text { max: 120 }, D::None, [Smtp], 17, M),
    p!("SENDERADDR", Text { max: 120 }, D::None, [Smtp], 17, M),
    p!("CCREC1", Text { max: 120 }, D::None, [Mail(1)], 17, M),
    p!("CCREC2", Text { max: 120 }, D::None, [Mail(2)], 17, M),
    p!("CCREC3", Text { max: 120 }, D::None, [Mail(3)], 17, M),
    p!("DOMAIN", Text { max: 120 }, D::None, [Smtp], 17, M),
    p!("REC1", Text { max: 120 }, D::None, [Mail(1)], 18, M),
    p!("REC2", Text { max: 120 }, D::None, [Mail(2)], 18, M),
    p!("REC3", Text { max: 120 }, D::None, [Mail(3)], 18, M),
    p!("SUBJ1", Text { max: 120 }, D::None, [Mail(1)], 18, M),
    p!("SUBJ2", Text { max: 120 }, D::None, [Mail(2)], 18, M),
    p!("SUBJ3", Text { max: 120 }, D::None, [Mail(3)], 18, M),
    p!("BODY1", Text { max: 120 }, D::None, [], 18, M),
    p!("BODY2", Text { max: 120 }, D::None, [], 18, M),
    p!("BODY3", Text { max: 120 }, D::None, [], 18, M),
    p!("POP3HEADERMODE", Enum(&[0, 1]), D::Int(1), [Pop3], 19, M),
    p!("POP3PORT", Port { zero: true }, D::Int(110), [Pop3], 19, M),
    p!("POP3PW", Text { max: 64 }, D::None, [Pop3], 19, M, secret),
    p!("POP3SERV", Host { max: 120 }, D::None, [Pop3], 19, M),
    p!("POP3UN", Text { max: 64 }, D::None, [Pop3], 19, M),
    p!("SMTPPORT", Port { zero: true }, D::Int(25), [Smtp], 20, M),
    p!("SMTPPW", Text { max: 64 }, D::None, [Smtp], 20, M, secret),
    p!("SMTPSERV", Host { max: 120 }, D::None, [Smtp], 20, M),
    p!("SMTPUN", Text { max: 64 }, D::None, [Smtp], 20, M),
    p!("DNSSERV1", Ipv4, D::Text("0.0.0.0"), [Dns], 20, M),
    p!("DNSSERV2", Ipv4, D::Text("0.0.0.0"), [Dns], 21, M),
    // Chapter 4 - FTP services (p.26-27, not recovered: inferred)
    p!("FTPPORT", Port { zero: true }, D::Int(21), [Ftp], 26, I),
    p!("FTPMODE", Enum(&[0, 1]), D::Int(0), [Ftp], 26, I),
    p!("FTPTYPE", Letter(&["A", "I"]), D::Text("I"), [Ftp], 26, I),
    p!("FTPSERV", Host { max: 120 }, D::None, [Ftp], 26, I),
    p!("FTPUN", Text { max: 64 }, D::None, [Ftp], 27, I),
    p!("FTPPW", Text { max: 64 }, D::None, [Ftp], 27, I, secret),
    p!("FTPGETFILENAME", Text { max: 120 }, D::None, [Ftp], 27, I),
    p!("FTPGETPATH", Text { max: 120 }, D::None, [Ftp], 27, I),
    p!("FTPPUTFILENAME", Text { max: 120 }, D::None, [Ftp], 27, I),
    p!("FTPPUTPATH", Text { max: 120 }, D::None, [Ftp], 27, I),
    // Chapter 5 - TCP socket services (p.30-31), one value per socket id {1,2}
    p!("DLEMODE", Enum(&[0, 1]), D::Int(1), [Tcp], 30, M, socket),
    p!("TCPPORT", Port { zero: true }, D::Int(0), [Tcp], 30, M, socket),
    p!("TCPSERV", Host { max: 120 }, D::None, [Tcp], 30, M, socket),
    p!("TCPTXDELAY", TXDELAY, D::Int(100), [Tcp], 31, M, socket),
    // Chapter 6 - UDP socket services (p.34)
    p!("UDPPORT", Port { zero: false }, D::Int(0), [Udp], 34, M),
    p!("UDPSERV", Host { max: 120 }, D::None, [Udp], 34, M),
    p!("UDPTXDELAY", TXDELAY, D::Int(100), [Udp], 34, M),
    // Chapter 7 - PING services (p.37)
    p!("PINGDELAY", Ranges { ranges: &[(1, 255)], step: 1 }, D::Int(1), [Ping], 37, M),
    p!("PINGNUM", Ranges { ranges: &[(1, 255)], step: 1 }, D::Int(4), [Ping], 37, M),
    p!("PINGREMOTE", Host { max: 120 }, D::None, [Ping], 37, M),
];

/// Socket ids of chapter 5 (rev C: "one more socket", ids {1,2}).
pub const SOCKETS: [u8; 2] = [1, 2];

/// Look a parameter up by mnemonic (case-insensitive, p.53).
pub fn find(name: &str) -> Option<&'static Parameter> {
    TABLE.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Whether the value of this parameter is a secret (transcripts redact it).
pub fn is_secret(name: &str) -> bool {
    find(name).is_some_and(|p| p.secret)
}

/// The order of each display command, as in the manual's display examples
/// (p.15-16, 24, 38) or, where the page was not recovered, alphabetical like
/// the recovered ones.
pub fn display_order(group: Group) -> Vec<&'static str> {
    match group {
        Phy => vec![
            "ANSWERMODE",
            "CALLBACKTIMER",
            "CALLSCREENNUM",
            "DIALN1",
            "DIALN2",
            "DIALSELECT",
            "GPRSMODE",
            "PHYTIMEOUT",
            "REDIALCOUNT",
            "REDIALDELAY",
            "RINGCOUNT",
        ],
        Ppp => vec!["ISPUN", "ISPPW", "PPPMODE", "PPPMYIP", "PPPPEERIP", "PPPSERVUN", "PPPSERVPW"],
        Gprs => vec!["GPRSCID", "APNPW", "APNSERV", "APNUN"],
        Smtp => vec!["DOMAIN", "SENDERADDR", "SENDERNAME", "SMTPPORT", "SMTPPW", "SMTPSERV", "SMTPUN"],
        Pop3 => vec!["POP3HEADERMODE", "POP3PORT", "POP3PW", "POP3SERV", "POP3UN"],
        Mail(1) => vec!["REC1", "CCREC1", "SUBJ1"],
        Mail(2) => vec!["REC2", "CCREC2", "SUBJ2"],
        Mail(_) => vec!["REC3", "CCREC3", "SUBJ3"],
        Dns => vec!["DNSSERV1", "DNSSERV2"],
        Ftp => vec![
            "FTPGETFILENAME",
            "FTPGETPATH",
            "FTPMODE",
            "FTPPORT",
            "FTPPUTFILENAME",
            "FTPPUTPATH",
            "FTPPW",
            "FTPSERV",
            "FTPTYPE",
            "FTPUN",
        ],
        Tcp => vec!["DLEMODE", "TCPPORT", "TCPSERV", "TCPTXDELAY"],
        Udp => vec!["UDPPORT", "UDPSERV", "UDPTXDELAY"],
        Ping => vec!["PINGDELAY", "PINGNUM", "PINGREMOTE"],
    }
}

/// Why a set was refused; maps to a chapter 9 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 34882 "Bad command : Bad command argument value".
    BadValue,
    /// 34881 "Bad command : Command to long" (sic): a string over its limit
    /// (inferred: the only length error of chapter 9).
    TooLong,
    /// 34819 "Bad command : Syntax error": unbalanced quotes, missing value.
    Syntax,
}

impl Refusal {
    pub fn code(self) -> u32 {
        match self {
            Refusal::BadValue => 34882,
            Refusal::TooLong => 34881,
            Refusal::Syntax => 34819,
        }
    }
}

/// The argument as written after `=`: quoted or bare. Numbers are accepted
/// with or without quotes (p.48 and real-device drivers quote them; p.53 says
/// they go unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub text: String,
    pub quoted: bool,
}

/// Split an argument list on commas outside quotes, removing quotes.
pub fn split_args(s: &str) -> Result<Vec<Arg>, Refusal> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut after_quote = false;
    for c in s.chars() {
        match c {
            '"' if in_quotes => {
                in_quotes = false;
                after_quote = true;
            }
            '"' if cur.trim().is_empty() && !after_quote => {
                cur.clear();
                in_quotes = true;
                quoted = true;
            }
            ',' if !in_quotes => {
                args.push(Arg { text: finish(&cur, quoted), quoted });
                cur.clear();
                quoted = false;
                after_quote = false;
            }
            _ if after_quote => {
                if !c.is_whitespace() {
                    return Err(Refusal::Syntax);
                }
            }
            _ => cur.push(c),
        }
    }
    if in_quotes {
        return Err(Refusal::Syntax);
    }
    args.push(Arg { text: finish(&cur, quoted), quoted });
    Ok(args)
}

fn finish(s: &str, quoted: bool) -> String {
    if quoted {
        s.to_string()
    } else {
        s.trim().to_string()
    }
}

/// Validate a value for a parameter and turn it into what is stored.
pub fn validate(param: &Parameter, arg: &Arg) -> Result<Value, Refusal> {
    let text = arg.text.as_str();
    match param.domain {
        Enum(values) => {
            let n = parse_int(text)?;
            values.contains(&n).then_some(Value::Int(n)).ok_or(Refusal::BadValue)
        }
        Ranges { ranges, step } => {
            let n = parse_int(text)?;
            let inside = ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&n));
            (inside && n % step == 0).then_some(Value::Int(n)).ok_or(Refusal::BadValue)
        }
        Port { zero } => {
            if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Refusal::BadValue);
            }
            let n: i64 = text.parse().map_err(|_| Refusal::BadValue)?;
            (n <= 65535 && (zero || n != 0)).then_some(Value::Int(n)).ok_or(Refusal::BadValue)
        }
        Ipv4 => is_ipv4(text).then(|| Value::Text(text.to_string())).ok_or(Refusal::BadValue),
        Host { max } => {
            check_len(text, max)?;
            if looks_numeric_address(text) && !is_ipv4(text) {
                return Err(Refusal::BadValue);
            }
            check_printable(text)?;
            Ok(Value::Text(text.to_string()))
        }
        Text { max } => {
            check_len(text, max)?;
            check_printable(text)?;
            Ok(Value::Text(text.to_string()))
        }
        Phone => {
            check_len(text, 64)?;
            if text.is_empty() || is_phone(text) {
                Ok(Value::Text(text.to_string()))
            } else {
                Err(Refusal::BadValue)
            }
        }
        ScreenNumber => {
            check_len(text, 64)?;
            check_printable(text)?;
            if text.is_empty() {
                return Err(Refusal::BadValue);
            }
            Ok(Value::Text(text.to_string()))
        }
        Letter(letters) => letters
            .iter()
            .find(|l| l.eq_ignore_ascii_case(text))
            .map(|l| Value::Text(l.to_string()))
            .ok_or(Refusal::BadValue),
    }
}

fn parse_int(text: &str) -> Result<i64, Refusal> {
    if text.is_empty() {
        return Err(Refusal::Syntax);
    }
    if text.len() > 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::BadValue);
    }
    text.parse().map_err(|_| Refusal::BadValue)
}

fn check_len(text: &str, max: usize) -> Result<(), Refusal> {
    if text.chars().count() > max {
        Err(Refusal::TooLong)
    } else {
        Ok(())
    }
}

/// "Alphanumeric ASCII text": printable ASCII only (a quote cannot be stored,
/// there is no escape for it).
fn check_printable(text: &str) -> Result<(), Refusal> {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"') {
        Ok(())
    } else {
        Err(Refusal::BadValue)
    }
}

/// Dotted decimal, four fields 0..255, no leading sign.
pub fn is_ipv4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// Something made only of digits and dots is meant as an address, and then
/// it must be a valid one (a name cannot be all digits).
fn looks_numeric_address(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// "Decimal phone number": digits, with an optional leading `+` (international
/// format) and the dial modifiers `*` `#` `,` `p` `w` that GSM dialling allows.
fn is_phone(text: &str) -> bool {
    let body = text.strip_prefix('+').unwrap_or(text);
    !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#' | b',' | b'p' | b'P' | b'w' | b'W'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn arg(s: &str) -> Arg {
        split_args(s).unwrap().remove(0)
    }

    #[rstest]
    #[case("REDIALCOUNT", "0", Ok(Value::Int(0)))]
    #[case("REDIALCOUNT", "14", Ok(Value::Int(14)))]
    #[case("REDIALCOUNT", "15", Err(Refusal::BadValue))]
    #[case("REDIALCOUNT", "\"14\"", Ok(Value::Int(14)))]
    #[case("REDIALCOUNT", "-1", Err(Refusal::BadValue))]
    #[case("REDIALCOUNT", "", Err(Refusal::Syntax))]
    #[case("REDIALDELAY", "0", Ok(Value::Int(0)))]
    #[case("REDIALDELAY", "4", Err(Refusal::BadValue))]
    #[case("PPPMODE", "0", Err(Refusal::BadValue))]
    #[case("PPPMODE", "9", Ok(Value::Int(9)))]
    #[case("POP3PORT", "65535", Ok(Value::Int(65535)))]
    #[case("POP3PORT", "65536", Err(Refusal::BadValue))]
    #[case("POP3PORT", "123456", Err(Refusal::BadValue))]
    #[case("UDPPORT", "0", Err(Refusal::BadValue))]
    #[case("TCPTXDELAY", "30", Err(Refusal::BadValue))]
    #[case("TCPTXDELAY", "32760", Ok(Value::Int(32760)))]
    #[case("PPPMYIP", "\"10.0.0.256\"", Err(Refusal::BadValue))]
    #[case("PPPMYIP", "\"192.168.1.1\"", Ok(Value::Text("192.168.1.1".into())))]
    #[case("SMTPSERV", "\"smtp.example.com\"", Ok(Value::Text("smtp.example.com".into())))]
    #[case("SMTPSERV", "\"1.2.3\"", Err(Refusal::BadValue))]
    #[case("DIALN1", "\"+33612345678\"", Ok(Value::Text("+33612345678".into())))]
    #[case("DIALN1", "\"abc\"", Err(Refusal::BadValue))]
    #[case("FTPTYPE", "a", Ok(Value::Text("A".into())))]
    fn validates(#[case] name: &str, #[case] input: &str, #[case] expected: Result<Value, Refusal>) {
        assert_eq!(validate(find(name).unwrap(), &arg(input)), expected);
    }

    #[test]
    fn text_limits_are_inclusive() {
        let p = find("ISPUN").unwrap();
        assert!(validate(p, &arg(&"a".repeat(64))).is_ok());
        assert_eq!(validate(p, &arg(&"a".repeat(65))), Err(Refusal::TooLong));
    }

    #[test]
    fn every_grouped_parameter_is_displayed_and_every_displayed_one_exists() {
        for p in TABLE {
            for g in p.groups {
                assert!(display_order(*g).contains(&p.name), "{} missing from {g:?}", p.name);
            }
        }
        for g in [Phy, Ppp, Gprs, Smtp, Pop3, Mail(1), Mail(2), Mail(3), Dns, Ftp, Tcp, Udp, Ping] {
            for name in display_order(g) {
                assert!(find(name).is_some_and(|p| p.groups.contains(&g)), "{name} in {g:?}");
            }
        }
    }

    #[test]
    fn quotes_split() {
        assert_eq!(
            split_args("1,\"23\"").unwrap(),
            vec![Arg { text: "1".into(), quoted: false }, Arg { text: "23".into(), quoted: true }]
        );
        assert_eq!(split_args("\"a,b\"").unwrap().len(), 1);
        assert_eq!(split_args("\"abc").unwrap_err(), Refusal::Syntax);
        assert_eq!(split_args("\"a\"b").unwrap_err(), Refusal::Syntax);
    }
}
