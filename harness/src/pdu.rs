//! SMS PDUs, sans-IO: the GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1),
//! septet packing (23.038 §6.1.2.1), addresses and time stamps (3GPP TS
//! 23.040 §9.1.2.5, §9.2.3.11), and the two TPDUs a terminal exchanges with
//! its modem in PDU mode (27.005 §3.1 "PDU mode"): SMS-SUBMIT, which the host
//! writes after `AT+CMGS=<length>` (23.040 §9.2.2.2), and SMS-DELIVER, which
//! the modem shows in `+CMGR`/`+CMGL`/`+CMT` (23.040 §9.2.2.1).
//!
//! The PDU strings of the AT interface are hexadecimal, with the service
//! centre address first (27.005 §3.1: "<pdu>: ... SC address followed by
//! TPDU in hexadecimal format"). Everything here is pure: bytes and text in,
//! bytes and text out.

use std::fmt::Write as _;

/// The default alphabet, indexed by septet (23.038 §6.2.1). 0x1B is the
/// escape to the extension table and decodes to nothing by itself.
const DEFAULT: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table (23.038 §6.2.1.1): septet after 0x1B → character.
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0c}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

const ESCAPE: u8 = 0x1B;

/// Why a PDU or a text could not be handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("not hexadecimal")]
    NotHex,
    #[error("the PDU ends early (at {0})")]
    Truncated(&'static str),
    #[error("TP-MTI {0} is not an SMS-SUBMIT")]
    NotSubmit(u8),
    #[error("TP-MTI {0} is not an SMS-DELIVER")]
    NotDeliver(u8),
    #[error("character {0:?} is not in the GSM 7-bit default alphabet")]
    NotGsm7(char),
    #[error("user data of {0} septets/octets exceeds one message")]
    TooLong(usize),
    #[error("address `{0}` is not a phone number")]
    BadAddress(String),
}

/// Septets for `text` in the default alphabet (extension characters take two).
pub fn gsm7_encode(text: &str) -> Result<Vec<u8>, PduError> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c != '\u{1b}' {
            if let Some(i) = DEFAULT.iter().position(|&d| d == c) {
                out.push(i as u8);
                continue;
            }
        }
        match EXTENSION.iter().find(|(_, e)| *e == c) {
            Some((code, _)) => out.extend_from_slice(&[ESCAPE, *code]),
            None => return Err(PduError::NotGsm7(c)),
        }
    }
    Ok(out)
}

/// Text for septets. An escape followed by a code the extension table lacks
/// reads as the default character of that code (23.038 §6.2.1.1 note).
pub fn gsm7_decode(septets: &[u8]) -> String {
    let mut out = String::with_capacity(septets.len());
    let mut it = septets.iter().map(|s| s & 0x7F);
    while let Some(s) = it.next() {
        if s == ESCAPE {
            if let Some(next) = it.next() {
                match EXTENSION.iter().find(|(code, _)| *code == next) {
                    Some((_, c)) => out.push(*c),
                    None => out.push(DEFAULT[next as usize]),
                }
            }
            continue;
        }
        out.push(DEFAULT[s as usize]);
    }
    out
}

/// Whether every character of `text` is in the default alphabet.
pub fn is_gsm7(text: &str) -> bool {
    gsm7_encode(text).is_ok()
}

/// Pack septets into octets, least significant bit first, after `fill` zero
/// bits (the fill that aligns user data after a user data header).
pub fn pack_septets(septets: &[u8], fill: usize) -> Vec<u8> {
    let bits = fill + septets.len() * 7;
    let mut out = vec![0u8; bits.div_ceil(8)];
    for (i, s) in septets.iter().enumerate() {
        let pos = fill + i * 7;
        let v = u16::from(s & 0x7F) << (pos % 8);
        out[pos / 8] |= v as u8;
        if pos % 8 > 1 {
            out[pos / 8 + 1] |= (v >> 8) as u8;
        }
    }
    out
}

