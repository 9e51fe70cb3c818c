//! `mtg lint` as a user runs it: a manual-backed expectation that the cited
//! manual words do not contain fails the lint, with the file and line; the
//! same step labelled for what it is, or citing words that say it, passes.

use std::path::Path;
use std::process::Command;

const INDEX: &str = r##"entries:
  - id: param.REDIALCOUNT
    kind: parameter
    chapter: 2
    page: 8
    title: "#REDIALCOUNT Set Connection Attempts Allowed"
    command: "AT#REDIALCOUNT"
    basis: manual
    text: "Integer 0..14, default 5"
    words:
      - {page: 8, via: local, text: "Values: Integer between 0 and 14, incl usive. Def ault 5."}
  - id: resp.VPHY.example
    kind: response
    chapter: 2
    page: 16
    title: "#VPHY example"
    command: "AT#VPHY"
    basis: manual
    text: "the #VPHY block"
    words:
      - {page: 16, via: local, text: "#REDIALCOUNT: 5 #REDIALDELAY: 5"}
  - id: rule.read-format
    kind: rule
    chapter: B
    page: 49
    title: "Reading a parameter"
    basis: manual
    text: "#<Mnemonic>: <value> then OK"
    words:
      - {page: 49, via: digest, text: "AT#<Mnemonic>? … #<Mnemonic>: <value>[CR][LF] … [CR][LF]OK[CR][LF]"}
"##;

fn scenario(step_extra: &str) -> String {
    format!(
        r##"id: t.planted
title: a planted expectation
source: {{chapter: 2, page: 8}}
covers: [param.REDIALCOUNT]
steps:
  - send: AT#REDIALCOUNT?
    expect: ["#REDIALCOUNT: 5", OK]
{step_extra}"##
    )
}

fn lint(dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mtg"))
        .args(["lint", "--scenarios"])
        .arg(dir)
        // The quotes are not checked against the manual's text here.
        .env_remove("MTG_MANUAL")
        .env("MTG_ROOT", dir)
        .env("MTG_PROVENANCE", "strict")
        .output()
        .expect("mtg runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn suite(step_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manual-index.yaml"), INDEX).unwrap();
    std::fs::create_dir_all(dir.path().join("ch2")).unwrap();
    std::fs::write(dir.path().join("ch2/planted.yaml"), scenario(step_extra)).unwrap();
    dir
}

#[test]
fn a_planted_manual_backed_expectation_fails_the_lint() {
    let dir = suite("");
    let (ok, stderr) = lint(dir.path());
    assert!(!ok, "the lint passed:\n{stderr}");
    assert!(stderr.contains("ch2/planted.yaml:6"), "{stderr}");
    assert!(stderr.contains("\"#REDIALCOUNT: 5\" as manual-backed"), "{stderr}");
    assert!(stderr.contains("\"OK\" as manual-backed"), "{stderr}");
}

#[test]
fn citing_words_that_say_it_passes() {
    let dir = suite("    cites: [resp.VPHY.example, rule.read-format]\n");
    let (ok, stderr) = lint(dir.path());
    assert!(ok, "{stderr}");
}

#[test]
fn an_honest_label_passes_and_real_device_needs_a_source() {
    let (ok, stderr) = lint(suite("    basis: inferred\n").path());
    assert!(ok, "{stderr}");
    let (ok, stderr) = lint(suite("    basis: real-device\n").path());
    assert!(!ok && stderr.contains("names no source"), "{stderr}");
    let (ok, stderr) = lint(suite("    basis: real-device\n    sources: [\"[code]\"]\n").path());
    assert!(ok, "{stderr}");
}

#[test]
fn a_cite_the_index_lacks_is_reported() {
    let (ok, stderr) = lint(suite("    cites: [rule.nowhere]\n").path());
    assert!(!ok && stderr.contains("`rule.nowhere`"), "{stderr}");
}
