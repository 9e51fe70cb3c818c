//! What the unit answers: result codes, errors and information lines
//! (manual ch. 9 p.42 and App. B p.49), written and read.
//!
//! Writing ([`Format`]):
//! - Final result codes obey `ATQ` (suppressed when quiet) and `ATV`
//!   (verbose `<CR><LF>text<CR><LF>`, numeric `<CR>code<CR>` as p.49 prints it).
//! - Information text of the GSM core is framed like a verbose result
//!   (`<CR><LF>+CSQ: 20,99<CR><LF>`), or `text<CR><LF>` when numeric.
//! - Information text of the IP stack (`#X: value`, p.49) is `text<CR><LF>`
//!   with no leading `<CR><LF>`, followed by the framed final result.
//! - Stack errors are `#CME ERROR: <code>` (with `#`, every table of the
//!   manual) when `AT+CMEE=1`, plain `ERROR` otherwise: real-device driver
//!   code sends `AT+CMEE=1` "to enable #CME ERROR messages".
//!
//! Reading ([`classify`]): every spelling the manual and real units use,
//! case-insensitively (ch. 9 prints `OK_Info_GPRSActivation`, units print
//! `Ok_Info_GprsActivation`, App. B writes `Ok_Info_Ppp`).

use super::codes::{CmeError, CmsError, StackError};
use super::Firmware;

/// A result code or stack information message (ch. 9 p.42).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Final {
    Ok,
    Connect(u32),
    /// V.23 `CONNECT 1200/75` (numeric 12).
    Connect1200_75,
    Ring,
    NoCarrier,
    Error,
    NoAnswer,
    Busy,
    /// V.250's `NO DIALTONE` (numeric 6); the manual's table omits it.
    NoDialtone,
    /// Information messages of ch. 9 §"Response Messages".
    Info(Info),
}

/// The information messages of ch. 9 (p.42).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Info {
    DataBegin,
    WaitingForData,
    SocketClosed,
    NoMail,
    Mail,
    Ppp,
    GprsActivation,
}

impl Info {
    pub const ALL: &'static [Info] = &[
        Info::DataBegin,
        Info::WaitingForData,
        Info::SocketClosed,
        Info::NoMail,
        Info::Mail,
        Info::Ppp,
        Info::GprsActivation,
    ];

    /// As real units print it (public driver code): the default output.
    pub fn text(self) -> &'static str {
        match self {
            Info::DataBegin => "Ok_Info_DataBegin",
            Info::WaitingForData => "Ok_Info_WaitingForData",
            Info::SocketClosed => "Ok_Info_SocketClosed",
            Info::NoMail => "Ok_Info_NoMail",
            Info::Mail => "Ok_Info_Mail",
            Info::Ppp => "Ok_Info_PPP",
            Info::GprsActivation => "Ok_Info_GprsActivation",
        }
    }

    /// As chapter 9 prints it (p.42).
    pub fn manual_text(self) -> &'static str {
        match self {
            Info::DataBegin => "OK_Info_DataBegin",
            Info::WaitingForData => "OK_Info_WaitingForData",
            Info::SocketClosed => "OK_Info_SocketClosed",
            Info::NoMail => "OK_Info_NoMail",
            Info::Mail => "OK_Info_Mail",
            Info::Ppp => "OK_Info_PPP",
            Info::GprsActivation => "OK_Info_GPRSActivation",
        }
    }

    /// As `firmware` prints it: real units' spelling ([`Info::text`]) or
    /// chapter 9's ([`Info::manual_text`], p.42).
    pub fn text_in(self, firmware: Firmware) -> &'static str {
        match firmware {
            Firmware::Field => self.text(),
            Firmware::Manual => self.manual_text(),
        }
    }

    /// Numeric code (ATV0), ch. 9.
    pub fn code(self) -> u32 {
        match self {
            Info::DataBegin => 1025,
            Info::WaitingForData => 1028,
            Info::SocketClosed => 3074,
            Info::NoMail => 3072,
            Info::Mail => 3073,
            Info::Ppp => 3077,
            Info::GprsActivation => 3086,
        }
    }

    /// Any spelling: `OK_Info_X`, `Ok_Info_X`, and the variants the manual
    /// prints elsewhere (`OK_WaitingForData`, `OK_Info_WaitingForDate`).
    pub fn parse(text: &str) -> Option<Info> {
        let lower = text.to_ascii_lowercase();
        let rest = lower.strip_prefix("ok_info_").or_else(|| lower.strip_prefix("ok_"))?;
        Some(match rest {
            "databegin" => Info::DataBegin,
            "waitingfordata" | "waitingfordate" => Info::WaitingForData,
            "socketclosed" => Info::SocketClosed,
            "nomail" => Info::NoMail,
            "mail" => Info::Mail,
            "ppp" => Info::Ppp,
            "gprsactivation" => Info::GprsActivation,
            _ => return None,
        })
    }
}

