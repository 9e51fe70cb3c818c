//! RFC 2217 (Telnet COM-PORT-OPTION), the client side, sans I/O: bytes from
//! the server go in ([`Client::receive`]), user data and bytes to send come
//! out. [`Rfc2217Transport`](super::Rfc2217Transport) puts it on a TCP
//! stream.
//!
//! What the client negotiates: COM-PORT-OPTION (44, we WILL), BINARY (0) and
//! SUPPRESS-GO-AHEAD (3) both ways; everything else is refused. Data is
//! IAC-escaped both ways. Once the server does COM-PORT-OPTION, the line is
//! set up (SET-BAUDRATE, SET-DATASIZE, SET-PARITY, SET-STOPSIZE) and modem
//! state notifications are asked for (SET-MODEMSTATE-MASK: DCD, RI, DSR,
//! CTS). The server acknowledges every command with its own code + 100; a
//! command never acknowledged (ser2net in front of a PTY does not answer
//! SET-CONTROL) means the line it drives is not available.

/// Telnet commands.
pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const SE: u8 = 240;
/// Telnet options.
pub const BINARY: u8 = 0;
pub const SGA: u8 = 3;
pub const COM_PORT: u8 = 44;

/// COM-PORT-OPTION commands, client to server (the server answers + 100).
pub const SET_BAUDRATE: u8 = 1;
pub const SET_DATASIZE: u8 = 2;
pub const SET_PARITY: u8 = 3;
pub const SET_STOPSIZE: u8 = 4;
pub const SET_CONTROL: u8 = 5;
pub const NOTIFY_MODEMSTATE: u8 = 7;
pub const SET_MODEMSTATE_MASK: u8 = 11;
/// The server's codes are the client's + 100.
pub const SERVER: u8 = 100;

/// Modem state bits (NOTIFY-MODEMSTATE).
pub const DCD: u8 = 0x80;
pub const RI: u8 = 0x40;
pub const DSR: u8 = 0x20;
pub const CTS: u8 = 0x10;

/// Line settings asked of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSettings {
    pub baud: u32,
    /// 5 to 8.
    pub data_bits: u8,
    /// RFC 2217 codes: 1 none, 2 odd, 3 even.
    pub parity: u8,
    /// RFC 2217 codes: 1 one, 2 two.
    pub stop_bits: u8,
}

impl Default for LineSettings {
    fn default() -> Self {
        LineSettings { baud: 115_200, data_bits: 8, parity: 1, stop_bits: 1 }
    }
}

/// A control line the client drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    Dtr(bool),
    Rts(bool),
}

impl Drive {
    /// The SET-CONTROL value.
    pub fn value(self) -> u8 {
        match self {
            Drive::Dtr(true) => 8,
            Drive::Dtr(false) => 9,
            Drive::Rts(true) => 11,
            Drive::Rts(false) => 12,
        }
    }
}

/// The lines the unit drives, as last notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModemState(pub u8);

impl ModemState {
    pub fn dcd(self) -> bool {
        self.0 & DCD != 0
    }
    pub fn ri(self) -> bool {
        self.0 & RI != 0
    }
    pub fn dsr(self) -> bool {
        self.0 & DSR != 0
    }
    pub fn cts(self) -> bool {
        self.0 & CTS != 0
    }
}

/// Where the parser is in the byte stream from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Parse {
    #[default]
    Data,
    Iac,
    /// After IAC WILL/WONT/DO/DONT.
    Option(u8),
    /// Inside IAC SB … (the bytes are collected).
    Sub,
    SubIac,
}

/// What one call to [`Client::receive`] produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Bytes of the serial line (unescaped).
    pub data: Vec<u8>,
    /// Bytes to send to the server (negotiation answers, line setup).
    pub reply: Vec<u8>,
}

/// The client's state.
#[derive(Debug, Default)]
pub struct Client {
    settings: LineSettings,
    parse: Parse,
    sub: Vec<u8>,
    /// The server agreed to COM-PORT-OPTION (it said DO).
    com_port: Option<bool>,
    /// Acknowledgements received: (server code, value bytes), latest last.
    acks: Vec<(u8, Vec<u8>)>,
    modem: Option<ModemState>,
}

impl Client {
    pub fn new(settings: LineSettings) -> Client {
        Client { settings, ..Client::default() }
    }

