//! Error codes: chapter 9's `#CME ERROR` table of the IP stack (p.42, the
//! rest of the table on p.43 was not recovered) and the 3GPP TS 27.007 §9.2
//! `+CME ERROR` codes the GSM core reports.
//!
//! Each code is one variant; its number, its description as printed and
//! where it was read live in [`StackError::info`], so no number is written
//! anywhere else.

/// Where a code was read (the digest's source tags, or the local pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The chapter 9 table of the manual (digest tag `[D]`).
    Digest,
    /// The one-page library extract of chapter 9 (digest tag `[1lib]`).
    OneLib,
    /// The response tables of the local pages 1-24 (PDF text).
    Local,
    /// The manual's revision history (rev B/C/D).
    Revision,
    /// Public driver code only (digest tag `[code]`), not the manual.
    Code,
}

impl Source {
    /// The digest's tag for this source.
    pub fn tag(self) -> &'static str {
        match self {
            Source::Digest => "[D]",
            Source::OneLib => "[1lib]",
            Source::Local => "[local]",
            Source::Revision => "[rev]",
            Source::Code => "[code]",
        }
    }
}

/// What the table says about one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    pub code: u32,
    /// As printed (typos kept: "Command to long").
    pub description: &'static str,
    /// The printed page where the code is listed, if recovered.
    pub page: Option<u16>,
    pub source: Source,
}

macro_rules! stack_errors {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $page:expr, $source:ident, $text:literal;)*) => {
        /// A `#CME ERROR: <code>` of the IP stack (ch. 9, p.42).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum StackError {
            $($(#[$doc])* $variant,)*
        }

        impl StackError {
            /// Every code, in the order of the table.
            pub const ALL: &'static [StackError] = &[$(StackError::$variant),*];

            pub fn info(self) -> CodeInfo {
                match self {
                    $(StackError::$variant => CodeInfo {
                        code: $code,
                        description: $text,
                        page: $page,
                        source: Source::$source,
                    },)*
                }
            }
        }
    };
}

stack_errors! {
    UnknownCommand = 34817, Some(42), Digest, "Bad command : Unknown command";
    SyntaxError = 34819, Some(42), Digest, "Bad command : Syntax error";
    EepromWriteFailed = 34824, Some(42), Digest, "Bad command : EEPROM write failed";
    /// Printed "Command to long" (sic); also used for a string over its limit.
    CommandTooLong = 34881, Some(42), Digest, "Bad command : Command to long";
    BadArgumentValue = 34882, Some(42), Digest, "Bad command : Bad command argument value";
    AlreadyRunning = 35840, Some(42), Digest, "Physical layer : Modem is already running";
    GprsSessionLost = 35841, Some(42), Digest, "Physical layer : GPRS session lost";
    InactivityTimeout = 35862, Some(42), Digest, "Physical layer : Timeout, no activity on network connection";
    NotAttached = 35865, Some(42), Digest, "Physical layer : Module is not attached to the network";
    InvalidActivationEvent = 35866, Some(42), Digest, "Physical layer : Invalid event during activation process";
    NotActive = 35867, Some(42), OneLib, "Physical layer : Physical layer connection is currently not active";
    /// Driver code (`[code]`) calls it "Check APN".
    GprsAborted = 35868, Some(42), OneLib, "Physical layer : GPRS connection aborted";
    InvalidCallType = 35869, Some(42), OneLib, "Physical layer : Invalid incoming call type";
    CliNotProvided = 35870, Some(42), OneLib, "Physical layer : Incoming call CLI not provided";
    ResourceUnavailable = 36872, Some(42), OneLib,
        "IP Connectivity library internal error : internal resource unavailable.";
    BadConfiguration = 36929, Some(42), OneLib, "IP Connectivity library : Bad parameter configuration attempt";
    /// The printed text is cut after "(clie".
    PppFailed = 37120, Some(42), OneLib, "IP Connectivity library : PPP negotiation failed (clie";
    /// Listed only in the `#CONNECTIONSTART` table (p.14) as a PPP failure.
    PppFailed37121 = 37121, Some(14), Local, "The PPP negotiation has failed (check ISPUN, ISPPW, PPPMODE)";
    /// Listed only in the `#CONNECTIONSTART` table (p.14) as a PPP failure.
    PppFailed28980 = 28980, Some(14), Local, "The PPP negotiation has failed (check ISPUN, ISPPW, PPPMODE)";
    /// Listed only in the `#CONNECTIONSTART` table (p.14) as a PPP failure.
    PppFailed28981 = 28981, Some(14), Local, "The PPP negotiation has failed (check ISPUN, ISPPW, PPPMODE)";
    ServiceRunning = 37123, None, Revision, "IP Connectivity library: Service is running. Unable to set parameter";
    /// App. B p.68, in context rather than the table.
    SmtpTimeout = 37964, Some(68), Digest, "No answer from the SMTP server after 3 minutes; sending is aborted";
    ClosedByPeer = 37966, None, Code, "Session closed by peer";
    TcpOpenFailed = 38016, None, Code, "TCP open failed";
    /// Every service's command table.
    NotResolved = 38027, None, Digest, "The server name could not be resolved (DNS)";
    OpenGprsFailed = 49155, None, Code, "Open GPRS session request failed";
}

