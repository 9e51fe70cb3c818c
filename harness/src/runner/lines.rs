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

use crate::transport::Transport;

/// How long a trailing `<CR>` waits for its `<LF>`.
const CR_GRACE: Duration = Duration::from_millis(30);

/// Buffered reader of segments. Every wait is measured on the transport's
/// clock ([`Transport::now`]), which is virtual for the in-process emulator.
#[derive(Debug, Default)]
pub struct LineReader {
    buf: Vec<u8>,
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
    pub fn new() -> Self {
        LineReader::default()
    }

    /// Bytes received and not consumed yet.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Put a line read by [`LineReader::next`] back, for whoever reads next.
    pub fn unread(&mut self, seg: Vec<u8>) {
        self.buf.splice(0..0, seg);
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
        let deadline = t.now() + wait;
        match t.read_until(&mut chunk, deadline).await {
            Ok(None) => Ok(false),
            Ok(Some(0)) => {
                self.closed = true;
                Err(ReadEnd::Closed)
            }
            Ok(Some(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) => Err(ReadEnd::Io(e)),
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
            let now = t.now();
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, VecDeque};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use proptest::prelude::*;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    use super::*;
    use crate::scenario::Capability;

    /// A target that delivers given chunks, then closes the line.
    struct Chunks(VecDeque<Vec<u8>>);

    impl AsyncRead for Chunks {
        fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            if let Some(chunk) = self.0.pop_front() {
                buf.put_slice(&chunk);
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Chunks {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl Transport for Chunks {
        fn describe(&self) -> String {
            "chunks".into()
        }
        fn capabilities(&self) -> BTreeSet<Capability> {
            BTreeSet::new()
        }
    }

    fn segments(chunks: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut t = Chunks(chunks.into());
            let mut reader = LineReader::new();
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut out = Vec::new();
            while let Ok(seg) = reader.next(&mut t, Duration::from_millis(200), deadline).await {
                out.push(seg);
            }
            out
        })
    }

    #[test]
    fn framing_groups_line_ends_with_their_text() {
        let segs = segments(vec![b"AT#VPHY\r#ANSWERMODE: 0\r\n\r\nOK\r\n\r0\r".to_vec()]);
        let want: Vec<&[u8]> = vec![b"AT#VPHY\r", b"#ANSWERMODE: 0\r\n", b"\r\nOK\r\n", b"\r0\r"];
        assert_eq!(segs, want);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Goldens do not depend on how the operating system split the reads.
        #[test]
        fn segments_do_not_depend_on_read_boundaries(
            lines in proptest::collection::vec(
                ("[A-Z#+:0-9 ]{0,12}", prop_oneof![Just("\r\n"), Just("\r"), Just("\n")], any::<bool>()), 1..12),
            cuts in proptest::collection::vec(1usize..8, 0..40),
        ) {
            let mut stream = Vec::new();
            for (text, end, lead) in &lines {
                if *lead {
                    stream.extend_from_slice(b"\r\n");
                }
                stream.extend_from_slice(text.as_bytes());
                stream.extend_from_slice(end.as_bytes());
            }
            let whole = segments(vec![stream.clone()]);
            let mut chunks = Vec::new();
            let mut rest = stream.as_slice();
            for c in cuts {
                if rest.is_empty() {
                    break;
                }
                let n = c.min(rest.len());
                chunks.push(rest[..n].to_vec());
                rest = &rest[n..];
            }
            if !rest.is_empty() {
                chunks.push(rest.to_vec());
            }
            prop_assert_eq!(segments(chunks), whole);
        }
    }
}