/// `CONNECT <speed>` speeds with their own numeric codes (ch. 9).
const CONNECT_CODES: &[(u32, u32)] = &[(300, 10), (1200, 11), (2400, 13), (4800, 14), (9600, 15), (14400, 16)];

impl Final {
    /// Verbose text (ATV1).
    pub fn text(self) -> String {
        match self {
            Final::Ok => "OK".into(),
            Final::Connect(speed) => format!("CONNECT {speed}"),
            Final::Connect1200_75 => "CONNECT 1200/75".into(),
            Final::Ring => "RING".into(),
            Final::NoCarrier => "NO CARRIER".into(),
            Final::Error => "ERROR".into(),
            Final::NoAnswer => "NO ANSWER".into(),
            Final::Busy => "BUSY".into(),
            Final::NoDialtone => "NO DIALTONE".into(),
            Final::Info(i) => i.text().into(),
        }
    }

    /// Verbose text as `firmware` prints it: only the information messages
    /// are spelled differently (ch. 9 p.42 against real units).
    pub fn text_in(self, firmware: Firmware) -> String {
        match self {
            Final::Info(i) => i.text_in(firmware).into(),
            other => other.text(),
        }
    }

    /// Numeric code (ATV0), ch. 9 tables.
    pub fn code(self) -> u32 {
        match self {
            Final::Ok => 0,
            Final::Connect(speed) => CONNECT_CODES.iter().find(|(s, _)| *s == speed).map_or(1, |(_, c)| *c),
            Final::Connect1200_75 => 12,
            Final::Ring => 2,
            Final::NoCarrier => 3,
            Final::Error => 4,
            Final::NoAnswer => 8,
            Final::Busy => 7,
            Final::NoDialtone => 6,
            Final::Info(i) => i.code(),
        }
    }

    /// A verbose result code, any case (`ok`, `Connect 9600`, `OK_Info_PPP`).
    pub fn parse_verbose(line: &str) -> Option<Final> {
        let upper = line.trim().to_ascii_uppercase();
        Some(match upper.as_str() {
            "OK" => Final::Ok,
            "RING" => Final::Ring,
            "NO CARRIER" => Final::NoCarrier,
            "ERROR" => Final::Error,
            "NO ANSWER" => Final::NoAnswer,
            "BUSY" => Final::Busy,
            "NO DIALTONE" => Final::NoDialtone,
            "CONNECT" => Final::Connect(0),
            "CONNECT 1200/75" => Final::Connect1200_75,
            _ => {
                if let Some(speed) = upper.strip_prefix("CONNECT ") {
                    return speed.parse().ok().map(Final::Connect);
                }
                return Info::parse(line.trim()).map(Final::Info);
            }
        })
    }

    /// A numeric result code (ATV0): exactly a code of the tables.
    pub fn parse_numeric(line: &str) -> Option<Final> {
        let text = line.trim();
        // Digits only, without leading zeros: `000` (ATS0?) is a value, not `OK`.
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || (text.len() > 1 && text.starts_with('0')) {
            return None;
        }
        let code: u32 = text.parse().ok()?;
        Some(match code {
            0 => Final::Ok,
            1 => Final::Connect(0),
            2 => Final::Ring,
            3 => Final::NoCarrier,
            4 => Final::Error,
            6 => Final::NoDialtone,
            7 => Final::Busy,
            8 => Final::NoAnswer,
            12 => Final::Connect1200_75,
            _ => {
                if let Some((speed, _)) = CONNECT_CODES.iter().find(|(_, c)| *c == code) {
                    return Some(Final::Connect(*speed));
                }
                return Info::ALL.iter().find(|i| i.code() == code).map(|i| Final::Info(*i));
            }
        })
    }
}

