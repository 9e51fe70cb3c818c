//! The far side in the scenario language: `fixture:` steps put state on a
//! server before the modem acts (a mailbox, a file), `server:` steps ask a
//! server what it saw (the mail received, the file uploaded, the datagrams)
//! and match the answer, line by line, with `expect`, like the modem's.
//!
//! Servers are named by what they serve, never by address: scenarios write
//! `${smtp.host}` and `${smtp.port}`, filled by whoever provides the servers
//! of the run (see [`FIXTURE_VARS`]).

use serde::Deserialize;

use super::Capability;
use crate::fixtures::{Observe, Setup};

/// The variables a run's servers provide, and the capability using each one
/// needs. `<server>.host` is the server's address, `<server>.port` its port;
/// `user`/`password` are the account scenarios log in with.
pub const FIXTURE_VARS: &[(&str, Capability)] = &[
    ("smtp.host", Capability::Smtp),
    ("smtp.port", Capability::Smtp),
    ("smtp.user", Capability::Smtp),
    ("smtp.password", Capability::Smtp),
    ("smtp.refuse-port", Capability::Smtp),
    ("pop3.host", Capability::Pop3),
    ("pop3.port", Capability::Pop3),
    ("ftp.host", Capability::Ftp),
    ("ftp.port", Capability::Ftp),
    ("ftp.user", Capability::Ftp),
    ("ftp.password", Capability::Ftp),
    ("dns.host", Capability::Dns),
    ("dns.port", Capability::Dns),
    ("tcp-echo.host", Capability::TcpEcho),
    ("tcp-echo.port", Capability::TcpEcho),
    ("udp-echo.host", Capability::UdpEcho),
    ("udp-echo.port", Capability::UdpEcho),
    ("http.host", Capability::Http),
    ("http.port", Capability::Http),
];

/// The capability a fixture variable needs, if `name` is one.
pub fn fixture_var(name: &str) -> Option<Capability> {
    FIXTURE_VARS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// The capabilities the fixture variables used in `text` need.
pub fn fixture_caps(text: &str) -> Vec<Capability> {
    let mut caps = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { break };
        caps.extend(fixture_var(&after[..end]));
        rest = &after[end..];
    }
    caps
}

/// `fixture:` — state to put on a server (strings may hold `${vars}`;
/// message and file contents are in the visible notation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum SetupStep {
    /// A POP3 mailbox holding `messages` (line ends become `<CR><LF>`).
    Mailbox { user: String, password: String, messages: Vec<String> },
    /// A file on the FTP server.
    File { path: String, content: String },
}

/// `server:` — what to ask a server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum ObserveStep {
    /// The mails delivered to this recipient.
    Mail(String),
    /// The messages left in this POP3 user's mailbox.
    Mailbox(String),
    /// The bytes of a file on the FTP server.
    File(String),
    /// The datagrams the UDP echo server received whose payload starts with
    /// this prefix (the server is shared: the prefix keeps scenarios apart).
    Datagrams(String),
    /// The TCP echo server's connections whose bytes start with this prefix.
    Streams(String),
    /// The HTTP requests whose path starts with this prefix.
    HttpRequests(String),
}

impl SetupStep {
    pub fn capability(&self) -> Capability {
        match self {
            SetupStep::Mailbox { .. } => Capability::Pop3,
            SetupStep::File { .. } => Capability::Ftp,
        }
    }

    /// Every text of the step with the field name it is under.
    pub fn texts(&self) -> Vec<(&'static str, &str)> {
        match self {
            SetupStep::Mailbox { user, password, messages } => {
                let mut v = vec![("user", user.as_str()), ("password", password.as_str())];
                v.extend(messages.iter().map(|m| ("messages", m.as_str())));
                v
            }
            SetupStep::File { path, content } => vec![("path", path.as_str()), ("content", content.as_str())],
        }
    }

    /// The request to the servers, once `${vars}` are substituted by `subst`
    /// and contents decoded from the visible notation.
    pub fn resolve(&self, subst: &dyn Fn(&str) -> Result<String, String>) -> Result<Setup, String> {
        let decode =
            |text: &str| -> Result<Vec<u8>, String> { super::escape::decode(&subst(text)?).map_err(|e| e.to_string()) };
        Ok(match self {
            SetupStep::Mailbox { user, password, messages } => Setup::Mailbox {
                user: subst(user)?,
                password: subst(password)?,
                messages: messages.iter().map(|m| decode(m).map(|b| crlf(&b))).collect::<Result<_, _>>()?,
            },
            SetupStep::File { path, content } => Setup::File { path: subst(path)?, bytes: decode(content)? },
        })
    }
}

