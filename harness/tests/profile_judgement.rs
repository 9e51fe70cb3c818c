//! The runner judges by a firmware profile: a fake unit answers in the field
//! form, in the manual's form, or in neither, and the outcome says which
//! profile it matched and which erratum explains the difference.

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use mtg::at::Firmware;
use mtg::errata::Errata;
use mtg::runner::events::Discard;
use mtg::runner::{execute, Matched, Options, Verdict};
use mtg::scenario::{load_file, Capability};
use mtg::transport::Transport;
use rstest::rstest;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A unit that answers each command line with fixed bytes, without echo.
struct Fake {
    answers: VecDeque<&'static [u8]>,
    pending: Vec<u8>,
}

impl AsyncRead for Fake {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.pending.is_empty() {
            // Nothing to say: the runner's deadline ends the wait.
            return Poll::Pending;
        }
        let n = self.pending.len().min(buf.remaining());
        let chunk: Vec<u8> = self.pending.drain(..n).collect();
        buf.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Fake {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        if b.ends_with(b"\r") {
            if let Some(a) = self.answers.pop_front() {
                self.pending.extend_from_slice(a);
            }
        }
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Transport for Fake {
    fn describe(&self) -> String {
        "fake unit".into()
    }
    fn capabilities(&self) -> BTreeSet<Capability> {
        BTreeSet::new()
    }
}

const SCENARIO: &str = r##"id: t.profiles
title: profile judgement
source: {chapter: 2, page: 14}
steps:
  - send: AT#CONNECTIONSTART
    idle: 300ms
    expect: Ok_Info_GprsActivation
  - send: AT#VSTATE
    idle: 300ms
    expect: ["#NO SERVICE", OK]
    profiles: {manual: ["#NO SERVICE"], erratum: E9}
"##;

fn run(judge: Firmware, answers: Vec<&'static [u8]>) -> mtg::runner::Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, SCENARIO).unwrap();
    let scenario = load_file(&path, dir.path()).unwrap();
    let errata = Arc::new(Errata::load(&Errata::default_path()).unwrap());
    let options = Options { firmware: judge, errata, ..Options::default() };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut unit = Fake { answers: answers.into(), pending: Vec::new() };
        execute(&scenario, &mut unit, &options, &Discard).await
    })
}

const FIELD_GPRS: &[u8] = b"\r\nOk_Info_GprsActivation\r\n";
const MANUAL_GPRS: &[u8] = b"\r\nOK_Info_GPRSActivation\r\n";
const FIELD_VSTATE: &[u8] = b"#NO SERVICE\r\n\r\nOK\r\n";
const MANUAL_VSTATE: &[u8] = b"#NO SERVICE\r\n";

#[rstest]
#[case::field_form_judged_by_manual(
    Firmware::Manual, FIELD_GPRS, MANUAL_VSTATE, Matched::Mixed,
    &["step 1: deviates from the manual like known field firmware (erratum E1)"]
)]
#[case::manual_form_judged_by_manual(Firmware::Manual, MANUAL_GPRS, MANUAL_VSTATE, Matched::Manual, &[])]
#[case::field_unit_judged_by_manual(
    Firmware::Manual, FIELD_GPRS, FIELD_VSTATE, Matched::Field,
    &[
        "step 1: deviates from the manual like known field firmware (erratum E1)",
        "step 2: deviates from the manual like known field firmware (erratum E9)",
    ]
)]
#[case::field_unit_judged_by_field(Firmware::Field, FIELD_GPRS, FIELD_VSTATE, Matched::Field, &[])]
#[case::manual_unit_judged_by_field(
    Firmware::Field, MANUAL_GPRS, MANUAL_VSTATE, Matched::Manual,
    &[
        "step 1: matches the manual where field firmware differs (erratum E1)",
        "step 2: matches the manual where field firmware differs (erratum E9)",
    ]
)]
fn judged_by_a_profile(
    #[case] judge: Firmware,
    #[case] gprs: &'static [u8],
    #[case] vstate: &'static [u8],
    #[case] matched: Matched,
    #[case] notes: &[&str],
) {
    let outcome = run(judge, vec![gprs, vstate]);
    assert_eq!(outcome.verdict, Verdict::Pass, "{:?}\n{}", outcome.message, outcome.transcript.render());
    assert_eq!(outcome.profile.judged_by, judge);
    assert_eq!(outcome.profile.matched, matched);
    assert_eq!(outcome.profile.errata, ["E1", "E9"]);
    assert_eq!(outcome.profile.notes, notes);
    for n in notes {
        let note = n.split_once(": ").unwrap().1;
        assert!(outcome.transcript.render().contains(note), "{}", outcome.transcript.render());
    }
}

#[rstest]
#[case::neither_form(Firmware::Manual, b"\r\nOK_Info_GprsActivation!\r\n" as &[u8], MANUAL_VSTATE)]
#[case::neither_form_judged_by_field(Firmware::Field, b"\r\nERROR\r\n" as &[u8], FIELD_VSTATE)]
#[case::vstate_neither(Firmware::Manual, MANUAL_GPRS, b"#STATE: \"IDLE\"\r\n\r\nOK\r\n" as &[u8])]
fn an_answer_matching_neither_profile_fails(
    #[case] judge: Firmware,
    #[case] gprs: &'static [u8],
    #[case] vstate: &'static [u8],
) {
    let outcome = run(judge, vec![gprs, vstate]);
    assert_eq!(outcome.verdict, Verdict::Fail, "{}", outcome.transcript.render());
}

#[test]
fn no_erratum_involved_is_both() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, "id: t.ok\ntitle: t\nsource: {chapter: 2, page: 14}\nsteps:\n  - send: AT\n    expect: OK\n")
        .unwrap();
    let scenario = load_file(&path, dir.path()).unwrap();
    let options = Options { firmware: Firmware::Manual, ..Options::default() };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outcome = runtime.block_on(async {
        let mut unit = Fake { answers: vec![b"\r\nOK\r\n" as &[u8]].into(), pending: Vec::new() };
        execute(&scenario, &mut unit, &options, &Discard).await
    });
    assert_eq!(outcome.verdict, Verdict::Pass);
    assert_eq!(outcome.profile.matched, Matched::Both);
    assert_eq!(outcome.profile.label(), "both");
}

#[test]
fn a_failure_judged_by_the_manual_names_both_forms() {
    let outcome = run(Firmware::Manual, vec![b"\r\nERROR\r\n" as &[u8], MANUAL_VSTATE]);
    assert_eq!(outcome.verdict, Verdict::Fail);
    let message = outcome.message.unwrap();
    assert!(
        message.contains(
            r#"expected "OK_Info_GPRSActivation" (field firmware: "Ok_Info_GprsActivation", erratum E1), got "ERROR""#
        ),
        "{message}"
    );
}
