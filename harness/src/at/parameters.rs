//! The AT# parameter table of chapters 2 to 7.
//!
//! The manual describes every parameter the same way (Definition, Values,
//! Syntax: `Set Value: AT#X=<value>`, `Get Value: AT#X? or AT#V…, AT#VALL`),
//! so the emulator describes them the same way too: one row per parameter
//! with its value domain, default, display group(s) and whether it belongs to
//! a chapter-5 TCP socket. Behaviour that is not regular (multi-line entry,
//! socket-id reads, display formats) lives in `commands.rs` and `display.rs`.

use std::fmt;

use super::codes::Condition;
use super::command::Arg;
use super::Provenance;

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
    pub basis: Provenance,
}

const M: Provenance = Provenance::Manual;
const I: Provenance = Provenance::Inferred;
const R: Provenance = Provenance::RealDevice;

impl Parameter {
    const fn new(
        name: &'static str,
        domain: Domain,
        default: Initial,
        groups: &'static [Group],
        page: u16,
        basis: Provenance,
    ) -> Parameter {
        Parameter { name, domain, default, groups, per_socket: false, secret: false, page, basis }
    }

    /// The display commands print it in clear: transcripts redact it.
    const fn secret(mut self) -> Parameter {
        self.secret = true;
        self
    }

    /// Chapter 5: one value per socket id.
    const fn socket(mut self) -> Parameter {
        self.per_socket = true;
        self
    }
}