/// Unpack `count` septets from octets, skipping `fill` bits first.
pub fn unpack_septets(octets: &[u8], count: usize, fill: usize) -> Vec<u8> {
    (0..count)
        .map(|i| {
            let pos = fill + i * 7;
            let lo = u16::from(octets.get(pos / 8).copied().unwrap_or(0));
            let hi = u16::from(octets.get(pos / 8 + 1).copied().unwrap_or(0));
            (((hi << 8 | lo) >> (pos % 8)) & 0x7F) as u8
        })
        .collect()
}

/// Upper-case hexadecimal, as PDU strings are written.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Bytes of a hexadecimal string (either case).
pub fn from_hex(text: &str) -> Result<Vec<u8>, PduError> {
    let text = text.trim();
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PduError::NotHex);
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|_| PduError::NotHex)).collect()
}

/// A phone number with its type of address (23.040 §9.1.2.5): `+` marks
/// the international type (145 = 0x91), otherwise unknown (129 = 0x81).
/// Alphanumeric senders (type 0xD0) decode to their text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address(pub String);

impl Address {
    /// The type-of-address octet the number is written with.
    pub fn toa(&self) -> u8 {
        if self.0.starts_with('+') {
            0x91
        } else {
            0x81
        }
    }

    /// Whether it can be written as a TP-DA/TP-OA (digits, `*`, `#`, an
    /// optional leading `+`, at most 20 digits).
    pub fn is_number(&self) -> bool {
        !self.0.trim_start_matches('+').is_empty() && self.digits().is_ok()
    }

    fn digits(&self) -> Result<&str, PduError> {
        let d = self.0.strip_prefix('+').unwrap_or(&self.0);
        if d.len() > 20 || !d.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#')) {
            return Err(PduError::BadAddress(self.0.clone()));
        }
        Ok(d)
    }

    /// The number in semi-octets (F-padded).
    fn semi_octets(digits: &str) -> Vec<u8> {
        let nibble = |b: u8| match b {
            b'*' => 0xA,
            b'#' => 0xB,
            d => d - b'0',
        };
        digits
            .as_bytes()
            .chunks(2)
            .map(|pair| nibble(pair[0]) | pair.get(1).map_or(0xF0, |&b| nibble(b) << 4))
            .collect()
    }

    /// TP-OA / TP-DA: length in digits, type, semi-octets.
    fn write_tp(&self, out: &mut Vec<u8>) -> Result<(), PduError> {
        let digits = self.digits()?;
        out.push(digits.len() as u8);
        out.push(self.toa());
        out.extend(Address::semi_octets(digits));
        Ok(())
    }

    /// RP-SC address as 27.005 prefixes it: length in octets (type
    /// included); an empty address is the single octet 00.
    fn write_sc(&self, out: &mut Vec<u8>) -> Result<(), PduError> {
        if self.0.is_empty() {
            out.push(0);
            return Ok(());
        }
        let digits = self.digits()?;
        let semi = Address::semi_octets(digits);
        out.push(semi.len() as u8 + 1);
        out.push(self.toa());
        out.extend(semi);
        Ok(())
    }

    fn read_digits(toa: u8, octets: &[u8], ndigits: usize) -> Address {
        if toa & 0x70 == 0x50 {
            // Alphanumeric (23.040 §9.1.2.5): GSM 7-bit packed.
            let septets = ndigits * 4 / 7;
            return Address(gsm7_decode(&unpack_septets(octets, septets, 0)));
        }
        let mut s = String::new();
        if toa & 0x70 == 0x10 {
            s.push('+');
        }
        for b in octets {
            for nib in [b & 0x0F, b >> 4] {
                if s.trim_start_matches('+').len() >= ndigits {
                    break;
                }
                s.push(match nib {
                    0..=9 => (b'0' + nib) as char,
                    0xA => '*',
                    0xB => '#',
                    0xC => 'a',
                    0xD => 'b',
                    0xE => 'c',
                    _ => continue,
                });
            }
        }
        Address(s)
    }
}

