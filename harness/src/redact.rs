//! Secrets out of every text the harness writes: transcripts, goldens,
//! run records (`run.json`, `junit.xml`, `report.html`), the console, and
//! later outputs (server logs, captures, recordings).
//!
//! A secret is the value of a `*PW` parameter of the AT# table (the display
//! commands print them in clear, p.15-16). It is found by construction, not
//! by pattern: each line is parsed with [`crate::at::command`], so the value
//! is masked however the command is written (chained after other commands,
//! lower case, spaces around `=`, quoted or not), and answers are read with
//! [`crate::at::response::information`] (`#ISPPW: "x"`). A [`Redactor`] also
//! remembers every secret value it has seen sent, and masks that text
//! wherever it turns up later (a failure message, an unexpected line).
//!
//! An empty value (`""`) hides nothing and stays visible, so "reset to
//! empty" can be read in a transcript.

use crate::at::command::{self, split_args, Kind};
use crate::at::{parameters, response};

/// What replaces a secret.
pub const MASK: &str = "<redacted>";

/// Remembered values shorter than this are masked only where the syntax
/// shows them to be secrets: masking a one-letter value everywhere would
/// mask the transcript itself.
const MIN_LITERAL: usize = 4;

/// Masks secrets; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    literals: Vec<String>,
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Remember the secret values of text sent to the unit (one or more
    /// command lines, raw or in the visible notation).
    pub fn learn(&mut self, sent: &str) {
        for segment in segments(sent) {
            if let Segment::Text(text) = segment {
                for value in secret_values(text) {
                    if value.chars().count() >= MIN_LITERAL && !self.literals.contains(&value) {
                        self.literals.push(value);
                    }
                }
            }
        }
        // Longest first, so that a value containing another is masked whole.
        self.literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
    }

    /// `text` with every secret masked.
    pub fn redact(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for segment in segments(text) {
            match segment {
                Segment::Text(t) => out.push_str(&redact_line(t)),
                Segment::End(e) => out.push_str(e),
            }
        }
        for literal in self.literals.iter().chain(known_secrets().iter()) {
            if out.contains(literal.as_str()) {
                out = out.replace(literal.as_str(), MASK);
            }
        }
        out
    }
}

impl Redactor {
    /// `bytes` with every secret masked: text as [`Redactor::redact`] does
    /// it; other bytes pass through the visible notation and back, so that
    /// binary payloads keep every byte that is not a secret.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.redact(text).into_bytes(),
            Err(_) => {
                let visible = crate::scenario::escape::encode(bytes);
                let masked = self.redact(&visible);
                if masked == visible {
                    return bytes.to_vec();
                }
                crate::scenario::escape::decode(&masked).unwrap_or_else(|_| masked.into_bytes())
            }
        }
    }
}

impl Redactor {
    /// Bytes the unit exchanged with a server (captures): as
    /// [`Redactor::redact_bytes`], and also the secrets protocols carry in
    /// their own forms: the argument of `PASS` (POP3, FTP) and of `AUTH
    /// PLAIN`/`AUTH LOGIN`, and the base64 form of every known secret (the
    /// password line of an AUTH LOGIN exchange).
    pub fn redact_wire(&self, bytes: &[u8]) -> Vec<u8> {
        use base64::Engine;
        let mut out = self.redact_bytes(bytes);
        let encoded: Vec<String> = self
            .literals
            .iter()
            .chain(known_secrets().iter())
            .map(|l| base64::engine::general_purpose::STANDARD.encode(l.as_bytes()))
            .collect();
        for e in encoded {
            out = replace_bytes(&out, e.as_bytes(), MASK.as_bytes());
        }
        let mut masked = Vec::with_capacity(out.len());
        for line in out.split_inclusive(|b| *b == b'\n') {
            let upper: Vec<u8> = line.iter().take(11).map(u8::to_ascii_uppercase).collect();
            let keep = ["PASS ", "AUTH PLAIN ", "AUTH LOGIN "]
                .iter()
                .find(|p| upper.starts_with(p.as_bytes()))
                .map(|p| p.len());
            match keep {
                Some(n) => {
                    masked.extend_from_slice(&line[..n]);
                    masked.extend_from_slice(MASK.as_bytes());
                    let end = line.iter().rposition(|b| *b != b'\r' && *b != b'\n').map_or(line.len(), |e| e + 1);
                    masked.extend_from_slice(&line[end.max(n)..]);
                }
                None => masked.extend_from_slice(line),
            }
        }
        masked
    }
}