impl ObserveStep {
    pub fn capability(&self) -> Capability {
        match self {
            ObserveStep::Mail(_) => Capability::Smtp,
            ObserveStep::Mailbox(_) => Capability::Pop3,
            ObserveStep::File(_) => Capability::Ftp,
            ObserveStep::Datagrams(_) => Capability::UdpEcho,
            ObserveStep::Streams(_) => Capability::TcpEcho,
            ObserveStep::HttpRequests(_) => Capability::Http,
        }
    }

    /// The step's text (an address, a user, a path or a prefix).
    pub fn text(&self) -> &str {
        match self {
            ObserveStep::Mail(s)
            | ObserveStep::Mailbox(s)
            | ObserveStep::File(s)
            | ObserveStep::Datagrams(s)
            | ObserveStep::Streams(s)
            | ObserveStep::HttpRequests(s) => s,
        }
    }

    /// How the step shows in transcripts and reports.
    pub fn describe(&self) -> String {
        let what = match self {
            ObserveStep::Mail(_) => "mail",
            ObserveStep::Mailbox(_) => "mailbox",
            ObserveStep::File(_) => "file",
            ObserveStep::Datagrams(_) => "datagrams",
            ObserveStep::Streams(_) => "streams",
            ObserveStep::HttpRequests(_) => "http-requests",
        };
        format!("server: {what} {}", self.text())
    }

    /// The question to the servers and the prefix that filters the answer
    /// (shared echo and HTTP servers), once `${vars}` are substituted.
    pub fn resolve(&self, subst: &dyn Fn(&str) -> Result<String, String>) -> Result<(Observe, Vec<u8>), String> {
        let text = subst(self.text())?;
        let prefix = |t: &str| super::escape::decode(t).map_err(|e| e.to_string());
        Ok(match self {
            ObserveStep::Mail(_) => (Observe::Mail { to: text }, Vec::new()),
            ObserveStep::Mailbox(_) => (Observe::Mailbox { user: text }, Vec::new()),
            ObserveStep::File(_) => (Observe::File { path: text }, Vec::new()),
            ObserveStep::Datagrams(_) => (Observe::Datagrams, prefix(&text)?),
            ObserveStep::Streams(_) => (Observe::Streams, prefix(&text)?),
            ObserveStep::HttpRequests(_) => (Observe::HttpRequests, prefix(&text)?),
        })
    }
}

/// Bare `<LF>` line ends (as YAML block text has) become `<CR><LF>`.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(*b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(t: &str) -> Result<String, String> {
        Ok(t.to_string())
    }

    #[test]
    fn mailbox_messages_get_crlf_line_ends() {
        let step = SetupStep::Mailbox {
            user: "u".into(),
            password: "p".into(),
            messages: vec!["Subject: x\n\nbody<CR><LF>more\n".into()],
        };
        let Setup::Mailbox { messages, .. } = step.resolve(&same).unwrap() else { panic!() };
        assert_eq!(messages[0], b"Subject: x\r\n\r\nbody\r\nmore\r\n");
    }

    /// As a step holds them: enums as single-key maps.
    #[derive(Deserialize)]
    struct Holder {
        #[serde(default, with = "yaml_serde::with::singleton_map_recursive")]
        fixture: Option<SetupStep>,
        #[serde(default, with = "yaml_serde::with::singleton_map_recursive")]
        server: Option<ObserveStep>,
    }

    #[test]
    fn yaml_forms() {
        let h: Holder = yaml_serde::from_str("fixture: {file: {path: /a, content: \"x<ETX>\"}}").unwrap();
        let s = h.fixture.unwrap();
        assert_eq!(s.resolve(&same).unwrap(), Setup::File { path: "/a".into(), bytes: b"x\x03".to_vec() });
        let h: Holder = yaml_serde::from_str("server: {datagrams: \"abc<x00>\"}").unwrap();
        let o = h.server.unwrap();
        assert_eq!(o.resolve(&same).unwrap(), (Observe::Datagrams, b"abc\0".to_vec()));
        assert_eq!(o.capability(), Capability::UdpEcho);
    }
}
