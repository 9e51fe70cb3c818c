//! A unit: the interpreter wired to a network backend. Still sans-IO at its
//! edges — bytes and time in, bytes out — so the in-process transport can
//! drive it on a virtual clock and [`super::serve`] on the wall clock.

use std::task::{Context, Poll};
use std::time::Instant;

use super::net::{Backend, HostNetwork};
use super::{ControlError, EmulatorConfig, EmulatorError, Modem, Network};
use crate::control::Control;

/// One emulated unit and its network.
pub struct Unit {
    modem: Modem,
    net: Box<dyn Backend>,
}

impl Unit {
    /// Power on a unit built from `config`. With the host network this must
    /// run within a tokio runtime (sockets are opened on its tasks).
    pub fn new(config: &EmulatorConfig) -> Result<Unit, EmulatorError> {
        let modem = Modem::new(config)?;
        let net: Box<dyn Backend> = match &config.network {
            Network::Host => Box::new(HostNetwork::new()),
            Network::Simulated(sim) => {
                // A restarted unit starts with no socket open.
                sim.power_cycle();
                Box::new(sim.clone())
            }
        };
        Ok(Unit { modem, net })
    }

    /// Bytes from the host.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) {
        self.modem.receive(bytes, now);
        self.perform(now);
    }

    /// Run everything that is due by `now`: network events, then timers, and
    /// the network requests they cause.
    pub fn pump(&mut self, now: Instant) {
        loop {
            self.perform(now);
            if let Some(event) = self.net.poll_event(now) {
                self.modem.net_event(event, now);
                continue;
            }
            if self.modem.next_timer().is_some_and(|at| at <= now) {
                self.modem.on_timer(now);
                continue;
            }
            break;
        }
    }

    fn perform(&mut self, now: Instant) {
        for request in self.modem.take_requests() {
            tracing::debug!(backend = self.net.name(), ?request, "network request");
            self.net.perform(request, now);
        }
    }

    /// Bytes for the host produced so far.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.modem.take_output()
    }

    /// When something is next due (a timer of the unit or of a simulated peer).
    pub fn next_event(&self) -> Option<Instant> {
        match (self.modem.next_timer(), self.net.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether real traffic may arrive at any moment (time must be real).
    pub fn is_live(&self) -> bool {
        self.net.is_live()
    }

    /// Register for real network events; `Ready` when one is waiting.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.net.poll_ready(cx)
    }

    /// Apply an emulator control (a restart is the owner's: it builds a new unit).
    pub fn control(&mut self, control: &Control, now: Instant) -> Result<(), ControlError> {
        let result = self.modem.control(control, now);
        self.perform(now);
        result
    }

    /// Data Carrier Detect as the unit drives it.
    pub fn dcd(&self) -> bool {
        self.modem.dcd()
    }
}
