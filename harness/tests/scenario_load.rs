//! The scenario loader on broken (and a few good) scenarios: every error
//! must point at the exact line and column, with a hint where one helps.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mtg::scenario::load::lint;
use mtg::scenario::{load_dir, load_file, Action, Capability, LoadError, Matcher, Scenario};
use rstest::rstest;
use tempfile::TempDir;

/// Header lines 1-3 of every test scenario.
const HEAD: &str = "id: t.case\ntitle: A test\nsource: {chapter: 2, page: 8}\n";

fn suite(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn load(dir: &TempDir, main: &str) -> Result<Scenario, LoadError> {
    load_file(&dir.path().join(main), dir.path())
}

fn load_err(files: &[(&str, &str)]) -> (TempDir, LoadError) {
    let dir = suite(files);
    let err = load(&dir, files[0].0).expect_err("the scenario should not load");
    (dir, err)
}

fn rel(dir: &TempDir, p: &Path) -> String {
    p.strip_prefix(dir.path()).unwrap_or(p).display().to_string()
}

fn scenario(body: &str) -> String {
    format!("{HEAD}{body}")
}

#[rstest]
#[case::unknown_key_in_scenario(
    "tagz: [x]\nsteps:\n  - send: AT\n",
    4,
    1,
    "unknown key `tagz` in scenario",
    Some("did you mean `tags`?")
)]
#[case::unknown_key_in_step(
    "steps:\n  - send: AT\n    expect: OK\n  - sendd: AT#REDIALCOUNT?\n",
    7,
    5,
    "unknown key `sendd` in step",
    Some("did you mean `send`? valid keys: send, raw, silence, wait, emulator, fixture, server, include, expect")
)]
#[case::unknown_key_in_abort_rule(
    "abort:\n  - re: NO CARRIER\n    verdict: fail\n    reasn: dropped\nsteps:\n  - send: AT\n",
    7,
    5,
    "unknown key `reasn` in abort rule",
    Some("did you mean `reason`?")
)]
#[case::bad_indentation(
    "steps:\n  - send: AT\n   expect: OK\n",
    6,
    4,
    "did not find expected '-' indicator",
    Some("indentation")
)]
#[case::unquoted_colon(
    "steps:\n  - send: AT+CREG?\n    expect: +CREG: 0,1\n",
    6,
    18,
    "mapping values are not allowed",
    Some("must be quoted")
)]
#[case::wrong_type(
    "steps:\n  - send: [AT, ATZ]\n",
    5,
    11,
    "wrong type for `steps[0].send`: expected a string, found sequence",
    None
)]
#[case::steps_not_a_list(
    "steps:\n  send: AT\n",
    5,
    3,
    "wrong type for `steps`: expected a sequence, found map",
    Some("write a list")
)]
#[case::missing_title(
    "",
    1,
    1,
    "missing key `steps` in scenario",
    Some("a scenario needs `id`, `title`, `source` and `steps`")
)]
#[case::undefined_variable(
    "vars:\n  apn: internet\nsteps:\n  - send: AT+CGDCONT=1,\"IP\",\"${apnn}\"\n    expect: OK\n",
    7,
    30,
    "undefined variable `apnn`",
    Some("did you mean `apn`?")
)]
#[case::undefined_variable_in_quoted_regex(
    "steps:\n  - send: AT+CGDCONT?\n    expect:\n      - re: \"\\\\+CGDCONT: 1,\\\"IP\\\",\\\"${nope}\\\"\"\n      - OK\n",
    7, 37, "undefined variable `nope`", None
)]
#[case::capture_used_before_it_is_made(
    "steps:\n  - send: AT#SOCKET=${id}\n  - send: AT#X\n    expect:\n      - re: '#X: (?<id>\\d+)'\n",
    5,
    21,
    "undefined variable `id`",
    Some("named group")
)]
#[case::capture_of_the_same_step(
    "steps:\n  - send: AT#X\n    expect:\n      - re: '#X: (?<id>\\d+)'\n      - '#Y: ${id}'\n",
    8,
    14,
    "undefined variable `id`",
    None
)]
#[case::include_missing(
    "steps:\n  - send: AT\n  - include: nothere.yaml\n",
    6,
    14,
    "included file `nothere.yaml` not found",
    Some("fragments/")
)]
#[case::bad_regex(
    "steps:\n  - send: AT\n    expect:\n      - re: '#X: (OK'\n",
    7,
    18,
    "invalid regex: unclosed group",
    None
)]
#[case::bad_regex_in_ignore(
    "ignore: ['\\+CREG: [0-']\nsteps:\n  - send: AT\n",
    4,
    19,
    "invalid regex: unclosed character class",
    None
)]
#[case::bad_escape("steps:\n  - raw: AT<CRX>\n", 5, 12, "bad escape `<CRX>`", Some("unknown control name"))]
#[case::bad_escape_in_expect_bytes(
    "steps:\n  - send: AT\n    expect_bytes: \"<CR><LF>OK<CR><LFF>\"\n",
    6,
    34,
    "bad escape `<LFF>`",
    None
)]
#[case::bad_duration("steps:\n  - wait: 2x\n", 5, 11, "bad duration `2x`: unknown unit `x`", Some("`300ms`, `2s`"))]
#[case::bad_deadline(
    "steps:\n  - send: AT\n    deadline: soon\n",
    6,
    15,
    "bad duration `soon`",
    Some("write a number and a unit")
)]
#[case::unknown_capability(
    "requires: [gprs, smtpp]\nsteps:\n  - send: AT\n",
    4,
    18,
    "unknown capability `smtpp`",
    Some("did you mean `smtp`? known capabilities: gprs, gsm-data")
)]
#[case::unknown_verdict(
    "abort:\n  - re: NO CARRIER\n    verdict: fial\n    reason: dropped\nsteps:\n  - send: AT\n",
    6,
    14,
    "unknown verdict `fial`",
    Some("did you mean `fail`? valid: fail, error, skip")
)]
#[case::unknown_control(
    "steps:\n  - emulator: {rign: {count: 2}}\n",
    5,
    16,
    "unknown emulator control `rign`",
    Some("did you mean `ring`?")
)]
#[case::variable_in_a_control(
    "vars:\n  n: \"0612345678\"\nsteps:\n  - emulator: {ring: {number: \"${n}\"}}\n",
    7,
    31,
    "variables are not substituted in emulator controls",
    None
)]
#[case::unknown_matcher_key(
    "steps:\n  - send: AT\n    expect:\n      - {lin: OK}\n",
    7,
    10,
    "unknown matcher key `lin`",
    Some("did you mean `line`?")
)]
#[case::two_actions(
    "steps:\n  - send: AT\n    raw: AT<CR>\n",
    6,
    5,
    "a step has one action, found `send` and `raw`",
    None
)]
#[case::no_action("steps:\n  - echo: true\n", 5, 5, "a step needs an action or `expect`", None)]
#[case::expect_is_a_comment(
    "steps:\n  - send: AT#X\n    expect: #CME ERROR: 3\n",
    6,
    5,
    "`expect` has no value",
    Some("quote it")
)]
#[case::expect_on_silence(
    "steps:\n  - silence: 1s\n    expect: OK\n",
    6,
    5,
    "`expect` cannot be used with `silence`",
    None
)]
#[case::bad_id("steps:\n  - send: AT\n", 1, 5, "invalid scenario id `T.Case`", None)]
#[case::profiles_without_expect(
    "steps:\n  - send: AT\n    profiles: {manual: OK, erratum: E1}\n",
    6,
    5,
    "`profiles` needs `expect` beside it",
    Some("field firmware's answer")
)]
#[case::profiles_without_manual(
    "steps:\n  - send: AT\n    expect: OK\n    profiles: {erratum: E1}\n",
    7,
    15,
    "`profiles` needs `manual`",
    Some("profiles: {manual: [...], erratum: E1}")
)]
#[case::profiles_without_erratum(
    "steps:\n  - send: AT\n    expect: OK\n    profiles: {manual: ERROR}\n",
    7,
    15,
    "`profiles` needs `erratum`",
    None
)]
#[case::profiles_bad_erratum(
    "steps:\n  - send: AT\n    expect: OK\n    profiles: {manual: ERROR, erratum: X1}\n",
    7,
    40,
    "`X1` is not an erratum id",
    Some("E1, E2")
)]
#[case::profiles_bad_regex(
    "steps:\n  - send: AT\n    expect: OK\n    profiles: {manual: [{re: '(x'}], erratum: E9}\n",
    7,
    31,
    "invalid regex",
    None
)]
#[case::profiles_unknown_key(
    "steps:\n  - send: AT\n    expect: OK\n    profiles: {manul: ERROR, erratum: E9}\n",
    7,
    16,
    "unknown key `manul`",
    None
)]
#[case::duplicate_key(
    "vars: {a: 1, a: 2}\nsteps:\n  - send: AT\n",
    4,
    14,
    "duplicate key `a`",
    Some("first written at line 4")
)]
fn broken_scenario(
    #[case] body: &str,
    #[case] line: usize,
    #[case] column: usize,
    #[case] message: &str,
    #[case] hint: Option<&str>,
) {
    let mut text = scenario(body);
    if message.starts_with("invalid scenario id") {
        text = text.replace("t.case", "T.Case");
    }
    if message.starts_with("missing key `steps`") {
        text = HEAD.to_string();
    }
    let (dir, err) = load_err(&[("ch2/case.yaml", &text)]);
    assert_eq!(rel(&dir, &err.file), "ch2/case.yaml", "{err}");
    assert_eq!((err.line, err.column), (line, column), "{err}");
    assert!(err.message.contains(message), "message {:?} lacks {message:?}\n{err}", err.message);
    if let Some(h) = hint {
        let got = err.hint.as_deref().unwrap_or("");
        assert!(got.contains(h), "hint {got:?} lacks {h:?}\n{err}");
    }
    assert!(err.included_from.is_empty(), "{err}");
    // The snippet is the offending line.
    let shown = text.lines().nth(line - 1).unwrap();
    assert_eq!(err.source_line.as_deref(), Some(shown), "{err}");
}

