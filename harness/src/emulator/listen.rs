//! The emulator on a TCP port (`mtg emulator --listen`), reached as
//! `tcp:HOST:PORT` like a real unit behind a terminal server.
//!
//! Each connection is the serial line of one unit, powered on when the
//! connection opens: a new [`Modem`] built from the same configuration (so
//! the same parameter store: what one client saved with `AT&W`, the next one
//! finds). Connections are served concurrently, each by its own unit;
//! concurrent units share the store, the last to save wins.
//!
//! Log lines go to stderr through `tracing`; stdout stays free for whoever
//! runs the listener.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{serve, EmulatorConfig, Unit};

/// Pause after an accept error that is about the listener's resources
/// (out of descriptors): retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Bind `addr`; returns the listener and the address actually bound (the
/// port chosen by the OS when `addr` has port 0).
pub async fn bound_listener(addr: SocketAddr) -> io::Result<(TcpListener, SocketAddr)> {
    let listener =
        TcpListener::bind(addr).await.map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Listen on `addr` and serve every connection with its own unit, until the
/// returned future is dropped. Fails only if `addr` cannot be bound.
pub async fn listen_tcp(addr: SocketAddr, config: EmulatorConfig) -> io::Result<()> {
    let (listener, local) = bound_listener(addr).await?;
    tracing::info!("listening on {local}");
    serve_listener(listener, config).await
}

/// Serve every connection accepted on `listener`, until the returned future
/// is dropped (which also drops every connection it serves).
///
/// A client that sends junk, or drops the connection, affects only its own
/// unit; the listener goes on. Never returns an error: accept failures are
/// logged and retried.
pub async fn serve_listener(listener: TcpListener, config: EmulatorConfig) -> io::Result<()> {
    // Owning the connection tasks here ties them to this future: dropping it
    // aborts them all, leaving no unit behind.
    let mut connections: JoinSet<()> = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer, config.clone()));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    if is_resource_exhaustion(&e) {
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                }
            },
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done {
                    if e.is_panic() {
                        tracing::error!("a connection's emulator panicked; the listener goes on");
                    }
                }
            }
        }
    }
}

/// One connection: one unit, served until the client goes away.
async fn serve_connection(stream: TcpStream, peer: SocketAddr, config: EmulatorConfig) {
    tracing::info!("connection from {peer}");
    // Command lines are a few bytes: without TCP_NODELAY, Nagle would hold
    // replies back waiting for ACKs and distort timing.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::warn!("{peer}: cannot set TCP_NODELAY: {e}");
    }
    let unit = match Unit::new(&config) {
        Ok(unit) => unit,
        Err(e) => {
            tracing::error!("{peer}: cannot start the emulator: {e}; closing the connection");
            return;
        }
    };
    // No emulator controls over TCP: the sender is dropped at once, which
    // `serve` reads as "no controls will come".
    let (_, controls) = mpsc::unbounded_channel();
    serve(unit, stream, controls).await;
    tracing::info!("connection from {peer} closed");
}

/// Errors that come from the listener's own limits rather than one client.
fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM))
}
