//! Chapter 3, sending mail over SMTP: `AT#SENDMAIL1..3` (p.22) and
//! `AT#PUTMAIL` (p.23, App. B p.50 and p.68).
//!
//! What the host sees:
//! - `#SENDMAILi`: nothing until the mail built from RECi, CCRECi, SUBJi and
//!   BODYi has been taken by the server, then `OK` (p.22), or
//!   `#CME ERROR: <value>`. No data mode (digest §10 B.9).
//! - `#PUTMAIL`: `Ok_Info_WaitingForData` once the SMTP session is open
//!   (p.23); the body the host types is not echoed and goes to the server;
//!   `<CR><LF>.<CR><LF>` ends it (p.23, p.50); `OK` when the server took the
//!   mail. An error after `Ok_Info_WaitingForData` is a `#CME ERROR`
//!   **not** preceded by `<CR><LF>.<CR><LF>` (p.50). Fifty seconds without a
//!   byte from the host abort the mail (p.23).
//! - A server that does not answer within 3 minutes: `#CME ERROR: 37964`
//!   (p.68); a name that cannot be resolved: `#CME ERROR: 38027` (p.22-23).
//!   The other codes are chosen in [`crate::at::codes::Condition`]
//!   (`MailParameterRefused`, `MailServerRefused`, `MailPeerClosed`,
//!   `TcpOpenFailed`, `PutMailHostSilent`).
//!
//! The dialogue with the server is **inferred** (the manual prints none):
//! RFC 5321 as a 2003 embedded client would speak it. Greeting 220; `EHLO
//! <DOMAIN>`, and `HELO <DOMAIN>` if EHLO is refused with 5xx (RFC 5321
//! §3.2); when SMTPUN and SMTPPW are both set, AUTH LOGIN (p.20 says
//! authentication is then "active" but not how: LOGIN is inferred, the
//! mechanism of that era's embedded clients, with user and password in
//! base64); `MAIL FROM:<SENDERADDR>`; one `RCPT TO:` per address, To first
//! then Cc; `DATA`; the header ([`super::mail::header`]), the body
//! dot-stuffed, `.`; `QUIT`. SMTPAUTH (seen on real units only) changes
//! nothing here: p.20 switches authentication on by SMTPUN and SMTPPW.
//!
//! Also inferred: `Ok_Info_WaitingForData` comes after the server's 354 to
//! DATA (the body can then go straight to the server, so a refused
//! recipient is reported before data mode); a DOMAIN left empty is sent as
//! the unit's address literal (`EHLO [10.64.0.2]`, RFC 5321 §4.1.3);
//! SENDERADDR, SMTPSERV and at least one recipient are required (36929
//! before connecting otherwise); `#PUTMAIL` bytes are sent as typed, with
//! dot-stuffing only, and the header ends with its empty line before them,
//! as p.23 says the data "is sent within the email body". (One real-device
//! driver [code2] starts its `#PUTMAIL` data with a `Content-type:` line, as
//! if its first lines were header lines: a physical unit would settle it.)

use std::time::Instant;

use super::data_mode::{Coding, DataMode};
use super::mail::{self, Deadline, DotStuffer, Fault, Lines, SMTP_SOCKET};
use super::Running;
use crate::at::codes::{Condition, StackError};
use crate::at::parameters::{
    Parameter, Value, BODY1, BODY2, BODY3, CCREC1, CCREC2, CCREC3, DOMAIN, REC1, REC2, REC3, SENDERADDR, SENDERNAME,
    SMTPPORT, SMTPPW, SMTPSERV, SMTPUN, SUBJ1, SUBJ2, SUBJ3,
};
use crate::at::response::{Final, Info};
use crate::emulator::net::{Event, Failure, Request};
use crate::emulator::radio::Session;
use crate::emulator::{Error, Mode, Modem, Outcome};

/// How `#PUTMAIL` body bytes are held before they go (the TCPTXDELAY
/// default, p.31; inferred: no mail parameter sets it).
const BODY_TXDELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// Which command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `#SENDMAILi`, i in 1..=3.
    SendMail(u8),
    /// `#PUTMAIL`.
    PutMail,
}