/// The table as typed handles: `pub static NAME: Parameter` for each row,
/// and [`TABLE`] listing them all in the manual's order.
macro_rules! table {
    ($($(#[$doc:meta])* $ident:ident: $domain:expr, $default:expr, [$($g:expr),*], $page:literal, $basis:expr $(, $flag:ident)?;)*) => {
        $(
            $(#[$doc])*
            pub static $ident: Parameter =
                Parameter::new(stringify!($ident), $domain, $default, &[$($g),*], $page, $basis)$(.$flag())?;
        )*
        /// Every AT# parameter of chapters 2 to 7, in the manual's order.
        pub static TABLE: &[&Parameter] = &[$(&$ident),*];
    };
}

use Domain::*;
use Group::*;
use Initial as D;

const TXDELAY: Domain = Ranges { ranges: &[(0, 32760)], step: 20 };

// Readings chosen where the manual contradicts itself (each is also written
// in the scenario that tests it):
// - REDIALDELAY (p.8): "between 5 and 14 inclusive" yet "if configured to
//   zero … immediately": both 0 and 5..14 are accepted.
// - PPPMODE (p.9): "between 0 and 4" lists 1-4 and 9; rev C "removed value 0":
//   accepts 1, 2, 3, 4, 9.
// - GPRSMODE (p.11) names #VGPRS as its display, but the #VGPRS example
//   (p.16) omits it and the #VPHY example shows it: it is displayed by #VPHY.
// - UDPPORT (p.34): "default is 0" but "0 is illegal": 0 is the default and
//   cannot be set.
// - DLEMODE (p.30): the default is printed without a value; 1 is chosen
//   (inferred: the examples of p.48 close sockets with ETX).
// - FTP parameters (p.26-27) were not recovered: domains inferred.
table! {
    // Chapter 2 - Dialing services (p.7-11)
    ANSWERMODE: Enum(&[0, 1, 2, 3]), D::Int(0), [Phy], 7, M;
    CALLBACKTIMER: Ranges { ranges: &[(2, 255)], step: 1 }, D::Int(2), [Phy], 7, M;
    CALLSCREENNUM: ScreenNumber, D::Text("0"), [Phy], 7, M;
    REDIALCOUNT: Ranges { ranges: &[(0, 14)], step: 1 }, D::Int(5), [Phy], 8, M;
    REDIALDELAY: Ranges { ranges: &[(0, 0), (5, 14)], step: 1 }, D::Int(5), [Phy], 8, M;
    PHYTIMEOUT: Ranges { ranges: &[(1, 255)], step: 1 }, D::Int(15), [Phy], 8, M;
    RINGCOUNT: Ranges { ranges: &[(0, 15)], step: 1 }, D::Int(0), [Phy], 8, M;
    DIALN1: Phone, D::None, [Phy], 8, M;
    DIALN2: Phone, D::None, [Phy], 9, M;
    DIALSELECT: Enum(&[1, 2]), D::Int(1), [Phy], 9, M;
    ISPPW: Text { max: 64 }, D::None, [Ppp], 9, M, secret;
    ISPUN: Text { max: 64 }, D::None, [Ppp], 9, M;
    PPPMODE: Enum(&[1, 2, 3, 4, 9]), D::Int(1), [Ppp], 9, M;
    PPPMYIP: Ipv4, D::Text("0.0.0.0"), [Ppp], 10, M;
    PPPPEERIP: Ipv4, D::Text("0.0.0.0"), [Ppp], 10, M;
    PPPSERVUN: Text { max: 64 }, D::None, [Ppp], 10, M;
    PPPSERVPW: Text { max: 64 }, D::None, [Ppp], 10, M, secret;
    APNPW: Text { max: 120 }, D::None, [Gprs], 10, M, secret;
    APNSERV: Text { max: 120 }, D::None, [Gprs], 11, M;
    APNUN: Text { max: 120 }, D::None, [Gprs], 11, M;
    GPRSCID: Ranges { ranges: &[(1, 4)], step: 1 }, D::Int(1), [Gprs], 11, M;
    GPRSMODE: Enum(&[0, 1]), D::Int(1), [Phy], 11, M;
    // Chapter 3 - SMTP/POP3 e-mail services (p.17-21)
    SENDERNAME: Text { max: 120 }, D::None, [Smtp], 17, M;
    SENDERADDR: Text { max: 120 }, D::None, [Smtp], 17, M;
    CCREC1: Text { max: 120 }, D::None, [Mail(1)], 17, M;
    CCREC2: Text { max: 120 }, D::None, [Mail(2)], 17, M;
    CCREC3: Text { max: 120 }, D::None, [Mail(3)], 17, M;
    DOMAIN: Text { max: 120 }, D::None, [Smtp], 17, M;
    REC1: Text { max: 120 }, D::None, [Mail(1)], 18, M;
    REC2: Text { max: 120 }, D::None, [Mail(2)], 18, M;
    REC3: Text { max: 120 }, D::None, [Mail(3)], 18, M;
    SUBJ1: Text { max: 120 }, D::None, [Mail(1)], 18, M;
    SUBJ2: Text { max: 120 }, D::None, [Mail(2)], 18, M;
    SUBJ3: Text { max: 120 }, D::None, [Mail(3)], 18, M;
    BODY1: Text { max: 120 }, D::None, [], 18, M;
    BODY2: Text { max: 120 }, D::None, [], 18, M;
    BODY3: Text { max: 120 }, D::None, [], 18, M;
    POP3HEADERMODE: Enum(&[0, 1]), D::Int(1), [Pop3], 19, M;
    POP3PORT: Port { zero: true }, D::Int(110), [Pop3], 19, M;
    POP3PW: Text { max: 64 }, D::None, [Pop3], 19, M, secret;
    POP3SERV: Host { max: 120 }, D::None, [Pop3], 19, M;
    POP3UN: Text { max: 64 }, D::None, [Pop3], 19, M;
    SMTPPORT: Port { zero: true }, D::Int(25), [Smtp], 20, M;
    SMTPPW: Text { max: 64 }, D::None, [Smtp], 20, M, secret;
    SMTPSERV: Host { max: 120 }, D::None, [Smtp], 20, M;
    SMTPUN: Text { max: 64 }, D::None, [Smtp], 20, M;
    /// Not in S000333D: a real-device driver sends `AT#SMTPAUTH=1` and gets
    /// `OK` (digest §13 item 36, [code2]). Field firmware keeps 0/1 and reads
    /// it back; the manual profile answers it as unknown. Its meaning is
    /// inferred: consistent with p.20, where authentication is on when SMTPUN
    /// and SMTPPW are both set, so it changes nothing the manual describes.
    /// Default 0 and no display group are inferred (the driver sets it to 1
    /// to turn it on; no #VSMTP listing shows it). Listed under p.20, the
    /// page of the parameters it goes with.
    SMTPAUTH: Enum(&[0, 1]), D::Int(0), [], 20, R;
    DNSSERV1: Ipv4, D::Text("0.0.0.0"), [Dns], 20, M;
    DNSSERV2: Ipv4, D::Text("0.0.0.0"), [Dns], 21, M;
    // Chapter 4 - FTP services (p.26-27, not recovered: inferred)
    FTPPORT: Port { zero: true }, D::Int(21), [Ftp], 26, I;
    FTPMODE: Enum(&[0, 1]), D::Int(0), [Ftp], 26, I;
    FTPTYPE: Letter(&["A", "I"]), D::Text("I"), [Ftp], 26, I;
    FTPSERV: Host { max: 120 }, D::None, [Ftp], 26, I;
    FTPUN: Text { max: 64 }, D::None, [Ftp], 27, I;
    FTPPW: Text { max: 64 }, D::None, [Ftp], 27, I, secret;
    FTPGETFILENAME: Text { max: 120 }, D::None, [Ftp], 27, I;
    FTPGETPATH: Text { max: 120 }, D::None, [Ftp], 27, I;
    FTPPUTFILENAME: Text { max: 120 }, D::None, [Ftp], 27, I;
    FTPPUTPATH: Text { max: 120 }, D::None, [Ftp], 27, I;
    // Chapter 5 - TCP socket services (p.30-31), one value per socket id {1,2}
    DLEMODE: Enum(&[0, 1]), D::Int(1), [Tcp], 30, M, socket;
    TCPPORT: Port { zero: true }, D::Int(0), [Tcp], 30, M, socket;
    TCPSERV: Host { max: 120 }, D::None, [Tcp], 30, M, socket;
    TCPTXDELAY: TXDELAY, D::Int(100), [Tcp], 31, M, socket;
    // Chapter 6 - UDP socket services (p.34)
    UDPPORT: Port { zero: false }, D::Int(0), [Udp], 34, M;
    UDPSERV: Host { max: 120 }, D::None, [Udp], 34, M;
    UDPTXDELAY: TXDELAY, D::Int(100), [Udp], 34, M;
    // Chapter 7 - PING services (p.37)
    PINGDELAY: Ranges { ranges: &[(1, 255)], step: 1 }, D::Int(1), [Ping], 37, M;
    PINGNUM: Ranges { ranges: &[(1, 255)], step: 1 }, D::Int(4), [Ping], 37, M;
    PINGREMOTE: Host { max: 120 }, D::None, [Ping], 37, M;
}

/// Socket ids of chapter 5 (rev C: "one more socket", ids {1,2}).
pub const SOCKETS: [u8; 2] = [1, 2];

/// Look a parameter up by mnemonic (case-insensitive, p.53).
pub fn find(name: &str) -> Option<&'static Parameter> {
    TABLE.iter().copied().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// `BODYi` (p.18), `i` in 1..=3.
pub fn body(i: u8) -> Option<&'static Parameter> {
    [&BODY1, &BODY2, &BODY3].get(usize::from(i).checked_sub(1)?).copied()
}

/// `RECi` (p.18), `i` in 1..=3.
pub fn rec(i: u8) -> Option<&'static Parameter> {
    [&REC1, &REC2, &REC3].get(usize::from(i).checked_sub(1)?).copied()
}

/// Whether the value of this parameter is a secret (transcripts redact it).
pub fn is_secret(name: &str) -> bool {
    find(name).is_some_and(|p| p.secret)
}

/// The order of each display command, as in the manual's display examples
/// (p.15-16, 24, 38) or, where the page was not recovered, alphabetical like
/// the recovered ones.
pub fn display_order(group: Group) -> &'static [&'static Parameter] {
    match group {
        Phy => ORDER_PHY,
        Ppp => ORDER_PPP,
        Gprs => ORDER_GPRS,
        Smtp => ORDER_SMTP,
        Pop3 => ORDER_POP3,
        Mail(1) => ORDER_MAIL1,
        Mail(2) => ORDER_MAIL2,
        Mail(_) => ORDER_MAIL3,
        Dns => ORDER_DNS,
        Ftp => ORDER_FTP,
        Tcp => ORDER_TCP,
        Udp => ORDER_UDP,
        Ping => ORDER_PING,
    }
}