/// A cursor over a TPDU.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self, what: &'static str) -> Result<u8, PduError> {
        let b = *self.bytes.get(self.at).ok_or(PduError::Truncated(what))?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PduError> {
        let s = self.bytes.get(self.at..self.at + n).ok_or(PduError::Truncated(what))?;
        self.at += n;
        Ok(s)
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at.min(self.bytes.len())..]
    }

    fn tp_address(&mut self, what: &'static str) -> Result<Address, PduError> {
        let ndigits = self.byte(what)? as usize;
        let toa = self.byte(what)?;
        let octets = self.take(ndigits.div_ceil(2), what)?;
        Ok(Address::read_digits(toa, octets, ndigits))
    }
}

/// The alphabet of TP-DCS (23.038 §4): general data coding and the
/// message class groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Gsm7,
    Eight,
    Ucs2,
}

impl Alphabet {
    pub fn of_dcs(dcs: u8) -> Alphabet {
        let bits = match dcs >> 4 {
            0x0..=0x7 => (dcs >> 2) & 0x03,
            0xF => (dcs >> 2) & 0x01,
            0xE => 2,
            _ => 0,
        };
        match bits {
            1 => Alphabet::Eight,
            2 => Alphabet::Ucs2,
            _ => Alphabet::Gsm7,
        }
    }
}

/// User data: decode TP-UD of `udl` with or without a header (TP-UDHI).
fn read_user_data(dcs: u8, udhi: bool, udl: usize, ud: &[u8]) -> Result<String, PduError> {
    let alphabet = Alphabet::of_dcs(dcs);
    let header_octets = if udhi { usize::from(*ud.first().ok_or(PduError::Truncated("TP-UDH"))?) + 1 } else { 0 };
    match alphabet {
        Alphabet::Gsm7 => {
            let needed = (udl * 7).div_ceil(8);
            if ud.len() < needed {
                return Err(PduError::Truncated("TP-UD"));
            }
            let header_septets = (header_octets * 8).div_ceil(7);
            let fill = header_septets * 7 - header_octets * 8;
            let count = udl.saturating_sub(header_septets);
            Ok(gsm7_decode(&unpack_septets(&ud[header_octets.min(ud.len())..], count, fill)))
        }
        Alphabet::Eight | Alphabet::Ucs2 => {
            let body = ud.get(header_octets..udl).ok_or(PduError::Truncated("TP-UD"))?;
            if alphabet == Alphabet::Eight {
                Ok(body.iter().map(|&b| b as char).collect())
            } else {
                let units: Vec<u16> =
                    body.chunks(2).map(|c| u16::from(c[0]) << 8 | u16::from(*c.get(1).unwrap_or(&0))).collect();
                Ok(String::from_utf16_lossy(&units))
            }
        }
    }
}

/// TP-UDL and TP-UD for `text`: the default alphabet when it fits, UCS2
/// otherwise. Returns (dcs, udl, ud).
fn write_user_data(text: &str) -> Result<(u8, u8, Vec<u8>), PduError> {
    match gsm7_encode(text) {
        Ok(septets) => {
            if septets.len() > 160 {
                return Err(PduError::TooLong(septets.len()));
            }
            Ok((0x00, septets.len() as u8, pack_septets(&septets, 0)))
        }
        Err(_) => {
            let ud: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
            if ud.len() > 140 {
                return Err(PduError::TooLong(ud.len()));
            }
            Ok((0x08, ud.len() as u8, ud))
        }
    }
}

/// A service-centre time stamp (23.040 §9.2.3.11): local time and its
/// offset from UTC in quarters of an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub year: u8,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub quarters: i8,
}

impl Timestamp {
    /// Text mode's `"yy/MM/dd,hh:mm:ss±zz"` (27.005 §3.3.1 <scts>).
    pub fn text(&self) -> String {
        let sign = if self.quarters < 0 { '-' } else { '+' };
        format!(
            "{:02}/{:02}/{:02},{:02}:{:02}:{:02}{sign}{:02}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.quarters.unsigned_abs()
        )
    }

