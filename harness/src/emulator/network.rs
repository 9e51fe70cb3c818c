//! The emulator's network side: real sockets on the host's network.
//!
//! The interpreter ([`super::Modem`]) stays synchronous: it asks for network
//! work with [`Request`]s and learns what happened through [`Event`]s. This
//! module performs the requests with tokio, one task per stack socket, and
//! turns what the sockets do into events for the serve loop.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Network work the interpreter asks for. `socket` is the chapter-5 socket id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `AT#LTCPSTART`: listen on `port`; accept only `allowed` (None = any,
    /// TCPSERV 255.255.255.255).
    Listen { socket: u8, port: u16, allowed: Option<IpAddr> },
    /// `AT#OTCP`: connect to `host:port`.
    Connect { socket: u8, host: String, port: u16 },
    /// Payload for the peer.
    Send { socket: u8, bytes: Vec<u8> },
    /// Close the socket or stop listening.
    Close { socket: u8 },
}

/// What the network did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Listening {
        socket: u8,
    },
    /// A peer connected (listen) or the connection is up (connect).
    Connected {
        socket: u8,
        peer: SocketAddr,
    },
    Data {
        socket: u8,
        bytes: Vec<u8>,
    },
    /// The peer closed the connection.
    PeerClosed {
        socket: u8,
    },
    /// The request failed; `resolve` tells a name that did not resolve
    /// (ch. 9: 38027) from other failures.
    Failed {
        socket: u8,
        resolve: bool,
        cause: String,
    },
}

enum Command {
    Send(Vec<u8>),
    Close,
}

/// The sockets of one emulated unit. Dropping it closes them all.
pub struct Network {
    events: mpsc::UnboundedSender<Event>,
    sockets: HashMap<u8, (mpsc::UnboundedSender<Command>, tokio::task::JoinHandle<()>)>,
}

impl Drop for Network {
    fn drop(&mut self) {
        for (_, (_, task)) in self.sockets.drain() {
            task.abort();
        }
    }
}

impl Network {
    pub fn new(events: mpsc::UnboundedSender<Event>) -> Network {
        Network { events, sockets: HashMap::new() }
    }

    /// Perform one request (must be called within a tokio runtime).
    pub fn perform(&mut self, request: Request) {
        match request {
            Request::Listen { socket, port, allowed } => {
                self.open(socket, |rx, events| listen(socket, port, allowed, rx, events));
            }
            Request::Connect { socket, host, port } => {
                self.open(socket, |rx, events| connect(socket, host, port, rx, events));
            }
            Request::Send { socket, bytes } => {
                if let Some((tx, _)) = self.sockets.get(&socket) {
                    let _ = tx.send(Command::Send(bytes));
                }
            }
            Request::Close { socket } => self.close(socket),
        }
    }

    /// Run a socket's task, replacing whatever the socket id had.
    fn open<F, Fut>(&mut self, socket: u8, task: F)
    where
        F: FnOnce(mpsc::UnboundedReceiver<Command>, mpsc::UnboundedSender<Event>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.close(socket);
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(task(rx, self.events.clone()));
        self.sockets.insert(socket, (tx, handle));
    }

    fn close(&mut self, socket: u8) {
        if let Some((tx, task)) = self.sockets.remove(&socket) {
            // Let the task shut the stream down cleanly, then make sure it ends.
            let _ = tx.send(Command::Close);
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                task.abort();
            });
        }
    }
}

/// The emulator listens on loopback only unless told otherwise: a listening
/// "modem" port must not open the test machine to its network.
fn listen_address(port: u16) -> SocketAddr {
    let host: IpAddr = std::env::var("MTG_EMULATOR_LISTEN_HOST")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    SocketAddr::new(host, port)
}

async fn listen(
    socket: u8,
    port: u16,
    allowed: Option<IpAddr>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let listener = match TcpListener::bind(listen_address(port)).await {
        Ok(l) => l,
        Err(e) => {
            let _ = events.send(Event::Failed { socket, resolve: false, cause: format!("listen on port {port}: {e}") });
            return;
        }
    };
    let _ = events.send(Event::Listening { socket });
    let stream = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                // TCPSERV filters the allowed client (p.30, App. B p.77).
                Ok((stream, peer)) if allowed.is_none_or(|a| a == peer.ip()) => break (stream, peer),
                Ok(_) => continue,
                Err(e) => {
                    let _ = events.send(Event::Failed { socket, resolve: false, cause: e.to_string() });
                    return;
                }
            },
            command = commands.recv() => match command {
                Some(Command::Send(_)) => continue,
                Some(Command::Close) | None => return,
            },
        }
    };
    drop(listener);
    let _ = events.send(Event::Connected { socket, peer: stream.1 });
    bridge(socket, stream.0, commands, events).await;
}

async fn connect(
    socket: u8,
    host: String,
    port: u16,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(a) => a.collect(),
        Err(e) => {
            let _ = events.send(Event::Failed { socket, resolve: true, cause: format!("{host}: {e}") });
            return;
        }
    };
    let mut last = String::from("no address");
    for addr in addrs {
        match tokio::time::timeout(std::time::Duration::from_secs(30), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                let _ = events.send(Event::Connected { socket, peer: addr });
                bridge(socket, stream, commands, events).await;
                return;
            }
            Ok(Err(e)) => last = format!("{addr}: {e}"),
            Err(_) => last = format!("{addr}: timed out"),
        }
    }
    let _ = events.send(Event::Failed { socket, resolve: false, cause: last });
}

/// Move bytes between the peer and the interpreter until either side closes.
async fn bridge(
    socket: u8,
    mut stream: TcpStream,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut buf = vec![0u8; 4096];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    let _ = events.send(Event::PeerClosed { socket });
                    return;
                }
                Ok(n) => {
                    let _ = events.send(Event::Data { socket, bytes: buf[..n].to_vec() });
                }
            },
            command = commands.recv() => match command {
                Some(Command::Send(bytes)) => {
                    if stream.write_all(&bytes).await.is_err() {
                        let _ = events.send(Event::PeerClosed { socket });
                        return;
                    }
                }
                Some(Command::Close) | None => {
                    let _ = stream.shutdown().await;
                    return;
                }
            },
        }
    }
}