/// What the unit sends the server, fixed when the command starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// For EHLO/HELO.
    pub domain: String,
    /// SMTPUN and SMTPPW, when both are set (p.20).
    pub auth: Option<(String, String)>,
    pub sender: String,
    /// To, then Cc.
    pub recipients: Vec<String>,
}

/// Where the dialogue is: what the last command sent waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Greeting,
    Ehlo,
    Helo,
    AuthLogin,
    AuthUser,
    AuthPassword,
    MailFrom,
    /// `RCPT TO` of recipient i.
    Rcpt(usize),
    Data,
    /// The server takes the message text (after 354).
    Message,
    /// The message has been sent whole; its reply is due.
    EndOfData,
    Done,
}

/// What the client does after a server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this command and wait for its reply.
    Send(Vec<u8>),
    /// The server waits for the message (354).
    Message,
    /// The server took the message.
    Accepted,
    /// The server refused: the dialogue ends with this condition.
    Refused(Condition),
}

/// The SMTP dialogue, sans IO: replies in, commands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpClient {
    envelope: Envelope,
    phase: Phase,
}

impl SmtpClient {
    pub fn new(envelope: Envelope) -> SmtpClient {
        SmtpClient { envelope, phase: Phase::Greeting }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The whole message has been sent: its reply is due.
    pub fn message_sent(&mut self) {
        self.phase = Phase::EndOfData;
    }

    /// A complete reply with this code.
    pub fn reply(&mut self, code: u16) -> Step {
        use Phase::*;
        // 421: the server is closing the channel, whatever was asked.
        if code == 421 {
            return self.refuse(Condition::MailServerRefused);
        }
        // A command that carries a parameter refused for good (5xx) is a
        // refused parameter; a transient refusal (4xx) is the server's.
        let refused =
            if (500..600).contains(&code) { Condition::MailParameterRefused } else { Condition::MailServerRefused };
        match (self.phase, code) {
            (Greeting, 220) => self.send(Ehlo, format!("EHLO {}", self.envelope.domain)),
            (Greeting, _) => self.refuse(Condition::MailServerRefused),
            (Ehlo, 250) | (Helo, 250) => self.after_hello(),
            (Ehlo, 500..=599) => self.send(Helo, format!("HELO {}", self.envelope.domain)),
            (AuthLogin, 334) => {
                let user = self.envelope.auth.as_ref().map(|(u, _)| mail::base64(u.as_bytes())).unwrap_or_default();
                self.send(AuthUser, user)
            }
            (AuthUser, 334) => {
                let pw = self.envelope.auth.as_ref().map(|(_, p)| mail::base64(p.as_bytes())).unwrap_or_default();
                self.send(AuthPassword, pw)
            }
            (AuthPassword, 235) => self.mail_from(),
            (MailFrom, 250) => self.rcpt(0),
            (Rcpt(i), 250 | 251) => self.rcpt(i + 1),
            (Data, 354) => {
                self.phase = Message;
                Step::Message
            }
            (Data, _) => self.refuse(Condition::MailServerRefused),
            (EndOfData, 250) => {
                self.phase = Done;
                Step::Accepted
            }
            (Ehlo | Helo | AuthLogin | AuthUser | AuthPassword | MailFrom | Rcpt(_), _) => self.refuse(refused),
            // The message refused, or a reply nothing asked for.
            (EndOfData | Message | Done, _) => self.refuse(Condition::MailServerRefused),
        }
    }

    fn send(&mut self, phase: Phase, line: String) -> Step {
        self.phase = phase;
        Step::Send(format!("{line}\r\n").into_bytes())
    }

    fn refuse(&mut self, c: Condition) -> Step {
        self.phase = Phase::Done;
        Step::Refused(c)
    }

    fn after_hello(&mut self) -> Step {
        if self.envelope.auth.is_some() {
            self.send(Phase::AuthLogin, "AUTH LOGIN".into())
        } else {
            self.mail_from()
        }
    }

    fn mail_from(&mut self) -> Step {
        self.send(Phase::MailFrom, format!("MAIL FROM:<{}>", self.envelope.sender))
    }

    fn rcpt(&mut self, i: usize) -> Step {
        match self.envelope.recipients.get(i) {
            Some(to) => {
                let line = format!("RCPT TO:<{to}>");
                self.send(Phase::Rcpt(i), line)
            }
            None => self.send(Phase::Data, "DATA".into()),
        }
    }
}

/// The SMTP service while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    command: Command,
    client: SmtpClient,
    connected: bool,
    replies: Lines,
    /// The header, then (`#SENDMAILi`) the body, for when DATA is accepted.
    header: Vec<u8>,
    body: Option<Vec<u8>>,
    /// `#PUTMAIL` data mode, while the host types the body.
    data: Option<DataMode>,
    stuffer: DotStuffer,
    /// When the host last typed a body byte.
    last_byte: Option<Instant>,
}

