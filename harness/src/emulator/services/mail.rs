//! What the two mail services of chapter 3 share (p.17-24, App. B p.50,
//! p.68): the stream sockets they use, their deadlines, server lines, the
//! header the unit composes, dot-stuffing and the way a mail service ends.
//!
//! - SMTP (`#SENDMAILi`, `#PUTMAIL`) is in [`super::smtp`], POP3
//!   (`#GETMAIL`) in [`super::pop3`].
//! - Deadlines run on the emulator's timers ([`Timed::Mail`]), so a unit on
//!   a virtual clock waits out three minutes at once. Only one mail service
//!   runs at a time (p.21-23: "except when the TCP/IP stack software is
//!   already in a process using TCP resources"), so every `Timed::Mail`
//!   pending belongs to the running one; arming a deadline replaces it.

use std::time::{Duration, Instant};

use super::Running;
use crate::at::codes::{Condition, StackError};
use crate::at::parameters::Value;
use crate::emulator::{Modem, Timed};

/// The stack socket id of the SMTP connection. Chapter 5 numbers its TCP
/// sockets 1 and 2; the mail services take ids of their own (the
/// protocol's port number, as a name) so that late events of a closed TCP
/// socket never reach a mail service.
pub const SMTP_SOCKET: u8 = 25;
/// The stack socket id of the POP3 connection (see [`SMTP_SOCKET`]).
pub const POP3_SOCKET: u8 = 110;

/// How long a server has to answer (App. B p.68: "If the SMTP server does
/// not answer within 3 minutes", `#CME ERROR: 37964`). Applied to POP3
/// servers too (inferred: no POP3 figure is recovered).
pub const SERVER_ANSWER: Duration = Duration::from_secs(180);

/// How long the host may stay silent while it types a `#PUTMAIL` body
/// (p.23: "An inactivity period of 50 seconds on the serial port").
pub const HOST_SILENCE: Duration = Duration::from_secs(50);

/// A deadline of a running mail service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// The server owes an answer.
    ServerAnswer,
    /// The host owes body bytes (`#PUTMAIL` data mode).
    HostSilence,
}

/// Why a mail service ended without success, as the host is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A code the manual prints for exactly this (38027, 37964).
    Code(StackError),
    /// A condition whose code is chosen in [`crate::at::codes`].
    Condition(Condition),
}

impl Modem {
    /// Arm `deadline` from `now`, replacing the one pending.
    pub(super) fn arm_mail_deadline(&mut self, deadline: Deadline, now: Instant) {
        self.disarm_mail_deadline();
        let after = match deadline {
            Deadline::ServerAnswer => SERVER_ANSWER,
            Deadline::HostSilence => HOST_SILENCE,
        };
        self.schedule(now + after, Timed::Mail(deadline));
    }

    pub(super) fn disarm_mail_deadline(&mut self) {
        self.timers.retain(|(_, _, t)| !matches!(t, Timed::Mail(_)));
    }

    /// A deadline expired (from [`Modem::on_timer`]).
    pub(crate) fn mail_deadline(&mut self, deadline: Deadline, now: Instant) {
        match &self.service {
            Some(Running::Smtp(_)) => self.smtp_deadline(deadline, now),
            Some(Running::Pop3(_)) => self.pop3_deadline(now),
            // The service ended another way (the IP link went).
            _ => {}
        }
    }

    /// Write a fault as the command's final answer.
    pub(super) fn write_fault(&mut self, fault: Fault) {
        match fault {
            Fault::Code(e) => self.format().stack_error(&mut self.out, e),
            Fault::Condition(c) => self.answer_now(c),
        }
    }
}

/// A text parameter's value (`""` when unset).
pub fn text(value: &Value) -> String {
    match value {
        Value::Text(t) => t.clone(),
        Value::Int(n) => n.to_string(),
        Value::List(items) => items.join(","),
    }
}

/// The addresses of RECi (p.18: up to ten).
pub fn addresses(value: &Value) -> Vec<String> {
    match value {
        Value::List(items) => items.iter().filter(|a| !a.is_empty()).cloned().collect(),
        Value::Text(t) if !t.is_empty() => vec![t.clone()],
        _ => Vec::new(),
    }
}

