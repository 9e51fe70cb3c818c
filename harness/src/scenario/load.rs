//! Loading scenario files: YAML → checked [`Scenario`]s, with diagnostics
//! that point at the line and column of each mistake, the way rustc does.
//!
//! The on-disk form is read with `yaml_serde` into private structs that deny
//! unknown keys, then converted to the model and checked (includes, variables,
//! regexes, escapes, durations, capabilities). Deserialisation errors keep
//! `yaml_serde`'s location; semantic errors are located with the
//! [`SourceMap`](super::source_map::SourceMap).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::escape;
use super::source_map::{join_index, join_key, Pos, SourceMap};
use super::{
    default_limits, AbortRule, AbortVerdict, Action, Basis, Capability, Control, Dur, Matcher, ProfileExpect, Scenario,
    Source, Step,
};

// ---------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------

/// A located problem in a scenario or fragment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as opened (the scenarios root joined with its relative path).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
    /// For an error inside an included fragment: each including file and the
    /// line of its `include:`, innermost first.
    pub included_from: Vec<(PathBuf, usize)>,
}

/// A scenario that could not be loaded. Displays like a rustc error:
///
/// ```text
/// error: unknown key `sendd` in step
///   --> scenarios/phy/redialcount.yaml:12:5
///    |
/// 12 |   - sendd: AT#REDIALCOUNT?
///    |     ^^^^^
///    = hint: did you mean `send`? valid keys: send, raw, silence, ...
///    = note: included from scenarios/x.yaml:7
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// Boxed to keep `Result<_, LoadError>` small.
    pub diagnostic: Box<Diagnostic>,
    /// The text of the offending line (without its line break), when known.
    pub source_line: Option<String>,
    /// How many characters the `^^^` underline covers (at least 1).
    pub width: usize,
}

impl std::ops::Deref for LoadError {
    type Target = Diagnostic;
    fn deref(&self) -> &Diagnostic {
        &self.diagnostic
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    /// An error with no source line to show (I/O problems).
    pub fn new(file: impl Into<PathBuf>, line: usize, column: usize, message: impl Into<String>) -> LoadError {
        LoadError {
            diagnostic: Box::new(Diagnostic {
                file: file.into(),
                line: line.max(1),
                column: column.max(1),
                message: message.into(),
                hint: None,
                included_from: Vec::new(),
            }),
            source_line: None,
            width: 1,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> LoadError {
        self.diagnostic.hint = Some(hint.into());
        self
    }

    fn with_width(mut self, width: usize) -> LoadError {
        self.width = width.max(1);
        self
    }

    /// Add include sites (innermost first) after those already recorded.
    fn included(mut self, from: &[(PathBuf, usize)]) -> LoadError {
        self.diagnostic.included_from.extend(from.iter().cloned());
        self
    }

    /// `file:line:column`, the file shown relative to the current directory when it is under it.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", shown(&self.file), self.line, self.column)
    }
}

/// A path as shown to the user: relative to the current directory when possible.
fn shown(path: &Path) -> String {
    if path.is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(rel) = path.strip_prefix(&cwd) {
                return rel.display().to_string();
            }
        }
    }
    path.display().to_string()
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.diagnostic;
        let w = d.line.to_string().len();
        let pad = " ".repeat(w);
        writeln!(f, "error: {}", d.message)?;
        write!(f, "{pad}--> {}", self.location())?;
        if let Some(text) = &self.source_line {
            writeln!(f)?;
            writeln!(f, "{pad} |")?;
            writeln!(f, "{} | {}", d.line, text)?;
            // Keep tabs so the caret lines up under the source.
            let lead: String =
                text.chars().take(d.column.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            write!(f, "{pad} | {lead}{}", "^".repeat(self.width.max(1)))?;
        }
        if let Some(hint) = &d.hint {
            write!(f, "\n{pad} = hint: {hint}")?;
        }
        for (file, line) in &d.included_from {
            write!(f, "\n{pad} = note: included from {}:{line}", shown(file))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// A file being loaded: its text and source map.
struct FileCtx {
    path: PathBuf,
    /// Relative to the scenarios root, `/`-separated (for `Step::origin`).
    rel: String,
    text: String,
    map: SourceMap,
    line_starts: Vec<usize>,
}

fn relative(path: &Path, root: &Path) -> PathBuf {
    path.strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf())
}

fn slash(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

impl FileCtx {
    fn read(path: &Path, root: &Path) -> Result<FileCtx, LoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::new(path, 1, 1, format!("cannot read `{}`: {e}", shown(path))))?;
        Ok(FileCtx::new(path, root, text))
    }

    fn new(path: &Path, root: &Path, text: String) -> FileCtx {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        // A map is only missing when yaml-rust2 and libyaml disagree; the
        // diagnostics then fall back to the start of the file.
        let map = SourceMap::parse(&text).unwrap_or_default();
        FileCtx { path: path.to_path_buf(), rel: slash(&relative(path, root)), text, map, line_starts }
    }

    fn line_text(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self.line_starts.get(line).map_or(self.text.len(), |&e| e - 1);
        Some(self.text[start..end.max(start)].trim_end_matches('\r'))
    }

    fn byte_offset(&self, pos: Pos) -> Option<usize> {
        let start = *self.line_starts.get(pos.line.checked_sub(1)?)?;
        let line = self.line_text(pos.line)?;
        let within = line.char_indices().nth(pos.column.saturating_sub(1)).map_or(line.len(), |(i, _)| i);
        Some(start + within)
    }

    fn pos_of_offset(&self, offset: usize) -> Pos {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset.min(self.text.len())].chars().count() + 1;
        Pos { line, column }
    }

    /// An error at `pos`, underlining the token written there.
    fn err(&self, pos: Pos, message: impl Into<String>) -> LoadError {
        let line = self.line_text(pos.line).map(str::to_string);
        let width = line.as_deref().map_or(1, |l| token_width(l, pos.column));
        LoadError {
            diagnostic: Box::new(Diagnostic {
                file: self.path.clone(),
                line: pos.line,
                column: pos.column,
                message: message.into(),
                hint: None,
                included_from: Vec::new(),
            }),
            source_line: line,
            width,
        }
    }

