//! What crossed the serial line during one scenario, and its normalised form.
//!
//! The runner records every byte it sent and received, grouped into lines
//! ([`Segment`]s: leading line ends, the text, its terminator) and attributed
//! to the step that consumed them, plus step boundaries and verdicts. The
//! [`Transcript::render`] form is what goldens hold: bytes in the visible
//! notation (`<CR><LF>`), no timings, and volatile values and secrets redacted
//! so that a physical unit and the emulator can be held against the same text.

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::at::parameters;
use crate::scenario::escape;

/// One entry of a transcript.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// A step starts.
    Step { index: usize, origin: String, description: String, at_ms: u64 },
    /// Bytes written to the target.
    Sent { bytes: Vec<u8>, at_ms: u64 },
    /// One received line and what became of it.
    Received { bytes: Vec<u8>, at_ms: u64, role: Role },
    /// A check passed or failed.
    Check { ok: bool, message: String },
    /// Something worth knowing (a control performed, a wait).
    Note { message: String },
}

/// The duration of one step, for the run record.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StepTime {
    pub index: usize,
    pub origin: String,
    pub description: String,
    pub ms: u64,
}

/// What the runner did with a received line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The echo of the line just sent.
    Echo,
    /// Matched an expectation.
    Matched,
    /// Matched a scenario `ignore:` pattern.
    Ignored,
    /// Did not match: the finding.
    Unexpected,
    /// Read while draining after the end or after a failure.
    Trailing,
    /// Raw bytes compared by `expect_bytes`.
    Raw,
}

/// The record of one scenario run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Transcript {
    pub scenario: String,
    pub entries: Vec<Entry>,
    /// Extra patterns to redact (the scenario's `redact:`).
    #[serde(skip)]
    pub redact: Vec<Regex>,
}

/// Commands whose answers identify the unit or its network attachment: their
/// information lines differ between units and are redacted.
const IDENTITY_COMMANDS: &[&str] = &["I", "I0", "I3", "+CGMI", "+CGMM", "+GMM", "+CGMR", "+GMR", "+CGSN", "+GSN"];
/// Commands whose answers carry addresses the network assigns.
const ADDRESS_COMMANDS: &[&str] = &["#CONNECTIONSTART", "#ACCEPT", "#DISPLAYIP"];

static SECRET_SET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)(AT#([A-Z0-9]+PW)=)(.*?)(<CR>)?$"#).expect("valid regex"));
static SECRET_READ: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)(#([A-Z0-9]+PW): )("[^"]*"|\S*)"#).expect("valid regex"));
static VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"^#VERSION: ".*"$"#).expect("valid regex"));
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").expect("valid regex"));
static CSQ: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\+CSQ: \d+,\d+$").expect("valid regex"));

impl Transcript {
    pub fn new(scenario: &str, redact: Vec<Regex>) -> Self {
        Transcript { scenario: scenario.to_string(), entries: Vec::new(), redact }
    }

    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    pub fn note(&mut self, message: impl Into<String>) {
        self.entries.push(Entry::Note { message: message.into() });
    }

    /// The normalised form held in `golden/`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let mut command = String::new();
        let mut banner_pending = false;
        for e in &self.entries {
            match e {
                Entry::Step { index, description, .. } => {
                    let _ = writeln!(s, "== step {index}: {}", redact_secrets(description));
                }
                Entry::Sent { bytes, .. } => {
                    let text = escape::encode(bytes);
                    command = command_name(bytes);
                    banner_pending = command == "#VALL";
                    let _ = writeln!(s, "  > {}", self.redact_extra(&redact_sent(&text)));
                }
                Entry::Received { bytes, role, .. } => {
                    let mut text = escape::encode(bytes);
                    if *role != Role::Echo {
                        let line = line_text(bytes);
                        if banner_pending && !line.is_empty() && !is_final(&line) {
                            // The first line of #VALL is the stack's banner.
                            banner_pending = false;
                            text = text.replace(&escape::encode(line.as_bytes()), "<stack-banner>");
                        } else {
                            banner_pending = false;
                            text = redact_received(&text, &line, &command);
                        }
                    } else {
                        text = redact_sent(&text);
                    }
                    let tag = match role {
                        Role::Echo => " (echo)",
                        Role::Matched | Role::Raw => "",
                        Role::Ignored => " (ignored)",
                        Role::Unexpected => " (UNEXPECTED)",
                        Role::Trailing => " (trailing)",
                    };
                    let _ = writeln!(s, "  < {}{tag}", self.redact_extra(&text));
                }
                Entry::Check { ok, message } => {
                    let mark = if *ok { "ok" } else { "FAIL" };
                    let _ = writeln!(s, "  -- {mark}: {}", self.redact_extra(&redact_secrets(message)));
                }
                Entry::Note { message } => {
                    let _ = writeln!(s, "  -- {}", self.redact_extra(message));
                }
            }
        }
        s
    }

    fn redact_extra(&self, text: &str) -> String {
        let mut out = text.to_string();
        for re in &self.redact {
            out = re.replace_all(&out, "<redacted>").into_owned();
        }
        out
    }

    /// How long each step took (index, origin, description, milliseconds):
    /// on a rig, the unit's response time per command.
    pub fn step_times(&self, end_ms: u64) -> Vec<StepTime> {
        let starts: Vec<(usize, &String, &String, u64)> = self
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Step { index, origin, description, at_ms } => Some((*index, origin, description, *at_ms)),
                _ => None,
            })
            .collect();
        starts
            .iter()
            .enumerate()
            .map(|(i, (index, origin, description, at))| {
                let next = starts.get(i + 1).map_or(end_ms, |n| n.3);
                StepTime {
                    index: *index,
                    origin: (*origin).clone(),
                    description: redact_secrets(description),
                    ms: next.saturating_sub(*at),
                }
            })
            .collect()
    }
}

