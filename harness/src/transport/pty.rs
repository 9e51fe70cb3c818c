//! The reference emulator behind a pseudo-terminal.
//!
//! The emulator serves the PTY master; the host opens the slave device
//! (`/dev/pts/N`) as an ordinary serial port. [`PtyTransport`] does this
//! inside the harness so that the tokio-serial path is exercised exactly as
//! with a real unit; [`spawn_pty_emulator`] does only the emulator half, for
//! `mtg emulator --pty`, where other programs open the slave.
//!
//! A PTY carries no modem control lines (DTR, DCD, RI): the PTY targets do
//! not offer `control-lines`, nor `emulator-control` (the emulator runs
//! detached from whoever holds the slave).
//!
//! # How the master is served
//!
//! The master is a non-blocking descriptor driven by tokio ([`AsyncFd`])
//! and wrapped as [`PtyMaster`], so that [`serve`] runs on it like on any
//! byte stream. Blocking reader/writer threads would be simpler but cannot
//! be stopped: a thread blocked in `read` on the master wakes only for data,
//! so dropping the server would leave it behind. With `AsyncFd`, dropping
//! the server stops the task and closes the master at once.
//!
//! The server runs on a thread of its own with a single-threaded runtime, so
//! that it keeps serving whatever the caller does with its own runtime
//! (including blocking it, or having none, as a plain command does).
//!
//! A PTY differs from a socket in that the host comes and goes: while no
//! process has the slave open, a read on the master fails with `EIO` and
//! `poll` reports `POLLHUP` continuously. [`PtyMaster`] looks for a host
//! again every [`NO_HOST_RETRY`] in that state instead of reporting an error
//! (which would end [`serve`]), takes the master off the reactor meanwhile
//! (see [`PtyMaster`] for why), and drops the unit's output rather than let
//! the kernel queue it for the next host, as a real unit's UART would send
//! it to nobody.

use std::collections::BTreeSet;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::thread;
use std::time::Duration;

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, oneshot};

use super::serial::{SerialSettings, SerialTransport};
use super::{ControlError, ControlFuture, Transport};
use crate::emulator::{serve, EmulatorConfig, EmulatorError, Unit};
use crate::scenario::{Capability, Control};

/// How often to look for a host while none has the slave open. Short enough
/// that a host which has just opened the port is answered promptly, long
/// enough to cost nothing while idle.
const NO_HOST_RETRY: Duration = Duration::from_millis(20);

/// Why the PTY emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("cannot set up a pseudo-terminal ({step}): {cause}")]
    Setup { step: &'static str, cause: io::Error },
    #[error("cannot start the emulator: {0}")]
    Emulator(#[from] EmulatorError),
    #[error("cannot open the pseudo-terminal as a serial port: {0}")]
    Open(io::Error),
}

fn setup(step: &'static str) -> impl FnOnce(nix::Error) -> PtyError {
    move |errno| PtyError::Setup { step, cause: io::Error::from(errno) }
}

/// An emulator serving a PTY master until dropped.
///
/// Hosts may open and close the slave any number of times; the emulated unit
/// stays up in between (like a real unit when the host closes its port).
pub struct PtyServer {
    path: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl PtyServer {
    /// The slave device the host opens.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PtyServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            // The server stops at its next poll, which the shutdown signal
            // triggers: this join is short.
            let _ = thread.join();
        }
    }
}

