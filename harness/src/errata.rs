//! Known differences between the manual (S000333D) and field firmware:
//! `scenarios/errata.yaml` (format in `scenarios/README.md`, "Errata").
//!
//! Scenarios are written in the field form (the goldens' form). When the
//! runner judges by the manual, an expected line that an erratum translates
//! is expected in its manual form, and a unit that answers the field form
//! instead is recorded as deviating like known field firmware, not failed.
//! Judging by field firmware, an answer in the manual form is recorded as
//! matching the manual. Translations may hold placeholders (`{ip}`) that
//! stand for any text and carry over.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use crate::at::Firmware;
use crate::coverage::{ManualText, Quote};
use crate::scenario::Scenario;

/// One known difference.
#[derive(Debug, Clone)]
pub struct Erratum {
    /// `E1`, `E2`, …
    pub id: String,
    pub title: String,
    /// The manual's words, quoted as the manual index quotes them.
    pub manual: Vec<Quote>,
    /// What field firmware does.
    pub field: String,
    /// Digest tags (`[code]`, `[code2]`, …).
    pub sources: Vec<String>,
    /// Line-for-line translations, field form ↔ manual form.
    pub lines: Vec<Translation>,
}

/// A line as field firmware prints it and as the manual prints it.
#[derive(Debug, Clone)]
pub struct Translation {
    pub field: String,
    pub manual: String,
    field_re: Regex,
    manual_re: Regex,
}

impl Translation {
    fn new(field: String, manual: String) -> Result<Translation, String> {
        let (field_re, mut a) = template(&field)?;
        let (manual_re, mut b) = template(&manual)?;
        a.sort();
        b.sort();
        if a != b {
            return Err(format!("`{field}` and `{manual}` must hold the same placeholders"));
        }
        Ok(Translation { field, manual, field_re, manual_re })
    }

    /// `line` in the other firmware's form, if it is this line in `from`'s.
    fn translate(&self, line: &str, from: Firmware) -> Option<String> {
        let (re, to) = match from {
            Firmware::Field => (&self.field_re, &self.manual),
            Firmware::Manual => (&self.manual_re, &self.field),
        };
        let caps = re.captures(line)?;
        let mut out = to.clone();
        for name in re.capture_names().flatten() {
            out = out.replace(&format!("{{{name}}}"), caps.name(name).map_or("", |m| m.as_str()));
        }
        Some(out)
    }
}

/// `text {ip} text` → an anchored regex capturing each placeholder.
fn template(text: &str) -> Result<(Regex, Vec<String>), String> {
    let mut pattern = String::from("^");
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        pattern.push_str(&regex::escape(&rest[..start]));
        let after = &rest[start + 1..];
        let end = after.find('}').ok_or_else(|| format!("unclosed `{{` in `{text}`"))?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad placeholder `{{{name}}}` in `{text}`: write {{name}}"));
        }
        if names.iter().any(|n| n == name) {
            return Err(format!("placeholder `{{{name}}}` twice in `{text}`"));
        }
        pattern.push_str(&format!("(?P<{name}>.*?)"));
        names.push(name.to_string());
        rest = &after[end + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    Regex::new(&pattern).map(|re| (re, names)).map_err(|e| e.to_string())
}

/// The errata file, loaded and checked.
#[derive(Debug, Clone, Default)]
pub struct Errata {
    pub entries: Vec<Erratum>,
}

