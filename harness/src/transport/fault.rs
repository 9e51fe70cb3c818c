//! A transport wrapper that injects the faults a bench rig's line has, in
//! the spirit of smoltcp's `FaultInjector`: reads split into small pieces,
//! and a delay between a `<CR>` and the `<LF>` after it (ser2net, USB serial
//! adapters and TCP deliver those in separate reads, sometimes far apart).
//! The runner must give the same transcripts through it.
//!
//! CI turns it on for any target with `MTG_FAULTS`, e.g.
//! `MTG_FAULTS=cr-lf-delay=120,max-read=3` (milliseconds, bytes). Delays
//! are taken on the inner transport's clock ([`Transport::pause`]), so the
//! in-process emulator stays on virtual time.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::{ControlFuture, PauseFuture, ReadFuture, Transport};
use crate::scenario::{Capability, Control};

/// The faults to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// Hold every `<LF>` that follows a `<CR>` this long.
    pub cr_lf_delay: Duration,
    /// Hand out at most this many bytes per read (0: no limit).
    pub max_read: usize,
}

/// `MTG_FAULTS` does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid MTG_FAULTS `{text}`: {why} (expected e.g. `cr-lf-delay=120,max-read=3`)")]
pub struct FaultsError {
    text: String,
    why: String,
}

impl Faults {
    /// `cr-lf-delay=MS,max-read=N` (either may be left out).
    pub fn parse(text: &str) -> Result<Faults, FaultsError> {
        let err = |why: String| FaultsError { text: text.to_string(), why };
        let mut faults = Faults::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(|| err(format!("`{item}` has no value")))?;
            let n: u64 = value.trim().parse().map_err(|_| err(format!("`{value}` is not a number")))?;
            match key.trim() {
                "cr-lf-delay" => faults.cr_lf_delay = Duration::from_millis(n),
                "max-read" => faults.max_read = n as usize,
                other => return Err(err(format!("unknown fault `{other}`"))),
            }
        }
        Ok(faults)
    }

    /// The faults `MTG_FAULTS` asks for, if any.
    pub fn from_env() -> Result<Option<Faults>, FaultsError> {
        match std::env::var("MTG_FAULTS") {
            Ok(text) if !text.trim().is_empty() => Faults::parse(&text).map(Some),
            _ => Ok(None),
        }
    }
}

/// A transport whose reads come split and late. Only [`Transport::read_until`]
/// injects faults (the runner reads through it); plain `AsyncRead` is the
/// inner transport's.
pub struct FaultInjector {
    inner: Box<dyn Transport>,
    faults: Faults,
    /// Read from the inner transport, not handed out yet.
    held: VecDeque<u8>,
    /// The last byte handed out was a `<CR>`.
    after_cr: bool,
    /// When the held `<LF>` may go.
    lf_due: Option<Instant>,
}

impl FaultInjector {
    pub fn new(inner: Box<dyn Transport>, faults: Faults) -> Self {
        FaultInjector { inner, faults, held: VecDeque::new(), after_cr: false, lf_due: None }
    }
}

super::byte_stream!(FaultInjector, inner);

impl Transport for FaultInjector {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn capabilities(&self) -> BTreeSet<Capability> {
        self.inner.capabilities()
    }

    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn read_until<'a>(&'a mut self, buf: &'a mut [u8], deadline: Instant) -> ReadFuture<'a> {
        Box::pin(async move {
            if buf.is_empty() {
                return Ok(Some(0));
            }
            if self.held.is_empty() {
                let mut chunk = [0u8; 4096];
                match self.inner.read_until(&mut chunk, deadline).await? {
                    None => return Ok(None),
                    Some(0) => return Ok(Some(0)),
                    Some(n) => self.held.extend(&chunk[..n]),
                }
            }
            let delaying = !self.faults.cr_lf_delay.is_zero();
            if delaying && self.after_cr && self.held.front() == Some(&b'\n') {
                let due = *self.lf_due.get_or_insert_with(|| self.inner.now() + self.faults.cr_lf_delay);
                let now = self.inner.now();
                if due > now {
                    if deadline < due {
                        if deadline > now {
                            self.inner.pause(deadline - now).await;
                        }
                        return Ok(None);
                    }
                    self.inner.pause(due - now).await;
                }
                self.lf_due = None;
                self.after_cr = false;
                buf[0] = self.held.pop_front().unwrap_or(b'\n');
                return Ok(Some(1));
            }
            let mut n = self.held.len().min(buf.len());
            if self.faults.max_read > 0 {
                n = n.min(self.faults.max_read);
            }
            if delaying {
                // Stop after each <CR>, so that the <LF> after it can be held.
                if let Some(i) = self.held.iter().take(n).position(|b| *b == b'\r') {
                    n = i + 1;
                }
            }
            for (slot, byte) in buf.iter_mut().zip(self.held.drain(..n)) {
                *slot = byte;
            }
            self.after_cr = buf[n - 1] == b'\r';
            Ok(Some(n))
        })
    }

    fn pause(&mut self, duration: Duration) -> PauseFuture<'_> {
        self.inner.pause(duration)
    }

    fn control<'a>(&'a mut self, control: &'a Control) -> ControlFuture<'a> {
        // What is held stays held: it was on the line before the control.
        self.inner.control(control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse() {
        let f = Faults::parse("cr-lf-delay=120, max-read=3").unwrap();
        assert_eq!(f, Faults { cr_lf_delay: Duration::from_millis(120), max_read: 3 });
        assert!(Faults::parse("cr-lf-delay").is_err());
        assert!(Faults::parse("jitter=3").is_err());
    }
}