/// Start the emulator behind a new pseudo-terminal; returns the slave path
/// for the host to open, and the server, which serves until dropped.
///
/// Works with or without a tokio runtime on the calling thread.
pub fn spawn_pty_emulator(config: EmulatorConfig) -> Result<(PathBuf, PtyServer), PtyError> {
    let pty = nix::pty::openpty(None, None).map_err(setup("openpty"))?;
    for fd in [&pty.master, &pty.slave] {
        // Programs the harness starts (fixtures) must not inherit the
        // master, or the PTY would outlive the server.
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(setup("set close-on-exec"))?;
    }
    let path = nix::unistd::ttyname(&pty.slave).map_err(setup("ttyname"))?;
    // Raw from the start: until the host opens the port and sets its own
    // mode, the line discipline must not echo, translate CR/LF or interpret
    // ^C/^Z (all meaningful bytes on a modem line).
    let mut termios = tcgetattr(&pty.slave).map_err(setup("tcgetattr"))?;
    cfmakeraw(&mut termios);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).map_err(setup("tcsetattr"))?;
    // The server holds only the master: the slave is the host's to open.
    drop(pty.slave);
    let master = pty.master;
    let flags = fcntl(&master, FcntlArg::F_GETFL).map_err(setup("get flags"))?;
    fcntl(&master, FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK))
        .map_err(setup("set non-blocking"))?;

    let (started_tx, started_rx) = std::sync::mpsc::channel::<Result<(), PtyError>>();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let name = path.display().to_string();
    let thread = thread::Builder::new()
        .name(thread_name(&path))
        .spawn(move || run_server(master, config, name, started_tx, shutdown_rx))
        .map_err(|cause| PtyError::Setup { step: "spawn the server thread", cause })?;
    let server = PtyServer { path: path.clone(), shutdown: Some(shutdown_tx), thread: Some(thread) };
    // The thread reports as soon as the unit is built (no waiting involved),
    // so this blocks only for that long.
    match started_rx.recv() {
        Ok(Ok(())) => Ok((path, server)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(PtyError::Setup {
            step: "start the server thread",
            cause: io::Error::other("the server thread ended before starting"),
        }),
    }
}

/// `mtg-pty-N` for `/dev/pts/N`: tells servers apart in `top -H`, a
/// debugger or `/proc` (Linux keeps 15 bytes of a thread name).
fn thread_name(path: &Path) -> String {
    let device = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!("mtg-pty-{device}")
}

/// Body of the server thread.
fn run_server(
    master: OwnedFd,
    config: EmulatorConfig,
    name: String,
    started: std::sync::mpsc::Sender<Result<(), PtyError>>,
    shutdown: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(cause) => {
            let _ = started.send(Err(PtyError::Setup { step: "start a tokio runtime", cause }));
            return;
        }
    };
    runtime.block_on(async move {
        let mut master = PtyMaster::new(master);
        let unit = match Unit::new(&config) {
            Ok(modem) => modem,
            Err(e) => {
                let _ = started.send(Err(e.into()));
                return;
            }
        };
        let _ = started.send(Ok(()));
        // No emulator controls over a PTY: the sender is dropped at once,
        // which `serve` reads as "no controls will come".
        let (_, controls) = mpsc::unbounded_channel();
        tokio::select! {
            () = serve(unit, &mut master, controls) => {
                // PtyMaster hides the host's comings and goings, so this is
                // a real I/O failure on the master.
                let cause = master
                    .last_error
                    .take()
                    .map_or_else(|| "unknown cause".to_string(), |e| e.to_string());
                tracing::error!("pty {name}: stopped serving: {cause}");
            }
            _ = shutdown => {}
        }
    });
}

/// The master side of the PTY, as a byte stream that never ends while the
/// server lives: the host's closing and reopening of the slave are hidden.
///
/// Readiness comes from the reactor only while a host has the slave open.
/// Without one, the master reports a hang-up, and tokio keeps a "closed"
/// readiness for good once seen (it is final for sockets): a registration
/// that has seen a hang-up would report the master readable forever, and
/// reading would spin. So the master is registered when a host is found,
/// dropped from the reactor when it leaves, and registered afresh when one
/// comes back (even after a close and reopen too quick to notice).
struct PtyMaster {
    state: Master,
    /// Waiting to look for a host again (see [`NO_HOST_RETRY`]).
    retry: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The error that ended the stream, for the server's log line (`serve`
    /// does not report why it stops).
    last_error: Option<io::Error>,
}

enum Master {
    /// No host seen: not registered; read on a timer, written directly.
    Idle(OwnedFd),
    /// A host has the slave open: driven by readiness.
    Live(AsyncFd<OwnedFd>),
    /// Only while switching, or after a failed registration (the master is
    /// then closed and the stream has failed).
    Closed,
}

/// What a read or write attempt found.
enum Next<T> {
    Done(io::Result<T>),
    /// Try again at once.
    Again,
    /// A host is there, with a fresh registration needed.
    Register,
    /// No host: wait, then look again.
    NoHost,
}

impl PtyMaster {
    /// A master with no host yet. The descriptor must be non-blocking.
    fn new(fd: OwnedFd) -> PtyMaster {
        PtyMaster { state: Master::Idle(fd), retry: None, last_error: None }
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.state {
            Master::Idle(fd) => Some(fd.as_fd()),
            Master::Live(fd) => Some(fd.get_ref().as_fd()),
            Master::Closed => None,
        }
    }

