//! Command lines → commands (ITU-T V.250 §5.2-5.4; manual App. B p.53).
//!
//! A line is `AT` (any case) and a body. In the body, basic commands follow
//! each other (`ATZE0`, `AT&W`, `ATS0=2`, `ATS0?`; `D` takes the rest of the
//! line), extended commands are separated by `;` outside quotes
//! (`AT+CMEE=1;+CREG=1`), and an AT# command takes the rest of the line
//! (p.53: `AT#<Mnemonic>=<Value><CR>`, so `;` belongs to its value).
//!
//! Each [`Command`] carries two readings: the strict [`Form`] and raw
//! [`Command::tail`] the emulator executes (so its acceptance stays what it
//! was), and a lenient [`Command::value`] span that finds the argument
//! however it is written (`at#isppw = "x"`), for redaction and analysis.

use std::ops::Range;

/// What introduces a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A V.250 basic command: a letter, `&` and a letter, `S<n>`.
    Basic,
    /// `+NAME`.
    Extended,
    /// `#NAME` of the IP stack.
    Stack,
}

/// The strict form of a command, as the emulator accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form<'a> {
    /// `AT+X`, `AT#X`, `ATE`.
    Action,
    /// `AT+X?`, `ATS0?`.
    Read,
    /// `AT+X=?`.
    Test,
    /// `AT+X=<args>` (the text after `=`), `ATE1` (the digits), `ATS0=2`,
    /// `ATD<number>`.
    Set(&'a str),
    /// Anything else after the name (`AT#X =1`, `AT+X!`, `ATS0`).
    Malformed,
}

/// One command of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<'a> {
    pub kind: Kind,
    /// Upper case, with its prefix: `+CMEE`, `#ISPPW`, `E`, `&W`, `S0`, `D`.
    pub name: String,
    pub form: Form<'a>,
    /// The raw text after the name, up to the end of the command.
    pub tail: &'a str,
    /// The whole command (prefix character to end) in the parsed text.
    pub span: Range<usize>,
    /// The name, prefix included.
    pub name_span: Range<usize>,
    /// The argument text, found leniently: after `=` and spaces, before
    /// trailing spaces (`AT#ISPPW = "x"` → `"x"`), or whatever follows the
    /// name when it is not a read or test. `None` when there is none.
    pub value: Option<Range<usize>>,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// Where the body starts (after `AT`) in the parsed text.
    pub body_start: usize,
    pub commands: Vec<Command<'a>>,
}

impl Line<'_> {
    /// Whether a command of this line has this name (`+CMEE`, `#VALL`, `E`).
    pub fn has(&self, name: &str) -> bool {
        self.commands.iter().any(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// The first command line in `text`: bytes before the first `AT` are ignored
/// (as the unit ignores them), the body ends at the first
/// `<CR>` or `<LF>`. `None` when there is no `AT`.
pub fn parse_line(text: &str) -> Option<Line<'_>> {
    let start = find_prefix(text)?;
    let body_start = start + 2;
    let end = text[body_start..].find(['\r', '\n']).map_or(text.len(), |e| body_start + e);
    Some(Line { body_start, commands: parse_body_at(text, body_start, end) })
}

/// The commands of a body (the text after `AT`, no line end), with spans
/// into `body`.
pub fn parse_body(body: &str) -> Vec<Command<'_>> {
    parse_body_at(body, 0, body.len())
}

/// Where the first `AT` prefix starts (`AT`, `at`, `At`, `aT`): like the
/// unit, whatever comes before it is not part of the line.
pub fn find_prefix(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i].eq_ignore_ascii_case(&b'a') && bytes[i + 1].eq_ignore_ascii_case(&b't'))
}

/// Parse `text[start..end]` as a body; spans are into `text`.
fn parse_body_at(text: &str, start: usize, end: usize) -> Vec<Command<'_>> {
    // Trailing blanks are not part of the last command; between commands
    // spaces and `;` are skipped (the unit does the same).
    let end = start + text[start..end].trim_end_matches([' ', '\t']).len();
    let mut commands = Vec::new();
    let mut pos = start;
    loop {
        let rest = &text[pos..end];
        let skipped = rest.len() - rest.trim_start_matches([' ', ';']).len();
        pos += skipped;
        if pos >= end {
            break;
        }
        let (command, next) = match text.as_bytes()[pos] {
            b'#' => stack(text, pos, end),
            b'+' => extended(text, pos, end),
            _ => basic(text, pos, end),
        };
        commands.push(command);
        pos = next;
    }
    commands
}