impl Smtp {
    pub(super) fn describe(&self) -> String {
        let what = match self.command {
            Command::SendMail(i) => format!("#SENDMAIL{i}"),
            Command::PutMail => "#PUTMAIL".into(),
        };
        format!("SMTP {what} ({:?})", self.client.phase())
    }

    pub(super) fn data_mode(&mut self) -> Option<&mut DataMode> {
        self.data.as_mut()
    }
}

impl Modem {
    /// `AT#SENDMAIL1..3` and `AT#PUTMAIL` (p.22-23): check the session and
    /// the parameters, connect to SMTPSERV:SMTPPORT; the answer comes later.
    pub(crate) fn smtp_command(&mut self, command: Command) -> Outcome {
        let Session::Connected { my_ip, .. } = &self.radio.session else {
            return Outcome::Error(Error::Stack(StackError::NotActive));
        };
        let my_ip = my_ip.clone();
        if self.service.is_some() {
            return Modem::answer(Condition::SecondService);
        }
        let i = match command {
            Command::SendMail(i) => i,
            Command::PutMail => 1,
        };
        let idx = usize::from(i - 1);
        let to = mail::addresses(&self.param([&REC1, &REC2, &REC3][idx], None));
        let cc = self.text([&CCREC1, &CCREC2, &CCREC3][idx]);
        let subject = self.text([&SUBJ1, &SUBJ2, &SUBJ3][idx]);
        let sender = self.text(&SENDERADDR);
        let server = self.text(&SMTPSERV);
        let port = match self.param(&SMTPPORT, None) {
            Value::Int(p) if p > 0 => p as u16,
            _ => 0,
        };
        if to.is_empty() || sender.is_empty() || server.is_empty() || port == 0 {
            return Modem::answer(Condition::UnusableConfiguration);
        }
        let (user, pw) = (self.text(&SMTPUN), self.text(&SMTPPW));
        let auth = (!user.is_empty() && !pw.is_empty()).then_some((user, pw));
        let domain = match self.text(&DOMAIN) {
            d if d.is_empty() => format!("[{my_ip}]"),
            d => d,
        };
        let mut recipients = to.clone();
        if !cc.is_empty() {
            recipients.push(cc.clone());
        }
        let header = mail::header(&self.text(&SENDERNAME), &sender, &to, &cc, &subject);
        let body = match command {
            Command::SendMail(i) => Some(mail::crlf_lines(&self.text([&BODY1, &BODY2, &BODY3][usize::from(i - 1)]))),
            Command::PutMail => None,
        };
        let client = SmtpClient::new(Envelope { domain, auth, sender, recipients });
        let smtp = Smtp {
            command,
            client,
            connected: false,
            replies: Lines::default(),
            header,
            body,
            data: None,
            stuffer: DotStuffer::default(),
            last_byte: None,
        };
        self.net_requests.push(Request::Connect { socket: SMTP_SOCKET, host: server, port });
        self.set_service(Some(Running::Smtp(Box::new(smtp))), "SMTP connecting");
        self.set_mode(Mode::Busy, "SMTP dialogue");
        Outcome::Deferred
    }