/// The text of a received segment without its line ends.
pub fn line_text(bytes: &[u8]) -> String {
    let trimmed: &[u8] = {
        let start = bytes.iter().position(|b| *b != b'\r' && *b != b'\n').unwrap_or(bytes.len());
        let end = bytes.iter().rposition(|b| *b != b'\r' && *b != b'\n').map_or(start, |e| e + 1);
        &bytes[start..end.max(start)]
    };
    String::from_utf8_lossy(trimmed).into_owned()
}

/// `AT#REDIALCOUNT=5<CR>` → `#REDIALCOUNT`; `ATI3` → `I3`.
fn command_name(bytes: &[u8]) -> String {
    let text = line_text(bytes).to_ascii_uppercase();
    let body = text.strip_prefix("AT").unwrap_or(&text);
    let end = body.char_indices().skip(1).find(|(_, c)| !c.is_ascii_alphanumeric()).map_or(body.len(), |(i, _)| i);
    body[..end].to_string()
}

/// A final result (verbose or numeric) or an error: never a volatile value.
fn is_final(line: &str) -> bool {
    matches!(line, "OK" | "ERROR" | "0" | "4") || line.contains("ERROR")
}

/// Every secret in a text (a sent command, a step description, a failure
/// message): the value of a `*PW` parameter, set or read.
pub fn redact_secrets(text: &str) -> String {
    let sent = redact_sent(text);
    SECRET_READ
        .replace_all(&sent, |c: &regex::Captures| {
            if parameters::is_secret(&c[2]) && !matches!(&c[3], "" | "\"\"") {
                format!("{}\"<redacted>\"", &c[1])
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

/// Secrets in a sent line: `AT#ISPPW="x"` → `AT#ISPPW=<redacted>`.
fn redact_sent(text: &str) -> String {
    SECRET_SET
        .replace(text, |c: &regex::Captures| {
            // An empty value hides nothing, and showing it keeps "reset to empty" visible.
            if parameters::is_secret(&c[2]) && !matches!(&c[3], "" | "\"\"") {
                format!("{}<redacted>{}", &c[1], c.get(4).map_or("", |m| m.as_str()))
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

fn redact_received(text: &str, line: &str, command: &str) -> String {
    let mut out = SECRET_READ
        .replace_all(text, |c: &regex::Captures| {
            if parameters::is_secret(&c[2]) && !matches!(&c[3], "" | "\"\"") {
                format!("{}\"<redacted>\"", &c[1])
            } else {
                c[0].to_string()
            }
        })
        .into_owned();
    if VERSION.is_match(line) {
        out = out.replace(&escape::encode(line.as_bytes()), "#VERSION: \"<stack-version>\"");
    } else if CSQ.is_match(line) {
        out = out.replace(&escape::encode(line.as_bytes()), "+CSQ: <rssi>,<ber>");
    } else if IDENTITY_COMMANDS.contains(&command) && !is_final(line) && !line.is_empty() {
        out = out.replace(&escape::encode(line.as_bytes()), "<identity>");
    } else if ADDRESS_COMMANDS.contains(&command) {
        out = IPV4
            .replace_all(
                &out,
                |c: &regex::Captures| {
                    if &c[0] == "0.0.0.0" {
                        c[0].to_string()
                    } else {
                        "<ip>".to_string()
                    }
                },
            )
            .into_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("AT#ISPPW=\"secret\"<CR>", "AT#ISPPW=<redacted><CR>")]
    #[case("AT#ISPUN=\"user\"<CR>", "AT#ISPUN=\"user\"<CR>")]
    #[case("at#smtppw=abc<CR>", "at#smtppw=<redacted><CR>")]
    #[case("send AT#APNPW=\"password\"", "send AT#APNPW=<redacted>")]
    fn redacts_secrets_sent(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(redact_sent(input), expected);
    }

    #[test]
    fn redacts_secrets_and_volatile_values_received() {
        let mut t = Transcript::new("x", vec![]);
        t.push(Entry::Sent { bytes: b"AT#VPPP\r".to_vec(), at_ms: 0 });
        t.push(Entry::Received { bytes: b"#ISPPW: \"pw\"\r\n".to_vec(), at_ms: 1, role: Role::Matched });
        t.push(Entry::Received { bytes: b"#ISPUN: \"un\"\r\n".to_vec(), at_ms: 1, role: Role::Matched });
        t.push(Entry::Sent { bytes: b"AT#CONNECTIONSTART\r".to_vec(), at_ms: 2 });
        t.push(Entry::Received { bytes: b"\r\n10.64.0.2\r\n".to_vec(), at_ms: 3, role: Role::Matched });
        t.push(Entry::Sent { bytes: b"AT+CSQ\r".to_vec(), at_ms: 2 });
        t.push(Entry::Received { bytes: b"\r\n+CSQ: 17,99\r\n".to_vec(), at_ms: 3, role: Role::Matched });
        let r = t.render();
        assert!(r.contains("#ISPPW: \"<redacted>\""), "{r}");
        assert!(r.contains("#ISPUN: \"un\""), "{r}");
        assert!(r.contains("<CR><LF><ip><CR><LF>"), "{r}");
        assert!(r.contains("+CSQ: <rssi>,<ber>"), "{r}");
    }
}
