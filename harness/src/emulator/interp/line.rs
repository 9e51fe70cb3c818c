//! Command-line assembly (ITU-T V.250 §5.2, as the Wavecom core does it).
//!
//! Bytes before an `AT` prefix (any case: `AT`, `at`, `At`, `aT`) are
//! ignored; `A/` repeats the previous command line at once. The line ends at
//! `<CR>`; a bare `<LF>` also ends it (some hosts send `\n` only), and the
//! `<LF>` of a `<CR><LF>` pair is ignored because the line already ended.
//! `<BS>` removes the previous character but never the prefix. A line longer
//! than [`MAX_LINE`] is discarded up to its end and reported as too long.

/// Longest command line body after `AT` (the longest legal line, an AT#
/// string parameter of 120 characters with quotes and name, is far below).
pub const MAX_LINE: usize = 256;

/// What the assembler produced from one byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Nothing complete yet.
    Pending,
    /// A complete command line: the text after `AT`.
    Line(String),
    /// `A/`: repeat the previous line.
    Repeat,
    /// The line exceeded [`MAX_LINE`]; `stack` tells whether it was an AT# line.
    TooLong { stack: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for `A`.
    Idle,
    /// Seen `A`, waiting for `T` or `/`.
    A,
    /// Inside a command line.
    Body,
    /// Discarding an overlong line up to its end.
    Overflow,
}

/// Assembles command lines from the byte stream.
#[derive(Debug, Clone)]
pub struct LineAssembler {
    state: State,
    body: Vec<u8>,
    overflow_stack: bool,
}

impl Default for LineAssembler {
    fn default() -> Self {
        LineAssembler { state: State::Idle, body: Vec::new(), overflow_stack: false }
    }
}

impl LineAssembler {
    pub fn push(&mut self, b: u8) -> Event {
        match self.state {
            State::Idle => {
                if b.eq_ignore_ascii_case(&b'a') {
                    self.state = State::A;
                }
                Event::Pending
            }
            State::A => {
                if b.eq_ignore_ascii_case(&b't') {
                    self.state = State::Body;
                    self.body.clear();
                    Event::Pending
                } else if b == b'/' {
                    self.state = State::Idle;
                    Event::Repeat
                } else {
                    self.state = if b.eq_ignore_ascii_case(&b'a') { State::A } else { State::Idle };
                    Event::Pending
                }
            }
            State::Body => match b {
                b'\r' | b'\n' => {
                    self.state = State::Idle;
                    let line = String::from_utf8_lossy(&self.body).into_owned();
                    self.body.clear();
                    Event::Line(line)
                }
                0x08 | 0x7f => {
                    self.body.pop();
                    Event::Pending
                }
                _ => {
                    if self.body.len() >= MAX_LINE {
                        self.overflow_stack = self.body.first() == Some(&b'#');
                        self.body.clear();
                        self.state = State::Overflow;
                    } else {
                        self.body.push(b);
                    }
                    Event::Pending
                }
            },
            State::Overflow => {
                if b == b'\r' || b == b'\n' {
                    self.state = State::Idle;
                    Event::TooLong { stack: self.overflow_stack }
                } else {
                    Event::Pending
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn lines(input: &[u8]) -> Vec<Event> {
        let mut a = LineAssembler::default();
        input.iter().map(|&b| a.push(b)).filter(|e| *e != Event::Pending).collect()
    }

    #[rstest]
    #[case(b"AT\r", vec![Event::Line("".into())])]
    #[case(b"at+csq\r", vec![Event::Line("+csq".into())])]
    #[case(b"aT#VPHY\r\n", vec![Event::Line("#VPHY".into())])]
    #[case(b"AT#VPHY\n", vec![Event::Line("#VPHY".into())])]
    #[case(b"junkAT\r", vec![Event::Line("".into())])]
    #[case(b"AT+CSX\x08Q\r", vec![Event::Line("+CSQ".into())])]
    #[case(b"AT\x08\x08\x08\r", vec![Event::Line("".into())])]
    #[case(b"A/", vec![Event::Repeat])]
    #[case(b"AAT\r", vec![Event::Line("".into())])]
    fn assembles(#[case] input: &[u8], #[case] expected: Vec<Event>) {
        assert_eq!(lines(input), expected);
    }

    #[test]
    fn overlong_lines_are_reported_once_and_the_next_line_works() {
        let mut input = b"AT#".to_vec();
        input.extend(std::iter::repeat_n(b'X', 1000));
        input.extend_from_slice(b"\rAT\r");
        assert_eq!(lines(&input), vec![Event::TooLong { stack: true }, Event::Line("".into())]);
    }
}
