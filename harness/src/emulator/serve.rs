//! Running a [`Modem`] on a byte stream: the in-process transport, the TCP
//! listener and the PTY all use [`serve`].

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::network::Network;
use super::Modem;
use crate::control::Control;

/// A control sent to a running emulator, with a reply channel.
///
/// The reply is a tokio oneshot so that the sender (an async
/// [`crate::transport::Transport::control`]) can await it without blocking
/// the runtime thread that may also be running [`serve`].
pub struct ControlRequest {
    pub control: Control,
    pub reply: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Serve one serial line until the peer goes away (EOF or write error).
///
/// Input is handed to the interpreter as it arrives; timers (delayed results,
/// ring cadence) fire on the tokio clock. A dropped connection simply ends the
/// call: the caller decides whether to serve the next client.
pub async fn serve<IO>(mut modem: Modem, mut io: IO, mut controls: mpsc::UnboundedReceiver<ControlRequest>)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 4096];
    let mut controls_open = true;
    let (net_tx, mut net_rx) = mpsc::unbounded_channel();
    let mut network = Network::new(net_tx);
    loop {
        for request in modem.take_requests() {
            network.perform(request);
        }
        let out = modem.take_output();
        if !out.is_empty() && (io.write_all(&out).await.is_err() || io.flush().await.is_err()) {
            return;
        }
        let timer = modem.next_timer();
        let sleep = async {
            match timer {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            read = io.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => modem.receive(&buf[..n], Instant::now()),
            },
            req = controls.recv(), if controls_open => match req {
                Some(req) => {
                    let result = modem.control(&req.control, Instant::now());
                    let _ = req.reply.send(result);
                }
                None => controls_open = false,
            },
            _ = sleep => modem.on_timer(Instant::now()),
            Some(event) = net_rx.recv() => modem.net_event(event, Instant::now()),
        }
    }
}