#[test]
fn display_is_like_rustc() {
    let text = scenario("steps:\n  - send: AT\n    expect: OK\n  - sendd: AT#REDIALCOUNT?\n");
    let (dir, err) = load_err(&[("phy/redialcount.yaml", &text)]);
    let file = dir.path().join("phy/redialcount.yaml");
    let expected = format!(
        "error: unknown key `sendd` in step\n \
         --> {}:7:5\n  \
         |\n\
         7 |   - sendd: AT#REDIALCOUNT?\n  \
         |     ^^^^^\n  \
         = hint: did you mean `send`? valid keys: send, raw, silence, wait, emulator, fixture, server, include, expect, expect_bytes, echo, idle, deadline, abort, basis, cites, sources, families, note, profiles",
        file.display()
    );
    assert_eq!(err.to_string(), expected);
}

#[test]
fn display_of_an_error_in_a_fragment() {
    let main = scenario("steps:\n  - include: bad.yaml\n");
    let frag = "title: Bad\nsteps:\n  - send: AT\n    expct: OK\n";
    let (dir, err) = load_err(&[("ch2/main.yaml", &main), ("fragments/bad.yaml", frag)]);
    let shown = err.to_string();
    let tail = format!(
        "4 |     expct: OK\n  |     ^^^^^\n  = hint: did you mean `expect`? valid keys: send, raw, silence, wait, emulator, fixture, server, include, expect, expect_bytes, echo, idle, deadline, abort, basis, cites, sources, families, note, profiles\n  = note: included from {}:5",
        dir.path().join("ch2/main.yaml").display()
    );
    assert!(shown.ends_with(&tail), "{shown}");
}

