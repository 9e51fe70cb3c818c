//! Data mode, written once for every service that has one (App. B p.50-52):
//! the coding of payload between host and stack, how the host ends it, and
//! when host payload is sent.
//!
//! - DLE coding (TCP with DLEMODE=1, FTP, UDP always; p.30): payload ETX and
//!   DLE travel as `<DLE><ETX>` and `<DLE><DLE>` both ways; an `<ETX>` not
//!   preceded by `<DLE>` ends the data mode.
//! - Transparent (TCP with DLEMODE=0): every byte is payload; the host
//!   cannot end the data mode.
//! - Mail body (`#PUTMAIL`, p.50): the body ends with `<CR><LF>.<CR><LF>`,
//!   which is passed on as the end of the SMTP DATA.
//!
//! Host payload is held for TXDELAY after its first byte, or sent at once
//! when a frame is full (1460 bytes) or TXDELAY is 0 (p.31, p.34).

use std::time::Duration;

/// A full TCP frame of user data.
pub const FRAME: usize = 1460;
pub const ETX: u8 = 0x03;
pub const DLE: u8 = 0x10;

/// How payload is coded and how the host ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// DLE/ETX coding; an unescaped ETX ends.
    Dle,
    /// Every byte is payload; the host cannot end.
    Transparent,
    /// Every byte is payload; `<CR><LF>.<CR><LF>` ends (and is payload too):
    /// `#PUTMAIL` (see [`super::smtp`]).
    MailBody,
}

/// What the service must do after a byte from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostByte {
    /// Nothing yet.
    Held,
    /// Start the TXDELAY timer for what is pending.
    ArmTimer(Duration),
    /// Send what is pending now (frame full, or no delay).
    Flush,
    /// The host ended the data mode: send what is pending, then end.
    End,
}

/// The data-mode state of a running service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMode {
    coding: Coding,
    txdelay: Duration,
    escaped: bool,
    pending: Vec<u8>,
    timer_armed: bool,
    /// How much of `<CR><LF>.<CR><LF>` has just been seen.
    terminator: usize,
}

const MAIL_END: &[u8] = b"\r\n.\r\n";

impl DataMode {
    pub fn new(coding: Coding, txdelay: Duration) -> DataMode {
        DataMode { coding, txdelay, escaped: false, pending: Vec::new(), timer_armed: false, terminator: 0 }
    }

    pub fn coding(&self) -> Coding {
        self.coding
    }

    /// One byte from the host.
    pub fn host_byte(&mut self, b: u8) -> HostByte {
        match self.coding {
            Coding::Dle if !self.escaped && b == ETX => return HostByte::End,
            Coding::Dle if !self.escaped && b == DLE => {
                self.escaped = true;
                return HostByte::Held;
            }
            Coding::MailBody => {
                self.pending.push(b);
                self.terminator = match (self.terminator, b) {
                    (n, b) if MAIL_END.get(n) == Some(&b) => n + 1,
                    // A CR restarts the terminator; anything else resets it.
                    (_, b'\r') => 1,
                    _ => 0,
                };
                if self.terminator == MAIL_END.len() {
                    return HostByte::End;
                }
                return self.after_push();
            }
            _ => {}
        }
        self.escaped = false;
        self.pending.push(b);
        self.after_push()
    }

    fn after_push(&mut self) -> HostByte {
        if self.pending.len() >= FRAME || self.txdelay.is_zero() {
            self.timer_armed = false;
            HostByte::Flush
        } else if !self.timer_armed {
            self.timer_armed = true;
            HostByte::ArmTimer(self.txdelay)
        } else {
            HostByte::Held
        }
    }

    /// The payload held so far (TXDELAY expired, frame full, or the end).
    pub fn take_pending(&mut self) -> Vec<u8> {
        self.timer_armed = false;
        std::mem::take(&mut self.pending)
    }

    /// Payload from the network, coded for the host.
    pub fn to_host(&self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.coding == Coding::Dle {
            for &b in bytes {
                if b == ETX || b == DLE {
                    out.push(DLE);
                }
                out.push(b);
            }
        } else {
            out.extend_from_slice(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn feed(mode: &mut DataMode, input: &[u8]) -> Vec<HostByte> {
        input.iter().map(|&b| mode.host_byte(b)).collect()
    }

    #[test]
    fn dle_coding_escapes_and_ends_on_a_bare_etx() {
        let mut m = DataMode::new(Coding::Dle, Duration::from_millis(100));
        let got = feed(&mut m, b"a\x10\x03\x10\x10\x03");
        assert_eq!(
            got,
            [
                HostByte::ArmTimer(Duration::from_millis(100)),
                HostByte::Held,
                HostByte::Held,
                HostByte::Held,
                HostByte::Held,
                HostByte::End
            ]
        );
        assert_eq!(m.take_pending(), b"a\x03\x10");
        let mut out = Vec::new();
        m.to_host(b"x\x03\x10", &mut out);
        assert_eq!(out, b"x\x10\x03\x10\x10");
    }

    #[rstest]
    #[case(Coding::Transparent, b"a\x03b".as_slice(), false)]
    #[case(Coding::MailBody, b"Hi\r\n..x\r\n.\r\n".as_slice(), true)]
    #[case(Coding::MailBody, b"Hi\r\n.x\r\n".as_slice(), false)]
    #[case(Coding::MailBody, b"\r\r\n.\r\n".as_slice(), true)]
    fn ends(#[case] coding: Coding, #[case] input: &[u8], #[case] ended: bool) {
        let mut m = DataMode::new(coding, Duration::from_millis(50));
        let got = feed(&mut m, input);
        assert_eq!(got.last() == Some(&HostByte::End), ended, "{got:?}");
        assert_eq!(m.take_pending(), input, "every byte is payload");
    }

    #[test]
    fn a_full_frame_or_no_delay_flushes_at_once() {
        let mut m = DataMode::new(Coding::Transparent, Duration::ZERO);
        assert_eq!(m.host_byte(b'a'), HostByte::Flush);
        let mut m = DataMode::new(Coding::Transparent, Duration::from_secs(1));
        let got = feed(&mut m, &vec![b'x'; FRAME]);
        assert_eq!(got.last(), Some(&HostByte::Flush));
        assert_eq!(m.take_pending().len(), FRAME);
    }
}