/// What a received line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// A result code, verbose or numeric.
    Result(Final),
    /// `#CME ERROR: <code>` (also printed `#CME ERROR : <code>`, p.14).
    StackError(u32),
    /// `+CME ERROR: <code>` (or `+CMS ERROR`).
    GsmError(u32),
    /// Anything else: information text, echo, data.
    Information,
}

impl Received {
    /// Whether the line ends a command: a result code other than `RING`
    /// (unsolicited), or an error.
    pub fn is_final(self) -> bool {
        !matches!(self, Received::Information | Received::Result(Final::Ring))
    }
}

/// Classify a received line (without its line ends).
pub fn classify(line: &str) -> Received {
    if let Some(r) = Final::parse_verbose(line).or_else(|| Final::parse_numeric(line)) {
        return Received::Result(r);
    }
    if let Some((stack, code)) = cme_error(line) {
        return if stack { Received::StackError(code) } else { Received::GsmError(code) };
    }
    Received::Information
}

/// Whether a received line ends a command (see [`Received::is_final`]).
pub fn is_final(line: &str) -> bool {
    classify(line).is_final()
}

/// `#CME ERROR: n` → `(true, n)`; `+CME ERROR: n`, `+CMS ERROR: n` → `(false, n)`.
fn cme_error(line: &str) -> Option<(bool, u32)> {
    let upper = line.trim().to_ascii_uppercase();
    let (stack, rest) = match upper.split_at_checked(1)? {
        ("#", r) => (true, r),
        ("+", r) => (false, r),
        _ => return None,
    };
    let rest = rest.strip_prefix("CME ERROR").or_else(|| if stack { None } else { rest.strip_prefix("CMS ERROR") })?;
    let code = rest.trim_start().strip_prefix(':')?.trim();
    code.parse().ok().map(|c| (stack, c))
}

/// An information line `#NAME: value` or `+NAME: value` (p.49): the name
/// (upper case, with its prefix) and the byte range of the value in `line`.
pub fn information(line: &str) -> Option<(String, std::ops::Range<usize>)> {
    if !line.starts_with(['#', '+']) {
        return None;
    }
    let name_end = line[1..].find(|c: char| !c.is_ascii_alphanumeric()).map_or(line.len(), |e| e + 1);
    if name_end == 1 {
        return None;
    }
    let after = line[name_end..].strip_prefix(": ")?;
    let start = line.len() - after.len();
    Some((line[..name_end].to_ascii_uppercase(), start..line.len()))
}

/// The lines of `#DISPLAYIP` for a connected session (`gprs`: the GPRS
/// bearer), as `firmware` prints them.
///
/// - Manual (p.15): `MY IP: 1.2.3.4` then `PEER IP: 1.0.3.5` in GSM mode, or
///   `Gateway IP: 1.0.3.5` (the PPP peer's address) in GPRS mode; no `#`, no
///   quotes.
/// - Field (digest §9 item 12, [code]): `#MY IP: "…"`, `#PEER IP: "…"` and, in
///   GPRS mode, `#GATEWAY IP: "0.0.0.0"`.
pub fn display_ip(firmware: Firmware, my_ip: &str, peer_ip: &str, gprs: bool) -> Vec<String> {
    match firmware {
        Firmware::Field => {
            let mut lines = vec![format!("#MY IP: \"{my_ip}\""), format!("#PEER IP: \"{peer_ip}\"")];
            if gprs {
                lines.push("#GATEWAY IP: \"0.0.0.0\"".into());
            }
            lines
        }
        Firmware::Manual => {
            let peer = if gprs { "Gateway IP" } else { "PEER IP" };
            vec![format!("MY IP: {my_ip}"), format!("{peer}: {peer_ip}")]
        }
    }
}

/// The framing state the result writer needs.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    pub verbose: bool,
    pub quiet: bool,
    pub cmee: u8,
    /// Whose spelling of the information messages to write.
    pub firmware: Firmware,
}