#[test]
fn error_inside_an_included_fragment() {
    let main = scenario("steps:\n  - include: bad.yaml\n");
    let frag = "title: Bad\nsteps:\n  - send: AT\n    expct: OK\n";
    let (dir, err) = load_err(&[("ch2/main.yaml", &main), ("fragments/bad.yaml", frag)]);
    assert_eq!(rel(&dir, &err.file), "fragments/bad.yaml");
    assert_eq!((err.line, err.column), (4, 5), "{err}");
    assert_eq!(err.message, "unknown key `expct` in step");
    assert!(err.hint.as_deref().unwrap().starts_with("did you mean `expect`?"));
    let from: Vec<(String, usize)> = err.included_from.iter().map(|(p, l)| (rel(&dir, p), *l)).collect();
    assert_eq!(from, vec![("ch2/main.yaml".to_string(), 5)]);
}

#[test]
fn semantic_error_inside_a_nested_fragment() {
    let main = scenario("steps:\n  - send: AT\n  - include: outer.yaml\n");
    let outer = "title: Outer\nsteps:\n  - include: inner.yaml\n";
    let inner = "title: Inner\nsteps:\n  - send: AT+CGDCONT=1,\"IP\",\"${apn}\"\n";
    let (dir, err) =
        load_err(&[("ch2/main.yaml", &main), ("fragments/outer.yaml", outer), ("fragments/inner.yaml", inner)]);
    assert_eq!(rel(&dir, &err.file), "fragments/inner.yaml");
    assert_eq!((err.line, err.column), (3, 30), "{err}");
    assert_eq!(err.message, "undefined variable `apn`");
    let from: Vec<(String, usize)> = err.included_from.iter().map(|(p, l)| (rel(&dir, p), *l)).collect();
    assert_eq!(from, vec![("fragments/outer.yaml".to_string(), 3), ("ch2/main.yaml".to_string(), 6)]);
}

