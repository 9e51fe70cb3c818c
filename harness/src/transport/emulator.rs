//! The reference emulator, in process: the fastest target, and the only one
//! that takes every emulator control.
//!
//! The emulator runs as [`serve`] on a task of the caller's tokio runtime, at
//! the far end of an in-memory duplex pipe; this transport is the near end.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::io::DuplexStream;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{ControlError, ControlFuture, Transport};
use crate::emulator::{serve, ControlRequest, EmulatorConfig, EmulatorError, Modem};
use crate::scenario::{Capability, Control};

/// Bytes the pipe holds in each direction before the writer waits: far more
/// than any exchange, so neither side stalls while the other is busy.
const DUPLEX_CAPACITY: usize = 1 << 16;

/// Longest wait for the emulator to apply a control. It answers at once
/// unless it is stuck (e.g. blocked writing output nobody reads).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// The in-process reference emulator.
pub struct EmulatorTransport {
    config: EmulatorConfig,
    io: DuplexStream,
    controls: mpsc::UnboundedSender<ControlRequest>,
    task: JoinHandle<()>,
    runtime: Handle,
    caps: BTreeSet<Capability>,
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
    /// Must be called within a tokio runtime: the emulator runs on a task of
    /// that runtime (this panics otherwise, like `tokio::spawn`).
    pub fn start(config: EmulatorConfig) -> Result<EmulatorTransport, EmulatorError> {
        let runtime = Handle::current();
        let (io, controls, task) = power_on(&runtime, &config)?;
        Ok(EmulatorTransport { config, io, controls, task, runtime, caps: Self::CAPABILITIES.into_iter().collect() })
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

    /// Power-cycle: stop the running unit, then build a new one on the same
    /// configuration, hence the same parameter store. Bytes in flight are
    /// lost, as on a real unit.
    async fn restart(&mut self) -> Result<(), EmulatorError> {
        self.task.abort();
        // Wait until the old unit is really gone (its task dropped, with the
        // Modem), so that two units never hold the parameter store at once
        // and the new one reads whatever the old one last wrote. The result
        // is `Cancelled`, or the old task's own end: neither matters here.
        let _ = (&mut self.task).await;
        // If the new unit cannot be built, the line stays dead: our end of
        // the old pipe now reads EOF and refuses writes, like a unit that
        // does not come back up.
        let (io, controls, task) = power_on(&self.runtime, &self.config)?;
        self.io = io;
        self.controls = controls;
        self.task = task;
        Ok(())
    }

    /// Hand a control to the running unit and wait for its verdict.
    async fn send_control(&self, control: &Control) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        let request = ControlRequest { control: control.clone(), reply };
        if self.controls.send(request).is_err() {
            return Err(self.stopped_cause());
        }
        match tokio::time::timeout(CONTROL_TIMEOUT, answer).await {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(_)) => Err(self.stopped_cause()),
            Err(_) => Err(format!("the emulator did not answer within {} s", CONTROL_TIMEOUT.as_secs())),
        }
    }

    fn stopped_cause(&self) -> String {
        if self.task.is_finished() {
            "the emulator has stopped (the line was closed or the emulator failed)".to_string()
        } else {
            "the emulator dropped the request".to_string()
        }
    }
}

/// Build a unit from `config` and start serving it on a fresh pipe.
fn power_on(
    runtime: &Handle,
    config: &EmulatorConfig,
) -> Result<(DuplexStream, mpsc::UnboundedSender<ControlRequest>, JoinHandle<()>), EmulatorError> {
    let modem = Modem::new(config)?;
    let (near, far) = tokio::io::duplex(DUPLEX_CAPACITY);
    let (controls, controls_rx) = mpsc::unbounded_channel();
    let task = runtime.spawn(serve(modem, far, controls_rx));
    Ok((near, controls, task))
}

impl Drop for EmulatorTransport {
    /// The unit lives exactly as long as the transport: a dropped transport
    /// must not leave an emulator task behind holding the parameter store.
    fn drop(&mut self) {
        self.task.abort();
    }
}

super::byte_stream!(EmulatorTransport, io);

impl Transport for EmulatorTransport {
    fn describe(&self) -> String {
        match &self.config.flash {
            Some(flash) => format!("reference emulator (in process, flash {})", flash.display()),
            None => "reference emulator (in process)".to_string(),
        }
    }

    fn capabilities(&self) -> BTreeSet<Capability> {
        self.caps.clone()
    }

    fn control<'a>(&'a mut self, control: &'a Control) -> ControlFuture<'a> {
        Box::pin(async move {
            let result = match control {
                Control::Restart => self.restart().await.map_err(|e| e.to_string()),
                other => self.send_control(other).await,
            };
            result.map_err(|cause| match cause.strip_prefix("mismatch: ") {
                // A line check that does not hold is a finding about the unit.
                Some(detail) if matches!(control, Control::Lines { .. }) => {
                    ControlError::Mismatch { target: self.describe(), detail: detail.to_string() }
                }
                _ => ControlError::Failed { target: self.describe(), control: format!("{control:?}"), cause },
            })
        })
    }
}