/// Lines from a server: split at `<LF>`, a `<CR>` before it dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// The next complete line, without its line end.
    pub fn next_line(&mut self) -> Option<Vec<u8>> {
        let end = self.pending.iter().position(|&b| b == b'\n')?;
        let mut line: Vec<u8> = self.pending.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(line)
    }
}

/// The header the unit composes (p.17-18): `From:` from SENDERNAME and
/// SENDERADDR, `To:` from RECi, `Cc:` from CCRECi, `Subject:` from SUBJi,
/// then the empty line that ends a header (RFC 5322 §2.1).
///
/// The manual says which parameter goes in which field but prints no
/// header: the layout is **inferred** from RFC 5322 (§3.4: a display name
/// in quotes before the address in angle brackets; addresses of a field
/// separated by commas, folded past 78 characters). No `Date:` or `Message-ID:` (inferred: the stack
/// has no calendar of its own; receiving servers add them), no `Cc:` when
/// CCRECi is empty.
pub fn header(sender_name: &str, sender_addr: &str, to: &[String], cc: &str, subject: &str) -> Vec<u8> {
    let from = if sender_name.is_empty() {
        format!("<{sender_addr}>")
    } else {
        format!("\"{}\" <{sender_addr}>", sender_name.replace(['"', '\\'], ""))
    };
    let mut head = format!("From: {from}\r\n{}", address_field("To", to));
    if !cc.is_empty() {
        head.push_str(&format!("Cc: {cc}\r\n"));
    }
    head.push_str(&format!("Subject: {subject}\r\n\r\n"));
    head.into_bytes()
}

/// `Name: a, b, …` folded before an address that would take the line past
/// 78 characters (RFC 5322 §2.1.1; ten addresses of 120 characters, p.18,
/// would pass the 998-character limit unfolded).
fn address_field(name: &str, addresses: &[String]) -> String {
    let mut field = format!("{name}:");
    let mut line = field.len();
    for (i, a) in addresses.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        if i > 0 && line + sep.len() + 1 + a.len() > 78 {
            field.push_str(sep);
            field.push_str("\r\n ");
            line = 1;
        } else {
            field.push_str(sep);
            field.push(' ');
            line += sep.len() + 1;
        }
        field.push_str(a);
        line += a.len();
    }
    field.push_str("\r\n");
    field
}

/// Base64 (RFC 4648 §4, with padding), for AUTH LOGIN.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Dot-stuffing of mail text for SMTP DATA (RFC 5321 §4.5.2): a line that
/// starts with `.` gets one more. Lines end with `<CR><LF>`; the text
/// arrives in pieces (TXDELAY flushes), so a `.` at a line start is held
/// until the next bytes tell whether it starts the end of the mail
/// (`.<CR><LF>`, given back by [`DotStuffer::finish`]) or a line of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotStuffer {
    /// At the start of a line (start of text, or after `<CR><LF>`).
    line_start: bool,
    /// The last byte was a `<CR>`.
    cr: bool,
    /// Held: `.`, `.<CR>` or `.<CR><LF>` at a line start.
    held: Vec<u8>,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer { line_start: true, cr: false, held: Vec::new() }
    }
}

impl DotStuffer {
    /// Stuff `bytes`; what cannot be decided yet is held.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len() + 2);
        for &b in bytes {
            self.byte(b, &mut out);
        }
        out
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        if !self.held.is_empty() {
            let expect = [b'.', b'\r', b'\n'].get(self.held.len()).copied();
            if expect == Some(b) {
                self.held.push(b);
                return;
            }
            // A line of text that starts with `.`: stuff it.
            out.push(b'.');
            let held = std::mem::take(&mut self.held);
            self.line_start = false;
            self.cr = false;
            for h in held {
                self.plain(h, out);
            }
            return self.byte(b, out);
        }
        if self.line_start && b == b'.' {
            self.held.push(b);
            self.line_start = false;
            return;
        }
        self.plain(b, out);
    }

    fn plain(&mut self, b: u8, out: &mut Vec<u8>) {
        out.push(b);
        self.line_start = self.cr && b == b'\n';
        self.cr = b == b'\r';
    }

    /// The end of the text: what is held, and the end of the DATA. When
    /// the text ended with `<CR><LF>.<CR><LF>` (the `#PUTMAIL` terminator,
    /// p.23) that is the end; otherwise the text is closed with one.
    pub fn finish(&mut self) -> Vec<u8> {
        let held = std::mem::take(&mut self.held);
        if held == b".\r\n" {
            return held;
        }
        let mut out = Vec::new();
        if !held.is_empty() {
            out.push(b'.');
            self.line_start = false;
            for h in held {
                self.plain(h, &mut out);
            }
        }
        if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.line_start = true;
        out
    }
}