/// Strict form of the text after an extended or AT# name.
fn form(tail: &str) -> Form<'_> {
    match tail {
        "" => Form::Action,
        "?" => Form::Read,
        "=?" => Form::Test,
        _ => tail.strip_prefix('=').map_or(Form::Malformed, Form::Set),
    }
}

/// End of a run of ASCII letters and digits starting at `from`.
fn alnum_end(text: &str, from: usize, end: usize) -> usize {
    text[from..end].find(|c: char| !c.is_ascii_alphanumeric()).map_or(end, |e| from + e)
}

/// The lenient argument span of `text[from..end]`, the text after a name.
fn value_span(text: &str, from: usize, end: usize) -> Option<Range<usize>> {
    let blank = [' ', '\t'];
    let tail = &text[from..end];
    let trimmed = tail.trim_start_matches(blank);
    let mut start = from + (tail.len() - trimmed.len());
    if let Some(after) = trimmed.strip_prefix('=') {
        start += 1 + (after.len() - after.trim_start_matches(blank).len());
    } else if trimmed.starts_with(':') {
        // `#X: value` is an answer, not a command.
        return None;
    }
    let value = text[start..end].trim_end_matches(blank);
    match value {
        "" | "?" => None,
        _ => Some(start..start + value.len()),
    }
}

/// `#NAME…`: takes the rest of the line.
fn stack(text: &str, pos: usize, end: usize) -> (Command<'_>, usize) {
    let name_end = alnum_end(text, pos + 1, end);
    let tail = &text[name_end..end];
    let command = Command {
        kind: Kind::Stack,
        name: text[pos..name_end].to_ascii_uppercase(),
        form: form(tail),
        tail,
        span: pos..end,
        name_span: pos..name_end,
        value: value_span(text, name_end, end),
    };
    (command, end)
}

/// `+NAME…` up to the first `;` outside quotes.
fn extended(text: &str, pos: usize, end: usize) -> (Command<'_>, usize) {
    let mut quoted = false;
    let mut cmd_end = end;
    for (i, c) in text[pos..end].char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                cmd_end = pos + i;
                break;
            }
            _ => {}
        }
    }
    let name_end = alnum_end(text, pos + 1, cmd_end);
    let tail = &text[name_end..cmd_end];
    let command = Command {
        kind: Kind::Extended,
        name: text[pos..name_end].to_ascii_uppercase(),
        form: form(tail),
        tail,
        span: pos..cmd_end,
        name_span: pos..name_end,
        value: value_span(text, name_end, cmd_end),
    };
    (command, cmd_end)
}

/// One V.250 basic command: a letter (or `&` and a letter) and its digits;
/// `S<n>?`, `S<n>=<digits>`; `D` takes the rest of the line.
fn basic<'a>(text: &'a str, pos: usize, end: usize) -> (Command<'a>, usize) {
    let bytes = text.as_bytes();
    let first_len = text[pos..end].chars().next().map_or(1, char::len_utf8);
    let malformed = |name_end: usize| Command {
        kind: Kind::Basic,
        name: text[pos..name_end].to_uppercase(),
        form: Form::Malformed,
        tail: &text[name_end..end],
        span: pos..end,
        name_span: pos..name_end,
        value: None,
    };
    // A command name is ASCII; anything else ends the line with an error.
    if !bytes[pos].is_ascii() {
        return (malformed(pos + first_len), end);
    }
    let letter = bytes[pos].to_ascii_uppercase();
    let name_end = if letter == b'&' && pos + 1 < end {
        if !bytes[pos + 1].is_ascii() {
            return (malformed(pos + 1), end);
        }
        pos + 2
    } else {
        pos + 1
    };
    let name = text[pos..name_end].to_ascii_uppercase();
    let digits_end = |from: usize| text[from..end].find(|c: char| !c.is_ascii_digit()).map_or(end, |e| from + e);
    let simple = |name: String, name_end: usize, form: Form<'a>, value: Option<Range<usize>>, next: usize| {
        let command = Command {
            kind: Kind::Basic,
            name,
            form,
            tail: &text[name_end..next],
            span: pos..next,
            name_span: pos..name_end,
            value,
        };
        (command, next)
    };
    match letter {
        b'D' => {
            // Dialling takes the rest of the line (V.250 §6.3.1).
            let number = &text[name_end..end];
            let form = if number.is_empty() { Form::Action } else { Form::Set(number) };
            simple(name, name_end, form, (!number.is_empty()).then_some(name_end..end), end)
        }
        b'S' => {
            let reg_end = digits_end(name_end);
            let name = text[pos..reg_end].to_ascii_uppercase();
            match bytes.get(reg_end).filter(|_| reg_end < end) {
                Some(b'?') => simple(name, reg_end, Form::Read, None, reg_end + 1),
                Some(b'=') => {
                    let v_end = digits_end(reg_end + 1);
                    let value = &text[reg_end + 1..v_end];
                    simple(name, reg_end, Form::Set(value), Some(reg_end + 1..v_end), v_end)
                }
                _ => {
                    let mut c = malformed(reg_end);
                    c.name = name;
                    (c, end)
                }
            }
        }
        _ => {
            let v_end = digits_end(name_end);
            let digits = &text[name_end..v_end];
            let form = if digits.is_empty() { Form::Action } else { Form::Set(digits) };
            simple(name, name_end, form, (!digits.is_empty()).then_some(name_end..v_end), v_end)
        }
    }
}