    fn text(&self, p: &Parameter) -> String {
        mail::text(&self.param(p, None))
    }

    fn smtp(&mut self) -> Option<&mut Smtp> {
        match &mut self.service {
            Some(Running::Smtp(s)) => Some(s),
            _ => None,
        }
    }

    /// What the network did to the SMTP connection.
    pub(super) fn smtp_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Connected { socket: SMTP_SOCKET, peer } => {
                tracing::debug!(%peer, "SMTP connected");
                if let Some(s) = self.smtp() {
                    s.connected = true;
                }
                self.arm_mail_deadline(Deadline::ServerAnswer, now);
            }
            Event::Data { socket: SMTP_SOCKET, bytes } => {
                let Some(s) = self.smtp() else { return };
                s.replies.push(&bytes);
                while let Some(code) = self.smtp().and_then(|s| next_reply(&mut s.replies)) {
                    self.smtp_reply(code, now);
                }
            }
            Event::PeerClosed { socket: SMTP_SOCKET } => {
                self.smtp_end(Err(Fault::Condition(Condition::MailPeerClosed)), false, now);
            }
            Event::Failed { socket: SMTP_SOCKET, failure, cause } => {
                tracing::info!(?failure, "SMTP: {cause}");
                let connected = self.smtp().is_some_and(|s| s.connected);
                let fault = match failure {
                    Failure::Resolve => Fault::Code(StackError::NotResolved),
                    _ if connected => Fault::Condition(Condition::MailPeerClosed),
                    _ => Fault::Condition(Condition::TcpOpenFailed),
                };
                self.smtp_end(Err(fault), false, now);
            }
            // Events of other sockets and queries are not this service's.
            _ => {}
        }
    }

    fn smtp_reply(&mut self, code: u16, now: Instant) {
        let Some(s) = self.smtp() else { return };
        let step = s.client.reply(code);
        tracing::debug!(code, ?step, "SMTP reply");
        match step {
            Step::Send(bytes) => {
                self.net_requests.push(Request::Send { socket: SMTP_SOCKET, bytes });
                self.arm_mail_deadline(Deadline::ServerAnswer, now);
            }
            Step::Message => self.smtp_message(now),
            Step::Accepted => self.smtp_end(Ok(()), true, now),
            Step::Refused(c) => self.smtp_end(Err(Fault::Condition(c)), true, now),
        }
    }

    /// DATA accepted: the header, then the body (`#SENDMAILi`) or the host's
    /// data mode (`#PUTMAIL`).
    fn smtp_message(&mut self, now: Instant) {
        let Some(s) = self.smtp() else { return };
        let mut bytes = std::mem::take(&mut s.header);
        match s.body.take() {
            Some(body) => {
                bytes.extend(s.stuffer.push(&body));
                bytes.extend(s.stuffer.finish());
                s.client.message_sent();
                self.net_requests.push(Request::Send { socket: SMTP_SOCKET, bytes });
                self.arm_mail_deadline(Deadline::ServerAnswer, now);
            }
            None => {
                s.data = Some(DataMode::new(Coding::MailBody, BODY_TXDELAY));
                self.net_requests.push(Request::Send { socket: SMTP_SOCKET, bytes });
                let service = self.service.take();
                self.set_service(service, "SMTP DATA accepted: the host types the body");
                self.format().final_result(&mut self.out, Final::Info(Info::WaitingForData));
                self.arm_mail_deadline(Deadline::HostSilence, now);
                // The <LF> of a command line ended by <CR><LF> is not body.
                if self.queued.front() == Some(&b'\n') {
                    self.queued.pop_front();
                }
                self.release_queued(now);
            }
        }
    }

    /// A byte from the host in `#PUTMAIL` data mode: the host is not silent.
    pub(super) fn smtp_host_byte(&mut self, now: Instant) {
        let Some(s) = self.smtp() else { return };
        s.last_byte = Some(now);
        self.arm_mail_deadline(Deadline::HostSilence, now);
    }

    /// Body bytes the host has typed (TXDELAY expired, frame full, end).
    pub(super) fn smtp_body(&mut self, bytes: &[u8]) {
        let Some(s) = self.smtp() else { return };
        let bytes = s.stuffer.push(bytes);
        if !bytes.is_empty() {
            self.net_requests.push(Request::Send { socket: SMTP_SOCKET, bytes });
        }
    }

    /// The host ended the body with `<CR><LF>.<CR><LF>` (p.23).
    pub(super) fn smtp_end_of_body(&mut self) {
        let Some(s) = self.smtp() else { return };
        let end = s.stuffer.finish();
        let last_byte = s.last_byte;
        s.data = None;
        s.client.message_sent();
        self.net_requests.push(Request::Send { socket: SMTP_SOCKET, bytes: end });
        let service = self.service.take();
        self.set_service(service, "the host ended the body");
        self.set_mode(Mode::Busy, "waiting for the server to take the mail");
        // The server's time runs from the last host byte, which ended the body.
        if let Some(at) = last_byte {
            self.arm_mail_deadline(Deadline::ServerAnswer, at);
        }
    }

    pub(super) fn smtp_deadline(&mut self, deadline: Deadline, now: Instant) {
        match deadline {
            Deadline::ServerAnswer => {
                tracing::info!("SMTP server silent for 3 minutes");
                self.smtp_end(Err(Fault::Code(StackError::SmtpTimeout)), false, now);
            }
            Deadline::HostSilence => {
                tracing::info!("#PUTMAIL: the host sent nothing for 50 seconds");
                // Closing without the end of DATA makes the server drop the mail.
                self.smtp_end(Err(Fault::Condition(Condition::PutMailHostSilent)), false, now);
            }
        }
    }

    /// The mail was taken (`OK`) or not (the fault); `quit` says whether the
    /// server still listens for a polite `QUIT` first.
    fn smtp_end(&mut self, result: Result<(), Fault>, quit: bool, now: Instant) {
        if self.smtp().is_none() {
            return;
        }
        if quit {
            self.net_requests.push(Request::Send { socket: SMTP_SOCKET, bytes: b"QUIT\r\n".to_vec() });
        }
        self.net_requests.push(Request::Close { socket: SMTP_SOCKET });
        self.disarm_mail_deadline();
        let why = if result.is_ok() { "the mail was sent" } else { "the mail was not sent" };
        self.set_service(None, why);
        match result {
            Ok(()) => self.format().final_result(&mut self.out, Final::Ok),
            Err(fault) => self.write_fault(fault),
        }
        self.release_queued(now);
    }
}

