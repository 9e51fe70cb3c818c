//! Result codes and their framing (manual ch. 9 and App. B p.49).
//!
//! - Final result codes obey `ATQ` (suppressed when quiet) and `ATV`
//!   (verbose `<CR><LF>text<CR><LF>`, numeric `<CR>code<CR>` as p.49 prints it).
//! - Information text of the GSM core is framed like a verbose result
//!   (`<CR><LF>+CSQ: 20,99<CR><LF>`), or `text<CR><LF>` when numeric.
//! - Information text of the IP stack (`#X: value`, p.49) is `text<CR><LF>`
//!   with no leading `<CR><LF>`, followed by the framed final result.
//! - Stack errors are `#CME ERROR: <code>` (with `#`, every table of the
//!   manual) when `AT+CMEE=1`, plain `ERROR` otherwise: real-device driver
//!   code sends `AT+CMEE=1` "to enable #CME ERROR messages".

/// A final result code or stack information message.
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
    /// Information messages of ch. 9 §"Response Messages". Spelled as real
    /// units print them (`Ok_Info_…`, public driver code); the manual prints
    /// `OK_Info_…` (a known erratum recorded in the scenarios).
    Info(Info),
}

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
            Final::Info(i) => match i {
                Info::DataBegin => "Ok_Info_DataBegin",
                Info::WaitingForData => "Ok_Info_WaitingForData",
                Info::SocketClosed => "Ok_Info_SocketClosed",
                Info::NoMail => "Ok_Info_NoMail",
                Info::Mail => "Ok_Info_Mail",
                Info::Ppp => "Ok_Info_PPP",
                Info::GprsActivation => "Ok_Info_GprsActivation",
            }
            .into(),
        }
    }

    /// Numeric code (ATV0), ch. 9 tables.
    pub fn code(self) -> u32 {
        match self {
            Final::Ok => 0,
            Final::Connect(speed) => match speed {
                300 => 10,
                1200 => 11,
                2400 => 13,
                4800 => 14,
                9600 => 15,
                14400 => 16,
                _ => 1,
            },
            Final::Connect1200_75 => 12,
            Final::Ring => 2,
            Final::NoCarrier => 3,
            Final::Error => 4,
            Final::NoAnswer => 8,
            Final::Busy => 7,
            Final::Info(i) => match i {
                Info::DataBegin => 1025,
                Info::WaitingForData => 1028,
                Info::SocketClosed => 3074,
                Info::NoMail => 3072,
                Info::Mail => 3073,
                Info::Ppp => 3077,
                Info::GprsActivation => 3086,
            },
        }
    }
}

/// The framing state the result writer needs.
#[derive(Debug, Clone, Copy)]
pub struct Format {
    pub verbose: bool,
    pub quiet: bool,
    pub cmee: u8,
}

impl Format {
    pub fn final_result(self, out: &mut Vec<u8>, r: Final) {
        if self.quiet {
            return;
        }
        if self.verbose {
            out.extend_from_slice(format!("\r\n{}\r\n", r.text()).as_bytes());
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
    pub fn stack_error(self, out: &mut Vec<u8>, code: u32) {
        self.cme_error(out, '#', code);
    }

    /// A GSM core error (3GPP TS 27.007 `+CME ERROR`), per `AT+CMEE`.
    pub fn gsm_error(self, out: &mut Vec<u8>, code: u32) {
        self.cme_error(out, '+', code);
    }

    fn cme_error(self, out: &mut Vec<u8>, prefix: char, code: u32) {
        if self.cmee == 0 {
            return self.final_result(out, Final::Error);
        }
        if self.quiet {
            return;
        }
        if self.verbose {
            out.extend_from_slice(format!("\r\n{prefix}CME ERROR: {code}\r\n").as_bytes());
        } else {
            // p.49 prints "[CR]#CME ERROR: Value [CR][LF]" in the numeric column.
            out.extend_from_slice(format!("\r{prefix}CME ERROR: {code}\r\n").as_bytes());
        }
    }
}