/// One argument as written after `=`: quoted or bare. Numbers are accepted
/// with or without quotes (p.48 and real-device drivers quote them; p.53 says
/// they go unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The text, quotes removed; a bare argument is trimmed.
    pub text: String,
    pub quoted: bool,
}

/// Why an argument list could not be split: unbalanced quotes, or text
/// after a closing quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadQuoting;

/// Split an argument list on commas outside quotes, removing quotes.
pub fn split_args(s: &str) -> Result<Vec<Arg>, BadQuoting> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut after_quote = false;
    for c in s.chars() {
        match c {
            '"' if in_quotes => {
                in_quotes = false;
                after_quote = true;
            }
            '"' if cur.trim().is_empty() && !after_quote => {
                cur.clear();
                in_quotes = true;
                quoted = true;
            }
            ',' if !in_quotes => {
                args.push(Arg { text: finish(&cur, quoted), quoted });
                cur.clear();
                quoted = false;
                after_quote = false;
            }
            _ if after_quote => {
                if !c.is_whitespace() {
                    return Err(BadQuoting);
                }
            }
            _ => cur.push(c),
        }
    }
    if in_quotes {
        return Err(BadQuoting);
    }
    args.push(Arg { text: finish(&cur, quoted), quoted });
    Ok(args)
}

