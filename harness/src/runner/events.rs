//! What the runner tells the outside world while it runs.
//!
//! The runner emits [`Event`]s into a [`Sink`]; reporters (console progress,
//! the run record, JUnit, the HTML page) are sinks and see nothing of the
//! runner but these events. Events borrow from the runner, so emitting one
//! costs no copy; a sink that keeps something copies what it keeps.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use crate::family::{Identity, Placement};
use crate::golden::Comparison;
use crate::scenario::Scenario;
use crate::transcript::{Role, Transcript};

use super::Outcome;
use crate::waiver::WaiverNote;

/// One thing that happened during a run, in the order it happened. Within a
/// scenario, events arrive in order; scenarios running at once interleave.
/// `ScenarioFinished` events arrive one at a time, numbered by `done`.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The run begins: what runs, where, and when (wall clock).
    RunStarted {
        /// The target as the user wrote it.
        target: &'a str,
        scenarios_root: &'a Path,
        /// Every selected scenario, in suite order.
        selected: &'a [Scenario],
        /// Scenarios run at once.
        jobs: usize,
        started: SystemTime,
    },
    /// What the target said it is (asked once, before any scenario), and the
    /// firmware family it was placed in, if any.
    Identified {
        identity: &'a Identity,
        family: Option<&'a Placement>,
    },
    ScenarioStarted {
        scenario: &'a Scenario,
        started: SystemTime,
    },
    /// A step starts (`index` is 1-based, of `total`); `origin` is its file:line.
    /// `description` is as written: it may hold secrets, a reporter redacts it.
    StepStarted {
        scenario: &'a str,
        index: usize,
        total: usize,
        description: &'a str,
        origin: &'a str,
    },
    /// The unit is being reset before a scenario ([`super::reset`]).
    ResetStarted {
        scenario: &'a str,
    },
    /// The unit was reset before a scenario ([`super::reset`]): the
    /// exchange (not part of the scenario's transcript), and why the reset
    /// failed, if it did (the scenario then does not run).
    ResetFinished {
        scenario: &'a str,
        transcript: &'a Transcript,
        error: Option<&'a str>,
        ms: u64,
    },
    /// Bytes written to the target, as the transcript records them.
    Sent {
        scenario: &'a str,
        bytes: &'a [u8],
        at_ms: u64,
    },
    /// A line received, and what the runner made of it.
    Received {
        scenario: &'a str,
        bytes: &'a [u8],
        role: Role,
        at_ms: u64,
    },
    /// A scenario ended: its outcome (with the transcript) and, when the
    /// run compares with goldens and the scenario passed, the comparison.
    ScenarioFinished {
        scenario: &'a Scenario,
        started: SystemTime,
        outcome: &'a Outcome,
        golden: Option<&'a Comparison>,
        /// The waiver that matched the failure: live (the failure is waived,
        /// not a finding) or expired (the failure stands).
        waiver: Option<&'a WaiverNote>,
        /// How many scenarios have finished, this one included.
        done: usize,
        total: usize,
    },
    /// The run is over. `not_run` lists the selected scenarios that did not
    /// finish: not started before an interruption, or abandoned when they
    /// did not stop within the grace period.
    RunFinished {
        interrupted: bool,
        not_run: &'a [String],
        /// Ids of the run's waivers that matched no failure.
        unmatched_waivers: &'a [String],
    },
}

/// Where the runner sends its events. Scenarios run in parallel tasks, so
/// a sink is shared and receives events from several threads.
pub trait Sink: Send + Sync {
    fn event(&self, event: &Event<'_>);
}

/// A sink that drops every event (tests that only want the outcome).
pub struct Discard;

impl Sink for Discard {
    fn event(&self, _: &Event<'_>) {}
}

/// Several sinks, each given every event in turn (in the vector's order).
impl<S: Sink> Sink for Vec<S> {
    fn event(&self, event: &Event<'_>) {
        for sink in self {
            sink.event(event);
        }
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn event(&self, event: &Event<'_>) {
        (**self).event(event);
    }
}

impl<S: Sink + ?Sized> Sink for Arc<S> {
    fn event(&self, event: &Event<'_>) {
        (**self).event(event);
    }
}
