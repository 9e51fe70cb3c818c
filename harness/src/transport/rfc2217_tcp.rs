//! A serial line over RFC 2217 (`rfc2217:HOST:PORT`): the sans-IO client of
//! [`super::rfc2217`] on a TCP stream. The line's settings are asked of the
//! server; DTR and RTS are driven and DCD, RI, DSR and CTS read where the
//! server acknowledges them, and reported "not available on this port"
//! where it does not (ser2net in front of a PTY never acknowledges them).

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_serial::{DataBits, Parity, StopBits};

use super::rfc2217::{Client, Drive, LineSettings, SET_BAUDRATE, SET_CONTROL};
use super::{ControlError, ControlFuture, SerialSettings, Transport};
use crate::scenario::{Capability, Control};

/// How long the server has to agree to COM-PORT-OPTION and acknowledge the
/// line settings when the line opens.
const NEGOTIATE_WAIT: Duration = Duration::from_millis(1000);
/// How long a SET-CONTROL or the first modem state may take: a server that
/// has not answered by then does not have the line.
const ACK_WAIT: Duration = Duration::from_millis(500);

/// An open RFC 2217 line.
pub struct Rfc2217Transport {
    stream: TcpStream,
    client: Client,
    /// Serial-line bytes received, not read yet.
    data: VecDeque<u8>,
    /// Bytes for the server not written yet (escaped data, negotiation).
    out: Vec<u8>,
    peer: String,
    settings: SerialSettings,
    caps: BTreeSet<Capability>,
}

fn line_settings(s: &SerialSettings) -> LineSettings {
    LineSettings {
        baud: s.baud,
        data_bits: match s.data_bits {
            DataBits::Five => 5,
            DataBits::Six => 6,
            DataBits::Seven => 7,
            DataBits::Eight => 8,
        },
        parity: match s.parity {
            Parity::None => 1,
            Parity::Odd => 2,
            Parity::Even => 3,
        },
        stop_bits: match s.stop_bits {
            StopBits::One => 1,
            StopBits::Two => 2,
        },
    }
}

impl Rfc2217Transport {
    /// Connect, negotiate, and set the line up. A server that does not do
    /// COM-PORT-OPTION still carries the bytes (as a Telnet line); its
    /// control lines are then not available.
    pub async fn connect(host: &str, port: u16, settings: &SerialSettings) -> io::Result<Rfc2217Transport> {
        let (stream, peer) = super::tcp::connect_stream(host, port).await?;
        stream.set_nodelay(true)?;
        let client = Client::new(line_settings(settings));
        let out = client.start();
        let mut t = Rfc2217Transport {
            stream,
            client,
            data: VecDeque::new(),
            out,
            peer,
            settings: *settings,
            caps: BTreeSet::new(),
        };
        t.drain_out().await?;
        let until = tokio::time::Instant::now() + NEGOTIATE_WAIT;
        while t.client.com_port().is_none()
            || (t.client.com_port() == Some(true) && t.client.acknowledgement(SET_BAUDRATE).is_none())
        {
            if !t.pump(until).await? {
                break;
            }
        }
        match t.client.com_port() {
            Some(true) => {
                tracing::debug!(peer = %t.peer, baud = ?t.client.acknowledgement(SET_BAUDRATE), "RFC 2217 line set up")
            }
            _ => tracing::warn!(peer = %t.peer, "the server did not agree to RFC 2217 COM-PORT-OPTION: bytes only"),
        }
        Ok(t)
    }

    pub fn with_capabilities(mut self, caps: impl IntoIterator<Item = Capability>) -> Self {
        self.caps.extend(caps);
        self
    }

    /// Write what is queued for the server.
    async fn drain_out(&mut self) -> io::Result<()> {
        let out = std::mem::take(&mut self.out);
        self.stream.write_all(&out).await
    }

    /// One read from the server before `until`, processed. False when
    /// nothing came in time.
    async fn pump(&mut self, until: tokio::time::Instant) -> io::Result<bool> {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(until, self.stream.read(&mut buf)).await {
            Err(_) => Ok(false),
            Ok(Err(e)) => Err(e),
            Ok(Ok(0)) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the RFC 2217 server closed the line")),
            Ok(Ok(n)) => {
                let got = self.client.receive(&buf[..n]);
                self.data.extend(got.data);
                self.out.extend(got.reply);
                self.drain_out().await?;
                Ok(true)
            }
        }
    }