impl Format {
    pub fn final_result(self, out: &mut Vec<u8>, r: Final) {
        if self.quiet {
            return;
        }
        if self.verbose {
            out.extend_from_slice(format!("\r\n{}\r\n", r.text_in(self.firmware)).as_bytes());
        } else {
            out.extend_from_slice(format!("\r{}\r", r.code()).as_bytes());
        }
    }

    /// An information line of the GSM core (and unsolicited results).
    pub fn gsm_info(self, out: &mut Vec<u8>, text: &str) {
        if self.verbose {
            out.extend_from_slice(format!("\r\n{text}\r\n").as_bytes());
        } else {
            out.extend_from_slice(format!("{text}\r\n").as_bytes());
        }
    }

    /// An information line of the IP stack (`#X: value`, p.49).
    pub fn stack_info(self, out: &mut Vec<u8>, text: &str) {
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    /// A stack error (`#CME ERROR: <code>`), or `ERROR` without `AT+CMEE=1`.
    pub fn stack_error(self, out: &mut Vec<u8>, error: StackError) {
        self.cme_error(out, '#', error.code());
    }

    /// A GSM core error (3GPP TS 27.007 `+CME ERROR`), per `AT+CMEE`.
    pub fn gsm_error(self, out: &mut Vec<u8>, error: CmeError) {
        self.cme_error(out, '+', error.code());
    }

    /// A short message service error (3GPP TS 27.005 §3.2.5 `+CMS ERROR`),
    /// framed and gated by `AT+CMEE` like `+CME ERROR`.
    pub fn sms_error(self, out: &mut Vec<u8>, error: CmsError) {
        self.error_line(out, "+CMS", error.code());
    }

    fn cme_error(self, out: &mut Vec<u8>, prefix: char, code: u32) {
        self.error_line(out, &format!("{prefix}CME"), code);
    }

    fn error_line(self, out: &mut Vec<u8>, label: &str, code: u32) {
        if self.cmee == 0 {
            return self.final_result(out, Final::Error);
        }
        if self.quiet {
            return;
        }
        if self.verbose {
            out.extend_from_slice(format!("\r\n{label} ERROR: {code}\r\n").as_bytes());
        } else {
            // p.49 prints "[CR]#CME ERROR: Value [CR][LF]" in the numeric column.
            out.extend_from_slice(format!("\r{label} ERROR: {code}\r\n").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("OK", Received::Result(Final::Ok))]
    #[case("ok", Received::Result(Final::Ok))]
    #[case("NO CARRIER", Received::Result(Final::NoCarrier))]
    #[case("BUSY", Received::Result(Final::Busy))]
    #[case("NO ANSWER", Received::Result(Final::NoAnswer))]
    #[case("NO DIALTONE", Received::Result(Final::NoDialtone))]
    #[case("RING", Received::Result(Final::Ring))]
    #[case("CONNECT", Received::Result(Final::Connect(0)))]
    #[case("CONNECT 9600", Received::Result(Final::Connect(9600)))]
    #[case("CONNECT 1200/75", Received::Result(Final::Connect1200_75))]
    #[case("Ok_Info_GprsActivation", Received::Result(Final::Info(Info::GprsActivation)))]
    #[case("OK_Info_GPRSActivation", Received::Result(Final::Info(Info::GprsActivation)))]
    #[case("Ok_Info_Ppp", Received::Result(Final::Info(Info::Ppp)))]
    #[case("OK_WaitingForData", Received::Result(Final::Info(Info::WaitingForData)))]
    #[case("OK_Info_WaitingForDate", Received::Result(Final::Info(Info::WaitingForData)))]
    #[case("0", Received::Result(Final::Ok))]
    #[case("4", Received::Result(Final::Error))]
    #[case("15", Received::Result(Final::Connect(9600)))]
    #[case("3086", Received::Result(Final::Info(Info::GprsActivation)))]
    #[case("#CME ERROR: 34817", Received::StackError(34817))]
    #[case("#CME ERROR : 37121", Received::StackError(37121))]
    #[case("+CME ERROR: 3", Received::GsmError(3))]
    #[case("000", Received::Information)]
    #[case("012345678901237", Received::Information)]
    #[case("+CSQ: 20,99", Received::Information)]
    #[case("#ISPPW: \"x\"", Received::Information)]
    fn classifies(#[case] line: &str, #[case] expected: Received) {
        assert_eq!(classify(line), expected);
    }

    #[test]
    fn every_result_reads_back_verbose_and_numeric() {
        let mut all = vec![
            Final::Ok,
            Final::Connect1200_75,
            Final::NoCarrier,
            Final::Error,
            Final::NoAnswer,
            Final::Busy,
            Final::NoDialtone,
            Final::Ring,
        ];
        all.extend(CONNECT_CODES.iter().map(|(s, _)| Final::Connect(*s)));
        all.extend(Info::ALL.iter().map(|i| Final::Info(*i)));
        for r in all {
            assert_eq!(Final::parse_verbose(&r.text()), Some(r), "{r:?}");
            assert_eq!(Final::parse_numeric(&r.code().to_string()), Some(r), "{r:?}");
        }
        for i in Info::ALL {
            assert_eq!(Info::parse(i.manual_text()), Some(*i));
        }
    }

    #[test]
    fn frames_as_before() {
        let v = Format { verbose: true, quiet: false, cmee: 1, firmware: Firmware::Field };
        let n = Format { verbose: false, quiet: false, cmee: 1, firmware: Firmware::Field };
        let mut out = Vec::new();
        v.final_result(&mut out, Final::Info(Info::Ppp));
        n.final_result(&mut out, Final::Ok);
        v.stack_error(&mut out, StackError::SyntaxError);
        n.gsm_error(&mut out, CmeError::SimPinRequired);
        Format { verbose: true, quiet: false, cmee: 0, firmware: Firmware::Field }
            .stack_error(&mut out, StackError::SyntaxError);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\r\nOk_Info_PPP\r\n\r0\r\r\n#CME ERROR: 34819\r\n\r+CME ERROR: 11\r\n\r\nERROR\r\n"
        );
    }

    /// p.15 against [code]: the two forms of #DISPLAYIP.
    #[rstest]
    #[case(Firmware::Field, false, &["#MY IP: \"1.2.3.4\"", "#PEER IP: \"1.0.3.5\""])]
    #[case(Firmware::Field, true, &["#MY IP: \"1.2.3.4\"", "#PEER IP: \"1.0.3.5\"", "#GATEWAY IP: \"0.0.0.0\""])]
    #[case(Firmware::Manual, false, &["MY IP: 1.2.3.4", "PEER IP: 1.0.3.5"])]
    #[case(Firmware::Manual, true, &["MY IP: 1.2.3.4", "Gateway IP: 1.0.3.5"])]
    fn display_ip_forms(#[case] firmware: Firmware, #[case] gprs: bool, #[case] expected: &[&str]) {
        assert_eq!(display_ip(firmware, "1.2.3.4", "1.0.3.5", gprs), expected);
    }

    /// Ch. 9 p.42 spellings in the manual profile, real units' otherwise.
    #[rstest]
    #[case(Firmware::Field, Info::GprsActivation, "\r\nOk_Info_GprsActivation\r\n")]
    #[case(Firmware::Manual, Info::GprsActivation, "\r\nOK_Info_GPRSActivation\r\n")]
    #[case(Firmware::Field, Info::Ppp, "\r\nOk_Info_PPP\r\n")]
    #[case(Firmware::Manual, Info::Ppp, "\r\nOK_Info_PPP\r\n")]
    #[case(Firmware::Manual, Info::WaitingForData, "\r\nOK_Info_WaitingForData\r\n")]
    #[case(Firmware::Manual, Info::SocketClosed, "\r\nOK_Info_SocketClosed\r\n")]
    fn info_spelling_by_profile(#[case] firmware: Firmware, #[case] info: Info, #[case] expected: &str) {
        let mut out = Vec::new();
        Format { verbose: true, quiet: false, cmee: 1, firmware }.final_result(&mut out, Final::Info(info));
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn information_lines() {
        assert_eq!(information("#ISPPW: \"x\""), Some(("#ISPPW".into(), 8..11)));
        assert_eq!(information("+CSQ: 20,99").map(|i| i.0), Some("+CSQ".into()));
        assert_eq!(information("#STATE:x"), None);
        assert_eq!(information("OK"), None);
    }
}