/// Line ends of a stored text made `<CR><LF>` (SMTP lines, RFC 5321 §2.3.8):
/// BODYi is typed with whatever line ends the host sends.
pub fn crlf_lines(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(b"".as_slice(), "")]
    #[case(b"f", "Zg==")]
    #[case(b"fo", "Zm8=")]
    #[case(b"foo", "Zm9v")]
    #[case(b"foobar", "Zm9vYmFy")]
    #[case(b"mysmtpun", "bXlzbXRwdW4=")]
    fn base64_follows_rfc_4648(#[case] input: &[u8], #[case] expected: &str) {
        assert_eq!(base64(input), expected);
    }

    #[rstest]
    // The #PUTMAIL terminator ends the DATA as it is.
    #[case(&["Hi\r\n.\r\n"], "Hi\r\n.\r\n")]
    // Lines that start with a dot get one more, wherever the pieces split.
    #[case(&[".x\r\n..y\r\n.\r\n"], "..x\r\n...y\r\n.\r\n")]
    #[case(&["a\r\n", ".", "\r", "\n"], "a\r\n.\r\n")]
    #[case(&["a\r\n.", "b\r\n.\r", "\n"], "a\r\n..b\r\n.\r\n")]
    // A line holding only a dot in the middle of the text is text.
    #[case(&["a\r\n.\r\nb\r\n.\r\n"], "a\r\n..\r\nb\r\n.\r\n")]
    // A dot after a bare LF is not at a line start (SMTP lines end with CRLF).
    #[case(&["a\n.b\r\n.\r\n"], "a\n.b\r\n.\r\n")]
    // BODYi text without a final line end is closed.
    #[case(&["one\r\ntwo"], "one\r\ntwo\r\n.\r\n")]
    #[case(&["."], "..\r\n.\r\n")]
    fn dot_stuffing(#[case] pieces: &[&str], #[case] expected: &str) {
        let mut s = DotStuffer::default();
        let mut out = Vec::new();
        for p in pieces {
            out.extend(s.push(p.as_bytes()));
        }
        out.extend(s.finish());
        assert_eq!(String::from_utf8_lossy(&out), expected);
    }

    #[test]
    fn header_fields_in_order() {
        let to = vec!["a@x.org".to_string(), "b@y.org".to_string()];
        let h = header("machine 245", "toto@myoper.com", &to, "c@z.org", "Alarm");
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "From: \"machine 245\" <toto@myoper.com>\r\nTo: a@x.org, b@y.org\r\nCc: c@z.org\r\nSubject: Alarm\r\n\r\n"
        );
        let h = header("", "toto@myoper.com", &to[..1], "", "");
        assert_eq!(String::from_utf8(h).unwrap(), "From: <toto@myoper.com>\r\nTo: a@x.org\r\nSubject: \r\n\r\n");
    }

    #[test]
    fn long_address_lists_are_folded() {
        let to: Vec<String> = (0..4).map(|i| format!("recipient-number-{i}@some-long-domain.example")).collect();
        let field = address_field("To", &to);
        assert_eq!(
            field,
            "To: recipient-number-0@some-long-domain.example,\r\n recipient-number-1@some-long-domain.example,\r\n \
             recipient-number-2@some-long-domain.example,\r\n recipient-number-3@some-long-domain.example\r\n"
        );
        assert!(field.split("\r\n").all(|l| l.len() <= 78));
        assert_eq!(address_field("To", &["a@x".into(), "b@y".into()]), "To: a@x, b@y\r\n");
    }

    #[test]
    fn server_lines_split_at_lf() {
        let mut l = Lines::default();
        l.push(b"250-a\r\n250 b");
        assert_eq!(l.next_line(), Some(b"250-a".to_vec()));
        assert_eq!(l.next_line(), None);
        l.push(b"\n+OK\n");
        assert_eq!(l.next_line(), Some(b"250 b".to_vec()));
        assert_eq!(l.next_line(), Some(b"+OK".to_vec()));
    }
}