    fn fail<T>(&mut self, e: io::Error) -> Poll<io::Result<T>> {
        self.last_error = Some(io::Error::new(e.kind(), e.to_string()));
        Poll::Ready(Err(e))
    }

    /// Register with the reactor, afresh if already registered (to forget a
    /// hang-up seen before the host came back).
    fn register(&mut self) -> io::Result<()> {
        let fd = match std::mem::replace(&mut self.state, Master::Closed) {
            Master::Idle(fd) => fd,
            Master::Live(registered) => registered.into_inner(),
            Master::Closed => return Err(io::Error::new(io::ErrorKind::NotConnected, "pty master closed")),
        };
        // SAFETY: the OwnedFd is moved into the AsyncFd, which owns it from
        // then on: it stays open, and always yields the same descriptor,
        // until the AsyncFd is dropped or gives it back with `into_inner`.
        match unsafe { AsyncFd::register(fd) } {
            Ok(registered) => {
                self.state = Master::Live(registered);
                Ok(())
            }
            Err(e) => Err(e.into_parts().1),
        }
    }

    /// The host has gone: leave the reactor and wait for the next one.
    fn lose_host(&mut self) {
        self.state = match std::mem::replace(&mut self.state, Master::Closed) {
            Master::Live(registered) => Master::Idle(registered.into_inner()),
            other => other,
        };
        self.retry = Some(Box::pin(tokio::time::sleep(NO_HOST_RETRY)));
    }

    /// Whether a host has the slave open: without one, the master reports
    /// a hang-up.
    fn host_present(&self) -> bool {
        let Some(fd) = self.fd() else { return false };
        let mut pollfd = libc::pollfd { fd: fd.as_raw_fd(), events: 0, revents: 0 };
        // SAFETY: one valid pollfd, zero timeout; the descriptor is owned by
        // `self` and open for the duration of the call.
        let n = unsafe { libc::poll(&mut pollfd, 1, 0) };
        !(n == 1 && pollfd.revents & libc::POLLHUP != 0)
    }
}

/// Sort out a read on the master (the caller handles an EAGAIN it can wait
/// on; any other EAGAIN means a host is there, not yet registered for).
fn after_read(result: nix::Result<usize>, buf: &mut ReadBuf<'_>) -> Next<()> {
    match result {
        // A master read does not return 0 while the PTY exists; if it did,
        // it would mean "no host" too, not the end of the line.
        Ok(0) | Err(nix::Error::EIO) => Next::NoHost,
        Ok(n) => {
            buf.advance(n);
            Next::Done(Ok(()))
        }
        Err(nix::Error::EAGAIN) => Next::Register,
        Err(nix::Error::EINTR) => Next::Again,
        Err(e) => Next::Done(Err(e.into())),
    }
}

impl AsyncRead for PtyMaster {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if let Some(retry) = this.retry.as_mut() {
                ready!(retry.as_mut().poll(cx));
                this.retry = None;
            }
            let next = match &this.state {
                Master::Closed => {
                    return this.fail(io::Error::new(io::ErrorKind::NotConnected, "pty master closed"));
                }
                // Look for a host: a read succeeds or finds nothing (EAGAIN)
                // only with the slave open.
                Master::Idle(fd) => match nix::unistd::read(fd, buf.initialize_unfilled()) {
                    Ok(n) if n > 0 => {
                        buf.advance(n);
                        if let Err(e) = this.register() {
                            return this.fail(e);
                        }
                        return Poll::Ready(Ok(()));
                    }
                    result => after_read(result, buf),
                },
                Master::Live(registered) => {
                    let mut guard = match ready!(registered.poll_read_ready(cx)) {
                        Ok(guard) => guard,
                        Err(e) => return this.fail(e),
                    };
                    let closed = guard.ready().is_read_closed();
                    match nix::unistd::read(guard.get_inner(), buf.initialize_unfilled()) {
                        // Nothing to read, host present, no hang-up seen:
                        // wait for the reactor.
                        Err(nix::Error::EAGAIN) if !closed => {
                            guard.clear_ready();
                            Next::Again
                        }
                        result => after_read(result, buf),
                    }
                }
            };
            match next {
                Next::Done(Err(e)) => return this.fail(e),
                Next::Done(Ok(())) => return Poll::Ready(Ok(())),
                Next::Again => {}
                Next::Register => {
                    if let Err(e) = this.register() {
                        return this.fail(e);
                    }
                }
                Next::NoHost => this.lose_host(),
            }
        }
    }
}