    fn failed(&self, control: &Control, cause: String) -> ControlError {
        ControlError::Failed { target: self.describe(), control: format!("{control:?}"), cause }
    }

    async fn drive(&mut self, control: &Control, line: Drive) -> Result<(), ControlError> {
        let name = match line {
            Drive::Dtr(_) => "DTR",
            Drive::Rts(_) => "RTS",
        };
        if self.client.com_port() != Some(true) {
            return Err(self.failed(control, format!("{name} is not available on this port (no RFC 2217)")));
        }
        let bytes = self.client.drive(line);
        self.out.extend(bytes);
        self.drain_out().await.map_err(|e| self.failed(control, e.to_string()))?;
        let until = tokio::time::Instant::now() + ACK_WAIT;
        while self.client.acknowledgement(SET_CONTROL).is_none() {
            if !self.pump(until).await.map_err(|e| self.failed(control, e.to_string()))? {
                return Err(self.failed(
                    control,
                    format!(
                        "{name} is not available on this port (the RFC 2217 server did not acknowledge SET-CONTROL)"
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn check_lines(&mut self, control: &Control, wanted: [Option<bool>; 4]) -> Result<(), ControlError> {
        let until = tokio::time::Instant::now() + ACK_WAIT;
        while self.client.modem_state().is_none() && self.client.com_port() == Some(true) {
            if !self.pump(until).await.map_err(|e| self.failed(control, e.to_string()))? {
                break;
            }
        }
        let Some(state) = self.client.modem_state() else {
            return Err(self.failed(
                control,
                "DCD, RI, DSR and CTS are not available on this port (the RFC 2217 server notified no modem state)"
                    .into(),
            ));
        };
        let show = |b: bool| if b { "on" } else { "off" };
        let mut wrong = Vec::new();
        let is = [state.dcd(), state.ri(), state.dsr(), state.cts()];
        for ((want, is), name) in wanted.into_iter().zip(is).zip(["DCD", "RI", "DSR", "CTS"]) {
            if want.is_some_and(|want| want != is) {
                wrong.push(format!("{name} is {}", show(is)));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(ControlError::Mismatch { target: self.describe(), detail: wrong.join(", ") })
        }
    }

    /// Write queued bytes without waiting; what cannot go now stays queued.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Rfc2217Transport {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.data.is_empty() {
                let n = this.data.len().min(buf.remaining());
                let bytes: Vec<u8> = this.data.drain(..n).collect();
                buf.put_slice(&bytes);
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 4096];
            let mut rb = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.stream).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                return Poll::Ready(Ok(())); // the line closed
            }
            let got = this.client.receive(rb.filled());
            this.data.extend(got.data);
            this.out.extend(got.reply);
            // Negotiation answers go out as soon as they can; a full socket
            // keeps them for the next write.
            let _ = this.poll_drain(cx);
        }
    }
}

impl AsyncWrite for Rfc2217Transport {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        this.out.extend(Client::encode(buf));
        // Accepted: the rest goes out on the next write or flush.
        let _ = this.poll_drain(cx);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Transport for Rfc2217Transport {
    fn describe(&self) -> String {
        format!("rfc2217 {} ({})", self.peer, self.settings)
    }

    fn capabilities(&self) -> BTreeSet<Capability> {
        self.caps.clone()
    }

    fn control<'a>(&'a mut self, control: &'a Control) -> ControlFuture<'a> {
        Box::pin(async move {
            match control {
                Control::Dtr(on) => self.drive(control, Drive::Dtr(*on)).await,
                Control::Rts(on) => self.drive(control, Drive::Rts(*on)).await,
                Control::Lines { dcd, ri, dsr, cts } => self.check_lines(control, [*dcd, *ri, *dsr, *cts]).await,
                _ => Err(ControlError::Unsupported { target: self.describe(), control: format!("{control:?}") }),
            }
        })
    }
}
