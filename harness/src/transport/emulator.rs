//! The reference emulator, in process: the fastest target, the only one
//! that takes every emulator control, and the only one on virtual time.
//!
//! The transport owns the [`Unit`] and its [`Clock`]; the runner reads the
//! time from here ([`Transport::now`]). Whenever the runner waits — for a
//! line, a quiet period, a pause — and nothing real is outstanding, the
//! clock jumps to the unit's next event (a timer, a simulated peer) instead
//! of sleeping, so a scenario that waits a minute for PHYTIMEOUT takes
//! microseconds and gives the same transcript. While a real socket is open
//! (host network), the clock follows the wall clock and a driver task runs
//! the unit's timers and network events as they come, even when nobody
//! reads.

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{ControlError, ControlFuture, PauseFuture, ReadFuture, Transport};
use crate::control::Control;
use crate::emulator::{self, Clock, EmulatorConfig, EmulatorError, Unit};
use crate::scenario::Capability;

/// Why the line is dead.
const STOPPED: &str = "the emulator has stopped (the line was closed or the unit could not restart)";

/// The in-process reference emulator.
pub struct EmulatorTransport {
    config: EmulatorConfig,
    shared: Arc<Shared>,
    driver: JoinHandle<()>,
    caps: BTreeSet<Capability>,
}

struct Shared {
    line: Mutex<Line>,
    /// Wakes the driver: input arrived or a control was applied (the unit
    /// may now have real work outstanding).
    poke: Notify,
    /// Output arrived or the unit's state changed: wakes waiting readers.
    changed: Notify,
}

/// The unit, its clock and what it said that nobody has read yet.
struct Line {
    /// `None` once the host closed the line or a restart failed.
    unit: Option<Unit>,
    clock: Clock,
    out: VecDeque<u8>,
    reader: Option<Waker>,
}

impl Line {
    /// Run what is due now; keep its output; let the clock follow the wall
    /// clock exactly while real traffic may arrive.
    fn pump(&mut self) {
        let Some(unit) = &mut self.unit else { return };
        unit.pump(self.clock.now());
        self.out.extend(unit.take_output());
        self.clock.set_real(unit.is_live());
    }

    fn take(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.out.len());
        for (slot, b) in buf.iter_mut().zip(self.out.drain(..n)) {
            *slot = b;
        }
        n
    }

    /// With nothing real outstanding, move the clock to the unit's next
    /// event if it comes by `limit`, else to `limit`. Returns whether the
    /// limit was reached.
    fn advance_virtually(&mut self, limit: Instant) -> bool {
        match self.unit.as_ref().and_then(Unit::next_event) {
            Some(at) if at <= limit => {
                self.clock.jump_to(at);
                false
            }
            _ => {
                self.clock.jump_to(limit);
                true
            }
        }
    }
}

/// How a wait ends.
enum Waited {
    Bytes(usize),
    Deadline,
}

impl EmulatorTransport {
    /// What the in-process emulator offers by itself. Network services (SMTP,
    /// POP3, FTP, echo servers, DNS, ping) come from the fixtures layer and
    /// are declared with `caps=`.
    pub const CAPABILITIES: [Capability; 5] = [
        Capability::Gprs,
        Capability::GsmData,
        Capability::IncomingCall,
        Capability::ControlLines,
        Capability::EmulatorControl,
    ];

    /// Power on an emulated unit built from `config`.
    ///
    /// Must be called within a tokio runtime: the unit's driver runs on a
    /// task of that runtime (this panics otherwise, like `tokio::spawn`).
    pub fn start(mut config: EmulatorConfig) -> Result<EmulatorTransport, EmulatorError> {
        // Record the unit's network work for captures (kept across restarts).
        config.traffic.get_or_insert_with(emulator::net::TrafficLog::new);
        let unit = Unit::new(&config)?;
        let shared = Arc::new(Shared {
            line: Mutex::new(Line { unit: Some(unit), clock: Clock::new(), out: VecDeque::new(), reader: None }),
            poke: Notify::new(),
            changed: Notify::new(),
        });
        let driver = tokio::spawn(drive(shared.clone()));
        Ok(EmulatorTransport { config, shared, driver, caps: Self::CAPABILITIES.into_iter().collect() })
    }

    /// Declare capabilities beyond [`Self::CAPABILITIES`] (network services
    /// provided by fixtures).
    pub fn with_capabilities(mut self, caps: impl IntoIterator<Item = Capability>) -> Self {
        self.caps.extend(caps);
        self
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    fn line(&self) -> MutexGuard<'_, Line> {
        self.shared.line.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait until `deadline` on the unit's clock, or until output arrives
    /// when `buf` is given (then it is read into `buf`).
    async fn wait(&self, deadline: Instant, mut buf: Option<&mut [u8]>) -> Waited {
        loop {
            let (changed, wall) = {
                let mut line = self.line();
                loop {
                    line.pump();
                    if let Some(b) = buf.as_deref_mut() {
                        if !line.out.is_empty() {
                            return Waited::Bytes(line.take(b));
                        }
                        if line.unit.is_none() {
                            return Waited::Bytes(0);
                        }
                    }
                    if line.clock.now() >= deadline || line.unit.is_none() {
                        return Waited::Deadline;
                    }
                    if line.clock.is_real() {
                        break;
                    }
                    if line.advance_virtually(deadline) && buf.is_none() {
                        // Run what is due at the deadline itself.
                        line.pump();
                        return Waited::Deadline;
                    }
                }
                // Real traffic outstanding: the driver runs the unit; wait
                // for what it produces, or for the deadline in real time.
                let wall = line.clock.wall_time_of(deadline).unwrap_or_else(Instant::now);
                (self.shared.changed.notified(), wall)
            };
            self.shared.poke.notify_one();
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wall)) => {}
            }
        }
    }
}