#[test]
fn include_cycle_shows_the_chain() {
    let main = scenario("steps:\n  - include: c1.yaml\n");
    let c1 = "title: C1\nsteps:\n  - include: c2.yaml\n";
    let c2 = "title: C2\nsteps:\n  - send: ATZ\n  - include: c1.yaml\n";
    let (dir, err) = load_err(&[("ch2/main.yaml", &main), ("fragments/c1.yaml", c1), ("fragments/c2.yaml", c2)]);
    assert_eq!(rel(&dir, &err.file), "fragments/c2.yaml");
    assert_eq!((err.line, err.column), (4, 14), "{err}");
    assert_eq!(err.message, "include cycle: fragments/c1.yaml -> fragments/c2.yaml -> fragments/c1.yaml");
    let from: Vec<(String, usize)> = err.included_from.iter().map(|(p, l)| (rel(&dir, p), *l)).collect();
    assert_eq!(from, vec![("fragments/c1.yaml".to_string(), 3), ("ch2/main.yaml".to_string(), 5)]);
}

#[test]
fn a_file_that_includes_itself() {
    let main = scenario("steps:\n  - include: ../fragments/self.yaml\n");
    let me = "title: Me\nsteps:\n  - include: self.yaml\n";
    let (dir, err) = load_err(&[("ch2/main.yaml", &main), ("fragments/self.yaml", me)]);
    assert_eq!(rel(&dir, &err.file), "fragments/self.yaml");
    assert_eq!((err.line, err.column), (3, 14), "{err}");
    assert_eq!(err.message, "include cycle: fragments/self.yaml -> fragments/self.yaml");
}

#[test]
fn duplicate_ids_name_both_files() {
    let a = "id: t.same\ntitle: A\nsource: {chapter: 2}\nsteps:\n  - send: AT\n";
    let b = "# the same id again\nid: t.same\ntitle: B\nsource: {chapter: 2}\nsteps:\n  - send: ATZ\n";
    let dir = suite(&[("ch2/a.yaml", a), ("ch3/b.yaml", b)]);
    let (ok, errors) = load_dir(dir.path());
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].path, PathBuf::from("ch2/a.yaml"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    let err = &errors[0];
    assert_eq!(rel(&dir, &err.file), "ch3/b.yaml");
    assert_eq!((err.line, err.column), (2, 5), "{err}");
    assert_eq!(err.message, "duplicate scenario id `t.same`");
    let hint = err.hint.as_deref().unwrap();
    assert!(hint.contains(&format!("{}:1:5", dir.path().join("ch2/a.yaml").display())), "{hint}");
}