    /// Read text mode's form back (`26/01/01,12:00:00+00`).
    pub fn parse_text(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() != 20 || !matches!(b[17], b'+' | b'-') {
            return None;
        }
        let n = |i: usize| text.get(i..i + 2)?.parse::<u8>().ok();
        let q = n(18)? as i8;
        Some(Timestamp {
            year: n(0)?,
            month: n(3)?,
            day: n(6)?,
            hour: n(9)?,
            minute: n(12)?,
            second: n(15)?,
            quarters: if b[17] == b'-' { -q } else { q },
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        let swap = |v: u8| (v % 10) << 4 | (v / 10);
        for v in [self.year, self.month, self.day, self.hour, self.minute, self.second] {
            out.push(swap(v));
        }
        let mut tz = swap(self.quarters.unsigned_abs());
        if self.quarters < 0 {
            tz |= 0x08;
        }
        out.push(tz);
    }

    fn read(b: &[u8]) -> Timestamp {
        let unswap = |v: u8| (v & 0x0F) * 10 + (v >> 4);
        let q = unswap(b[6] & 0xF7) as i8;
        Timestamp {
            year: unswap(b[0]),
            month: unswap(b[1]),
            day: unswap(b[2]),
            hour: unswap(b[3]),
            minute: unswap(b[4]),
            second: unswap(b[5]),
            quarters: if b[6] & 0x08 != 0 { -q } else { q },
        }
    }
}

/// An SMS-SUBMIT (23.040 §9.2.2.2), as the host writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit {
    /// The service centre the host named (empty: the modem's `+CSCA`).
    pub service_centre: Address,
    /// TP-MR.
    pub reference: u8,
    /// TP-DA.
    pub destination: Address,
    /// TP-SRR: a status report is requested.
    pub status_report: bool,
    pub pid: u8,
    pub dcs: u8,
    pub text: String,
}

/// The SC address that leads a PDU in the AT interface (27.005 §3.1:
/// length octet, type of address, digits), and its length in octets.
fn service_centre(bytes: &[u8]) -> Result<(Address, usize), PduError> {
    let sc_len = *bytes.first().ok_or(PduError::Truncated("SC address"))? as usize;
    let sc = bytes.get(1..1 + sc_len).ok_or(PduError::Truncated("SC address"))?;
    let address = match sc.split_first() {
        Some((toa, digits)) => Address::read_digits(*toa, digits, digits.len() * 2),
        None => Address(String::new()),
    };
    Ok((address, sc_len))
}

impl Submit {
    /// Decode the hexadecimal PDU of `AT+CMGS=<length>`: the SC address,
    /// then the TPDU. Returns the message and the TPDU's length in octets
    /// (what `<length>` must say, 27.005 §3.5.1).
    pub fn decode(hex: &str) -> Result<(Submit, usize), PduError> {
        let bytes = from_hex(hex)?;
        let (service_centre, sc_len) = service_centre(&bytes)?;
        let tpdu = &bytes[1 + sc_len..];
        let mut r = Reader { bytes: tpdu, at: 0 };
        let first = r.byte("first octet")?;
        if first & 0x03 != 0x01 {
            return Err(PduError::NotSubmit(first & 0x03));
        }
        let reference = r.byte("TP-MR")?;
        let destination = r.tp_address("TP-DA")?;
        let pid = r.byte("TP-PID")?;
        let dcs = r.byte("TP-DCS")?;
        // TP-VPF (bits 3-4): none, enhanced (7), relative (1), absolute (7).
        match (first >> 3) & 0x03 {
            0 => {}
            2 => {
                r.take(1, "TP-VP")?;
            }
            _ => {
                r.take(7, "TP-VP")?;
            }
        }
        let udl = r.byte("TP-UDL")? as usize;
        let text = read_user_data(dcs, first & 0x40 != 0, udl, r.rest())?;
        let submit =
            Submit { service_centre, reference, destination, status_report: first & 0x20 != 0, pid, dcs, text };
        Ok((submit, tpdu.len()))
    }