/// Why the errata file cannot be used, with its file and line.
#[derive(Debug, thiserror::Error)]
pub enum ErrataError {
    #[error("{}: {cause}", path.display())]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{}:{line}: {message}", path.display())]
    Invalid { path: PathBuf, line: usize, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    errata: Vec<RawErratum>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawErratum {
    id: String,
    title: String,
    manual: Vec<Quote>,
    field: String,
    sources: Vec<String>,
    #[serde(default)]
    lines: Vec<RawLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    field: String,
    manual: String,
}

impl Errata {
    /// The workspace's `scenarios/errata.yaml`.
    pub fn default_path() -> PathBuf {
        crate::workspace_root().join("scenarios/errata.yaml")
    }

    pub fn load(path: &Path) -> Result<Errata, ErrataError> {
        let text =
            std::fs::read_to_string(path).map_err(|cause| ErrataError::Read { path: path.to_path_buf(), cause })?;
        Errata::parse(&text, path)
    }

    /// Parse and check the file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Errata, ErrataError> {
        let invalid = |line: usize, message: String| ErrataError::Invalid { path: path.to_path_buf(), line, message };
        let file: File =
            yaml_serde::from_str(text).map_err(|e| invalid(e.location().map_or(1, |l| l.line()), e.to_string()))?;
        let mut entries: Vec<Erratum> = Vec::new();
        for raw in file.errata {
            // The entry's line: where its id is written.
            let line = line_of(text, &format!("id: {}", raw.id));
            let number = raw.id.strip_prefix('E').and_then(|n| n.parse::<u32>().ok());
            if number.is_none_or(|n| n != entries.len() as u32 + 1) {
                return Err(invalid(
                    line,
                    format!("erratum id `{}`: ids are E1, E2, … in order (expected E{})", raw.id, entries.len() + 1),
                ));
            }
            for (what, value) in [("title", &raw.title), ("field", &raw.field)] {
                if value.trim().is_empty() {
                    return Err(invalid(line, format!("{}: `{what}` is empty", raw.id)));
                }
            }
            if raw.manual.is_empty() {
                return Err(invalid(line, format!("{}: `manual` needs the manual's words (page, via, text)", raw.id)));
            }
            for w in &raw.manual {
                if w.text.trim().is_empty() {
                    return Err(invalid(line, format!("{}: a quotation of p.{} is empty", raw.id, w.page)));
                }
            }
            if raw.sources.is_empty() {
                return Err(invalid(line, format!("{}: `sources` names no digest tag", raw.id)));
            }
            let mut lines = Vec::new();
            for l in raw.lines {
                let at = line_of(text, &l.field);
                if l.field == l.manual {
                    return Err(invalid(at, format!("{}: `{}` is the same in both forms", raw.id, l.field)));
                }
                lines.push(Translation::new(l.field, l.manual).map_err(|m| invalid(at, format!("{}: {m}", raw.id)))?);
            }
            entries.push(Erratum {
                id: raw.id,
                title: raw.title,
                manual: raw.manual,
                field: raw.field,
                sources: raw.sources,
                lines,
            });
        }
        let errata = Errata { entries };
        // A line must translate one way only, or judging would be ambiguous.
        for (i, a) in errata.translations().enumerate() {
            for b in errata.translations().skip(i + 1) {
                if a.1.translate(&b.1.field, Firmware::Field).is_some() {
                    return Err(invalid(
                        line_of(text, &b.1.field),
                        format!("{}: `{}` is also translated by {}", b.0.id, b.1.field, a.0.id),
                    ));
                }
            }
        }
        Ok(errata)
    }

    fn translations(&self) -> impl Iterator<Item = (&Erratum, &Translation)> {
        self.entries.iter().flat_map(|e| e.lines.iter().map(move |t| (e, t)))
    }

    pub fn get(&self, id: &str) -> Option<&Erratum> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// `line`, written in `from`'s form, in the other firmware's form, with
    /// the erratum that translates it.
    pub fn translate(&self, line: &str, from: Firmware) -> Option<(String, &Erratum)> {
        self.translations().find_map(|(e, t)| t.translate(line, from).map(|l| (l, e)))
    }

    /// A whole text (a rendered transcript) with every line in the manual's
    /// form put in the field form. Lines are translated where they hold a
    /// translated line after the transcript's markup (`  < `) or alone.
    pub fn manual_to_field(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, end) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            out.push_str(&self.translate_rendered(body));
            out.push_str(end);
        }
        out
    }

    /// One rendered received line: `  < <CR><LF>OK_Info_PPP<CR><LF>` →
    /// `  < <CR><LF>Ok_Info_PPP<CR><LF>` (the transcript's notation).
    fn translate_rendered(&self, line: &str) -> String {
        const RECEIVED: &str = "  < ";
        if !line.starts_with(RECEIVED) {
            return line.to_string();
        }
        let mut from = RECEIVED.len();
        if line[from..].starts_with("<CR><LF>") {
            from += "<CR><LF>".len();
        }
        let rest = &line[from..];
        let end = rest.find("<CR>").unwrap_or(rest.len());
        match self.translate(&rest[..end], Firmware::Manual) {
            Some((field, _)) => format!("{}{field}{}", &line[..from], &rest[end..]),
            None => line.to_string(),
        }
    }
}