#[test]
fn capture_then_use_is_fine() {
    let text = scenario(
        "vars:\n  apn: internet\nsteps:\n  - send: AT#OTCP\n    expect:\n      - re: '#SOCKET: (?<sock>\\d+)'\n      - {any: [OK, {re: '(?P<extra>x)'}]}\n  - send: AT#SEND=${sock},\"${apn}\"\n    expect: '#SENT: ${sock} ${extra}'\n",
    );
    let dir = suite(&[("ch5/otcp.yaml", &text)]);
    let s = load(&dir, "ch5/otcp.yaml").unwrap();
    assert_eq!(s.steps.len(), 2);
    assert!(matches!(&s.steps[1].action, Action::Send(t) if t == "AT#SEND=${sock},\"${apn}\""));
    assert!(matches!(&s.steps[1].expect[..], [Matcher::Line(l)] if l == "#SENT: ${sock} ${extra}"));
    assert_eq!(s.steps[0].origin, "ch5/otcp.yaml:7");
    assert_eq!(s.steps[1].origin, "ch5/otcp.yaml:11");
    // AT#OTCP is a network command: long default limits.
    assert_eq!((s.steps[0].idle, s.steps[0].deadline), (Duration::from_secs(60), Duration::from_secs(120)));
}

#[test]
fn includes_controls_and_defaults() {
    let fragments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/fragments");
    let stack = std::fs::read_to_string(fragments.join("stack-open.yaml")).unwrap();
    let gprs = std::fs::read_to_string(fragments.join("gprs-attached.yaml")).unwrap();
    let text = scenario(
        "vars:\n  number: \"0612345678\"\nsteps:\n  - include: gprs-attached.yaml\n  - emulator: {ring: {number: \"0612345678\", count: 2}}\n    expect: [RING, RING]\n  - emulator: {dtr: false}\n  - silence: 300ms\n  - wait: 1s\n  - emulator: restart\n    expect_bytes: \"<CR><LF>+WIND: 4<CR><LF>\"\n  - emulator: {registration: denied}\n",
    );
    let dir = suite(&[
        ("ch2/ring.yaml", &text),
        ("fragments/stack-open.yaml", &stack),
        ("fragments/gprs-attached.yaml", &gprs),
    ]);
    let s = load(&dir, "ch2/ring.yaml").unwrap();
    assert_eq!(s.requires, vec![Capability::Gprs, Capability::ControlLines, Capability::EmulatorControl]);
    let origins: Vec<&str> = s.steps.iter().map(|st| st.origin.as_str()).collect();
    assert_eq!(
        origins,
        [
            "fragments/stack-open.yaml:5",
            "fragments/stack-open.yaml:10",
            "fragments/gprs-attached.yaml:6",
            "ch2/ring.yaml:8",
            "ch2/ring.yaml:10",
            "ch2/ring.yaml:11",
            "ch2/ring.yaml:12",
            "ch2/ring.yaml:13",
            "ch2/ring.yaml:15",
        ]
    );
    assert!(matches!(&s.steps[0].action, Action::Send(t) if t == "AT+CMEE=1"));
    // +WOPEN and +CGATT have their own defaults; other steps 5 s / 10 s.
    assert_eq!(s.steps[1].deadline, Duration::from_secs(15));
    assert_eq!(s.steps[2].deadline, Duration::from_secs(60));
    assert_eq!((s.steps[3].idle, s.steps[3].deadline), (Duration::from_secs(5), Duration::from_secs(10)));
    // silence and wait: their duration + 5 s.
    assert!(matches!(s.steps[5].action, Action::Silence(d) if d == Duration::from_millis(300)));
    assert_eq!(s.steps[5].deadline, Duration::from_millis(5300));
    assert_eq!(s.steps[6].deadline, Duration::from_secs(6));
    assert_eq!(s.steps[7].expect_bytes.as_deref(), Some(&b"\r\n+WIND: 4\r\n"[..]));
}