fn finish(s: &str, quoted: bool) -> String {
    if quoted {
        s.to_string()
    } else {
        s.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn names(body: &str) -> Vec<String> {
        parse_body(body).into_iter().map(|c| c.name).collect()
    }

    #[rstest]
    #[case("ZE0", &["Z", "E"])]
    #[case("E0V1", &["E", "V"])]
    #[case("&W", &["&W"])]
    #[case("S0=2", &["S0"])]
    #[case("S0?E1", &["S0", "E"])]
    #[case("DT0612;+CMEE=1", &["D"])]
    #[case("+CMEE=1;+CREG=1", &["+CMEE", "+CREG"])]
    #[case("+CGDCONT=1,\"IP\",\"a;b\";+CREG?", &["+CGDCONT", "+CREG"])]
    #[case("+CMEE=1;#ISPPW=\"x\";+CREG=1", &["+CMEE", "#ISPPW"])]
    #[case("E1+CLIP=0", &["E", "+CLIP"])]
    #[case(" ; #vall  ", &["#VALL"])]
    #[case("i3", &["I"])]
    #[case("", &[])]
    fn splits_chains(#[case] body: &str, #[case] expected: &[&str]) {
        assert_eq!(names(body), expected);
    }

    #[rstest]
    #[case("+CMEE", Form::Action)]
    #[case("+CMEE?", Form::Read)]
    #[case("+CMEE=?", Form::Test)]
    #[case("+CMEE=1", Form::Set("1"))]
    #[case("+CMEE =1", Form::Malformed)]
    #[case("#ISPPW=\"a;b\"", Form::Set("\"a;b\""))]
    #[case("#ISPPW = \"x\"", Form::Malformed)]
    #[case("E1", Form::Set("1"))]
    #[case("E", Form::Action)]
    #[case("S0?", Form::Read)]
    #[case("S0=", Form::Set(""))]
    #[case("S0", Form::Malformed)]
    fn strict_forms(#[case] body: &str, #[case] expected: Form<'_>) {
        assert_eq!(parse_body(body)[0].form, expected);
    }

    #[rstest]
    #[case("at#isppw = \"x\"", Some("\"x\""))]
    #[case("AT#ISPPW=x", Some("x"))]
    #[case("AT#ISPPW=  x  \r", Some("x"))]
    #[case("AT#ISPPW?", None)]
    #[case("AT#ISPPW =?", None)]
    #[case("AT#ISPPW", None)]
    #[case("AT#ISPPW\"x\"", Some("\"x\""))]
    #[case("AT+CMEE=1;#ISPPW=\"hunter2\"", Some("\"hunter2\""))]
    #[case("ATE0#ISPPW=y", Some("y"))]
    fn lenient_values(#[case] line: &str, #[case] expected: Option<&str>) {
        let parsed = parse_line(line).unwrap();
        let last = parsed.commands.last().unwrap();
        assert_eq!(last.value.clone().map(|r| &line[r]), expected);
    }

    #[rstest]
    #[case("xxAT+CMEE=1", Some(2))]
    #[case("send at#vall", Some(5))]
    #[case("what", Some(2))]
    #[case("none", None)]
    #[case("A", None)]
    fn finds_the_prefix(#[case] text: &str, #[case] expected: Option<usize>) {
        assert_eq!(find_prefix(text), expected);
    }

    #[test]
    fn quotes_split() {
        assert_eq!(
            split_args("1,\"23\"").unwrap(),
            vec![Arg { text: "1".into(), quoted: false }, Arg { text: "23".into(), quoted: true }]
        );
        assert_eq!(split_args("\"a,b\"").unwrap().len(), 1);
        assert_eq!(split_args("\"abc"), Err(BadQuoting));
        assert_eq!(split_args("\"a\"b"), Err(BadQuoting));
    }

    /// An extended command as a generator writes it, with what it should
    /// parse back to.
    fn extended_command() -> impl Strategy<Value = (String, String, Form<'static>)> {
        let name = "[A-Za-z][A-Za-z0-9]{0,7}";
        let form = prop_oneof![
            Just(("".to_string(), Form::Action)),
            Just(("?".to_string(), Form::Read)),
            Just(("=?".to_string(), Form::Test)),
            "[a-z0-9,]{1,6}".prop_map(|v| (format!("={v}"), Form::Set("") /* compared by text below */)),
            "[a-z ;,]{0,6}".prop_map(|v| (format!("=\"{v}\""), Form::Set(""))),
        ];
        (name, form).prop_map(|(n, (tail, f))| (format!("+{n}{tail}"), format!("+{}", n.to_ascii_uppercase()), f))
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_spans_are_sound(line in "\\PC{0,40}|[aAtT+#&;=?\" ,S0-9a-z]{0,40}") {
            if let Some(parsed) = parse_line(&line) {
                for c in &parsed.commands {
                    for r in [Some(c.span.clone()), Some(c.name_span.clone()), c.value.clone()].into_iter().flatten() {
                        prop_assert!(r.start <= r.end && r.end <= line.len(), "{r:?} outside {line:?}");
                        prop_assert!(line.is_char_boundary(r.start) && line.is_char_boundary(r.end));
                    }
                    prop_assert!(c.span.start >= parsed.body_start);
                    if let Some(v) = &c.value {
                        prop_assert!(v.start >= c.name_span.end && v.end <= c.span.end);
                    }
                }
            }
            for c in parse_body(&line) {
                prop_assert!(c.span.end <= line.len() && line.is_char_boundary(c.span.start));
            }
        }

        #[test]
        fn extended_chains_round_trip(
            commands in proptest::collection::vec(extended_command(), 1..5),
            stack in proptest::option::of(("[A-Za-z][A-Za-z0-9]{0,9}", "[a-z0-9;+\" ,]{0,12}")),
        ) {
            let mut text = commands.iter().map(|c| c.0.clone()).collect::<Vec<_>>().join(";");
            if let Some((name, value)) = &stack {
                // An AT# command ends the chain and takes the rest of the line.
                text = format!("{text};#{name}={value}");
            }
            let line = format!("AT{text}");
            let parsed = parse_line(&line).unwrap();
            prop_assert_eq!(parsed.commands.len(), commands.len() + usize::from(stack.is_some()), "{}", line);
            if let (Some((name, value)), Some(last)) = (&stack, parsed.commands.last()) {
                prop_assert_eq!(&last.name, &format!("#{}", name.to_ascii_uppercase()));
                // Trailing blanks end the line, not the value (as on the unit).
                prop_assert_eq!(last.form, Form::Set(value.trim_end_matches(' ')));
            }
            for (c, (text, name, form)) in parsed.commands.iter().zip(&commands) {
                prop_assert_eq!(&c.name, name);
                prop_assert_eq!(&line[c.span.clone()], text.as_str());
                match (c.form, form) {
                    (Form::Set(args), Form::Set(_)) => prop_assert_eq!(args, &text[text.find('=').unwrap() + 1..]),
                    (got, want) => prop_assert_eq!(got, *want),
                }
            }
        }
    }
}