/// Problems a lint reports: quotes not in the manual as cited (when its
/// text is at hand), and `profiles:` steps naming an erratum the file lacks.
pub fn check(errata: &Errata, scenarios: &[Scenario], manual: Option<&ManualText>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(text) = manual {
        for e in &errata.entries {
            for q in &e.manual {
                if let Some(why) = text.check(q) {
                    problems.push(format!("erratum {}: p.{}: {why}", e.id, q.page));
                }
            }
        }
    }
    for s in scenarios {
        for step in &s.steps {
            if let Some(p) = &step.profiles {
                if errata.get(&p.erratum).is_none() {
                    problems.push(format!("{}: erratum {} is not in errata.yaml", step.origin, p.erratum));
                }
            }
        }
    }
    problems
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn errata() -> Errata {
        Errata::load(&Errata::default_path()).unwrap()
    }

    #[test]
    fn the_file_loads() {
        let e = errata();
        assert!(e.entries.len() >= 10);
        assert_eq!(e.get("E1").unwrap().lines[0].manual, "OK_Info_GPRSActivation");
    }

    #[rstest]
    #[case("Ok_Info_GprsActivation", Firmware::Field, Some(("OK_Info_GPRSActivation", "E1")))]
    #[case("OK_Info_GPRSActivation", Firmware::Manual, Some(("Ok_Info_GprsActivation", "E1")))]
    #[case("Ok_Info_PPP", Firmware::Field, Some(("OK_Info_PPP", "E2")))]
    #[case("#MY IP: \"10.64.0.1\"", Firmware::Field, Some(("MY IP: 10.64.0.1", "E8")))]
    #[case("PEER IP: 1.0.3.5", Firmware::Manual, Some(("#PEER IP: \"1.0.3.5\"", "E8")))]
    #[case("OK", Firmware::Field, None)]
    #[case("OK_Info_PPP", Firmware::Field, None)]
    fn translates(#[case] line: &str, #[case] from: Firmware, #[case] expected: Option<(&str, &str)>) {
        let e = errata();
        let got = e.translate(line, from);
        assert_eq!(got.as_ref().map(|(l, e)| (l.as_str(), e.id.as_str())), expected);
    }

    /// Every quote is in the manual as cited, and every `profiles:` step of
    /// the scenarios names an erratum of the file.
    #[test]
    fn quotes_and_references_check_out() {
        let root = crate::workspace_root();
        let (scenarios, _) = crate::scenario::load_dir(&root.join("scenarios"));
        let manual_dir = root.join("../shared/manual");
        let manual = manual_dir.is_dir().then(|| ManualText::load(&manual_dir).unwrap());
        assert_eq!(check(&errata(), &scenarios, manual.as_ref()), Vec::<String>::new());
        assert!(scenarios.iter().any(|s| !s.profile_steps().is_empty()));
    }

    #[test]
    fn rendered_transcripts_translate_back() {
        let e = errata();
        let text = "  < <CR><LF>OK_Info_GPRSActivation<CR><LF>\n  > OK_Info_PPP<CR>\n  < MY IP: <ip><CR><LF>";
        assert_eq!(
            e.manual_to_field(text),
            "  < <CR><LF>Ok_Info_GprsActivation<CR><LF>\n  > OK_Info_PPP<CR>\n  < #MY IP: \"<ip>\"<CR><LF>"
        );
    }

    #[rstest]
    #[case("errata: [{id: E2, title: t, manual: [{page: 1, via: local, text: x}], field: f, sources: [a]}]", 1, "E1")]
    #[case("errata:\n  - id: E1\n    title: t\n    manual: [{page: 1, via: book, text: x}]\n    field: f\n    sources: [a]\n", 4, "unknown variant `book`")]
    #[case("errata:\n  - id: E1\n    title: t\n    manual: []\n    field: f\n    sources: [a]\n", 2, "manual's words")]
    #[case("errata:\n  - id: E1\n    title: t\n    manual: [{page: 1, via: local, text: x}]\n    field: f\n    sources: [a]\n    lines:\n      - {field: \"A {x}\", manual: \"B\"}\n", 8, "same placeholders")]
    #[case("errata:\n  - id: E1\n    titel: t\n", 3, "unknown field")]
    fn refuses_with_its_line(#[case] text: &str, #[case] line: usize, #[case] message: &str) {
        let err = Errata::parse(text, Path::new("errata.yaml")).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with(&format!("errata.yaml:{line}:")), "{shown}");
        assert!(shown.contains(message), "{shown}");
    }
}