fn replace_bytes(haystack: &[u8], needle: &[u8], by: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(by);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Secrets the harness was given rather than saw sent (a rig's SIM PIN and
/// APN, read from the environment): masked by every redaction from then on.
static SECRETS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Mask `value` wherever any text goes through this module from now on
/// (process-wide). An empty value is ignored; values of any length are
/// masked, since the caller says they are secret.
pub fn add_secret(value: &str) {
    if value.is_empty() {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_string());
        secrets.sort_by_key(|l| std::cmp::Reverse(l.len()));
    }
}

fn known_secrets() -> std::sync::RwLockReadGuard<'static, Vec<String>> {
    SECRETS.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Every secret recognisable in `text` without knowing what was sent.
pub fn redact(text: &str) -> String {
    Redactor::default().redact(text)
}

/// The secret values written in a command line, quotes removed.
pub fn secret_values(line: &str) -> Vec<String> {
    let mut values = Vec::new();
    for range in command_secrets(line) {
        let raw = &line[range];
        match split_args(raw) {
            Ok(args) => values.extend(args.into_iter().map(|a| a.text).filter(|t| !t.is_empty())),
            Err(_) => values.push(raw.trim_matches('"').to_string()),
        }
        values.push(raw.to_string());
    }
    values
}

enum Segment<'a> {
    Text(&'a str),
    End(&'a str),
}

/// Lines and their ends (`\r`, `\n`, or `<CR>`/`<LF>` of the visible notation).
fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let end = if rest.starts_with(['\r', '\n']) {
            1
        } else if rest.starts_with("<CR>") || rest.starts_with("<LF>") {
            4
        } else {
            0
        };
        if end > 0 {
            out.push(Segment::Text(&text[start..i]));
            out.push(Segment::End(&text[i..i + end]));
            i += end;
            start = i;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out.push(Segment::Text(&text[start..]));
    out
}

/// The spans of secret values in the command line of `line`, if it holds one.
fn command_secrets(line: &str) -> Vec<std::ops::Range<usize>> {
    let Some(parsed) = command::parse_line(line) else { return Vec::new() };
    parsed
        .commands
        .iter()
        .filter(|c| c.kind == Kind::Stack && parameters::is_secret(&c.name[1..]))
        .filter_map(|c| c.value.clone())
        .filter(|v| !is_empty_value(&line[v.clone()]))
        .collect()
}

fn is_empty_value(value: &str) -> bool {
    matches!(value, "" | "\"\"")
}

/// The spans of secret values in answers (`#ISPPW: "x"`) within `line`:
/// a quoted value up to its closing quote, a bare one up to a blank.
fn answer_secrets(line: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    for (i, _) in line.match_indices('#') {
        let Some((name, value)) = response::information(&line[i..]) else { continue };
        if !parameters::is_secret(&name[1..]) {
            continue;
        }
        let text = &line[i + value.start..];
        let len = match text.strip_prefix('"') {
            Some(q) => q.find('"').map_or(text.len(), |e| e + 2),
            None => text.find(char::is_whitespace).unwrap_or(text.len()),
        };
        if !is_empty_value(&text[..len]) {
            spans.push(i + value.start..i + value.start + len);
        }
    }
    spans
}

/// One line with its secrets masked: a command's value becomes `<redacted>`,
/// an answer's value `"<redacted>"` (the forms goldens hold).
fn redact_line(line: &str) -> String {
    let commands = command_secrets(line);
    let mut spans: Vec<(std::ops::Range<usize>, String)> =
        commands.iter().map(|r| (r.clone(), MASK.to_string())).collect();
    for r in answer_secrets(line) {
        if !commands.iter().any(|c| c.start < r.end && r.start < c.end) {
            spans.push((r, format!("\"{MASK}\"")));
        }
    }
    if spans.is_empty() {
        return line.to_string();
    }
    spans.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    for (r, mask) in spans {
        if r.start < at {
            continue;
        }
        out.push_str(&line[at..r.start]);
        out.push_str(&mask);
        at = r.end;
    }
    out.push_str(&line[at..]);
    out
}

#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn protocol_secrets_are_masked_on_the_wire() {
        let mut r = Redactor::new();
        r.learn("AT#SMTPPW=\"hunter22\"");
        assert_eq!(r.redact_wire(b"PASS hunter22\r\n"), b"PASS <redacted>\r\n");
        assert_eq!(r.redact_wire(b"pass other\r\n"), b"pass <redacted>\r\n");
        assert_eq!(r.redact_wire(b"AUTH PLAIN AGEAYg==\r\n"), b"AUTH PLAIN <redacted>\r\n");
        // AUTH LOGIN's password line is the base64 of the password alone.
        assert_eq!(r.redact_wire(b"aHVudGVyMjI=\r\n"), b"<redacted>\r\n");
        assert_eq!(r.redact_wire(b"250 OK\r\n"), b"250 OK\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case("AT#ISPPW=\"secret\"<CR>", "AT#ISPPW=<redacted><CR>")]
    #[case("AT#ISPUN=\"user\"<CR>", "AT#ISPUN=\"user\"<CR>")]
    #[case("at#smtppw=abc<CR>", "at#smtppw=<redacted><CR>")]
    #[case("send AT#APNPW=\"password\"", "send AT#APNPW=<redacted>")]
    #[case("send AT+CMEE=1;#ISPPW=\"hunter2\"", "send AT+CMEE=1;#ISPPW=<redacted>")]
    #[case("at#isppw = \"hunter3\"<CR>", "at#isppw = <redacted><CR>")]
    #[case("ATE0#POP3PW=x\r", "ATE0#POP3PW=<redacted>\r")]
    #[case("AT#ISPPW=\"myisppwd<CR>", "AT#ISPPW=<redacted><CR>")]
    #[case("AT#ISPPW=\"\"<CR>", "AT#ISPPW=\"\"<CR>")]
    #[case("AT#ISPPW?<CR>", "AT#ISPPW?<CR>")]
    #[case("#ISPPW: \"pw\"<CR><LF>", "#ISPPW: \"<redacted>\"<CR><LF>")]
    #[case("#ISPPW: \"\"<CR><LF>", "#ISPPW: \"\"<CR><LF>")]
    #[case("#ISPUN: \"un\"", "#ISPUN: \"un\"")]
    #[case("expected OK, got \"#SMTPPW: \\\"x\\\"\"", "expected OK, got \"#SMTPPW: \"<redacted>\"")]
    #[case("AT\rAT#FTPPW=guest\r", "AT\rAT#FTPPW=<redacted>\r")]
    fn masks_secrets(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(redact(input), expected);
    }

    #[test]
    fn remembers_what_was_sent() {
        let mut r = Redactor::new();
        r.learn("AT+CMEE=1;#ISPPW=\"hunter2\"\r");
        r.learn("AT#APNPW=x\r");
        assert_eq!(r.redact("step 3: got \"hunter2 OK\""), "step 3: got \"<redacted> OK\"");
        // Too short to be masked as text; masked where the syntax shows it.
        assert_eq!(r.redact("x marks AT#APNPW=x"), "x marks AT#APNPW=<redacted>");
    }

    #[test]
    fn masks_given_secrets() {
        add_secret("pin-7391-given");
        assert_eq!(redact("AT+CPIN=\"pin-7391-given\""), "AT+CPIN=\"<redacted>\"");
        assert_eq!(Redactor::new().redact("got pin-7391-given"), "got <redacted>");
    }

    /// A command line carrying a secret, as a host might write it.
    fn secret_line() -> impl Strategy<Value = (String, String)> {
        let secret = "s3cr[a-z0-9]{3,10}";
        let param =
            proptest::sample::select(parameters::TABLE.iter().filter(|p| p.secret).map(|p| p.name).collect::<Vec<_>>());
        let before = proptest::sample::select(vec!["", "+CMEE=1;", "E0", "+CREG=1; ", "Z", "+CMEE?;"]);
        let prefix = proptest::sample::select(vec!["AT", "at", "At"]);
        (prefix, before, param, any::<bool>(), any::<bool>(), " {0,2}", " {0,2}", secret).prop_map(
            |(prefix, before, param, lower, quoted, sp1, sp2, secret)| {
                let name = if lower { param.to_ascii_lowercase() } else { param.to_string() };
                let value = if quoted { format!("\"{secret}\"") } else { secret.clone() };
                (format!("{prefix}{before}#{name}{sp1}={sp2}{value}"), secret)
            },
        )
    }

    proptest! {
        #[test]
        fn a_sent_secret_never_shows((line, secret) in secret_line()) {
            let mut r = Redactor::new();
            r.learn(&line);
            for text in [
                format!("{line}<CR>"),
                format!("send {line}"),
                format!("step 2 (x.yaml:3): expected \"OK\", got {line:?}"),
                format!("#{}: \"{secret}\"", "ISPPW"),
                format!("unexpected {secret}"),
            ] {
                let stateless = redact(&text);
                let out = r.redact(&text);
                prop_assert!(!out.contains(&secret), "{} → {}", text, out);
                if text.contains(&line) {
                    prop_assert!(!stateless.contains(&secret), "{} → {}", text, stateless);
                }
            }
        }
    }
}