impl StackError {
    pub fn code(self) -> u32 {
        self.info().code
    }

    pub fn from_code(code: u32) -> Option<StackError> {
        StackError::ALL.iter().copied().find(|e| e.code() == code)
    }

    /// The PPP failures `#CONNECTIONSTART` may answer (p.14: "only one
    /// response at a time").
    pub const PPP_FAILURES: &'static [StackError] =
        &[StackError::PppFailed, StackError::PppFailed37121, StackError::PppFailed28980, StackError::PppFailed28981];
}

/// What the stack answers in a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `#CME ERROR: <code>` (or `ERROR` without `AT+CMEE=1`).
    Stack(StackError),
    /// Plain `ERROR`.
    Error,
}

/// How a choice of answer is backed (the scenario language's basis words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceBasis {
    /// An educated guess: the nearest documented meaning.
    Inferred,
    /// Seen in driver code for real units (`[code]`).
    RealDevice,
    /// Neither the manual nor devices settle it: this project decided.
    ProjectChoice,
}

/// A condition whose answer the recovered manual does not print: the one
/// place where the emulator's choice of code is made, with its reason. A
/// code is never used for a meaning chapter 9 gives another; where the
/// manual's code for a condition was not recovered, the nearest documented
/// meaning is chosen and marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// A set with a value outside the parameter's domain.
    ValueOutOfRange,
    /// A set that does not parse (unbalanced quotes, nothing after `=`).
    MalformedSet,
    /// One string value longer than its parameter allows (p.17-20 print the limits).
    ValueTooLong,
    /// A whole command line longer than the line buffer.
    LineTooLong,
    /// A socket id other than 1 or 2 (rev C, p.30).
    BadSocketId,
    /// A service asked to start while another runs (p.31-32: "no other
    /// process using TCP resources").
    SecondService,
    /// A service started with a configuration it cannot use (TCPPORT 0, a
    /// listening TCPSERV that is not an address, no server).
    UnusableConfiguration,
    /// A listening socket that cannot listen (port in use on the host).
    CannotListen,
    /// A TCP connection that cannot be opened.
    TcpOpenFailed,
    /// A UDP session that cannot be created, or a datagram that cannot be
    /// sent (p.36: "#CME ERROR: <value>", the value not recovered).
    UdpSessionFailed,
    /// Echo requests that cannot be sent (p.38: "#CME ERROR: <value>" for
    /// an error during the requests, the value not recovered).
    PingFailed,
    /// A service command of ch. 3-7 this emulator version does not model.
    ServiceNotModelled,
    /// The FTP control connection cannot be opened (refused, unreachable).
    FtpConnectFailed,
    /// The FTP server refuses FTPUN/FTPPW (`530`, `332`).
    FtpLoginRefused,
    /// The FTP server refuses the path or file (`550`, `450`, `553`).
    FtpFileRefused,
    /// Any other refusal or reply the FTP client cannot use (`5xx`, a
    /// malformed reply, a `227` without an address).
    FtpCommandRefused,
    /// A transient refusal of the FTP server (`4xx` but `421`, `425`, `426`).
    FtpServerBusy,
    /// The FTP data connection cannot be opened or breaks (`PORT`/`PASV`
    /// refused, `425`, `426`, the connection refused or closed early).
    FtpDataFailed,
    /// The FTP server closes the control connection before the end (`421`,
    /// or the connection drops).
    FtpServerClosed,
    /// The FTP server does not answer in time.
    FtpTimeout,
    /// A mail server turned down what the unit's parameters say (p.21-23
    /// list invalid SMTPUN/SMTPPW, POP3UN/POP3PW and REC1/CCREC1 addresses):
    /// AUTH, USER/PASS, EHLO and HELO with DOMAIN, MAIL FROM, RCPT TO.
    MailParameterRefused,
    /// A mail server refused to serve: a greeting that is not 220 / `+OK`,
    /// a 421, DATA or the message refused, RETR or DELE refused.
    MailServerRefused,
    /// A mail server closed the connection in the middle of the dialogue.
    MailPeerClosed,
    /// A POP3 server that does not answer within the time an SMTP server
    /// has (p.68: 3 minutes).
    Pop3NoAnswer,
    /// `#PUTMAIL`: nothing from the host for 50 seconds in data mode (p.23).
    PutMailHostSilent,
}