    /// An error at the value of `path` (else its key, else the nearest ancestor).
    fn err_value(&self, path: &str, message: impl Into<String>) -> LoadError {
        let pos = self.map.value_or_key(path).unwrap_or_else(|| self.map.nearest(path));
        self.err(pos, message)
    }

    /// An error at the key of `path` (else its value, else the nearest ancestor).
    fn err_key(&self, path: &str, message: impl Into<String>) -> LoadError {
        let pos = self.map.key_or_value(path).unwrap_or_else(|| self.map.nearest(path));
        self.err(pos, message)
    }

    /// Where `value[byte_off..]` (which starts with `needle`) is written, for a
    /// scalar whose value starts at `start`.
    fn locate_within(&self, start: Pos, value: &str, byte_off: usize, needle: &str) -> Pos {
        let Some(s) = self.byte_offset(start) else {
            return start;
        };
        let src = &self.text[s..];
        let (body, shift) = match src.as_bytes().first() {
            Some(b'"') | Some(b'\'') => (&src[1..], 1),
            _ => (src, 0),
        };
        let prefix = &value[..byte_off];
        if !prefix.contains('\n') && body.starts_with(prefix) {
            return self.pos_of_offset(s + shift + prefix.len());
        }
        if !needle.is_empty() {
            let n = prefix.matches(needle).count();
            if let Some((i, _)) = src.match_indices(needle).nth(n) {
                return self.pos_of_offset(s + i);
            }
        }
        start
    }

    /// An error about `needle` at `value[byte_off..]`, the value of `path`.
    fn err_within(
        &self,
        path: &str,
        value: &str,
        byte_off: usize,
        needle: &str,
        message: impl Into<String>,
    ) -> LoadError {
        let start = self.map.value_or_key(path).unwrap_or_else(|| self.map.nearest(path));
        let pos = self.locate_within(start, value, byte_off, needle);
        let e = self.err(pos, message);
        if pos != start || value.starts_with(needle) {
            e.with_width(needle.chars().count())
        } else {
            e
        }
    }
}

/// How many characters the token starting at `column` covers: a quoted
/// scalar up to its closing quote, a key up to its colon, a plain value up to
/// the end of the line or a comment.
fn token_width(line: &str, column: usize) -> usize {
    let rest: Vec<char> = line.chars().skip(column.saturating_sub(1)).collect();
    let Some(&first) = rest.first() else {
        return 1;
    };
    let n = match first {
        '"' | '\'' => {
            let mut i = 1;
            let mut end = rest.len();
            while i < rest.len() {
                if first == '"' && rest[i] == '\\' {
                    i += 2;
                    continue;
                }
                if rest[i] == first {
                    if first == '\'' && rest.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    end = i + 1;
                    break;
                }
                i += 1;
            }
            end
        }
        '{' | '[' | '|' | '>' => rest.len(),
        _ => {
            let mut end = rest.len();
            for i in 0..rest.len() {
                let next = rest.get(i + 1).copied();
                if rest[i] == ':' && next.is_none_or(|c| c == ' ' || c == '\t') {
                    end = i;
                    break;
                }
                if rest[i] == '#' && i > 0 && (rest[i - 1] == ' ' || rest[i - 1] == '\t') {
                    end = i;
                    break;
                }
            }
            end
        }
    };
    let token: String = rest[..n.min(rest.len())].iter().collect();
    token.trim_end().chars().count().max(1)
}

// ---------------------------------------------------------------------------
// On-disk form
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    id: String,
    title: String,
    source: Source,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    covers: Vec<String>,
    #[serde(default)]
    basis: Basis,
    #[serde(default)]
    cites: Vec<String>,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    families: Vec<String>,
    #[serde(default)]
    reading: Option<String>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    abort: Vec<RawAbort>,
    #[serde(default)]
    redact: Vec<String>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFragment {
    title: String,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    // Actions (exactly one, or none with `expect`).
    #[serde(default)]
    send: Option<String>,
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    silence: Option<String>,
    #[serde(default)]
    wait: Option<String>,
    /// Enums are written as single-key maps (`{ring: {count: 2}}`), not YAML tags.
    #[serde(default, with = "yaml_serde::with::singleton_map_recursive")]
    emulator: Option<Control>,
    #[serde(default, with = "yaml_serde::with::singleton_map_recursive")]
    fixture: Option<super::SetupStep>,
    #[serde(default, with = "yaml_serde::with::singleton_map_recursive")]
    server: Option<super::ObserveStep>,
    #[serde(default)]
    include: Option<String>,
    // Modifiers.
    #[serde(default)]
    expect: Option<Expect>,
    #[serde(default)]
    expect_bytes: Option<String>,
    #[serde(default)]
    echo: Option<bool>,
    #[serde(default)]
    idle: Option<String>,
    #[serde(default)]
    deadline: Option<String>,
    #[serde(default)]
    abort: Option<Vec<RawAbort>>,
    #[serde(default)]
    basis: Option<Basis>,
    #[serde(default)]
    cites: Option<Vec<String>>,
    #[serde(default)]
    sources: Option<Vec<String>>,
    #[serde(default)]
    families: Option<Vec<String>>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    profiles: Option<RawProfiles>,
}

/// `profiles: {manual: [...], erratum: E9}`: the manual's answer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfiles {
    #[serde(default)]
    manual: Option<Expect>,
    #[serde(default)]
    erratum: Option<String>,
}

const ACTIONS: [&str; 8] = ["send", "raw", "silence", "wait", "emulator", "fixture", "server", "include"];
const STEP_KEYS: [&str; 20] = [
    "send",
    "raw",
    "silence",
    "wait",
    "emulator",
    "fixture",
    "server",
    "include",
    "expect",
    "expect_bytes",
    "echo",
    "idle",
    "deadline",
    "abort",
    "basis",
    "cites",
    "sources",
    "families",
    "note",
    "profiles",
];