#[test]
fn fragment_defaults_yield_to_scenario_vars() {
    let frag =
        "title: APN\nvars:\n  apn: internet\n  user: guest\nsteps:\n  - send: AT#APNSERV=\"${apn}\"\n    expect: OK\n";
    let main =
        scenario("vars:\n  apn: a2myoperator.com\nsteps:\n  - include: apn.yaml\n  - send: AT#APNUN=\"${user}\"\n");
    let dir = suite(&[("ch2/main.yaml", &main), ("fragments/apn.yaml", frag)]);
    let s = load(&dir, "ch2/main.yaml").unwrap();
    assert_eq!(s.vars["apn"], "a2myoperator.com");
    assert_eq!(s.vars["user"], "guest");
}

#[test]
fn include_beside_the_file_first() {
    let main = scenario("steps:\n  - include: local.yaml\n");
    let local = "title: Local\nsteps:\n  - send: ATI\n";
    let shared = "title: Shared\nsteps:\n  - send: ATZ\n";
    let dir = suite(&[("ch2/main.yaml", &main), ("ch2/local.yaml", local), ("fragments/local.yaml", shared)]);
    let s = load(&dir, "ch2/main.yaml").unwrap();
    assert!(matches!(&s.steps[0].action, Action::Send(t) if t == "ATI"));
}

#[test]
fn load_dir_skips_fragments_and_the_index_and_goes_on() {
    let good = |id: &str| format!("id: {id}\ntitle: T\nsource: {{chapter: 2}}\nsteps:\n  - send: AT\n");
    let dir = suite(&[
        ("b/two.yaml", &good("t.two")),
        ("a/one.yaml", &good("t.one")),
        ("a/broken.yaml", "id: t.broken\ntitle: T\n"),
        ("fragments/frag.yaml", "title: F\nsteps:\n  - send: AT\n"),
        ("manual-index.yaml", "entries:\n  - id: x\n"),
        ("notes.txt", "not yaml"),
    ]);
    let (ok, errors) = load_dir(dir.path());
    let ids: Vec<&str> = ok.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["t.one", "t.two"]);
    assert_eq!(errors.len(), 1);
    assert_eq!(rel(&dir, &errors[0].file), "a/broken.yaml");
}

#[test]
fn lint_checks_covers_against_the_manual_index() {
    let text = "id: t.cover\ntitle: T\nsource: {chapter: 2}\ncovers:\n  - param.REDIALCOUNT\n  - param.REDIALCOUNTT\nsteps:\n  - send: AT\n";
    let dir = suite(&[
        ("ch2/cover.yaml", text),
        ("manual-index.yaml", "entries:\n  - id: param.REDIALCOUNT\n    kind: parameter\n  - id: display.VPHY\n"),
        ("fragments/broken.yaml", "title: F\nstep:\n  - send: AT\n"),
    ]);
    let errors = lint(dir.path());
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let cover = errors.iter().find(|e| e.message.contains("manual-index")).unwrap();
    assert_eq!(rel(&dir, &cover.file), "ch2/cover.yaml");
    assert_eq!((cover.line, cover.column), (6, 5));
    assert_eq!(cover.message, "unknown manual-index id `param.REDIALCOUNTT`");
    assert!(cover.hint.as_deref().unwrap().contains("did you mean `param.REDIALCOUNT`?"));
    let frag = errors.iter().find(|e| e.message.contains("step")).unwrap();
    assert_eq!(rel(&dir, &frag.file), "fragments/broken.yaml");
    assert_eq!((frag.line, frag.column), (2, 1));
}

#[test]
fn every_error_of_the_suite_is_located() {
    // All the broken cases at once through load_dir: each has a position.
    let dir =
        suite(&[("a.yaml", "id: a\ntitle: T\nsource: {chapter: 2}\nsteps: 3\n"), ("b.yaml", "{{{"), ("c.yaml", "")]);
    let (_, errors) = load_dir(dir.path());
    assert_eq!(errors.len(), 3);
    for e in &errors {
        assert!(e.line >= 1 && e.column >= 1, "{e}");
        assert!(e.to_string().starts_with("error: "), "{e}");
    }
}