    /// What to send first: offer COM-PORT-OPTION, ask for BINARY and SGA both ways.
    pub fn start(&self) -> Vec<u8> {
        vec![IAC, WILL, COM_PORT, IAC, WILL, BINARY, IAC, DO, BINARY, IAC, WILL, SGA, IAC, DO, SGA]
    }

    /// Whether the server agreed to COM-PORT-OPTION (`None`: not said yet).
    pub fn com_port(&self) -> Option<bool> {
        self.com_port
    }

    /// The last modem state the server notified, if any.
    pub fn modem_state(&self) -> Option<ModemState> {
        self.modem
    }

    /// The value of the server's last acknowledgement of `command`, if any.
    pub fn acknowledgement(&self, command: u8) -> Option<&[u8]> {
        self.acks.iter().rev().find(|(c, _)| *c == command + SERVER).map(|(_, v)| v.as_slice())
    }

    /// Forget acknowledgements of `command` (before sending it again).
    pub fn forget(&mut self, command: u8) {
        self.acks.retain(|(c, _)| *c != command + SERVER);
    }

    /// User data for the server, IAC doubled.
    pub fn encode(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        for &b in data {
            out.push(b);
            if b == IAC {
                out.push(IAC);
            }
        }
        out
    }

    /// A COM-PORT-OPTION command: IAC SB 44 command value… IAC SE (value escaped).
    pub fn command(command: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![IAC, SB, COM_PORT, command];
        out.extend(Client::encode(value));
        out.extend([IAC, SE]);
        out
    }

    /// SET-CONTROL for a line the client drives.
    pub fn drive(&mut self, line: Drive) -> Vec<u8> {
        self.forget(SET_CONTROL);
        Client::command(SET_CONTROL, &[line.value()])
    }

    /// The line setup and notification mask, sent once the server does COM-PORT-OPTION.
    fn setup(&self) -> Vec<u8> {
        let s = self.settings;
        let mut out = Client::command(SET_BAUDRATE, &s.baud.to_be_bytes());
        out.extend(Client::command(SET_DATASIZE, &[s.data_bits]));
        out.extend(Client::command(SET_PARITY, &[s.parity]));
        out.extend(Client::command(SET_STOPSIZE, &[s.stop_bits]));
        out.extend(Client::command(SET_MODEMSTATE_MASK, &[DCD | RI | DSR | CTS]));
        out
    }

    /// Bytes from the server.
    pub fn receive(&mut self, bytes: &[u8]) -> Received {
        let mut out = Received::default();
        for &b in bytes {
            self.parse = match (self.parse, b) {
                (Parse::Data, IAC) => Parse::Iac,
                (Parse::Data, _) => {
                    out.data.push(b);
                    Parse::Data
                }
                (Parse::Iac, IAC) => {
                    out.data.push(IAC);
                    Parse::Data
                }
                (Parse::Iac, WILL | WONT | DO | DONT) => Parse::Option(b),
                (Parse::Iac, SB) => {
                    self.sub.clear();
                    Parse::Sub
                }
                // NOP, GA and the other two-byte commands carry nothing here.
                (Parse::Iac, _) => Parse::Data,
                (Parse::Option(verb), option) => {
                    self.negotiate(verb, option, &mut out.reply);
                    Parse::Data
                }
                (Parse::Sub, IAC) => Parse::SubIac,
                (Parse::Sub, _) => {
                    self.sub.push(b);
                    Parse::Sub
                }
                (Parse::SubIac, IAC) => {
                    self.sub.push(IAC);
                    Parse::Sub
                }
                (Parse::SubIac, SE) => {
                    self.subnegotiation();
                    Parse::Data
                }
                // IAC and anything else inside SB: a broken server; drop the subnegotiation.
                (Parse::SubIac, _) => Parse::Data,
            };
        }
        out
    }

    /// Answer IAC verb option. Only answers that change state are sent, so
    /// negotiation cannot loop (RFC 1143's rule, simplified: we never
    /// re-announce what we already said).
    fn negotiate(&mut self, verb: u8, option: u8, reply: &mut Vec<u8>) {
        match (verb, option) {
            (DO, COM_PORT) if self.com_port != Some(true) => {
                self.com_port = Some(true);
                reply.extend(self.setup());
            }
            (DO, COM_PORT) => {}
            (DONT, COM_PORT) => self.com_port = Some(false),
            // We offered these (WILL BINARY/SGA, DO BINARY/SGA): agreement needs no answer.
            (DO | WILL, BINARY | SGA) | (WILL, COM_PORT) => {}
            (DO, other) => reply.extend([IAC, WONT, other]),
            (WILL, other) => reply.extend([IAC, DONT, other]),
            // WONT/DONT: nothing to answer for options we do not use.
            _ => {}
        }
    }

