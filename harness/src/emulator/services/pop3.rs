//! Chapter 3, retrieving mail over POP3: `AT#GETMAIL` (p.21, App. B p.50,
//! digest §10 B.7b).
//!
//! What the host sees:
//! - an empty mailbox: `Ok_Info_NoMail` (p.21), then `OK` ([code2]: a
//!   driver reads `OK` after it);
//! - a mail: `Ok_Info_Mail` (p.21: "issued when one email message is
//!   located"), the mail at once (header per POP3HEADERMODE, then the
//!   body), `<CR><LF>.<CR><LF>` (p.21, p.50), then `OK` ([code2]);
//! - an error after `Ok_Info_Mail`: `<CR><LF>.<CR><LF>`, then the
//!   `#CME ERROR` (p.21, p.50: the end mark comes "on success and on
//!   error"); before it, the `#CME ERROR` alone (38027 for a name that
//!   cannot be resolved, p.21; the others from
//!   [`crate::at::codes::Condition`]).
//!
//! POP3HEADERMODE (p.19): 1 sends "the POP3 header", which "contains the
//! From, Cc and Subject fields": those fields of the message (with their
//! folded lines), in the message's order, then an empty line (inferred, as
//! in RFC 5322) and the body; 0 sends the body alone. The body is
//! dot-unstuffed; its lines end with `<CR><LF>`, and the end mark shares
//! the last line's `<CR><LF>` (so a body line holding only `.` would look
//! like the end to the host, as it would in `#PUTMAIL`).
//!
//! The dialogue is **inferred** (RFC 1939; the manual prints none): greeting
//! `+OK`, `USER <POP3UN>`, `PASS <POP3PW>`, `STAT`, `RETR 1` when the
//! mailbox holds a message, `DELE 1`, `QUIT`, and `OK` once the server has
//! answered QUIT (deletions take effect then, RFC 1939 §6). Deleting the
//! retrieved message is **inferred**: p.21 has `#GETMAIL` retrieve "the
//! first mail present in the POP3 server list", so a host that calls it
//! until `Ok_Info_NoMail` (the [code2] camera driver polls it as a "new
//! mail" trigger) would otherwise get the same mail for ever.

use std::time::Instant;

use super::mail::{self, Deadline, Fault, Lines, POP3_SOCKET};
use super::Running;
use crate::at::codes::{Condition, StackError};
use crate::at::parameters::{Value, POP3HEADERMODE, POP3PORT, POP3PW, POP3SERV, POP3UN};
use crate::at::response::{Final, Info};
use crate::emulator::net::{Event, Failure, Request};
use crate::emulator::radio::Session;
use crate::emulator::{Error, Mode, Modem, Outcome};

/// Where the dialogue is: what the last command sent waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Greeting,
    User,
    Pass,
    Stat,
    /// `RETR 1` sent: its status line is due.
    Retr,
    /// The message's lines, up to `.`.
    Content,
    Dele,
    Quit,
    Done,
}

/// What the client does after a server line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this command and wait for its answer.
    Send(Vec<u8>),
    /// The mailbox is empty: tell the host, then send this (QUIT).
    NoMail(Vec<u8>),
    /// A message waits: tell the host, then send this (RETR 1).
    Mail(Vec<u8>),
    /// Nothing to do (the message follows).
    Wait,
    /// A line of the message, dot-unstuffed.
    Line(Vec<u8>),
    /// The end of the message: send this (DELE 1).
    EndOfMail(Vec<u8>),
    /// QUIT answered: the command succeeded.
    Done,
    Refused(Condition),
}

/// The POP3 dialogue, sans IO: lines in, commands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Client {
    user: String,
    password: String,
    phase: Phase,
}