/// Runs the unit while real traffic is outstanding: network events and
/// timers in real time, whether or not anyone is reading.
async fn drive(shared: Arc<Shared>) {
    loop {
        let poked = shared.poke.notified();
        let live_until = {
            let mut line = shared.line.lock().unwrap_or_else(|p| p.into_inner());
            line.pump();
            if !line.out.is_empty() {
                if let Some(w) = line.reader.take() {
                    w.wake();
                }
            }
            match &line.unit {
                Some(unit) if unit.is_live() => Some(unit.next_event().and_then(|at| line.clock.wall_time_of(at))),
                _ => None,
            }
        };
        shared.changed.notify_waiters();
        match live_until {
            None => poked.await,
            Some(wake_at) => {
                let timer = async {
                    match wake_at {
                        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                        None => std::future::pending().await,
                    }
                };
                let network = std::future::poll_fn(|cx| {
                    let mut line = shared.line.lock().unwrap_or_else(|p| p.into_inner());
                    match &mut line.unit {
                        Some(unit) => unit.poll_ready(cx),
                        None => Poll::Pending,
                    }
                });
                tokio::select! {
                    _ = poked => {}
                    _ = timer => {}
                    _ = network => {}
                }
            }
        }
    }
}

impl Drop for EmulatorTransport {
    /// The unit lives exactly as long as the transport: a dropped transport
    /// must not leave a driver behind holding the parameter store.
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl AsyncRead for EmulatorTransport {
    /// A read without a deadline: on virtual time the clock jumps straight
    /// to the unit's next event.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut line = this.line();
        loop {
            line.pump();
            if !line.out.is_empty() {
                let n = line.take(buf.initialize_unfilled());
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            if line.unit.is_none() {
                return Poll::Ready(Ok(()));
            }
            match line.unit.as_ref().and_then(Unit::next_event) {
                Some(at) if !line.clock.is_real() => line.clock.jump_to(at),
                _ => break,
            }
        }
        line.reader = Some(cx.waker().clone());
        drop(line);
        this.shared.poke.notify_one();
        Poll::Pending
    }
}

impl AsyncWrite for EmulatorTransport {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        {
            let mut line = this.line();
            let now = line.clock.now();
            match &mut line.unit {
                Some(unit) => unit.receive(buf, now),
                None => return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, STOPPED))),
            }
        }
        this.shared.poke.notify_one();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The host closes the line: the unit stops serving it.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut line = this.line();
        line.unit = None;
        if let Some(w) = line.reader.take() {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }
}

impl Transport for EmulatorTransport {
    fn traffic(&self) -> Vec<(Instant, emulator::net::Traffic)> {
        self.config.traffic.as_ref().map(|t| t.entries()).unwrap_or_default()
    }

    fn describe(&self) -> String {
        let net = match self.config.network {
            emulator::Network::Host => "",
            emulator::Network::Simulated(_) => ", simulated network",
        };
        match &self.config.flash {
            Some(flash) => format!("reference emulator (in process{net}, flash {})", flash.display()),
            None => format!("reference emulator (in process{net})"),
        }
    }

    fn capabilities(&self) -> BTreeSet<Capability> {
        self.caps.clone()
    }

    fn now(&self) -> Instant {
        self.line().clock.now()
    }

    fn read_until<'a>(&'a mut self, buf: &'a mut [u8], deadline: Instant) -> ReadFuture<'a> {
        Box::pin(async move {
            match self.wait(deadline, Some(buf)).await {
                Waited::Bytes(n) => Ok(Some(n)),
                Waited::Deadline => Ok(None),
            }
        })
    }

    fn pause(&mut self, duration: Duration) -> PauseFuture<'_> {
        Box::pin(async move {
            let deadline = self.now() + duration;
            self.wait(deadline, None).await;
        })
    }

    fn control<'a>(&'a mut self, control: &'a Control) -> ControlFuture<'a> {
        Box::pin(async move {
            let failed = |cause: String| ControlError::Failed {
                target: self.describe(),
                control: format!("{control:?}"),
                cause,
            };
            let result = {
                let mut line = self.line();
                if line.unit.is_none() {
                    return Err(failed(STOPPED.to_string()));
                }
                match control {
                    // Power-cycle: a new unit on the same configuration, hence
                    // the same parameter store. Bytes in flight are lost, as
                    // on a real unit; if it cannot come back, the line is dead.
                    Control::Restart => {
                        let old = line.unit.take().expect("checked above");
                        line.out.clear();
                        match old.restart(&self.config) {
                            Ok(unit) => {
                                line.unit = Some(unit);
                                Ok(())
                            }
                            Err(e) => Err(failed(e.to_string())),
                        }
                    }
                    other => {
                        let now = line.clock.now();
                        let unit = line.unit.as_mut().expect("checked above");
                        unit.control(other, now).map_err(|e| match e {
                            // A line check that does not hold is a finding about the unit.
                            emulator::ControlError::LinesDiffer(detail) => {
                                ControlError::Mismatch { target: self.describe(), detail }
                            }
                            e => failed(e.to_string()),
                        })
                    }
                }
            };
            self.shared.poke.notify_one();
            result
        })
    }
}