/// The choice made for a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub answer: Answer,
    pub basis: ChoiceBasis,
    pub why: &'static str,
}

impl Condition {
    pub const ALL: &'static [Condition] = &[
        Condition::ValueOutOfRange,
        Condition::MalformedSet,
        Condition::ValueTooLong,
        Condition::LineTooLong,
        Condition::BadSocketId,
        Condition::SecondService,
        Condition::UnusableConfiguration,
        Condition::CannotListen,
        Condition::TcpOpenFailed,
        Condition::UdpSessionFailed,
        Condition::PingFailed,
        Condition::ServiceNotModelled,
        Condition::FtpConnectFailed,
        Condition::FtpLoginRefused,
        Condition::FtpFileRefused,
        Condition::FtpCommandRefused,
        Condition::FtpServerBusy,
        Condition::FtpDataFailed,
        Condition::FtpServerClosed,
        Condition::FtpTimeout,
        Condition::MailParameterRefused,
        Condition::MailServerRefused,
        Condition::MailPeerClosed,
        Condition::Pop3NoAnswer,
        Condition::PutMailHostSilent,
    ];

    pub fn choice(self) -> Choice {
        use Answer::Stack;
        use ChoiceBasis::*;
        let (answer, basis, why) = match self {
            Condition::ValueOutOfRange => (
                Stack(StackError::BadArgumentValue),
                Inferred,
                "34882 reads \"Bad command argument value\"; no recovered page says which code a bad set answers",
            ),
            Condition::MalformedSet => (
                Stack(StackError::SyntaxError),
                Inferred,
                "34819 reads \"Syntax error\"; no recovered page says which code a malformed set answers",
            ),
            Condition::ValueTooLong => (
                Stack(StackError::BadArgumentValue),
                Inferred,
                "a value over its printed limit is a bad argument value (34882); 34881 \"Command to long\" \
                 is kept for a command line too long",
            ),
            Condition::LineTooLong => (
                Stack(StackError::CommandTooLong),
                Inferred,
                "34881 reads \"Command to long\" (sic): the command line exceeds the buffer",
            ),
            Condition::BadSocketId => (
                Stack(StackError::BadArgumentValue),
                Inferred,
                "rev C numbers sockets {1,2} (p.2, p.30); another id is a bad argument value",
            ),
            Condition::SecondService => (
                Stack(StackError::ResourceUnavailable),
                Inferred,
                "p.31-32 allow a service only when no other process uses TCP resources; 36872 reads \
                 \"internal resource unavailable\" (37123 is about setting parameters)",
            ),
            Condition::UnusableConfiguration => {
                (Stack(StackError::BadConfiguration), Inferred, "36929 reads \"Bad parameter configuration attempt\"")
            }
            Condition::CannotListen => (
                Stack(StackError::ResourceUnavailable),
                Inferred,
                "the listening port is not available: 36872 \"internal resource unavailable\"",
            ),
            Condition::TcpOpenFailed => (
                Stack(StackError::TcpOpenFailed),
                RealDevice,
                "driver code names 38016 \"TCP open failed\" ([code]); the #OTCP error rows are not recovered",
            ),
            Condition::UdpSessionFailed => (
                Stack(StackError::ResourceUnavailable),
                Inferred,
                "p.36 prints \"#CME ERROR: <value>\" for an error while creating the UDP session without the \
                 value; the socket could not be had: 36872 \"internal resource unavailable\"",
            ),
            Condition::PingFailed => (
                Stack(StackError::ResourceUnavailable),
                Inferred,
                "p.38 prints \"#CME ERROR: <value>\" for an error during the echo requests without the value; \
                 the stack could not send them: 36872 \"internal resource unavailable\"",
            ),
            Condition::ServiceNotModelled => (
                Answer::Error,
                ProjectChoice,
                "the unit would run the service; this emulator version does not model it and says so on \
                 stderr, answering a plain ERROR rather than any code that means something else",
            ),
            // FTP (p.28-29): the tables print 38027 and "#CME ERROR: <value>:
            // connection to the FTP server failed, see ch. 9"; the rest of
            // the note and the FTP codes of p.43 were not recovered.
            Condition::FtpConnectFailed => (
                Stack(StackError::TcpOpenFailed),
                Inferred,
                "p.28/29 answer a failed connection to the FTP server with a ch. 9 code; driver code names \
                 38016 \"TCP open failed\" ([code]), and the control connection is a TCP open",
            ),
            Condition::FtpLoginRefused => (
                Stack(StackError::BadConfiguration),
                Inferred,
                "the server refuses FTPUN/FTPPW: the parameters configured for the login are wrong, 36929 \
                 \"Bad parameter configuration attempt\"",
            ),
            Condition::FtpFileRefused => (
                Stack(StackError::BadConfiguration),
                Inferred,
                "the server refuses the configured path or file name (FTPGETPATH, FTPGETFILENAME, \
                 FTPPUTPATH, FTPPUTFILENAME): 36929 \"Bad parameter configuration attempt\"",
            ),
            Condition::FtpCommandRefused => (
                Stack(StackError::BadConfiguration),
                Inferred,
                "the server permanently refuses what the configuration asks (FTPTYPE, FTPMODE) or answers \
                 what the client cannot use: 36929 \"Bad parameter configuration attempt\"",
            ),
            Condition::FtpServerBusy => (
                Stack(StackError::ResourceUnavailable),
                Inferred,
                "a transient refusal (4xx: file busy, insufficient storage, local error) is a resource that \
                 is not available now: 36872 \"internal resource unavailable\"",
            ),
            Condition::FtpDataFailed => (
                Stack(StackError::TcpOpenFailed),
                Inferred,
                "the data connection is a second TCP connection of the transfer; when it cannot be opened \
                 or breaks, 38016 \"TCP open failed\" ([code]) is the nearest meaning",
            ),
            Condition::FtpServerClosed => (
                Stack(StackError::ClosedByPeer),
                Inferred,
                "driver code names 37966 \"Session closed by peer\" ([code], [code2]) for a peer that \
                 closes; the FTP server closing the control connection before the end is that",
            ),
            Condition::FtpTimeout => (
                Stack(StackError::InactivityTimeout),
                Inferred,
                "the server does not answer within the client's wait: 35862 \"Timeout, no activity on \
                 network connection\"",
            ),
            Condition::MailParameterRefused => (
                Stack(StackError::BadConfiguration),
                Inferred,
                "p.21-23 name invalid credentials and recipient addresses among the causes of \
                 `#CME ERROR: <value>` without the value; the nearest printed meaning is 36929 \
                 \"Bad parameter configuration attempt\": the configured parameter is what the server refused",
            ),
            Condition::MailServerRefused => (
                Stack(StackError::ClosedByPeer),
                Inferred,
                "p.22 names a server \"temporarily out of service\" without its code; a server that refuses \
                 the session, the DATA or the message ends the exchange from its side, which is the meaning \
                 driver code gives 37966 (\"Session closed by peer\", [code], [code2])",
            ),
            Condition::MailPeerClosed => (
                Stack(StackError::ClosedByPeer),
                RealDevice,
                "driver code maps 37966 to \"Session closed by peer\" ([code], [code2]); the mail tables print \
                 only `#CME ERROR: <value>`",
            ),
            Condition::Pop3NoAnswer => (
                Stack(StackError::InactivityTimeout),
                Inferred,
                "only the SMTP server's 3 minutes are printed (p.68, 37964, whose text names the SMTP server); \
                 35862 reads \"Timeout, no activity on network connection\", which is what a silent POP3 \
                 server is",
            ),
            Condition::PutMailHostSilent => (
                Stack(StackError::InactivityTimeout),
                Inferred,
                "p.23 lists \"an inactivity period of 50 seconds on the serial port\" among #PUTMAIL's errors \
                 without its code; 35862 \"Timeout, no activity\" is the only printed inactivity timeout \
                 (its text says network connection: the nearest meaning, not the same)",
            ),
        };
        Choice { answer, basis, why }
    }
}