impl Pop3Client {
    pub fn new(user: String, password: String) -> Pop3Client {
        Pop3Client { user, password, phase: Phase::Greeting }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// One line from the server (without its line end).
    pub fn line(&mut self, line: &[u8]) -> Step {
        use Phase::*;
        let ok = line.starts_with(b"+OK");
        match self.phase {
            Content if line == b"." => {
                self.phase = Dele;
                Step::EndOfMail(b"DELE 1\r\n".to_vec())
            }
            Content => Step::Line(line.strip_prefix(b".").unwrap_or(line).to_vec()),
            Greeting if ok => self.send(User, format!("USER {}", self.user)),
            User if ok => self.send(Pass, format!("PASS {}", self.password)),
            Pass if ok => self.send(Stat, "STAT".into()),
            Stat if ok => match message_count(line) {
                Some(0) => {
                    self.phase = Quit;
                    Step::NoMail(b"QUIT\r\n".to_vec())
                }
                Some(_) => {
                    self.phase = Retr;
                    Step::Mail(b"RETR 1\r\n".to_vec())
                }
                None => self.refuse(Condition::MailServerRefused),
            },
            Retr if ok => {
                self.phase = Content;
                Step::Wait
            }
            Dele if ok => self.send(Quit, "QUIT".into()),
            // Whatever answers QUIT, the session is over.
            Quit => {
                self.phase = Done;
                Step::Done
            }
            // USER or PASS refused: POP3UN or POP3PW is not valid (p.21).
            User | Pass => self.refuse(Condition::MailParameterRefused),
            Greeting | Stat | Retr | Dele | Done => self.refuse(Condition::MailServerRefused),
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
}

/// `+OK nn mm` (RFC 1939 §5, STAT).
fn message_count(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// What of the message the host gets (p.19, POP3HEADERMODE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailWriter {
    header_mode: bool,
    in_header: bool,
    /// The current header field is one the host gets (its folded lines too).
    keep_field: bool,
}

/// "The POP3 header contains the From, Cc and Subject fields" (p.19).
const HEADER_FIELDS: [&str; 3] = ["from", "cc", "subject"];

impl MailWriter {
    pub fn new(header_mode: bool) -> MailWriter {
        MailWriter { header_mode, in_header: true, keep_field: false }
    }

    /// The bytes for the host for one line of the message.
    pub fn line(&mut self, line: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if self.in_header {
            if line.is_empty() {
                self.in_header = false;
                if self.header_mode {
                    out.extend_from_slice(b"\r\n");
                }
                return out;
            }
            if !line.starts_with(b" ") && !line.starts_with(b"\t") {
                let name = line.split(|&b| b == b':').next().unwrap_or_default();
                let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
                self.keep_field = HEADER_FIELDS.contains(&name.as_str());
            }
            if !(self.header_mode && self.keep_field) {
                return out;
            }
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The end mark (every line written ends with `<CR><LF>`, and so does
    /// the info line before the first).
    pub fn end(&self) -> &'static [u8] {
        b".\r\n"
    }
}

/// The POP3 service while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3 {
    client: Pop3Client,
    connected: bool,
    lines: Lines,
    writer: MailWriter,
    /// `Ok_Info_Mail` has been written and the end mark has not.
    in_mail: bool,
}

impl Pop3 {
    pub(super) fn describe(&self) -> String {
        format!("POP3 #GETMAIL ({:?})", self.client.phase())
    }
}

impl Modem {
    /// `AT#GETMAIL` (p.21): check the session and the parameters, connect
    /// to POP3SERV:POP3PORT; the answer comes later.
    pub(crate) fn getmail(&mut self) -> Outcome {
        if !matches!(self.radio.session, Session::Connected { .. }) {
            return Outcome::Error(Error::Stack(StackError::NotActive));
        }
        if self.service.is_some() {
            return Modem::answer(Condition::SecondService);
        }
        let text = |m: &Modem, p| mail::text(&m.param(p, None));
        let (server, user, password) = (text(self, &POP3SERV), text(self, &POP3UN), text(self, &POP3PW));
        let port = match self.param(&POP3PORT, None) {
            Value::Int(p) if p > 0 => p as u16,
            _ => 0,
        };
        if server.is_empty() || user.is_empty() || port == 0 {
            return Modem::answer(Condition::UnusableConfiguration);
        }
        let header_mode = self.param(&POP3HEADERMODE, None) == Value::Int(1);
        let pop3 = Pop3 {
            client: Pop3Client::new(user, password),
            connected: false,
            lines: Lines::default(),
            writer: MailWriter::new(header_mode),
            in_mail: false,
        };
        self.net_requests.push(Request::Connect { socket: POP3_SOCKET, host: server, port });
        self.set_service(Some(Running::Pop3(Box::new(pop3))), "POP3 connecting");
        self.set_mode(Mode::Busy, "POP3 dialogue");
        Outcome::Deferred
    }

    fn pop3(&mut self) -> Option<&mut Pop3> {
        match &mut self.service {
            Some(Running::Pop3(p)) => Some(p),
            _ => None,
        }
    }

    /// What the network did to the POP3 connection.
    pub(super) fn pop3_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Connected { socket: POP3_SOCKET, peer } => {
                tracing::debug!(%peer, "POP3 connected");
                if let Some(p) = self.pop3() {
                    p.connected = true;
                }
                self.arm_mail_deadline(Deadline::ServerAnswer, now);
            }
            Event::Data { socket: POP3_SOCKET, bytes } => {
                let Some(p) = self.pop3() else { return };
                p.lines.push(&bytes);
                self.arm_mail_deadline(Deadline::ServerAnswer, now);
                while let Some(line) = self.pop3().and_then(|p| p.lines.next_line()) {
                    self.pop3_line(&line, now);
                }
            }
            Event::PeerClosed { socket: POP3_SOCKET } => {
                // A server that closes once QUIT is sent has done its part.
                let quitting = self.pop3().is_some_and(|p| p.client.phase() == Phase::Quit);
                let result = if quitting { Ok(()) } else { Err(Fault::Condition(Condition::MailPeerClosed)) };
                self.pop3_end(result, false, now);
            }
            Event::Failed { socket: POP3_SOCKET, failure, cause } => {
                tracing::info!(?failure, "POP3: {cause}");
                let connected = self.pop3().is_some_and(|p| p.connected);
                let fault = match failure {
                    Failure::Resolve => Fault::Code(StackError::NotResolved),
                    _ if connected => Fault::Condition(Condition::MailPeerClosed),
                    _ => Fault::Condition(Condition::TcpOpenFailed),
                };
                self.pop3_end(Err(fault), false, now);
            }
            // Events of other sockets and queries are not this service's.
            _ => {}
        }
    }

    fn pop3_line(&mut self, line: &[u8], now: Instant) {
        let f = self.format();
        let Some(Running::Pop3(p)) = &mut self.service else { return };
        let step = p.client.line(line);
        match step {
            Step::Send(bytes) => self.net_requests.push(Request::Send { socket: POP3_SOCKET, bytes }),
            Step::NoMail(bytes) => {
                f.final_result(&mut self.out, Final::Info(Info::NoMail));
                self.net_requests.push(Request::Send { socket: POP3_SOCKET, bytes });
            }
            Step::Mail(bytes) => {
                p.in_mail = true;
                f.final_result(&mut self.out, Final::Info(Info::Mail));
                self.net_requests.push(Request::Send { socket: POP3_SOCKET, bytes });
            }
            Step::Wait => {}
            Step::Line(text) => {
                let bytes = p.writer.line(&text);
                self.out.extend_from_slice(&bytes);
            }
            Step::EndOfMail(bytes) => {
                p.in_mail = false;
                let end = p.writer.end();
                self.out.extend_from_slice(end);
                self.net_requests.push(Request::Send { socket: POP3_SOCKET, bytes });
            }
            Step::Done => self.pop3_end(Ok(()), false, now),
            Step::Refused(c) => self.pop3_end(Err(Fault::Condition(c)), true, now),
        }
    }

    pub(super) fn pop3_deadline(&mut self, now: Instant) {
        tracing::info!("POP3 server silent for 3 minutes");
        self.pop3_end(Err(Fault::Condition(Condition::Pop3NoAnswer)), false, now);
    }

    /// `OK`, or the end mark if a mail was being written (p.50) and the fault.
    fn pop3_end(&mut self, result: Result<(), Fault>, quit: bool, now: Instant) {
        let Some(p) = self.pop3() else { return };
        let in_mail = p.in_mail;
        if quit {
            self.net_requests.push(Request::Send { socket: POP3_SOCKET, bytes: b"QUIT\r\n".to_vec() });
        }
        self.net_requests.push(Request::Close { socket: POP3_SOCKET });
        self.disarm_mail_deadline();
        self.set_service(None, if result.is_ok() { "the mail was retrieved" } else { "#GETMAIL failed" });
        // Every line written so far ended with <CR><LF>: the mark is `.<CR><LF>`.
        if in_mail {
            self.out.extend_from_slice(b".\r\n");
        }
        match result {
            Ok(()) => self.format().final_result(&mut self.out, Final::Ok),
            Err(fault) => self.write_fault(fault),
        }
        self.release_queued(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// A whole dialogue: each server line and what the client does next.
    #[rstest]
    #[case::one_mail(&[
        ("+OK POP3 ready", "USER mypop3un\r\n"), ("+OK", "PASS mypop3passwd\r\n"), ("+OK", "STAT\r\n"),
        ("+OK 2 320", "Mail:RETR 1\r\n"), ("+OK 160 octets", "Wait"), ("Subject: x", "Line:Subject: x"),
        ("", "Line:"), ("..dot", "Line:.dot"), (".", "EndOfMail:DELE 1\r\n"), ("+OK", "QUIT\r\n"),
        ("+OK bye", "Done"),
    ])]
    #[case::empty(&[
        ("+OK", "USER mypop3un\r\n"), ("+OK", "PASS mypop3passwd\r\n"), ("+OK", "STAT\r\n"),
        ("+OK 0 0", "NoMail:QUIT\r\n"), ("+OK", "Done"),
    ])]
    #[case::bad_password(&[
        ("+OK", "USER mypop3un\r\n"), ("+OK", "PASS mypop3passwd\r\n"), ("-ERR invalid", "Refused(MailParameterRefused)"),
    ])]
    #[case::unknown_user(&[("+OK", "USER mypop3un\r\n"), ("-ERR", "Refused(MailParameterRefused)")])]
    #[case::greeting_refused(&[("-ERR busy", "Refused(MailServerRefused)")])]
    #[case::retr_refused(&[
        ("+OK", "USER mypop3un\r\n"), ("+OK", "PASS mypop3passwd\r\n"), ("+OK", "STAT\r\n"),
        ("+OK 1 10", "Mail:RETR 1\r\n"), ("-ERR no such message", "Refused(MailServerRefused)"),
    ])]
    fn dialogue(#[case] exchange: &[(&str, &str)]) {
        let mut c = Pop3Client::new("mypop3un".into(), "mypop3passwd".into());
        for (line, expected) in exchange {
            let got = match c.line(line.as_bytes()) {
                Step::Send(b) => String::from_utf8_lossy(&b).into_owned(),
                Step::NoMail(b) => format!("NoMail:{}", String::from_utf8_lossy(&b)),
                Step::Mail(b) => format!("Mail:{}", String::from_utf8_lossy(&b)),
                Step::Line(b) => format!("Line:{}", String::from_utf8_lossy(&b)),
                Step::EndOfMail(b) => format!("EndOfMail:{}", String::from_utf8_lossy(&b)),
                other => format!("{other:?}"),
            };
            assert_eq!(got, *expected, "after {line:?}");
        }
    }

    #[rstest]
    #[case(true, "From: \"A\" <a@x.org>\r\nCc: c@z.org\r\n  folded@z.org\r\nSubject: Hi\r\n\r\nbody\r\n")]
    #[case(false, "body\r\n")]
    fn header_mode(#[case] mode: bool, #[case] expected: &str) {
        let message = [
            "Received: from x",
            "  by y",
            "From: \"A\" <a@x.org>",
            "To: b@y.org",
            "Cc: c@z.org",
            "  folded@z.org",
            "Subject: Hi",
            "",
            "body",
        ];
        let mut w = MailWriter::new(mode);
        let out: Vec<u8> = message.iter().flat_map(|l| w.line(l.as_bytes())).collect();
        assert_eq!(String::from_utf8_lossy(&out), expected);
    }
}
