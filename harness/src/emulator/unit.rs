//! A unit: the interpreter wired to a network backend. Still sans-IO at its
//! edges — bytes and time in, bytes out — so the in-process transport can
//! drive it on a virtual clock and [`super::serve`] on the wall clock.

use std::task::{Context, Poll};
use std::time::Instant;

use std::net::SocketAddr;

use super::net::{Backend, HostNetwork, PeerBehaviour, SimClient, SimNetwork, TrafficLog};
use super::{ControlError, EmulatorConfig, EmulatorError, Modem, Network};
use crate::control::{Control, PeerKind};

/// One emulated unit and its network.
pub struct Unit {
    modem: Modem,
    /// Controls of [`EmulatorConfig::scripted`], relative to the first
    /// moment the unit runs, then at their absolute time.
    scripted: Vec<(std::time::Duration, Control)>,
    scripted_at: Vec<(Instant, Control)>,
    net: Box<dyn Backend>,
    /// The simulated network, when the unit runs on one (a handle on the
    /// same network as `net`).
    sim: Option<SimNetwork>,
    /// Where requests and events are recorded for captures.
    traffic: Option<TrafficLog>,
}

impl Unit {
    /// Power on a unit built from `config`. With the host network this must
    /// run within a tokio runtime (sockets are opened on its tasks).
    pub fn new(config: &EmulatorConfig) -> Result<Unit, EmulatorError> {
        let sim = match &config.network {
            Network::Host => None,
            Network::Simulated(sim) => Some(sim.clone()),
        };
        let mut unit = Unit::build(config, sim)?;
        unit.scripted = config.scripted.clone();
        Ok(unit)
    }

    /// Power-cycle: a new unit on the same configuration (hence the same
    /// parameter store) and the same network, with no socket open.
    pub fn restart(&self, config: &EmulatorConfig) -> Result<Unit, EmulatorError> {
        Unit::build(config, self.sim.clone())
    }

    fn build(config: &EmulatorConfig, sim: Option<SimNetwork>) -> Result<Unit, EmulatorError> {
        let modem = Modem::new(config)?;
        let net: Box<dyn Backend> = match &sim {
            None => Box::new(HostNetwork::with_map(config.net_map.clone())),
            Some(sim) => {
                sim.power_cycle();
                Box::new(sim.clone())
            }
        };
        Ok(Unit { modem, net, sim, scripted: Vec::new(), scripted_at: Vec::new(), traffic: config.traffic.clone() })
    }

    /// Bytes from the host.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) {
        self.modem.receive(bytes, now);
        self.perform(now);
    }

    /// Run everything that is due by `now`: network events, then timers, and
    /// the network requests they cause.
    pub fn pump(&mut self, now: Instant) {
        for (after, control) in std::mem::take(&mut self.scripted) {
            self.scripted_at.push((now + after, control));
        }
        while let Some(i) = self.scripted_at.iter().position(|(at, _)| *at <= now) {
            let (_, control) = self.scripted_at.remove(i);
            if let Err(e) = self.control(&control, now) {
                tracing::warn!(?control, "scripted control failed: {e}");
            }
        }
        loop {
            self.modem.settle(now);
            self.perform(now);
            if let Some(event) = self.net.poll_event(now) {
                if let Some(log) = &self.traffic {
                    log.event(&event, self.modem.session_address(), now);
                }
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
            if let Some(log) = &self.traffic {
                log.request(&request, self.modem.session_address(), now);
            }
            self.net.perform(request, now);
        }
    }

    /// Bytes for the host produced so far.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.modem.take_output()
    }

    /// When something is next due (a timer of the unit or of a simulated peer).
    pub fn next_event(&self) -> Option<Instant> {
        let scripted = self.scripted_at.iter().map(|(at, _)| *at).min();
        [self.modem.next_timer(), self.net.next_due(), scripted].into_iter().flatten().min()
    }

    /// The messages the host sent to the simulated service centre.
    pub fn sent_sms(&self) -> &[super::SentSms] {
        self.modem.sent_sms()
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
        let result = match control {
            Control::Peer { address, name, behaviour } => {
                let address = parse_address(address)?;
                let sim = self.simulated()?;
                sim.peer(address, peer_behaviour(behaviour));
                if let Some(name) = name {
                    sim.name(name, address.ip());
                }
                Ok(())
            }
            Control::Client { port, from, sends, closes } => {
                let from = parse_address(from)?;
                let client = SimClient { port: *port, from, sends: sends.clone().into_bytes(), closes: *closes };
                self.simulated()?.client(client);
                Ok(())
            }
            other => self.modem.control(other, now),
        };
        self.perform(now);
        result
    }

    /// The simulated network, switching to one if the unit is on the host
    /// network with nothing open (a scenario that declares peers runs on it).
    fn simulated(&mut self) -> Result<&SimNetwork, ControlError> {
        if self.sim.is_none() {
            if self.net.is_live() {
                return Err(ControlError::NetworkInUse);
            }
            let sim = SimNetwork::new();
            tracing::debug!("the unit switches to the simulated network");
            self.net = Box::new(sim.clone());
            self.sim = Some(sim);
        }
        Ok(self.sim.as_ref().expect("set above"))
    }

    /// Data Carrier Detect as the unit drives it.
    pub fn dcd(&self) -> bool {
        self.modem.dcd()
    }
}

fn parse_address(text: &str) -> Result<SocketAddr, ControlError> {
    text.parse().map_err(|_| ControlError::BadAddress(text.to_string()))
}

fn peer_behaviour(kind: &PeerKind) -> PeerBehaviour {
    match kind {
        PeerKind::Echo => PeerBehaviour::Echo,
        PeerKind::Silent => PeerBehaviour::Silent,
        PeerKind::Refuse => PeerBehaviour::Refuse,
        PeerKind::Drop => PeerBehaviour::Drop,
        PeerKind::Answer { greeting, reply } => {
            PeerBehaviour::Answer { greeting: greeting.clone().into_bytes(), reply: reply.clone().into_bytes() }
        }
    }
}