/// A `+CME ERROR: <code>` of the GSM core (3GPP TS 27.007 §9.2), the ones
/// the emulated core reports and public driver code handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmeError {
    OperationNotAllowed,
    SimNotInserted,
    SimPinRequired,
    SimPukRequired,
    SimFailure,
    IncorrectPassword,
    NoNetworkService,
    /// Wavecom: "operation in progress" (drivers retry).
    InProgress,
}

impl CmeError {
    pub const ALL: &'static [CmeError] = &[
        CmeError::OperationNotAllowed,
        CmeError::SimNotInserted,
        CmeError::SimPinRequired,
        CmeError::SimPukRequired,
        CmeError::SimFailure,
        CmeError::IncorrectPassword,
        CmeError::NoNetworkService,
        CmeError::InProgress,
    ];

    pub fn code(self) -> u32 {
        match self {
            CmeError::OperationNotAllowed => 3,
            CmeError::SimNotInserted => 10,
            CmeError::SimPinRequired => 11,
            CmeError::SimPukRequired => 12,
            CmeError::SimFailure => 13,
            CmeError::IncorrectPassword => 16,
            CmeError::NoNetworkService => 30,
            CmeError::InProgress => 515,
        }
    }

    /// 27.007's wording.
    pub fn description(self) -> &'static str {
        match self {
            CmeError::OperationNotAllowed => "operation not allowed",
            CmeError::SimNotInserted => "SIM not inserted",
            CmeError::SimPinRequired => "SIM PIN required",
            CmeError::SimPukRequired => "SIM PUK required",
            CmeError::SimFailure => "SIM failure",
            CmeError::IncorrectPassword => "incorrect password",
            CmeError::NoNetworkService => "no network service",
            CmeError::InProgress => "operation in progress",
        }
    }

    pub fn from_code(code: u32) -> Option<CmeError> {
        CmeError::ALL.iter().copied().find(|e| e.code() == code)
    }
}

