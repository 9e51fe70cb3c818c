//! Splitting the received byte stream into lines.
//!
//! A segment is: any line ends that precede the text, the text, and its
//! terminator (`<CR><LF>`, `<CR>` or `<LF>`). So `<CR><LF>OK<CR><LF>` is one
//! segment, and so is the echo `AT#VPHY<CR>`.
//!
//! Line ends are decided by content, never by timing: a `<CR>` at the very
//! end of what has arrived may still be followed by `<LF>`. The reader waits
//! a moment for it ([`CR_GRACE`]) and then hands the line out (a bare `<CR>`
//! is a whole line end: ATV0 results `<CR>0<CR>`, ATS3/ATS4 changed). If the
//! `<LF>` does come later (ser2net, USB adapters and TCP split reads
//! anywhere, seconds apart under load), it is the first byte after that
//! line: it belongs to it, and [`LineReader::late_line_end`] says so, so that
//! the transcript can attach it. Matching never sees line ends, so it cannot
//! depend on the split either; transcripts are then the same however the
//! bytes were split in time.

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
    /// The last segment handed out ended in a `<CR>` and no byte has been
    /// looked at since: a `<LF>` arriving now is that segment's.
    after_cr: bool,
    /// A `<LF>` that belongs to the segment handed out before (see
    /// [`LineReader::late_line_end`]).
    late_lf: bool,
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
        self.after_cr = false;
        self.buf.drain(..n.min(self.buf.len())).collect()
    }

    /// True once (then false) when a `<LF>` arrived after the segment last
    /// handed out had already been closed on its `<CR>`: it is that
    /// segment's line end, `<CR><LF>`, and was not handed out again. Callers
    /// that record segments append it to the last one they recorded.
    pub fn late_line_end(&mut self) -> bool {
        std::mem::take(&mut self.late_lf)
    }

    /// A `<LF>` at the head of the buffer, right after a segment that ended
    /// in `<CR>`, belongs to that segment (see [`LineReader::late_line_end`]).
    /// Raw reads call this before they take bytes.
    pub fn attach_late_lf(&mut self) {
        if self.after_cr {
            if let Some(&first) = self.buf.first() {
                self.after_cr = false;
                if first == b'\n' {
                    self.buf.remove(0);
                    self.late_lf = true;
                }
            }
        }
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
        self.attach_late_lf();
        let seg = self.split(force)?;
        self.after_cr = seg.last() == Some(&b'\r');
        Some(seg)
    }

    fn split(&mut self, force: bool) -> Option<Vec<u8>> {
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
        let mut idle_until = t.now() + idle;
        loop {
            if let Some(seg) = self.take(false) {
                return Ok(seg);
            }
            let now = t.now();
            if now >= deadline || now >= idle_until {
                return self.take(true).ok_or(ReadEnd::Timeout);
            }
            // Only a line with text waits just the grace for its <LF>: line
            // ends before any text wait for the text as long as any byte.
            let has_text = self.buf.iter().any(|b| *b != b'\r' && *b != b'\n');
            let pending_cr = has_text && self.buf.last() == Some(&b'\r');
            let until = if pending_cr { idle_until.min(now + CR_GRACE) } else { idle_until }.min(deadline);
            match self.fill(t, until - now).await {
                Ok(true) => idle_until = t.now() + idle,
                Ok(false) => return self.take(true).ok_or(ReadEnd::Timeout),
                Err(end) => return self.take(true).ok_or(end),
            }
        }
    }
}

