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

use crate::at::{command, response};
use crate::redact::Redactor;
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
    /// A line of a server's answer to a `server:` step.
    Server { line: String, role: Role },
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
    /// Values shown by a variable's name (`127.0.0.2` as `${smtp.host}`),
    /// longest first.
    #[serde(skip)]
    pub names: Vec<(String, String)>,
    /// What the unit did on the network, at milliseconds into the scenario,
    /// where the target can tell (the emulator): for captures, not goldens.
    #[serde(skip)]
    pub network: Vec<(u64, crate::emulator::net::Traffic)>,
}

/// Commands whose answers identify the unit or its network attachment: their
/// information lines differ between units and are redacted.
/// (`+CIMI`, `+CNUM`: the SIM's; `+COPS`, `+CCED`: the network's and cell's.)
const IDENTITY_COMMANDS: &[&str] =
    &["I", "+CGMI", "+CGMM", "+GMM", "+CGMR", "+GMR", "+CGSN", "+GSN", "+CIMI", "+CNUM", "+COPS", "+CCED"];
/// Commands whose answers carry addresses the network assigns.
const ADDRESS_COMMANDS: &[&str] = &["#CONNECTIONSTART", "#ACCEPT", "#DISPLAYIP"];

static VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"^#VERSION: ".*"$"#).expect("valid regex"));
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").expect("valid regex"));
static CSQ: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\+CSQ: \d+,\d+$").expect("valid regex"));

impl Transcript {
    pub fn new(scenario: &str, redact: Vec<Regex>) -> Self {
        Transcript { scenario: scenario.to_string(), entries: Vec::new(), redact, ..Transcript::default() }
    }

    /// Show each `(value, name)`'s value as `${name}` in the rendered
    /// transcript (the run's server addresses and ports: one golden for
    /// whoever runs the servers). Only whole tokens are replaced: `40125`
    /// is not replaced inside `140125`.
    pub fn name_values(&mut self, pairs: impl IntoIterator<Item = (String, String)>) {
        self.names.extend(pairs.into_iter().filter(|(v, _)| !v.is_empty()));
        self.names.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
    }

    fn named(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, name) in &self.names {
            out = replace_token(&out, value, &format!("${{{name}}}"));
        }
        out
    }

    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    /// A `<LF>` that arrived after the line it ends had been recorded (the
    /// line was closed on its `<CR>`): append it to that line, the last
    /// received one, so that the record does not depend on read timing.
    pub fn attach_late_line_end(&mut self) {
        let last = self.entries.iter_mut().rev().find(|e| matches!(e, Entry::Received { .. }));
        if let Some(Entry::Received { bytes, .. }) = last {
            if bytes.last() == Some(&b'\r') {
                bytes.push(b'\n');
            }
        }
    }

    pub fn note(&mut self, message: impl Into<String>) {
        self.entries.push(Entry::Note { message: message.into() });
    }

    /// The redactor for this scenario: it knows every secret sent so far
    /// (see [`crate::redact`]).
    pub fn redactor(&self) -> Redactor {
        let mut r = Redactor::new();
        for e in &self.entries {
            if let Entry::Sent { bytes, .. } = e {
                r.learn(&String::from_utf8_lossy(bytes));
            }
        }
        r
    }

    /// Any text about this run (a failure message, a step description) with
    /// its secrets masked, including every secret value sent in it.
    pub fn redact(&self, text: &str) -> String {
        self.redactor().redact(text)
    }

    /// The normalised form held in `golden/`.
    pub fn render(&self) -> String {
        let secrets = self.redactor();
        let mut s = String::new();
        let mut commands: Vec<String> = Vec::new();
        let mut banner_pending = false;
        for e in &self.entries {
            match e {
                Entry::Step { index, description, .. } => {
                    let _ = writeln!(s, "== step {index}: {}", secrets.redact(description));
                }
                Entry::Sent { bytes, .. } => {
                    let text = escape::encode(bytes);
                    commands = command_names(bytes);
                    banner_pending = commands.iter().any(|c| c == "#VALL");
                    let _ = writeln!(s, "  > {}", self.redact_extra(&secrets.redact(&text)));
                }
                Entry::Received { bytes, role, .. } => {
                    let mut text = escape::encode(bytes);
                    if *role != Role::Echo {
                        let line = line_text(bytes);
                        if banner_pending
                            && !line.is_empty()
                            && !response::is_final(&line)
                            && !line.starts_with(['#', '+'])
                        {
                            // The first line of #VALL is the stack's banner.
                            banner_pending = false;
                            text = text.replace(&escape::encode(line.as_bytes()), "<stack-banner>");
                        } else {
                            banner_pending = false;
                            text = redact_received(&secrets.redact(&text), &line, &commands);
                        }
                    } else {
                        text = secrets.redact(&text);
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
                    let _ = writeln!(s, "  -- {mark}: {}", self.redact_extra(&secrets.redact(message)));
                }
                Entry::Note { message } => {
                    let _ = writeln!(s, "  -- {}", self.redact_extra(&secrets.redact(message)));
                }
                Entry::Server { line, role } => {
                    let tag = if *role == Role::Unexpected { " (UNEXPECTED)" } else { "" };
                    let _ = writeln!(s, "  server: {}{tag}", self.redact_extra(&secrets.redact(line)));
                }
            }
        }
        s
    }

    /// `text` as the golden shows it: server values by their variable's
    /// name, the scenario's own volatile values (`redact:`) masked.
    pub fn redact_extra(&self, text: &str) -> String {
        let mut out = self.named(text);
        for re in &self.redact {
            out = re.replace_all(&out, "<redacted>").into_owned();
        }
        out
    }

    /// How long each step took (index, origin, description, milliseconds):
    /// on a rig, the unit's response time per command.
    pub fn step_times(&self, end_ms: u64) -> Vec<StepTime> {
        let secrets = self.redactor();
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
                    description: secrets.redact(description),
                    ms: next.saturating_sub(*at),
                }
            })
            .collect()
    }
}