    /// Encode (relative validity period 167 = one day, as `AT+CSMP=17,167`):
    /// the hexadecimal PDU and the TPDU length.
    pub fn encode(&self) -> Result<(String, usize), PduError> {
        let mut out = Vec::new();
        self.service_centre.write_sc(&mut out)?;
        let sc_len = out.len();
        out.push(0x11 | if self.status_report { 0x20 } else { 0 });
        out.push(self.reference);
        self.destination.write_tp(&mut out)?;
        let (dcs, udl, ud) = write_user_data(&self.text)?;
        out.extend_from_slice(&[self.pid, dcs, 167, udl]);
        out.extend(ud);
        Ok((to_hex(&out), out.len() - sc_len))
    }
}

/// An SMS-DELIVER (23.040 §9.2.2.1), as the modem shows a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliver {
    pub service_centre: Address,
    /// TP-OA.
    pub originator: Address,
    pub pid: u8,
    /// TP-SCTS.
    pub timestamp: Timestamp,
    pub text: String,
}

impl Deliver {
    /// The hexadecimal PDU (SC address first) and the TPDU length.
    pub fn encode(&self) -> Result<(String, usize), PduError> {
        let mut out = Vec::new();
        self.service_centre.write_sc(&mut out)?;
        let sc_len = out.len();
        // TP-MTI 00, TP-MMS set: no more messages are waiting.
        out.push(0x04);
        self.originator.write_tp(&mut out)?;
        let (dcs, udl, ud) = write_user_data(&self.text)?;
        out.push(self.pid);
        out.push(dcs);
        self.timestamp.write(&mut out);
        out.push(udl);
        out.extend(ud);
        Ok((to_hex(&out), out.len() - sc_len))
    }