impl AsyncWrite for PtyMaster {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            if !this.host_present() {
                // Nobody on the line: the bytes are gone, as from a real
                // unit's UART. Queued in the PTY instead, they would greet
                // the next host as stale output.
                return Poll::Ready(Ok(data.len()));
            }
            let next = match &this.state {
                Master::Closed => {
                    return this.fail(io::Error::new(io::ErrorKind::NotConnected, "pty master closed"));
                }
                // A host the reader has not noticed yet.
                Master::Idle(fd) => match nix::unistd::write(fd, data) {
                    Err(nix::Error::EAGAIN) => Next::Register,
                    result => after_write(result),
                },
                Master::Live(registered) => {
                    let mut guard = match ready!(registered.poll_write_ready(cx)) {
                        Ok(guard) => guard,
                        Err(e) => return this.fail(e),
                    };
                    let closed = guard.ready().is_write_closed();
                    match nix::unistd::write(guard.get_inner(), data) {
                        Err(nix::Error::EAGAIN) if closed => Next::Register,
                        Err(nix::Error::EAGAIN) => {
                            guard.clear_ready();
                            Next::Again
                        }
                        result => after_write(result),
                    }
                }
            };
            match next {
                Next::Done(Err(e)) => return this.fail(e),
                Next::Done(Ok(n)) => return Poll::Ready(Ok(n)),
                Next::Again => {}
                Next::Register => {
                    if let Err(e) = this.register() {
                        return this.fail(e);
                    }
                }
                // The host closed between the check and the write.
                Next::NoHost => return Poll::Ready(Ok(data.len())),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Sort out a write on the master (the caller handles EAGAIN).
fn after_write(result: nix::Result<usize>) -> Next<usize> {
    match result {
        Ok(n) => Next::Done(Ok(n)),
        Err(nix::Error::EIO) => Next::NoHost,
        Err(nix::Error::EINTR) => Next::Again,
        Err(e) => Next::Done(Err(e.into())),
    }
}

/// The emulator behind a pseudo-terminal, reached through the slave device
/// opened as a serial port.
pub struct PtyTransport {
    // Field order is drop order: the host side closes before the server stops.
    serial: SerialTransport,
    server: PtyServer,
    caps: BTreeSet<Capability>,
}

impl PtyTransport {
    /// What the emulator behind a PTY offers by itself: no control lines (a
    /// PTY has none) and no emulator controls.
    pub const CAPABILITIES: [Capability; 2] = [Capability::Gprs, Capability::GsmData];

    /// Start the emulator on a new PTY and open its slave with the default
    /// serial settings. Must be called within a tokio runtime (the host side
    /// is registered with it; the emulator has its own thread).
    pub fn start(config: EmulatorConfig) -> Result<PtyTransport, PtyError> {
        let (path, server) = spawn_pty_emulator(config)?;
        let path = path.to_str().ok_or_else(|| {
            PtyError::Open(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("slave path {} is not UTF-8", path.display()),
            ))
        })?;
        let serial = SerialTransport::open(path, &SerialSettings::default()).map_err(PtyError::Open)?;
        Ok(PtyTransport { serial, server, caps: Self::CAPABILITIES.into_iter().collect() })
    }

    /// Declare capabilities beyond [`Self::CAPABILITIES`] (network services
    /// provided by fixtures).
    pub fn with_capabilities(mut self, caps: impl IntoIterator<Item = Capability>) -> Self {
        self.caps.extend(caps);
        self
    }

    /// The slave device in use.
    pub fn path(&self) -> &Path {
        self.server.path()
    }
}

super::byte_stream!(PtyTransport, serial);

impl Transport for PtyTransport {
    fn describe(&self) -> String {
        format!("reference emulator on pty {}", self.path().display())
    }

    fn capabilities(&self) -> BTreeSet<Capability> {
        self.caps.clone()
    }

    /// Nothing to control: a PTY has no modem lines (the OS would refuse
    /// DTR), and the emulator behind it takes no controls.
    fn control<'a>(&'a mut self, control: &'a Control) -> ControlFuture<'a> {
        let error = ControlError::Unsupported { target: self.describe(), control: format!("{control:?}") };
        Box::pin(std::future::ready(Err(error)))
    }
}
