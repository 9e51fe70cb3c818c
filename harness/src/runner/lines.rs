//! Splitting the received byte stream into lines.
//!
//! A segment is: any line ends that precede the text, the text, and its
//! terminator (`<CR><LF>`, `<CR>` or `<LF>`). So `<CR><LF>OK<CR><LF>` is one
//! segment, and so is the echo `AT#VPHY<CR>`. A `<CR>` at the very end of
//! what has arrived may still be followed by `<LF>`: the reader waits a
//! moment before closing such a segment, so transcripts do not depend on how
//! the operating system split the reads.

use std::io;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use crate::transport::Transport;

/// How long a trailing `<CR>` waits for its `<LF>`.
const CR_GRACE: Duration = Duration::from_millis(30);

/// Buffered reader of segments.
pub struct LineReader {
    buf: Vec<u8>,
    started: Instant,
    closed: bool,
}

/// Why no segment came.
#[derive(Debug)]
pub enum ReadEnd {
    /// Nothing for the idle time, or the deadline passed.
    Timeout,
    /// The target closed the line.
    Closed,
    /// The transport failed.
    Io(io::Error),
}

impl LineReader {
    pub fn new(started: Instant) -> Self {
        LineReader { buf: Vec::new(), started, closed: false }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Bytes received and not consumed yet.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Consume `n` raw bytes.
    pub fn consume(&mut self, n: usize) -> Vec<u8> {
        self.buf.drain(..n.min(self.buf.len())).collect()
    }

    /// One read, waiting at most `wait`. Returns false on timeout.
    pub async fn fill(&mut self, t: &mut dyn Transport, wait: Duration) -> Result<bool, ReadEnd> {
        if self.closed {
            return Err(ReadEnd::Closed);
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(wait, t.read(&mut chunk)).await {
            Err(_) => Ok(false),
            Ok(Ok(0)) => {
                self.closed = true;
                Err(ReadEnd::Closed)
            }
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Ok(Err(e)) => Err(ReadEnd::Io(e)),
        }
    }

    /// A complete segment, if the buffer holds one. With `force`, a
    /// trailing `<CR>` ends the segment and unterminated text is returned too.
    fn take(&mut self, force: bool) -> Option<Vec<u8>> {
        let text_start = self.buf.iter().position(|b| *b != b'\r' && *b != b'\n')?;
        match self.buf[text_start..].iter().position(|b| *b == b'\r' || *b == b'\n') {
            Some(rel) => {
                let end = text_start + rel;
                let mut stop = end + 1;
                if self.buf[end] == b'\r' {
                    match self.buf.get(stop) {
                        Some(b'\n') => stop += 1,
                        Some(_) => {}
                        None if !force => return None,
                        None => {}
                    }
                }
                Some(self.buf.drain(..stop).collect())
            }
            None if force => Some(std::mem::take(&mut self.buf)),
            None => None,
        }
    }

    /// The next segment, waiting up to `idle` between bytes and never past `deadline`.
    pub async fn next(&mut self, t: &mut dyn Transport, idle: Duration, deadline: Instant) -> Result<Vec<u8>, ReadEnd> {
        loop {
            if let Some(seg) = self.take(false) {
                return Ok(seg);
            }
            let now = Instant::now();
            if now >= deadline {
                return self.take(true).ok_or(ReadEnd::Timeout);
            }
            let ends_with_cr = self.buf.last() == Some(&b'\r');
            let wait = if ends_with_cr { CR_GRACE } else { idle }.min(deadline - now);
            match self.fill(t, wait).await {
                Ok(true) => {}
                Ok(false) => return self.take(true).ok_or(ReadEnd::Timeout),
                Err(end) => return self.take(true).ok_or(end),
            }
        }
    }
}