static ORDER_PHY: &[&Parameter] = &[
    &ANSWERMODE,
    &CALLBACKTIMER,
    &CALLSCREENNUM,
    &DIALN1,
    &DIALN2,
    &DIALSELECT,
    &GPRSMODE,
    &PHYTIMEOUT,
    &REDIALCOUNT,
    &REDIALDELAY,
    &RINGCOUNT,
];
static ORDER_PPP: &[&Parameter] = &[&ISPUN, &ISPPW, &PPPMODE, &PPPMYIP, &PPPPEERIP, &PPPSERVUN, &PPPSERVPW];
static ORDER_GPRS: &[&Parameter] = &[&GPRSCID, &APNPW, &APNSERV, &APNUN];
static ORDER_SMTP: &[&Parameter] = &[&DOMAIN, &SENDERADDR, &SENDERNAME, &SMTPPORT, &SMTPPW, &SMTPSERV, &SMTPUN];
static ORDER_POP3: &[&Parameter] = &[&POP3HEADERMODE, &POP3PORT, &POP3PW, &POP3SERV, &POP3UN];
static ORDER_MAIL1: &[&Parameter] = &[&REC1, &CCREC1, &SUBJ1];
static ORDER_MAIL2: &[&Parameter] = &[&REC2, &CCREC2, &SUBJ2];
static ORDER_MAIL3: &[&Parameter] = &[&REC3, &CCREC3, &SUBJ3];
static ORDER_DNS: &[&Parameter] = &[&DNSSERV1, &DNSSERV2];
static ORDER_FTP: &[&Parameter] = &[
    &FTPGETFILENAME,
    &FTPGETPATH,
    &FTPMODE,
    &FTPPORT,
    &FTPPUTFILENAME,
    &FTPPUTPATH,
    &FTPPW,
    &FTPSERV,
    &FTPTYPE,
    &FTPUN,
];
static ORDER_TCP: &[&Parameter] = &[&DLEMODE, &TCPPORT, &TCPSERV, &TCPTXDELAY];
static ORDER_UDP: &[&Parameter] = &[&UDPPORT, &UDPSERV, &UDPTXDELAY];
static ORDER_PING: &[&Parameter] = &[&PINGDELAY, &PINGNUM, &PINGREMOTE];