/// Assemble segments the way the runner records them: a late line end is
/// appended to the segment before it. For tests and tools that keep segments.
pub fn record(segments: &mut [Vec<u8>], reader: &mut LineReader) {
    if reader.late_line_end() {
        if let Some(last) = segments.last_mut() {
            last.push(b'\n');
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
    use crate::transport::ReadFuture;

    /// A target on a virtual clock: each chunk is released a given delay
    /// after the one before, then the line closes. Reading waits (virtually)
    /// for the next release or the deadline, whichever comes first.
    struct Timed {
        chunks: VecDeque<(Duration, Vec<u8>)>,
        now: Instant,
        /// When the last chunk was released.
        last: Instant,
    }

    impl AsyncRead for Timed {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            unreachable!("reads go through read_until")
        }
    }

    impl AsyncWrite for Timed {
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

    impl Transport for Timed {
        fn describe(&self) -> String {
            "timed chunks".into()
        }
        fn capabilities(&self) -> BTreeSet<Capability> {
            BTreeSet::new()
        }
        fn now(&self) -> Instant {
            self.now
        }
        fn read_until<'a>(&'a mut self, buf: &'a mut [u8], deadline: Instant) -> ReadFuture<'a> {
            let result = match self.chunks.front() {
                None => Some(0),
                Some((delay, _)) if self.last + *delay > deadline => None,
                Some(_) => {
                    let (delay, chunk) = self.chunks.pop_front().expect("a chunk");
                    self.last += delay;
                    self.now = self.now.max(self.last);
                    buf[..chunk.len()].copy_from_slice(&chunk);
                    Some(chunk.len())
                }
            };
            if result.is_none() {
                self.now = self.now.max(deadline);
            }
            Box::pin(std::future::ready(Ok(result)))
        }
    }

    /// The segments as the runner records them (late line ends attached).
    fn segments_timed(chunks: Vec<(Duration, Vec<u8>)>, idle: Duration) -> Vec<Vec<u8>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let start = Instant::now();
            let mut t = Timed { chunks: chunks.into(), now: start, last: start };
            let mut reader = LineReader::new();
            let deadline = start + Duration::from_secs(3600);
            let mut out = Vec::new();
            loop {
                let next = reader.next(&mut t, idle, deadline).await;
                record(&mut out, &mut reader);
                match next {
                    Ok(seg) => out.push(seg),
                    Err(_) => break,
                }
            }
            out
        })
    }

    fn segments(chunks: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        segments_timed(chunks.into_iter().map(|c| (Duration::ZERO, c)).collect(), Duration::from_millis(200))
    }

    #[test]
    fn framing_groups_line_ends_with_their_text() {
        let segs = segments(vec![b"AT#VPHY\r#ANSWERMODE: 0\r\n\r\nOK\r\n\r0\r".to_vec()]);
        let want: Vec<&[u8]> = vec![b"AT#VPHY\r", b"#ANSWERMODE: 0\r\n", b"\r\nOK\r\n", b"\r0\r"];
        assert_eq!(segs, want);
    }

    #[test]
    fn a_late_line_feed_ends_the_line_before_it() {
        let ms = Duration::from_millis;
        let chunks = vec![
            (ms(0), b"AT\r".to_vec()),
            (ms(500), b"\r\nOK\r".to_vec()),
            (ms(900), b"\n".to_vec()),
            (ms(0), b"\r\n+CREG: 1\r".to_vec()),
            (ms(50), b"\n".to_vec()),
        ];
        let want: Vec<&[u8]> = vec![b"AT\r", b"\r\nOK\r\n", b"\r\n+CREG: 1\r\n"];
        assert_eq!(segments_timed(chunks, Duration::from_secs(2)), want);
        // ATV0: a bare <CR> stays a line end, whenever the next line comes.
        let chunks = vec![(ms(0), b"ATV0\r".to_vec()), (ms(40), b"0\r".to_vec()), (ms(700), b"ATE0\r0\r".to_vec())];
        let want: Vec<&[u8]> = vec![b"ATV0\r", b"0\r", b"ATE0\r", b"0\r"];
        assert_eq!(segments_timed(chunks, Duration::from_secs(2)), want);
    }

    /// A response as the unit writes it, as text and line end, with or
    /// without leading line ends.
    fn stream_of(lines: &[(String, &str, bool)]) -> Vec<u8> {
        let mut stream = Vec::new();
        for (text, end, lead) in lines {
            if *lead {
                stream.extend_from_slice(b"\r\n");
            }
            stream.extend_from_slice(text.as_bytes());
            stream.extend_from_slice(end.as_bytes());
        }
        stream
    }

    fn cut(stream: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut chunks = Vec::new();
        let mut rest = stream;
        for &c in cuts {
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
        chunks
    }

    fn any_lines() -> impl Strategy<Value = Vec<(String, &'static str, bool)>> {
        proptest::collection::vec(
            ("[A-Z#+:0-9 ]{0,12}", prop_oneof![Just("\r\n"), Just("\r"), Just("\n")], any::<bool>()),
            1..12,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Goldens do not depend on how the operating system split the reads.
        #[test]
        fn segments_do_not_depend_on_read_boundaries(
            lines in any_lines(),
            cuts in proptest::collection::vec(1usize..8, 0..40),
        ) {
            let stream = stream_of(&lines);
            let whole = segments(vec![stream.clone()]);
            prop_assert_eq!(segments(cut(&stream, &cuts)), whole);
        }

        /// Nor on when the pieces came: any split, each piece late by up to
        /// (not beyond) the idle time, far past the `<CR>` grace.
        #[test]
        fn segments_do_not_depend_on_read_timing(
            lines in any_lines(),
            cuts in proptest::collection::vec((1usize..8, 0u64..900), 0..40),
        ) {
            let stream = stream_of(&lines);
            let idle = Duration::from_secs(1);
            let whole = segments_timed(vec![(Duration::ZERO, stream.clone())], idle);
            let sizes: Vec<usize> = cuts.iter().map(|c| c.0).collect();
            let delays = cuts.iter().map(|c| Duration::from_millis(c.1)).chain(std::iter::repeat(Duration::ZERO));
            let chunks: Vec<_> = delays.zip(cut(&stream, &sizes)).collect();
            prop_assert_eq!(segments_timed(chunks, idle), whole);
        }
    }
}