    /// Decode a hexadecimal SMS-DELIVER PDU (SC address first).
    pub fn decode(hex: &str) -> Result<Deliver, PduError> {
        let bytes = from_hex(hex)?;
        let (service_centre, sc_len) = service_centre(&bytes)?;
        let mut r = Reader { bytes: &bytes[1 + sc_len..], at: 0 };
        let first = r.byte("first octet")?;
        if first & 0x03 != 0x00 {
            return Err(PduError::NotDeliver(first & 0x03));
        }
        let originator = r.tp_address("TP-OA")?;
        let pid = r.byte("TP-PID")?;
        let dcs = r.byte("TP-DCS")?;
        let timestamp = Timestamp::read(r.take(7, "TP-SCTS")?);
        let udl = r.byte("TP-UDL")? as usize;
        let text = read_user_data(dcs, first & 0x40 != 0, udl, r.rest())?;
        Ok(Deliver { service_centre, originator, pid, timestamp, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packs_hello_as_23_038_shows() {
        // "hellohello" is the classic example: E8329BFD4697D9EC37.
        let septets = gsm7_encode("hellohello").unwrap();
        assert_eq!(to_hex(&pack_septets(&septets, 0)), "E8329BFD4697D9EC37");
    }

    #[test]
    fn extension_characters_take_two_septets() {
        assert_eq!(gsm7_encode("€[").unwrap(), vec![0x1B, 0x65, 0x1B, 0x3C]);
        assert_eq!(gsm7_decode(&[0x1B, 0x65, 0x1B, 0x3C]), "€[");
        assert_eq!(gsm7_encode("ж"), Err(PduError::NotGsm7('ж')));
    }

    #[test]
    fn decodes_a_submit_as_python_gsmmodem_writes_it() {
        // encodeSmsSubmitPdu('+33612345678', 'hello', reference=0): no SC
        // address, SRR set, no validity period.
        let (m, len) = Submit::decode("0021000B913316325476F8000005E8329BFD06").unwrap();
        assert_eq!(len, 18);
        assert_eq!(m.destination, Address("+33612345678".into()));
        assert_eq!(m.text, "hello");
        assert!(m.status_report);
        assert_eq!(m.service_centre, Address(String::new()));
    }

    #[test]
    fn rejects_what_is_not_a_submit() {
        assert_eq!(Submit::decode("zz"), Err(PduError::NotHex));
        assert_eq!(Submit::decode("0004"), Err(PduError::NotSubmit(0)));
        assert!(matches!(Submit::decode("0011000B9133"), Err(PduError::Truncated(_))));
    }

    #[test]
    fn encodes_a_deliver_with_its_time_stamp() {
        let d = Deliver {
            service_centre: Address("+15555550100".into()),
            originator: Address("+33612345678".into()),
            pid: 0,
            timestamp: Timestamp { year: 26, month: 12, day: 2, hour: 6, minute: 30, second: 5, quarters: -8 },
            text: "hello".into(),
        };
        let (hex, len) = d.encode().unwrap();
        assert_eq!(hex, "07915155550501F0040B913316325476F800006221206003508805E8329BFD06");
        assert_eq!(len, 24);
        assert_eq!(Deliver::decode(&hex).unwrap(), d);
        assert_eq!(d.timestamp.text(), "26/12/02,06:30:05-08");
        assert_eq!(Timestamp::parse_text("26/12/02,06:30:05-08"), Some(d.timestamp));
    }

    #[test]
    fn ucs2_when_the_text_is_not_gsm7() {
        let s = Submit {
            service_centre: Address(String::new()),
            reference: 7,
            destination: Address("0612345678".into()),
            status_report: false,
            pid: 0,
            dcs: 0,
            text: "привет".into(),
        };
        let (hex, _) = s.encode().unwrap();
        let (back, _) = Submit::decode(&hex).unwrap();
        assert_eq!(back.text, "привет");
        assert_eq!(back.dcs, 0x08);
    }

    fn gsm7_text() -> impl Strategy<Value = String> {
        let chars: Vec<char> =
            DEFAULT.iter().copied().filter(|&c| c != '\u{1b}').chain(EXTENSION.iter().map(|e| e.1)).collect();
        proptest::collection::vec(proptest::sample::select(chars), 0..70).prop_map(|v| v.into_iter().collect())
    }

    fn number() -> impl Strategy<Value = String> {
        ("[+]?", "[0-9]{1,15}").prop_map(|(p, d)| format!("{p}{d}"))
    }

    proptest! {
        #[test]
        fn septets_round_trip(septets in proptest::collection::vec(0u8..128, 0..200), fill in 0usize..7) {
            let packed = pack_septets(&septets, fill);
            prop_assert_eq!(unpack_septets(&packed, septets.len(), fill), septets);
        }

        #[test]
        fn gsm7_round_trip(text in gsm7_text()) {
            prop_assert_eq!(gsm7_decode(&gsm7_encode(&text).unwrap()), text);
        }

        #[test]
        fn submit_round_trip(text in gsm7_text(), to in number(), mr in any::<u8>(), srr in any::<bool>()) {
            let s = Submit { service_centre: Address(String::new()), reference: mr, destination: Address(to), status_report: srr, pid: 0, dcs: 0, text };
            let (hex, len) = s.encode().unwrap();
            let (back, back_len) = Submit::decode(&hex).unwrap();
            prop_assert_eq!(back_len, len);
            prop_assert_eq!(back, s);
        }

        #[test]
        fn deliver_round_trip(text in "\\PC{0,60}", from in number(), q in -48i8..=56) {
            let d = Deliver {
                service_centre: Address("+15555550100".into()),
                originator: Address(from),
                pid: 0,
                timestamp: Timestamp { year: 26, month: 1, day: 31, hour: 23, minute: 59, second: 58, quarters: q },
                text,
            };
            // Texts beyond one message are refused, never truncated.
            match d.encode() {
                Ok((hex, _)) => prop_assert_eq!(Deliver::decode(&hex).unwrap(), d),
                Err(e) => prop_assert!(matches!(e, PduError::TooLong(_))),
            }
        }

        #[test]
        fn decoding_junk_never_panics(hex in "[0-9A-F]{0,120}") {
            let _ = Submit::decode(&hex);
            let _ = Deliver::decode(&hex);
        }
    }
}