/// The text of a received segment without its line ends.
/// `text` with every whole-token `value` replaced by `by`: the characters
/// around an occurrence must not continue it (letters, digits, `.`).
fn replace_token(text: &str, value: &str, by: &str) -> String {
    let continues = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.');
    let mut out = String::with_capacity(text.len());
    let mut start = 0;
    for (i, _) in text.match_indices(value) {
        let before = text[..i].chars().last();
        let mut after = text[i + value.len()..].chars();
        // A `.` that nothing continues ends a sentence, not an address.
        let after_continues = match after.next() {
            Some('.') => continues(after.next()),
            other => continues(other),
        };
        if !continues(before) && !after_continues {
            out.push_str(&text[start..i]);
            out.push_str(by);
            start = i + value.len();
        }
    }
    out.push_str(&text[start..]);
    out
}

pub fn line_text(bytes: &[u8]) -> String {
    let trimmed: &[u8] = {
        let start = bytes.iter().position(|b| *b != b'\r' && *b != b'\n').unwrap_or(bytes.len());
        let end = bytes.iter().rposition(|b| *b != b'\r' && *b != b'\n').map_or(start, |e| e + 1);
        &bytes[start..end.max(start)]
    };
    String::from_utf8_lossy(trimmed).into_owned()
}

/// The names of the commands sent (`AT+CMEE=1;#DISPLAYIP<CR>` →
/// `+CMEE`, `#DISPLAYIP`), every line of the bytes.
fn command_names(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.split(['\r', '\n'])
        .filter_map(command::parse_line)
        .flat_map(|line| line.commands.into_iter().map(|c| c.name))
        .collect()
}

/// Every secret in a text (a sent command, a step description, a failure
/// message) that can be recognised without the run: see
/// [`crate::redact::redact`]; [`Transcript::redact`] also masks the values
/// the run sent.
pub fn redact_secrets(text: &str) -> String {
    crate::redact::redact(text)
}