/// The examples of `scenarios/README.md` (code blocks starting with
/// `# file: <path>`) load without error, with the real fragments.
#[test]
fn readme_examples_load() {
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let readme = std::fs::read_to_string(scenarios.join("README.md")).unwrap();
    let mut files: Vec<(String, String)> = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in readme.lines() {
        match (&mut block, line.trim_end()) {
            (None, "```yaml") => block = Some(Vec::new()),
            (Some(lines), "```") => {
                if let Some(name) = lines.first().and_then(|l| l.strip_prefix("# file: ")) {
                    files.push((name.trim().to_string(), lines[1..].join("\n") + "\n"));
                }
                block = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    assert!(files.len() >= 6, "examples found: {:?}", files.iter().map(|f| &f.0).collect::<Vec<_>>());
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let dir = suite(&refs);
    // The README's fragments are the real ones.
    for frag in ["stack-open.yaml", "gprs-attached.yaml"] {
        let real = std::fs::read_to_string(scenarios.join("fragments").join(frag)).unwrap();
        let strip = |t: &str| t.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
        let doc = std::fs::read_to_string(dir.path().join("fragments").join(frag)).unwrap();
        assert_eq!(strip(&doc), strip(&real), "README's {frag} differs from scenarios/fragments/{frag}");
    }
    let (ok, errors) = load_dir(dir.path());
    let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{}", shown.join("\n\n"));
    let expected = files.iter().filter(|(n, _)| !n.starts_with("fragments/")).count();
    assert_eq!(ok.len(), expected);
    // The covers ids exist in the real manual index.
    std::fs::copy(scenarios.join("manual-index.yaml"), dir.path().join("manual-index.yaml")).unwrap();
    let shown: Vec<String> = lint(dir.path()).iter().map(|e| e.to_string()).collect();
    assert!(shown.is_empty(), "{}", shown.join("\n\n"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]

    /// Whatever is in a scenario file, loading it answers (a scenario or a
    /// located error) and never panics: mutate a valid file at random.
    #[test]
    fn loading_never_panics(
        edits in proptest::collection::vec((0usize..400, proptest::sample::select(vec![
            "", "\n", "  ", "- ", ": ", "{", "}", "[", "]", "\"", "'", "#", "${x}", "${", "<CR>", "<x1", "^Z",
            "include: ../x.yaml", "re: '('", "emulator: {ring: {count: -1}}", "send:", "expect:", "\t", "é", "&a", "*a", "!tag ",
        ])), 1..8),
    ) {
        let mut text = String::from(
            "id: fuzz.one\ntitle: t\nsource: {chapter: 2, page: 8}\nvars: {x: \"1\"}\nsteps:\n  - send: AT#REDIALCOUNT=${x}\n    expect: [OK]\n  - emulator: {ring: {number: \"1\", count: 2}}\n    expect: [RING, {re: '(?<n>R.*)'}]\n  - send: AT${n}\n    idle: 2s\n",
        );
        for (at, piece) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, piece);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.yaml");
        std::fs::write(&path, &text).unwrap();
        match load_file(&path, dir.path()) {
            Ok(s) => proptest::prop_assert!(!s.steps.is_empty()),
            Err(e) => proptest::prop_assert!(e.line >= 1 && e.column >= 1 && !e.to_string().is_empty()),
        }
    }
}

#[test]
fn profiles_give_the_manuals_answer_and_its_erratum() {
    let text = scenario(
        "steps:\n  - send: AT#VSTATE\n    expect: ['#NO SERVICE', OK]\n    profiles: {manual: ['#NO SERVICE'], erratum: E9}\n  - send: AT\n    expect: OK\n",
    );
    let dir = suite(&[("ch2/case.yaml", &text)]);
    let s = load(&dir, "ch2/case.yaml").unwrap();
    let p = s.steps[0].profiles.as_ref().unwrap();
    assert_eq!(p.erratum, "E9");
    assert!(matches!(p.manual.as_slice(), [Matcher::Line(l)] if l == "#NO SERVICE"));
    assert!(s.steps[1].profiles.is_none());
    assert_eq!(s.profile_steps(), [1]);
}