    fn subnegotiation(&mut self) {
        let sub = std::mem::take(&mut self.sub);
        let [COM_PORT, code, value @ ..] = sub.as_slice() else { return };
        if *code == NOTIFY_MODEMSTATE + SERVER {
            if let Some(&state) = value.first() {
                self.modem = Some(ModemState(state));
            }
        }
        self.acks.push((*code, value.to_vec()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iac_is_escaped_both_ways() {
        assert_eq!(Client::encode(&[1, IAC, 2]), [1, IAC, IAC, 2]);
        let mut c = Client::default();
        let got = c.receive(&[b'O', IAC, IAC, b'K']);
        assert_eq!(got.data, [b'O', IAC, b'K']);
        // Split in the middle of an escape.
        let mut c = Client::default();
        assert_eq!(c.receive(&[b'a', IAC]).data, b"a");
        assert_eq!(c.receive(&[IAC, b'b']).data, [IAC, b'b']);
    }

    #[test]
    fn com_port_agreed_sets_the_line_up() {
        let mut c = Client::new(LineSettings { baud: 9600, data_bits: 8, parity: 1, stop_bits: 1 });
        assert!(c.start().windows(3).any(|w| w == [IAC, WILL, COM_PORT]));
        let got = c.receive(&[IAC, DO, COM_PORT, b'x']);
        assert_eq!(got.data, b"x");
        assert_eq!(c.com_port(), Some(true));
        let mut want = Client::command(SET_BAUDRATE, &9600u32.to_be_bytes());
        want.extend(Client::command(SET_DATASIZE, &[8]));
        want.extend(Client::command(SET_PARITY, &[1]));
        want.extend(Client::command(SET_STOPSIZE, &[1]));
        want.extend(Client::command(SET_MODEMSTATE_MASK, &[0xF0]));
        assert_eq!(got.reply, want);
        // Said again: nothing new is sent.
        assert!(c.receive(&[IAC, DO, COM_PORT]).reply.is_empty());
    }

    #[test]
    fn unknown_options_are_refused_and_known_ones_agreed_silently() {
        let mut c = Client::default();
        let got = c.receive(&[IAC, DO, 24, IAC, WILL, 1, IAC, DO, BINARY, IAC, WILL, SGA, IAC, DONT, COM_PORT]);
        assert_eq!(got.reply, [IAC, WONT, 24, IAC, DONT, 1]);
        assert!(got.data.is_empty());
        assert_eq!(c.com_port(), Some(false));
    }

    #[test]
    fn acknowledgements_and_modem_state_are_kept() {
        let mut c = Client::default();
        assert_eq!(c.drive(Drive::Dtr(false)), [IAC, SB, COM_PORT, SET_CONTROL, 9, IAC, SE]);
        assert_eq!(c.acknowledgement(SET_CONTROL), None);
        // The acknowledgement, split over reads, with data around it.
        let mut got = c.receive(&[b'A', IAC, SB, COM_PORT, SET_CONTROL + SERVER]);
        got.data.extend(c.receive(&[9, IAC, SE, b'B']).data);
        assert_eq!(got.data, b"AB");
        assert_eq!(c.acknowledgement(SET_CONTROL), Some(&[9u8][..]));
        // Baud rate with an IAC byte inside the value, escaped.
        let mut c = Client::default();
        c.receive(&[IAC, SB, COM_PORT, SET_BAUDRATE + SERVER, 0, 0, IAC, IAC, 0, IAC, SE]);
        assert_eq!(c.acknowledgement(SET_BAUDRATE), Some(&[0u8, 0, IAC, 0][..]));
        assert_eq!(Client::command(SET_BAUDRATE, &[0, 0, IAC, 0]), [IAC, SB, COM_PORT, 1, 0, 0, IAC, IAC, 0, IAC, SE]);
        // DCD on, RI off, DSR on, CTS off.
        c.receive(&[IAC, SB, COM_PORT, NOTIFY_MODEMSTATE + SERVER, DCD | DSR, IAC, SE]);
        let m = c.modem_state().unwrap();
        assert!(m.dcd() && !m.ri() && m.dsr() && !m.cts());
    }
}