/// Volatile values of a received line (secrets are already masked).
fn redact_received(text: &str, line: &str, commands: &[String]) -> String {
    let mut out = text.to_string();
    let sent = |list: &[&str]| commands.iter().any(|c| list.contains(&c.as_str()));
    if VERSION.is_match(line) {
        out = out.replace(&escape::encode(line.as_bytes()), "#VERSION: \"<stack-version>\"");
    } else if CSQ.is_match(line) {
        out = out.replace(&escape::encode(line.as_bytes()), "+CSQ: <rssi>,<ber>");
    } else if sent(IDENTITY_COMMANDS) && !response::is_final(line) && !line.is_empty() {
        out = out.replace(&escape::encode(line.as_bytes()), "<identity>");
    } else if sent(ADDRESS_COMMANDS) {
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
mod naming_tests {
    use super::replace_token;
    use rstest::rstest;

    #[rstest]
    #[case("AT#TCPSERV=1,\"127.0.0.2\"", "AT#TCPSERV=1,\"${h}\"")]
    #[case("connect to 127.0.0.2.", "connect to ${h}.")]
    #[case("127.0.0.20", "127.0.0.20")]
    #[case("1127.0.0.2", "1127.0.0.2")]
    #[case("127.0.0.2:25 and 127.0.0.2", "${h}:25 and ${h}")]
    fn whole_tokens_only(#[case] text: &str, #[case] want: &str) {
        assert_eq!(replace_token(text, "127.0.0.2", "${h}"), want);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

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

    #[rstest]
    #[case(b"AT+CMEE=1;#ISPPW=\"hunter2\"\r", "AT+CMEE=1;#ISPPW=<redacted><CR>")]
    #[case(b"at#isppw = \"hunter3\"\r", "at#isppw = <redacted><CR>")]
    #[case(b"AT#ISPPW=hunter4\r", "AT#ISPPW=<redacted><CR>")]
    #[case(b"AT#ISPPW=\"\"\r", "AT#ISPPW=\"\"<CR>")]
    fn a_sent_secret_is_masked_in_the_line_its_echo_and_the_step(#[case] sent: &[u8], #[case] shown: &str) {
        let mut t = Transcript::new("x", vec![]);
        let line = String::from_utf8_lossy(sent).trim_end().to_string();
        t.push(Entry::Step { index: 1, origin: "x.yaml:1".into(), description: format!("send {line}"), at_ms: 0 });
        t.push(Entry::Sent { bytes: sent.to_vec(), at_ms: 0 });
        t.push(Entry::Received { bytes: sent.to_vec(), at_ms: 1, role: Role::Echo });
        t.push(Entry::Check { ok: false, message: format!("expected OK after {line:?}") });
        let r = t.render();
        assert!(r.contains(&format!("== step 1: send {}", shown.trim_end_matches("<CR>"))), "{r}");
        assert!(r.contains(&format!("  > {shown}\n")), "{r}");
        assert!(r.contains(&format!("  < {shown} (echo)")), "{r}");
        assert!(!r.contains("hunter"), "{r}");
        assert!(!t.redact(&format!("step 1: {line}")).contains("hunter"));
    }

    #[test]
    fn addresses_after_a_chained_displayip_are_masked() {
        let mut t = Transcript::new("x", vec![]);
        t.push(Entry::Sent { bytes: b"AT+CMEE=1;#DISPLAYIP\r".to_vec(), at_ms: 0 });
        t.push(Entry::Received { bytes: b"#MY IP: \"10.64.0.2\"\r\n".to_vec(), at_ms: 1, role: Role::Matched });
        let r = t.render();
        assert!(r.contains("#MY IP: \"<ip>\""), "{r}");
    }

    /// A password-carrying line as a host might write it: any `*PW`
    /// parameter, chained after other commands or not, any case, spaces
    /// around `=`, quoted or not.
    fn secret_line() -> impl Strategy<Value = (String, String, &'static str)> {
        let param = proptest::sample::select(
            crate::at::parameters::TABLE.iter().filter(|p| p.secret).map(|p| p.name).collect::<Vec<_>>(),
        );
        let before =
            proptest::sample::select(vec!["", "+CMEE=1;", "E0", "+CREG=1 ; ", "ZE1", "+CGDCONT=1,\"IP\",\"a;b\";"]);
        (before, param, any::<u64>(), any::<bool>(), " {0,2}", " {0,2}", "s3cr[a-zA-Z0-9!@]{3,12}").prop_map(
            |(before, param, case, quoted, sp1, sp2, secret)| {
                let cased = |text: &str, shift: u32| -> String {
                    text.chars()
                        .enumerate()
                        .map(
                            |(i, c)| {
                                if case >> ((i as u32 + shift) % 64) & 1 == 1 {
                                    c.to_ascii_lowercase()
                                } else {
                                    c
                                }
                            },
                        )
                        .collect()
                };
                let value = if quoted { format!("\"{secret}\"") } else { secret.clone() };
                let line = format!("{}{before}#{}{sp1}={sp2}{value}", cased("AT", 0), cased(param, 2));
                (line, secret, param)
            },
        )
    }

    proptest! {
        #[test]
        fn a_password_never_shows_in_the_transcript((line, secret, param) in secret_line()) {
            let mut t = Transcript::new("x", vec![]);
            t.push(Entry::Step { index: 1, origin: "x.yaml:1".into(), description: format!("send {line}"), at_ms: 0 });
            t.push(Entry::Sent { bytes: format!("{line}\r").into_bytes(), at_ms: 0 });
            t.push(Entry::Received { bytes: format!("{line}\r").into_bytes(), at_ms: 1, role: Role::Echo });
            t.push(Entry::Received { bytes: b"\r\nOK\r\n".to_vec(), at_ms: 1, role: Role::Matched });
            t.push(Entry::Sent { bytes: format!("AT#{param}?\r").into_bytes(), at_ms: 2 });
            let answer = format!("#{param}: \"{secret}\"\r\n");
            t.push(Entry::Received { bytes: answer.clone().into_bytes(), at_ms: 3, role: Role::Unexpected });
            let message = format!("expected \"OK\", got {:?}", answer.trim_end());
            t.push(Entry::Check { ok: false, message: message.clone() });
            let rendered = t.render();
            prop_assert!(!rendered.contains(&secret), "{}", rendered);
            let description = format!("send {line}");
            prop_assert!(!t.redact(&message).contains(&secret));
            prop_assert!(!t.redact(&description).contains(&secret));
            prop_assert!(!redact_secrets(&description).contains(&secret));
            for step in t.step_times(10) {
                prop_assert!(!step.description.contains(&secret));
            }
        }
    }
}