/// Why a set was refused; maps to a chapter 9 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 34882 "Bad command : Bad command argument value".
    BadValue,
    /// A string over its limit (p.17-20 print the limits).
    TooLong,
    /// 34819 "Bad command : Syntax error": unbalanced quotes, missing value.
    Syntax,
}

impl Refusal {
    /// The condition, whose answer [`Condition::choice`] gives.
    pub fn condition(self) -> Condition {
        match self {
            Refusal::BadValue => Condition::ValueOutOfRange,
            Refusal::TooLong => Condition::ValueTooLong,
            Refusal::Syntax => Condition::MalformedSet,
        }
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
        crate::at::command::split_args(s).unwrap().remove(0)
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
                assert!(display_order(*g).iter().any(|d| d.name == p.name), "{} missing from {g:?}", p.name);
            }
        }
        for g in [Phy, Ppp, Gprs, Smtp, Pop3, Mail(1), Mail(2), Mail(3), Dns, Ftp, Tcp, Udp, Ping] {
            for p in display_order(g) {
                assert!(p.groups.contains(&g), "{} in {g:?}", p.name);
            }
        }
    }

    /// The table and the manual index agree: every row has its `param.X`
    /// entry with the same page, and every `param.*` entry of the manual is
    /// a row.
    #[test]
    fn the_table_is_the_manual_index() {
        #[derive(serde::Deserialize)]
        struct Entry {
            id: String,
            page: Option<u16>,
            basis: String,
        }
        #[derive(serde::Deserialize)]
        struct Index {
            entries: Vec<Entry>,
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/manual-index.yaml");
        let index: Index = yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let params: Vec<&Entry> = index.entries.iter().filter(|e| e.id.starts_with("param.")).collect();
        for p in TABLE {
            let entry = params.iter().find(|e| e.id == format!("param.{}", p.name));
            let entry = entry.unwrap_or_else(|| panic!("param.{} is not in the manual index", p.name));
            if p.basis == Provenance::RealDevice {
                // Seen only in driver code (SMTPAUTH): no page of its own.
                assert_eq!(entry.basis, "real-device", "basis of {}", p.name);
                continue;
            }
            assert_eq!(entry.page, Some(p.page), "page of {}", p.name);
            if p.basis == Provenance::Inferred {
                assert_eq!(entry.basis, "inferred", "basis of {}", p.name);
            }
        }
        for e in params {
            let name = &e.id["param.".len()..];
            // RECiADD (p.18) is the multi-line entry of the RECi row.
            let row = name.strip_suffix("ADD").filter(|r| r.starts_with("REC")).unwrap_or(name);
            // Rows seen only in driver code (SMTPAUTH) are in the table too,
            // marked real-device: field firmware knows them.
            let p = find(row).unwrap_or_else(|| panic!("{} is not in the table", e.id));
            assert_eq!(
                e.basis == Provenance::RealDevice.as_str(),
                p.basis == Provenance::RealDevice,
                "basis of {}",
                e.id
            );
        }
    }

    #[test]
    fn handles_are_their_rows() {
        assert_eq!(GPRSMODE.name, "GPRSMODE");
        assert!(ISPPW.secret && !ISPUN.secret);
        assert!(TCPPORT.per_socket);
        assert_eq!(body(2).map(|p| p.name), Some("BODY2"));
        assert_eq!(rec(3).map(|p| p.name), Some("REC3"));
        assert!(body(0).is_none() && rec(4).is_none());
        assert!(std::ptr::eq(find("gprsmode").unwrap(), &GPRSMODE));
    }
}
