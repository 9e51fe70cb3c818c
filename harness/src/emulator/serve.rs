//! Running a [`Unit`] on a byte stream in real time: the TCP listener and
//! the PTY use [`serve`].

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{ControlError, Unit};
use crate::control::Control;

/// A control sent to a running emulator, with a reply channel.
///
/// The reply is a tokio oneshot so that the sender (an async
/// [`crate::transport::Transport::control`]) can await it without blocking
/// the runtime thread that may also be running [`serve`].
pub struct ControlRequest {
    pub control: Control,
    pub reply: tokio::sync::oneshot::Sender<Result<(), ControlError>>,
}

/// Serve one serial line until the peer goes away (EOF or write error).
///
/// Input is handed to the interpreter as it arrives; timers (delayed results,
/// ring cadence) fire on the wall clock. A dropped connection simply ends the
/// call: the caller decides whether to serve the next client.
pub async fn serve<IO>(mut unit: Unit, mut io: IO, mut controls: mpsc::UnboundedReceiver<ControlRequest>)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 4096];
    let mut controls_open = true;
    loop {
        unit.pump(Instant::now());
        let out = unit.take_output();
        if !out.is_empty() && (io.write_all(&out).await.is_err() || io.flush().await.is_err()) {
            return;
        }
        let timer = unit.next_event();
        let sleep = async {
            match timer {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            read = io.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => unit.receive(&buf[..n], Instant::now()),
            },
            req = controls.recv(), if controls_open => match req {
                Some(req) => {
                    let result = unit.control(&req.control, Instant::now());
                    let _ = req.reply.send(result);
                }
                None => controls_open = false,
            },
            _ = sleep => {}
            _ = std::future::poll_fn(|cx| unit.poll_ready(cx)) => {}
        }
    }
}