/// The code of the next complete reply (RFC 5321 §4.2: `ddd-` lines
/// continue, `ddd ` or `ddd` ends); a line that is no reply counts as 500.
fn next_reply(lines: &mut Lines) -> Option<u16> {
    loop {
        let line = lines.next_line()?;
        let code = std::str::from_utf8(line.get(..3)?).ok().and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else { return Some(500) };
        if line.get(3) != Some(&b'-') {
            return Some(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn envelope(auth: bool) -> Envelope {
        Envelope {
            domain: "a2myoper.com".into(),
            auth: auth.then(|| ("mysmtpun".into(), "mysmtppw".into())),
            sender: "toto@myoper.com".into(),
            recipients: vec!["a@x.org".into(), "c@z.org".into()],
        }
    }

    fn sent(step: &Step) -> String {
        match step {
            Step::Send(b) => String::from_utf8_lossy(b).into_owned(),
            other => format!("{other:?}"),
        }
    }

    /// A whole dialogue: each server reply and what the client does next.
    #[rstest]
    #[case::plain(false, &[
        (220, "EHLO a2myoper.com\r\n"), (250, "MAIL FROM:<toto@myoper.com>\r\n"),
        (250, "RCPT TO:<a@x.org>\r\n"), (250, "RCPT TO:<c@z.org>\r\n"), (250, "DATA\r\n"),
        (354, "Message"),
    ])]
    #[case::auth_login(true, &[
        (220, "EHLO a2myoper.com\r\n"), (250, "AUTH LOGIN\r\n"), (334, "bXlzbXRwdW4=\r\n"),
        (334, "bXlzbXRwcHc=\r\n"), (235, "MAIL FROM:<toto@myoper.com>\r\n"),
    ])]
    #[case::helo_fallback(false, &[
        (220, "EHLO a2myoper.com\r\n"), (502, "HELO a2myoper.com\r\n"), (250, "MAIL FROM:<toto@myoper.com>\r\n"),
    ])]
    #[case::greeting_refused(false, &[(554, "Refused(MailServerRefused)")])]
    #[case::helo_refused(false, &[
        (220, "EHLO a2myoper.com\r\n"), (550, "HELO a2myoper.com\r\n"), (550, "Refused(MailParameterRefused)"),
    ])]
    #[case::auth_refused(true, &[
        (220, "EHLO a2myoper.com\r\n"), (250, "AUTH LOGIN\r\n"), (334, "bXlzbXRwdW4=\r\n"),
        (334, "bXlzbXRwcHc=\r\n"), (535, "Refused(MailParameterRefused)"),
    ])]
    #[case::auth_not_offered(true, &[
        (220, "EHLO a2myoper.com\r\n"), (250, "AUTH LOGIN\r\n"), (502, "Refused(MailParameterRefused)"),
    ])]
    #[case::sender_refused(false, &[
        (220, "EHLO a2myoper.com\r\n"), (250, "MAIL FROM:<toto@myoper.com>\r\n"), (550, "Refused(MailParameterRefused)"),
    ])]
    #[case::recipient_refused(false, &[
        (220, "EHLO a2myoper.com\r\n"), (250, "MAIL FROM:<toto@myoper.com>\r\n"),
        (250, "RCPT TO:<a@x.org>\r\n"), (550, "Refused(MailParameterRefused)"),
    ])]
    #[case::recipient_busy(false, &[
        (220, "EHLO a2myoper.com\r\n"), (250, "MAIL FROM:<toto@myoper.com>\r\n"),
        (250, "RCPT TO:<a@x.org>\r\n"), (450, "Refused(MailServerRefused)"),
    ])]
    #[case::data_refused(false, &[
        (220, "EHLO a2myoper.com\r\n"), (250, "MAIL FROM:<toto@myoper.com>\r\n"),
        (250, "RCPT TO:<a@x.org>\r\n"), (250, "RCPT TO:<c@z.org>\r\n"), (250, "DATA\r\n"),
        (554, "Refused(MailServerRefused)"),
    ])]
    #[case::closing(false, &[(220, "EHLO a2myoper.com\r\n"), (421, "Refused(MailServerRefused)")])]
    fn dialogue(#[case] auth: bool, #[case] exchange: &[(u16, &str)]) {
        let mut c = SmtpClient::new(envelope(auth));
        for (code, expected) in exchange {
            assert_eq!(sent(&c.reply(*code)), *expected, "after {code}");
        }
    }

    #[rstest]
    #[case(250, Step::Accepted)]
    #[case(554, Step::Refused(Condition::MailServerRefused))]
    #[case(452, Step::Refused(Condition::MailServerRefused))]
    fn the_message_reply_decides(#[case] code: u16, #[case] expected: Step) {
        let mut c = SmtpClient::new(envelope(false));
        for code in [220, 250, 250, 250, 250, 354] {
            c.reply(code);
        }
        c.message_sent();
        assert_eq!(c.reply(code), expected);
    }

    #[rstest]
    #[case(b"220 ok\r\n".as_slice(), Some(220))]
    #[case(b"250-a\r\n250-b\r\n250 c\r\n".as_slice(), Some(250))]
    #[case(b"250-a\r\n".as_slice(), None)]
    #[case(b"354\r\n".as_slice(), Some(354))]
    #[case(b"hello\r\n".as_slice(), Some(500))]
    fn replies(#[case] input: &[u8], #[case] expected: Option<u16>) {
        let mut l = Lines::default();
        l.push(input);
        assert_eq!(next_reply(&mut l), expected);
    }

    /// The unit's side of `#PUTMAIL`, fed by hand on a virtual clock: the
    /// host's 50 seconds (p.23) and the server's 3 minutes (p.68).
    mod deadlines {
        use std::time::{Duration, Instant};

        use crate::emulator::net::{Event, Request};
        use crate::emulator::{EmulatorConfig, Modem};

        fn run(m: &mut Modem, input: &[u8], now: Instant) -> String {
            m.receive(input, now);
            let horizon = now + Duration::from_secs(10);
            while let Some(at) = m.next_timer().filter(|at| *at <= horizon) {
                m.on_timer(at);
            }
            String::from_utf8_lossy(&m.take_output()).into_owned()
        }

        fn server(m: &mut Modem, reply: &str, now: Instant) -> Vec<Request> {
            m.net_event(Event::Data { socket: 25, bytes: reply.as_bytes().to_vec() }, now);
            m.take_requests()
        }

        /// A unit in `#PUTMAIL` data mode at `t0`.
        fn typing(t0: Instant) -> Modem {
            let mut m = Modem::new(&EmulatorConfig::default()).unwrap();
            run(&mut m, b"ATE0\rAT+CMEE=1\rAT+WOPEN=1\rAT+CGATT=1\rAT#CONNECTIONSTART\r", t0);
            run(&mut m, b"AT#SMTPSERV=\"192.0.2.25\"\rAT#REC1=\"a@x.org\"\rAT#SENDERADDR=\"t@x.org\"\r", t0);
            m.take_requests();
            m.receive(b"AT#PUTMAIL\r", t0);
            let connect = Request::Connect { socket: 25, host: "192.0.2.25".into(), port: 25 };
            assert_eq!(m.take_requests(), [connect]);
            m.net_event(Event::Connected { socket: 25, peer: "192.0.2.25:25".parse().unwrap() }, t0);
            for reply in ["220 hi\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n"] {
                assert_eq!(server(&mut m, reply, t0).len(), 1, "one command per reply");
            }
            server(&mut m, "354 go\r\n", t0);
            assert_eq!(String::from_utf8_lossy(&m.take_output()), "\r\nOk_Info_WaitingForData\r\n");
            m
        }

        #[test]
        fn fifty_silent_seconds_of_the_host_abort_the_mail() {
            let t0 = Instant::now();
            let mut m = typing(t0);
            let t1 = t0 + Duration::from_secs(5);
            m.receive(b"partial", t1);
            m.on_timer(t1 + Duration::from_millis(100));
            assert_eq!(m.take_requests(), [Request::Send { socket: 25, bytes: b"partial".to_vec() }]);
            m.on_timer(t1 + Duration::from_secs(49));
            assert_eq!(m.take_output(), b"", "49 s are not enough");
            m.on_timer(t1 + Duration::from_secs(50));
            assert_eq!(String::from_utf8_lossy(&m.take_output()), "\r\n#CME ERROR: 35862\r\n");
            // No end of DATA and no QUIT: the server drops the mail.
            assert_eq!(m.take_requests(), [Request::Close { socket: 25 }]);
            assert_eq!(run(&mut m, b"AT\r", t1 + Duration::from_secs(51)), "\r\nOK\r\n");
        }

        #[test]
        fn the_server_has_three_minutes_after_the_body() {
            let t0 = Instant::now();
            let mut m = typing(t0);
            m.receive(b"body\r\n.\r\n", t0);
            let sent: Vec<u8> = m
                .take_requests()
                .into_iter()
                .flat_map(|r| match r {
                    Request::Send { bytes, .. } => bytes,
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(sent, b"body\r\n.\r\n");
            m.on_timer(t0 + Duration::from_secs(179));
            assert_eq!(m.take_output(), b"");
            m.on_timer(t0 + Duration::from_secs(180));
            assert_eq!(String::from_utf8_lossy(&m.take_output()), "\r\n#CME ERROR: 37964\r\n");
        }
    }
}
