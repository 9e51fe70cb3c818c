//! The serial line to a target, whatever carries it.
//!
//! Every target is reached through one [`Transport`]: a byte stream in both
//! directions (exactly the bytes on the wire), plus optional side channels for
//! control lines and emulator controls. A [`Target`] is parsed from the
//! `--target` / `MTG_TARGET` text:
//!
//! | text | transport |
//! |---|---|
//! | `emu:` or `emu:?flash=FILE` | the reference emulator, in process |
//! | `serial:/dev/ttyUSB0?baud=115200&data=8&parity=none&stop=1&flow=rtscts` | a serial port (tokio-serial) |
//! | `tcp:host:port` | raw serial over TCP (ser2net style, or `mtg emulator --listen`) |
//! | `pty:` or `pty:?flash=FILE` | the emulator behind a pseudo-terminal, opened as a serial port |
//! | `rfc2217:host:port?baud=115200&data=8&parity=none&stop=1` | a serial line over RFC 2217 (ser2net `telnet(rfc2217)`) |
//! | `labgrid:PLACE?coordinator=HOST:PORT` | a labgrid place, acquired for the run, its `NetworkSerialPort` over RFC 2217 |
//!
//! Any target may add `caps=gprs,smtp,…` to its query to declare capabilities;
//! they add to what the transport offers by itself (see [`Target::capabilities`]).

mod emulator;
mod fault;
pub mod labgrid;
mod pty;
pub mod rfc2217;
mod rfc2217_tcp;
mod serial;
mod target;
mod tcp;

pub use emulator::EmulatorTransport;
pub use fault::{FaultInjector, Faults, FaultsError};
pub use pty::{spawn_pty_emulator, PtyError, PtyServer, PtyTransport};
pub use rfc2217_tcp::Rfc2217Transport;
pub use serial::{SerialSettings, SerialTransport, SettingError};
pub use target::{Target, TargetError};
pub use tcp::TcpTransport;

use std::collections::BTreeSet;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use crate::scenario::{Capability, Control};

/// A transport's bytes are those of one inner stream: implement
/// `AsyncRead`/`AsyncWrite` by handing every call to `$field`.
macro_rules! byte_stream {
    ($ty:ty, $field:ident) => {
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                tokio::io::AsyncRead::poll_read(std::pin::Pin::new(&mut self.$field), cx, buf)
            }
        }

        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                tokio::io::AsyncWrite::poll_write(std::pin::Pin::new(&mut self.$field), cx, buf)
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                tokio::io::AsyncWrite::poll_flush(std::pin::Pin::new(&mut self.$field), cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                tokio::io::AsyncWrite::poll_shutdown(std::pin::Pin::new(&mut self.$field), cx)
            }
        }
    };
}
use byte_stream;

/// Why a control step could not be performed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("target {target} cannot perform `{control}`")]
    Unsupported { target: String, control: String },
    /// A checked line is not in the expected state: a finding, not a rig fault.
    #[error("{target}: {detail}")]
    Mismatch { target: String, detail: String },
    #[error("control `{control}` failed on {target}: {cause}")]
    Failed { target: String, control: String, cause: String },
}

/// What [`Transport::control`] returns: the control has taken effect when
/// the future resolves. It is a future because the in-process emulator
/// applies controls on its own task, which may share the caller's runtime
/// thread: waiting for its answer must yield, not block.
pub type ControlFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ControlError>> + Send + 'a>>;

/// What [`Transport::read_until`] returns: `Some(n)` bytes read (0: the line
/// closed), `None` when the deadline passed first.
pub type ReadFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Option<usize>>> + Send + 'a>>;

/// What [`Transport::pause`] returns.
pub type PauseFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// An open serial line to a target.
///
/// Reads and writes carry exactly the bytes on the wire. Implementations must
/// be cancel-safe on read (the runner reads under timeouts).
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {
    /// Human description naming the target, for errors and reports.
    fn describe(&self) -> String;

    /// What this target can do beyond the AT command line.
    fn capabilities(&self) -> BTreeSet<Capability>;

    /// The time on this target's clock. Real lines run on the wall clock;
    /// the in-process emulator's clock is virtual while nothing real is
    /// outstanding (time jumps to its next event instead of sleeping), so
    /// every deadline of the runner is taken from here.
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// Read what has arrived, waiting until `deadline` on [`Transport::now`]'s clock.
    fn read_until<'a>(&'a mut self, buf: &'a mut [u8], deadline: Instant) -> ReadFuture<'a> {
        Box::pin(async move {
            match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), self.read(buf)).await {
                Ok(read) => read.map(Some),
                Err(_) => Ok(None),
            }
        })
    }

    /// Let `duration` pass on this target's clock (bytes that arrive are
    /// kept for the next read).
    fn pause(&mut self, duration: Duration) -> PauseFuture<'_> {
        Box::pin(tokio::time::sleep(duration))
    }

    /// What the unit did on the network so far, where the target can tell
    /// (the in-process emulator records it; a real line cannot).
    fn traffic(&self) -> Vec<(Instant, crate::emulator::net::Traffic)> {
        Vec::new()
    }

    /// Perform an emulator control or control-line change. A restart replaces
    /// the byte stream underneath; bytes in flight are lost, as on a real unit.
    fn control<'a>(&'a mut self, control: &'a Control) -> ControlFuture<'a> {
        let error = ControlError::Unsupported { target: self.describe(), control: format!("{control:?}") };
        Box::pin(std::future::ready(Err(error)))
    }
}