/// A `+CMS ERROR: <code>` of the short message service (3GPP TS 27.005
/// §3.2.5), the ones the emulated core reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmsError {
    OperationNotAllowed,
    InvalidPduParameter,
    InvalidTextParameter,
    SimNotInserted,
    SimPinRequired,
    SimFailure,
    InvalidMemoryIndex,
    MemoryFull,
    ScAddressUnknown,
    NoNetworkService,
}

impl CmsError {
    pub fn code(self) -> u32 {
        match self {
            CmsError::OperationNotAllowed => 302,
            CmsError::InvalidPduParameter => 304,
            CmsError::InvalidTextParameter => 305,
            CmsError::SimNotInserted => 310,
            CmsError::SimPinRequired => 311,
            CmsError::SimFailure => 313,
            CmsError::InvalidMemoryIndex => 321,
            CmsError::MemoryFull => 322,
            CmsError::ScAddressUnknown => 330,
            CmsError::NoNetworkService => 331,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_condition_has_a_reasoned_choice() {
        for c in Condition::ALL {
            let choice = c.choice();
            assert!(choice.why.len() > 20, "{c:?}");
            // A code is chosen for the meaning chapter 9 prints for it.
            if let Answer::Stack(e) = choice.answer {
                assert!(!e.info().description.is_empty(), "{c:?}");
            }
        }
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for e in StackError::ALL {
            assert!(seen.insert(e.code()), "{e:?}: duplicate {}", e.code());
            assert_eq!(StackError::from_code(e.code()), Some(*e));
            assert!(!e.info().description.is_empty());
        }
        for e in CmeError::ALL {
            assert_eq!(CmeError::from_code(e.code()), Some(*e));
        }
        assert_eq!(StackError::from_code(1), None);
    }

    /// Every code of the table has its `error.<code>` entry in the manual
    /// index, and the reverse (the index is the coverage checklist).
    #[test]
    fn every_code_is_in_the_manual_index() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/manual-index.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let ids: HashSet<&str> = text.lines().filter_map(|l| l.trim().strip_prefix("- id: error.")).collect();
        for e in StackError::ALL {
            assert!(ids.contains(e.code().to_string().as_str()), "error.{} is not in the index", e.code());
        }
        for e in
            CmeError::ALL.iter().filter(|e| **e != CmeError::IncorrectPassword && **e != CmeError::NoNetworkService)
        {
            assert!(ids.contains(format!("cme-{}", e.code()).as_str()), "error.cme-{} is not in the index", e.code());
        }
    }
}