impl RawStep {
    /// Whether the key has a (non-null) value.
    fn has(&self, key: &str) -> bool {
        match key {
            "send" => self.send.is_some(),
            "raw" => self.raw.is_some(),
            "silence" => self.silence.is_some(),
            "wait" => self.wait.is_some(),
            "emulator" => self.emulator.is_some(),
            "fixture" => self.fixture.is_some(),
            "server" => self.server.is_some(),
            "include" => self.include.is_some(),
            "expect" => self.expect.is_some(),
            "expect_bytes" => self.expect_bytes.is_some(),
            "echo" => self.echo.is_some(),
            "idle" => self.idle.is_some(),
            "deadline" => self.deadline.is_some(),
            "abort" => self.abort.is_some(),
            "basis" => self.basis.is_some(),
            "cites" => self.cites.is_some(),
            "sources" => self.sources.is_some(),
            "families" => self.families.is_some(),
            "note" => self.note.is_some(),
            "profiles" => self.profiles.is_some(),
            _ => false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAbort {
    re: String,
    verdict: AbortVerdict,
    reason: String,
}

/// `expect:` is one matcher or a list of them.
enum Expect {
    One(Matcher),
    Many(Vec<Matcher>),
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Expect;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a line, a matcher map (`line`, `re`, `any`, `unordered`) or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Expect, E> {
                Ok(Expect::One(Matcher::Line(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Expect, E> {
                Ok(Expect::One(Matcher::Line(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Expect, E> {
                Ok(Expect::One(Matcher::Line(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Expect, E> {
                Ok(Expect::One(Matcher::Line(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Expect, A::Error> {
                Matcher::deserialize(MapAccessDeserializer::new(map)).map(Expect::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Expect, A::Error> {
                Vec::<Matcher>::deserialize(SeqAccessDeserializer::new(seq)).map(Expect::Many)
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------
// yaml_serde errors → diagnostics
// ---------------------------------------------------------------------------

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex"))
}

/// Backticked names in a serde message (`expected one of `a`, `b``).
fn backticked(s: &str) -> Vec<String> {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"`([^`]*)`").captures_iter(s).map(|c| c[1].to_string()).collect()
}

/// What the map at `path` is, for messages.
fn describe(path: &str, fragment: bool) -> String {
    static STEP: OnceLock<Regex> = OnceLock::new();
    static ABORT: OnceLock<Regex> = OnceLock::new();
    if path.is_empty() || path == "." {
        return if fragment { "fragment" } else { "scenario" }.into();
    }
    if re(&STEP, r"^steps\[\d+\]$").is_match(path) {
        return "step".into();
    }
    if re(&ABORT, r"abort\[\d+\]$").is_match(path) {
        return "abort rule".into();
    }
    if path == "source" {
        return "`source`".into();
    }
    if path.contains(".emulator") {
        return "emulator control".into();
    }
    format!("`{path}`")
}

/// The keys a level requires, for `missing field` hints.
fn required_keys(what: &str) -> Option<&'static str> {
    Some(match what {
        "scenario" => "a scenario needs `id`, `title`, `source` and `steps`",
        "fragment" => "a fragment needs `title` and `steps`",
        "abort rule" => "an abort rule needs `re`, `verdict` (fail, error or skip) and `reason`",
        "`source`" => "`source` needs at least `chapter`",
        _ => return None,
    })
}

const QUOTE_HINT: &str =
    "the value is empty; a value starting with `#` is a YAML comment: quote it (\"#CME ERROR: 3\")";

fn serde_error(ctx: &FileCtx, e: &yaml_serde::Error, fragment: bool) -> LoadError {
    static AT: OnceLock<Regex> = OnceLock::new();
    static PATHED: OnceLock<Regex> = OnceLock::new();
    let pos = e.location().map(|l| Pos::new(l.line().max(1), l.column().max(1))).unwrap_or(Pos::START);
    let full = e.to_string();
    let text = re(&AT, r" at line \d+ column \d+").replace(&full, "").into_owned();
    let (path, msg) = match re(&PATHED, r"(?s)^([A-Za-z0-9_.\[\]-]+): (.*)$").captures(&text) {
        Some(c) => (c[1].to_string(), c[2].to_string()),
        None => (String::new(), text.clone()),
    };
    let what = describe(&path, fragment);

    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let names = backticked(rest);
        let (key, valid) = names.split_first().map_or((String::new(), &[][..]), |(k, v)| (k.clone(), v));
        let mut hint = String::new();
        if let Some(s) = suggest(&key, valid.iter().map(String::as_str)) {
            hint.push_str(&format!("did you mean `{s}`? "));
        }
        if valid.is_empty() {
            hint.push_str("this map takes no keys");
        } else {
            hint.push_str(&format!("valid keys: {}", valid.join(", ")));
        }
        return ctx.err(pos, format!("unknown key `{key}` in {what}")).with_width(key.chars().count()).with_hint(hint);
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let names = backticked(rest);
        let (value, valid) = names.split_first().map_or((String::new(), &[][..]), |(k, v)| (k.clone(), v));
        let field = path.rsplit('.').next().unwrap_or("");
        let noun = match field {
            "emulator" => "emulator control".to_string(),
            "" => "value".to_string(),
            f if f.ends_with(']') => "value".to_string(),
            f => f.replace('_', " "),
        };
        let mut hint = String::new();
        if let Some(s) = suggest(&value, valid.iter().map(String::as_str)) {
            hint.push_str(&format!("did you mean `{s}`? "));
        }
        hint.push_str(&format!("valid: {}", valid.join(", ")));
        return ctx.err(pos, format!("unknown {noun} `{value}`")).with_width(value.chars().count()).with_hint(hint);
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let key = backticked(rest).into_iter().next().unwrap_or_default();
        let mut err = ctx.err(pos, format!("missing key `{key}` in {what}"));
        if let Some(h) = required_keys(&what) {
            err = err.with_hint(h);
        }
        return err;
    }
    if let Some(rest) = msg.strip_prefix("duplicate field ") {
        let key = backticked(rest).into_iter().next().unwrap_or_default();
        let full_path = join_key(if path == "." { "" } else { &path }, &key);
        let first = ctx.map.key(&full_path);
        let at = ctx.map.duplicates().iter().find(|(p, _)| *p == full_path).map_or(pos, |&(_, p)| p);
        let err = ctx.err(at, format!("duplicate key `{key}` in {what}")).with_width(key.chars().count());
        return match first {
            Some(f) => err.with_hint(format!("first written at line {}", f.line)),
            None => err,
        };
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "something else"));
        let place = if path.is_empty() || path == "." { String::new() } else { format!(" for `{path}`") };
        let err = ctx.err(pos, format!("wrong type{place}: expected {expected}, found {found}"));
        return if found.starts_with("unit") {
            err.with_hint(QUOTE_HINT)
        } else if expected.contains("sequence") {
            err.with_hint("write a list: one `- item` per line, or `[a, b]`")
        } else if expected.contains("string") && (found == "map" || found.starts_with("sequence")) {
            err.with_hint("if this is meant as text, quote it: a value containing `: ` or starting with `[`, `{`, `-`, `#`, `*`, `&`, `!`, `>` or `|` must be quoted")
        } else {
            err
        };
    }
    if let Some(rest) = msg.strip_prefix("unknown matcher key ") {
        let names = backticked(rest);
        let (key, valid) = names.split_first().map_or((String::new(), &[][..]), |(k, v)| (k.clone(), v));
        let at = ctx.map.key(&join_key(&path, &key)).unwrap_or(pos);
        let mut hint = String::new();
        if let Some(s) = suggest(&key, valid.iter().map(String::as_str)) {
            hint.push_str(&format!("did you mean `{s}`? "));
        }
        hint.push_str(&format!("a matcher map has one key among: {}", valid.join(", ")));
        return ctx.err(at, format!("unknown matcher key `{key}`")).with_width(key.chars().count()).with_hint(hint);
    }
    // Syntax errors from libyaml and custom messages.
    static WHILE: OnceLock<Regex> = OnceLock::new();
    let msg = re(&WHILE, r", (while \w+ an? [\w ]+?) at line (\d+) column \d+")
        .replace(&msg, " ($1 that starts on line $2)")
        .into_owned();
    let mut err = ctx.err(pos, msg.clone());
    if msg.contains("mapping values are not allowed") {
        err = err.with_hint(
            "a value containing `: ` must be quoted (`expect: \"+CREG: 0,1\"`); otherwise check that keys of one map line up",
        );
    } else if msg.contains("did not find expected") || msg.contains("indentation") {
        err = err.with_hint("check the indentation: the keys of one map, and the `-` of one list, must line up");
    } else if msg.contains("cannot start any token") {
        err = err.with_hint("a value starting with `@` or `` ` `` must be quoted");
    }
    err
}

/// The candidate closest to `word`, if close enough to be a likely typo.
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal
/// string alignment), so `rign` is one edit from `ring`.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

fn parse_doc<T: for<'de> Deserialize<'de>>(ctx: &FileCtx, fragment: bool) -> Result<T, LoadError> {
    let value: T = yaml_serde::from_str(&ctx.text).map_err(|e| serde_error(ctx, &e, fragment))?;
    if let Some((path, pos)) = ctx.map.duplicates().first() {
        let key = path.rsplit('.').next().unwrap_or(path);
        let mut err = ctx.err(*pos, format!("duplicate key `{key}`")).with_width(key.chars().count());
        if let Some(first) = ctx.map.key(path) {
            err = err.with_hint(format!("first written at line {}", first.line));
        }
        return Err(err);
    }
    Ok(value)
}

// ---------------------------------------------------------------------------
// Checks shared by every level
// ---------------------------------------------------------------------------

fn capability(ctx: &FileCtx, path: &str, name: &str) -> Result<Capability, LoadError> {
    Capability::parse(name).ok_or_else(|| {
        let names = Capability::ALL.map(Capability::name);
        let mut hint = String::new();
        if let Some(s) = suggest(name, names) {
            hint.push_str(&format!("did you mean `{s}`? "));
        }
        hint.push_str(&format!("known capabilities: {}", names.join(", ")));
        ctx.err_value(path, format!("unknown capability `{name}`")).with_hint(hint)
    })
}

fn duration(ctx: &FileCtx, path: &str, text: &str) -> Result<Duration, LoadError> {
    if !text.trim().starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(ctx
            .err_value(path, format!("bad duration `{text}`"))
            .with_hint("write a number and a unit: `300ms`, `2s`, `1.5s`, `2m`"));
    }
    Dur::parse(text).map_err(|m| {
        ctx.err_value(path, format!("bad {m}")).with_hint("write a number and a unit: `300ms`, `2s`, `1.5s`, `2m`")
    })
}

/// Compile a regex as written, locating syntax errors inside it.
fn compile(ctx: &FileCtx, path: &str, pattern: &str) -> Result<Regex, LoadError> {
    Regex::new(pattern).map_err(|e| regex_error(ctx, path, pattern, pattern, &e))
}

fn regex_error(ctx: &FileCtx, path: &str, written: &str, compiled: &str, e: &regex::Error) -> LoadError {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let what = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(lines.last().copied().unwrap_or("invalid regex"));
    let message = format!("invalid regex: {what}");
    // regex prints the pattern indented by 4 and a caret line under it.
    if written == compiled && lines.len() >= 4 && !written.contains('\n') {
        if let Some(caret) = lines[2].find('^') {
            let chars = caret.saturating_sub(4);
            let width = lines[2].matches('^').count();
            if let Some((off, _)) = written.char_indices().nth(chars) {
                let needle: String = written[off..].chars().take(width.max(1)).collect();
                return ctx.err_within(path, written, off, &needle, message);
            }
        }
    }
    ctx.err_value(path, message)
}

fn decode(ctx: &FileCtx, path: &str, text: &str) -> Result<Vec<u8>, LoadError> {
    escape::decode(text).map_err(|e| {
        ctx.err_within(path, text, e.offset.min(text.len()), &e.escape, format!("bad escape `{}`", e.escape))
            .with_hint(e.hint.clone())
    })
}

fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Check every `${name}` in `text` (the value of `path`) is defined; returns
/// the text with each use replaced by `placeholder`.
fn check_vars(
    ctx: &FileCtx,
    path: &str,
    text: &str,
    defined: &BTreeSet<String>,
    placeholder: &str,
) -> Result<String, LoadError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    while let Some(i) = text[rest..].find("${").map(|i| i + rest) {
        out.push_str(&text[rest..i]);
        let Some(len) = text[i + 2..].find('}') else {
            return Err(ctx
                .err_within(path, text, i, "${", "unterminated variable: `${` without `}`")
                .with_hint("write `${name}`"));
        };
        let name = &text[i + 2..i + 2 + len];
        let use_ = &text[i..i + 3 + len];
        if super::server::fixture_var(name).is_some() {
            out.push_str(placeholder);
            rest = i + 3 + len;
            continue;
        }
        if !valid_var_name(name) {
            return Err(ctx
                .err_within(path, text, i, use_, format!("bad variable name `{name}`"))
                .with_hint("a variable name is letters, digits and `_`, not starting with a digit"));
        }
        if !defined.contains(name) {
            let mut hint = String::new();
            if let Some(s) = suggest(name, defined.iter().map(String::as_str)) {
                hint.push_str(&format!("did you mean `{s}`? "));
            }
            hint.push_str(
                "variables come from `vars:` (scenario or fragment defaults) or from a named group `(?<name>...)` of an earlier step's `re:`",
            );
            return Err(ctx.err_within(path, text, i, use_, format!("undefined variable `{name}`")).with_hint(hint));
        }
        out.push_str(placeholder);
        rest = i + 3 + len;
    }
    out.push_str(&text[rest..]);
    Ok(out)
}

fn abort_rules(ctx: &FileCtx, path: &str, raw: Vec<RawAbort>) -> Result<Vec<AbortRule>, LoadError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, a)| {
            let p = join_key(&join_index(path, i), "re");
            Ok(AbortRule { pattern: compile(ctx, &p, &a.re)?, verdict: a.verdict, reason: a.reason })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/// A loaded scenario with the file it came from (for suite-level checks).
struct Loaded {
    scenario: Scenario,
    file: Rc<FileCtx>,
}

/// A step after include expansion, with where it is written.
struct Flat {
    raw: RawStep,
    file: Rc<FileCtx>,
    /// Node path of the step in its file (`steps[3]`).
    path: String,
    /// Include sites, innermost first.
    inc: Vec<(PathBuf, usize)>,
}

struct Loader<'a> {
    root: &'a Path,
    requires: Vec<Capability>,
    /// Fragment defaults, first definition wins.
    defaults: BTreeMap<String, String>,
}

/// Load and check one scenario file. `root` is the scenarios directory
/// (paths in diagnostics, `Scenario::path` and `Step::origin` are relative to
/// it; fragments are looked up in `<root>/fragments/`).
pub fn load_file(path: &Path, root: &Path) -> Result<Scenario, LoadError> {
    load(path, root).map(|l| l.scenario)
}

fn load(path: &Path, root: &Path) -> Result<Loaded, LoadError> {
    let file = Rc::new(FileCtx::read(path, root)?);
    let raw: RawScenario = parse_doc(&file, false)?;
    let ctx = &*file;

    static ID: OnceLock<Regex> = OnceLock::new();
    if !re(&ID, r"^[a-z0-9][a-z0-9._-]*$").is_match(&raw.id) {
        return Err(ctx
            .err_value("id", format!("invalid scenario id `{}`", raw.id))
            .with_hint("an id is lower-case letters, digits, `.`, `_` and `-`, starting with a letter or digit (`phy.redialcount`)"));
    }
    if raw.title.trim().is_empty() {
        return Err(ctx.err_key("title", "empty title"));
    }
    if raw.reading.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(ctx
            .err_key("reading", "empty `reading`")
            .with_hint("say which reading of the manual is chosen and why"));
    }
    if raw.steps.is_empty() {
        return Err(ctx.err_key("steps", "a scenario needs at least one step"));
    }

    let mut loader = Loader { root, requires: Vec::new(), defaults: BTreeMap::new() };
    for (i, name) in raw.requires.iter().enumerate() {
        let c = capability(ctx, &join_index("requires", i), name)?;
        loader.requires.push(c);
    }
    for name in raw.vars.keys() {
        if !valid_var_name(name) {
            return Err(ctx
                .err_key(&join_key("vars", name), format!("bad variable name `{name}`"))
                .with_hint("a variable name is letters, digits and `_`, not starting with a digit"));
        }
    }
    let compile_all = |key: &str, list: &[String]| -> Result<Vec<Regex>, LoadError> {
        list.iter().enumerate().map(|(i, p)| compile(ctx, &join_index(key, i), p)).collect()
    };
    let ignore = compile_all("ignore", &raw.ignore)?;
    let redact = compile_all("redact", &raw.redact)?;
    let abort = abort_rules(ctx, "abort", raw.abort)?;

    // Expand includes, then check steps in order (captures define variables).
    let mut flat = Vec::new();
    let mut chain = vec![canonical(path)];
    loader.expand(raw.steps, &file, "steps", &mut chain, &[], &mut flat)?;

    let mut vars = loader.defaults.clone();
    vars.extend(raw.vars);
    let mut defined: BTreeSet<String> = vars.keys().cloned().collect();
    let mut steps = Vec::with_capacity(flat.len());
    for f in flat {
        let inc = f.inc.clone();
        let step = loader.step(f, &mut defined).map_err(|e| e.included(&inc))?;
        steps.push(step);
    }

    let mut requires = loader.requires;
    requires.sort();
    requires.dedup();

    let scenario = Scenario {
        id: raw.id,
        title: raw.title,
        source: raw.source,
        tags: raw.tags,
        requires,
        covers: raw.covers,
        basis: raw.basis,
        cites: raw.cites,
        sources: raw.sources,
        families: raw.families,
        reading: raw.reading,
        vars,
        ignore,
        abort,
        redact,
        steps,
        path: relative(path, root),
    };
    Ok(Loaded { scenario, file })
}

/// Remove `.` and `name/..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Loader<'_> {
    /// Find an included file: beside the including file, else in `<root>/fragments/`.
    fn resolve(&self, from: &Path, name: &str) -> (Option<PathBuf>, Vec<PathBuf>) {
        let mut dirs = Vec::new();
        if let Some(dir) = from.parent() {
            dirs.push(dir.to_path_buf());
        }
        let frags = self.root.join("fragments");
        if !dirs.contains(&frags) {
            dirs.push(frags);
        }
        for dir in &dirs {
            let candidate = normalize(&dir.join(name));
            if candidate.is_file() {
                return (Some(candidate), dirs);
            }
        }
        (None, dirs)
    }

    fn expand(
        &mut self,
        steps: Vec<RawStep>,
        file: &Rc<FileCtx>,
        list: &str,
        chain: &mut Vec<PathBuf>,
        inc: &[(PathBuf, usize)],
        out: &mut Vec<Flat>,
    ) -> Result<(), LoadError> {
        for (i, raw) in steps.into_iter().enumerate() {
            let path = join_index(list, i);
            let Some(name) = raw.include.clone() else {
                out.push(Flat { raw, file: file.clone(), path, inc: inc.to_vec() });
                continue;
            };
            let ctx = &**file;
            let here = |e: LoadError| e.included(inc);
            if let Some(other) = STEP_KEYS.iter().find(|k| **k != "include" && **k != "note" && raw.has(k)) {
                return Err(here(
                    ctx.err_key(&join_key(&path, other), format!("`{other}` cannot be used with `include`"))
                        .with_hint("an include step has only `include` (and `note`); put other keys in their own step"),
                ));
            }
            let inc_path = join_key(&path, "include");
            let (found, dirs) = self.resolve(&ctx.path, &name);
            let Some(target) = found else {
                let looked = dirs.iter().map(|d| format!("{}/", shown(d))).collect::<Vec<_>>().join(" and ");
                return Err(here(
                    ctx.err_value(&inc_path, format!("included file `{name}` not found"))
                        .with_hint(format!("looked in {looked}")),
                ));
            };
            let canon = canonical(&target);
            let line = ctx.map.nearest(&inc_path).line;
            if chain.contains(&canon) {
                let mut names: Vec<String> = chain
                    .iter()
                    .skip_while(|p| **p != canon)
                    .map(|p| slash(&relative(p, &canonical(self.root))))
                    .collect();
                names.push(slash(&relative(&canon, &canonical(self.root))));
                return Err(here(
                    ctx.err_value(&inc_path, format!("include cycle: {}", names.join(" -> ")))
                        .with_hint("a fragment cannot include itself, directly or through others"),
                ));
            }
            let mut inner_inc = vec![(ctx.path.clone(), line)];
            inner_inc.extend(inc.iter().cloned());
            let frag = Rc::new(FileCtx::read(&target, self.root).map_err(|e| e.included(&inner_inc))?);
            let raw_frag: RawFragment = parse_doc(&frag, true).map_err(|e| e.included(&inner_inc))?;
            let fctx = &*frag;
            if raw_frag.title.trim().is_empty() {
                return Err(fctx.err_key("title", "empty title").included(&inner_inc));
            }
            if raw_frag.steps.is_empty() {
                return Err(fctx.err_key("steps", "a fragment needs at least one step").included(&inner_inc));
            }
            for (k, cap) in raw_frag.requires.iter().enumerate() {
                let c = capability(fctx, &join_index("requires", k), cap).map_err(|e| e.included(&inner_inc))?;
                self.requires.push(c);
            }
            for (k, v) in raw_frag.vars {
                if !valid_var_name(&k) {
                    return Err(fctx
                        .err_key(&join_key("vars", &k), format!("bad variable name `{k}`"))
                        .included(&inner_inc));
                }
                self.defaults.entry(k).or_insert(v);
            }
            chain.push(canon);
            self.expand(raw_frag.steps, &frag, "steps", chain, &inner_inc, out)?;
            chain.pop();
        }
        Ok(())
    }

    /// Check one step and convert it; `defined` gains the step's captures.
    fn step(&mut self, flat: Flat, defined: &mut BTreeSet<String>) -> Result<Step, LoadError> {
        let Flat { mut raw, file, path: p, .. } = flat;
        let ctx = &*file;
        let key = |k: &str| join_key(&p, k);

        // A key written with no value (often a value starting with `#`).
        for k in STEP_KEYS {
            if !raw.has(k) && ctx.map.key(&key(k)).is_some() {
                return Err(ctx.err_key(&key(k), format!("`{k}` has no value")).with_hint(QUOTE_HINT));
            }
        }
        let actions: Vec<&str> = ACTIONS.iter().copied().filter(|k| raw.has(k)).collect();
        if actions.len() > 1 {
            return Err(ctx
                .err_key(
                    &key(actions[1]),
                    format!("a step has one action, found `{}` and `{}`", actions[0], actions[1]),
                )
                .with_hint("split them into two steps"));
        }
        if actions.is_empty() && raw.expect.is_none() && raw.expect_bytes.is_none() {
            return Err(ctx
                .err_value(&p, "a step needs an action or `expect`")
                .with_hint(format!("actions: {}; or `expect` alone to only match", ACTIONS.join(", "))));
        }

        let five = (Duration::from_secs(5), Duration::from_secs(10));
        let grace = Duration::from_secs(5);
        let (action, (mut idle, mut deadline)) = if let Some(text) = raw.send.take() {
            check_vars(ctx, &key("send"), &text, defined, "")?;
            self.requires.extend(super::server::fixture_caps(&text));
            decode(ctx, &key("send"), &text)?;
            let limits = default_limits(&text);
            (Action::Send(text), limits)
        } else if let Some(text) = raw.raw.take() {
            check_vars(ctx, &key("raw"), &text, defined, "")?;
            self.requires.extend(super::server::fixture_caps(&text));
            decode(ctx, &key("raw"), &text)?;
            let limits = default_limits(&text);
            (Action::Raw(text), limits)
        } else if let Some(text) = raw.silence.take() {
            let d = duration(ctx, &key("silence"), &text)?;
            (Action::Silence(d), (d + grace, d + grace))
        } else if let Some(text) = raw.wait.take() {
            let d = duration(ctx, &key("wait"), &text)?;
            (Action::Wait(d), (d + grace, d + grace))
        } else if let Some(control) = raw.emulator.take() {
            if let Control::Ring { number: Some(n), .. } = &control {
                if n.contains("${") {
                    let path = join_key(&join_key(&key("emulator"), "ring"), "number");
                    return Err(ctx
                        .err_value(&path, "variables are not substituted in emulator controls")
                        .with_hint("write the number itself"));
                }
            }
            self.requires.push(control.capability());
            (Action::Control(control), five)
        } else if let Some(setup) = raw.fixture.take() {
            for (field, text) in setup.texts() {
                let path = key("fixture");
                check_vars(ctx, &path, text, defined, "")?;
                if field == "messages" || field == "content" {
                    decode(ctx, &path, text)?;
                }
            }
            self.requires.push(setup.capability());
            (Action::Fixture(setup), five)
        } else if let Some(observe) = raw.server.take() {
            check_vars(ctx, &key("server"), observe.text(), defined, "")?;
            self.requires.push(observe.capability());
            (Action::Server(observe), five)
        } else {
            (Action::Expect, five)
        };
        if let Some(t) = &raw.idle {
            idle = duration(ctx, &key("idle"), t)?;
        }
        if let Some(t) = &raw.deadline {
            deadline = duration(ctx, &key("deadline"), t)?;
        }

        let sends = matches!(action, Action::Send(_) | Action::Raw(_));
        if raw.echo.is_some() && !sends {
            return Err(ctx
                .err_key(&key("echo"), "`echo` only applies to `send` and `raw` steps")
                .with_hint("the echo is that of the line the step sends"));
        }
        if let Action::Silence(_) | Action::Wait(_) = action {
            let name = actions[0];
            for k in ["expect", "expect_bytes"] {
                if raw.has(k) {
                    let why = if name == "silence" {
                        "nothing may arrive during `silence`"
                    } else {
                        "bytes that arrive during `wait` are kept for the next step"
                    };
                    return Err(ctx
                        .err_key(&key(k), format!("`{k}` cannot be used with `{name}`"))
                        .with_hint(format!("{why}; expect in the next step")));
                }
            }
        }

        let mut captures = BTreeSet::new();
        let expect = match raw.expect.take() {
            None => Vec::new(),
            Some(Expect::One(m)) => {
                matcher(ctx, &key("expect"), &m, defined, &mut captures)?;
                vec![m]
            }
            Some(Expect::Many(list)) => {
                for (i, m) in list.iter().enumerate() {
                    matcher(ctx, &join_index(&key("expect"), i), m, defined, &mut captures)?;
                }
                list
            }
        };
        let expect_bytes = match &raw.expect_bytes {
            None => None,
            Some(text) => {
                check_vars(ctx, &key("expect_bytes"), text, defined, "")?;
                Some(decode(ctx, &key("expect_bytes"), text)?)
            }
        };
        let profiles = match raw.profiles.take() {
            None => None,
            Some(pr) => Some(profile_expect(ctx, &key("profiles"), pr, !expect.is_empty(), defined)?),
        };
        let abort = abort_rules(ctx, &key("abort"), raw.abort.unwrap_or_default())?;
        defined.extend(captures);

        let line = ctx.map.nearest(&p).line;
        Ok(Step {
            action,
            expect,
            expect_bytes,
            echo: raw.echo,
            idle,
            deadline,
            abort,
            basis: raw.basis,
            cites: raw.cites.unwrap_or_default(),
            sources: raw.sources.unwrap_or_default(),
            families: raw.families.unwrap_or_default(),
            note: raw.note,
            profiles,
            origin: format!("{}:{line}", ctx.rel),
        })
    }
}

/// Check `profiles:` (written at `path`): the manual's lines and the erratum
/// that explains them. `expect` (the field answer) must be there too.
fn profile_expect(
    ctx: &FileCtx,
    path: &str,
    raw: RawProfiles,
    has_expect: bool,
    defined: &BTreeSet<String>,
) -> Result<ProfileExpect, LoadError> {
    if !has_expect {
        return Err(ctx
            .err_key(path, "`profiles` needs `expect` beside it")
            .with_hint("`expect` is the field firmware's answer, `profiles: {manual: …}` the manual's"));
    }
    let manual_path = join_key(path, "manual");
    let mut captures = BTreeSet::new();
    let manual = match raw.manual {
        None => {
            return Err(ctx
                .err_value(path, "`profiles` needs `manual`: the lines the manual's unit answers")
                .with_hint("write profiles: {manual: [...], erratum: E1}"))
        }
        Some(Expect::One(m)) => {
            matcher(ctx, &manual_path, &m, defined, &mut captures)?;
            vec![m]
        }
        Some(Expect::Many(list)) => {
            for (i, m) in list.iter().enumerate() {
                matcher(ctx, &join_index(&manual_path, i), m, defined, &mut captures)?;
            }
            list
        }
    };
    let erratum = match raw.erratum {
        Some(e) if e.strip_prefix('E').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) => e,
        Some(e) => {
            return Err(ctx
                .err_value(&join_key(path, "erratum"), format!("`{e}` is not an erratum id"))
                .with_hint("the ids of scenarios/errata.yaml: E1, E2, …"))
        }
        None => {
            return Err(ctx
                .err_value(path, "`profiles` needs `erratum`: the entry of scenarios/errata.yaml it follows")
                .with_hint("write profiles: {manual: [...], erratum: E1}"))
        }
    };
    Ok(ProfileExpect { manual, erratum })
}

/// Check a matcher written at `path`; named groups of its regexes go to `captures`.
fn matcher(
    ctx: &FileCtx,
    path: &str,
    m: &Matcher,
    defined: &BTreeSet<String>,
    captures: &mut BTreeSet<String>,
) -> Result<(), LoadError> {
    // A plain string is the node itself; a map's value is under its key.
    let inner = |k: &str| {
        let p = join_key(path, k);
        if ctx.map.contains(&p) {
            p
        } else {
            path.to_string()
        }
    };
    match m {
        Matcher::Line(text) => {
            let p = if ctx.map.contains(&join_key(path, "line")) { join_key(path, "line") } else { path.to_string() };
            check_vars(ctx, &p, text, defined, "")?;
        }
        Matcher::Regex(pattern) => {
            let p = inner("re");
            let compiled = check_vars(ctx, &p, pattern, defined, "v")?;
            let r = Regex::new(&compiled).map_err(|e| regex_error(ctx, &p, pattern, &compiled, &e))?;
            captures.extend(r.capture_names().flatten().map(str::to_string));
        }
        Matcher::AnyOf(list) | Matcher::Unordered(list) => {
            let k = if matches!(m, Matcher::AnyOf(_)) { "any" } else { "unordered" };
            let p = inner(k);
            if list.is_empty() {
                return Err(ctx.err_value(&p, format!("`{k}` needs at least one matcher")));
            }
            for (i, sub) in list.iter().enumerate() {
                matcher(ctx, &join_index(&p, i), sub, defined, captures)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Suites
// ---------------------------------------------------------------------------

/// Every scenario file under `root`: `*.yaml`, recursively, except files under
/// a `fragments/` directory, `manual-index.yaml`, `families.yaml` and `errata.yaml`; sorted by path.
fn scenario_files(root: &Path, errors: &mut Vec<LoadError>) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                errors.push(LoadError::new(dir, 1, 1, format!("cannot read directory `{}`: {e}", shown(dir))));
                return;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                if name != "fragments" {
                    walk(&path, out, errors);
                }
            } else if name.ends_with(".yaml")
                && !["manual-index.yaml", "families.yaml", "errata.yaml"].contains(&name.as_ref())
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out, errors);
    out.sort();
    out
}

fn load_suite(root: &Path) -> (Vec<Loaded>, Vec<LoadError>) {
    let mut errors = Vec::new();
    let files = scenario_files(root, &mut errors);
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for path in files {
        match load(&path, root) {
            Err(e) => errors.push(e),
            Ok(l) => {
                if let Some(&first) = ids.get(&l.scenario.id) {
                    let other = &loaded[first].file;
                    let at = other.map.value("id").unwrap_or(Pos::START);
                    errors.push(
                        l.file.err_value("id", format!("duplicate scenario id `{}`", l.scenario.id)).with_hint(
                            format!(
                                "already the id of {}:{}:{}; ids must be unique across the suite",
                                shown(&other.path),
                                at.line,
                                at.column
                            ),
                        ),
                    );
                    continue;
                }
                ids.insert(l.scenario.id.clone(), loaded.len());
                loaded.push(l);
            }
        }
    }
    (loaded, errors)
}

/// Load every scenario under `root` (see [`load_file`]); a file that fails is
/// reported and the others still load. Ids must be unique: a repeated id is an
/// error on the later file (in path order), which is left out.
pub fn load_dir(root: &Path) -> (Vec<Scenario>, Vec<LoadError>) {
    let (loaded, errors) = load_suite(root);
    (loaded.into_iter().map(|l| l.scenario).collect(), errors)
}

/// Everything [`load_dir`] reports, plus: every fragment under
/// `<root>/fragments/` must parse, and every `covers` id must exist in
/// `<root>/manual-index.yaml` (when that file exists), and every `families`
/// id of a scenario or step must be a family of `<root>/families.yaml` (when it exists).
pub fn lint(root: &Path) -> Vec<LoadError> {
    let (loaded, mut errors) = load_suite(root);

    // Fragments nobody includes are still checked for syntax and keys.
    let frag_dir = root.join("fragments");
    if frag_dir.is_dir() {
        let mut frags = Vec::new();
        collect_yaml(&frag_dir, &mut frags);
        frags.sort();
        for path in frags {
            let res = FileCtx::read(&path, root).and_then(|ctx| parse_doc::<RawFragment>(&ctx, true).map(drop));
            if let Err(e) = res {
                let seen = errors
                    .iter()
                    .any(|o| o.file == e.file && o.line == e.line && o.column == e.column && o.message == e.message);
                if !seen {
                    errors.push(e);
                }
            }
        }
    }

    let families = root.join("families.yaml");
    let known = families.is_file().then(|| crate::family::load(&families));
    if let Some(Err(e)) = &known {
        errors.push(LoadError::new(&families, 1, 1, e.clone()));
    }
    if let Some(Ok(known)) = known {
        let known: Vec<String> = known.into_iter().map(|f| f.id).collect();
        for l in &loaded {
            let hint = || format!("`families` names ids of families.yaml: {}", known.join(", "));
            for (i, id) in l.scenario.families.iter().enumerate() {
                if !known.contains(id) {
                    let e = l.file.err_value(&join_index("families", i), format!("unknown firmware family `{id}`"));
                    errors.push(e.with_hint(hint()));
                }
            }
            for step in &l.scenario.steps {
                for id in step.families.iter().filter(|id| !known.contains(id)) {
                    let (file, line) = step.origin.rsplit_once(':').unwrap_or((&step.origin, "0"));
                    let e = LoadError::new(
                        root.join(file),
                        line.parse().unwrap_or(0),
                        1,
                        format!("unknown firmware family `{id}` in step"),
                    );
                    if !errors.contains(&e.clone().with_hint(hint())) {
                        errors.push(e.with_hint(hint()));
                    }
                }
            }
        }
    }

    let index = root.join("manual-index.yaml");
    if index.is_file() {
        match manual_ids(&index, root) {
            Err(e) => errors.push(e),
            Ok(ids) => {
                for l in &loaded {
                    for (i, id) in l.scenario.covers.iter().enumerate() {
                        if !ids.contains(id) {
                            let mut hint = String::new();
                            if let Some(s) = suggest(id, ids.iter().map(String::as_str)) {
                                hint.push_str(&format!("did you mean `{s}`? "));
                            }
                            hint.push_str("`covers` names entries of manual-index.yaml");
                            errors.push(
                                l.file
                                    .err_value(&join_index("covers", i), format!("unknown manual-index id `{id}`"))
                                    .with_hint(hint),
                            );
                        }
                    }
                }
            }
        }
    }
    errors
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect_yaml(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
}

/// The ids of `manual-index.yaml` (`entries: [{id: ...}, ...]`), read loosely.
fn manual_ids(path: &Path, root: &Path) -> Result<HashSet<String>, LoadError> {
    let ctx = FileCtx::read(path, root)?;
    let value: yaml_serde::Value = yaml_serde::from_str(&ctx.text).map_err(|e| serde_error(&ctx, &e, false))?;
    let Some(entries) = value.get("entries").and_then(yaml_serde::Value::as_sequence) else {
        return Err(ctx
            .err(Pos::START, "manual-index.yaml has no `entries:` list")
            .with_hint("write `entries:` followed by a list of maps with at least `id`"));
    };
    let mut ids = HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        let id = match e.get("id") {
            Some(yaml_serde::Value::String(s)) => s.clone(),
            Some(yaml_serde::Value::Number(n)) => n.to_string(),
            _ => {
                return Err(ctx.err_value(&join_index("entries", i), "manual-index entry without an `id`"));
            }
        };
        ids.insert(id);
    }
    Ok(ids)
}
