//! Short messages (3GPP TS 27.005) at the level host libraries use them:
//! the message format (`+CMGF`), service centre (`+CSCA`), text-mode
//! parameters (`+CSMP`), indications (`+CNMI`, `+CMTI`, `+CMT`), storage
//! (`+CPMS`), and sending, listing, reading and deleting (`+CMGS`, `+CMGL`,
//! `+CMGR`, `+CMGD`), in text and PDU mode. PDUs are built and read by
//! [`crate::pdu`]. Sent messages go to the simulated service centre (logged,
//! kept in [`super::super::radio::SmsSettings::sent`]); incoming ones come
//! from the `sms` emulator control and are stored on the SIM (the flash).

use std::time::Instant;

use crate::at::codes::CmsError;
use crate::at::command::{split_args, Form};
use crate::control::SimState;
use crate::emulator::flash::{SmsStatus, StoredSms};
use crate::emulator::radio::SentSms;
use crate::emulator::{identity, ControlError, Error, Mode, Modem, Outcome, Timed, STEP};
use crate::pdu::{self, Address, Deliver, Submit};

/// Messages the emulated SIM holds (a typical SIM has room for 10 to 50).
pub const CAPACITY: usize = 20;

/// The storages `AT+CPMS=?` offers, as a Q24x6 lists them: <mem1> may be the
/// SIM, broadcast or status-report storage, <mem2> the SIM only.
const MEM1: [&str; 3] = ["SM", "BM", "SR"];
const MEM2: [&str; 1] = ["SM"];

/// Longest input accepted after the `> ` prompt (a PDU of 176 octets is 352
/// hexadecimal digits; a text of 160 characters, escapes included, less).
const ENTRY_LIMIT: usize = 400;

fn sms_error(e: CmsError) -> Outcome {
    Outcome::Error(Error::Sms(e))
}

impl Modem {
    /// The SMS commands; `None` when `name` is not one of them.
    pub(crate) fn sms_command(&mut self, name: &str, form: Form<'_>, now: Instant) -> Option<Outcome> {
        let outcome = match (name, form) {
            ("CMGF", Form::Read) => self.info(&format!("+CMGF: {}", u8::from(self.radio.sms.text_mode))),
            ("CMGF", Form::Test) => self.info("+CMGF: (0-1)"),
            ("CMGF", Form::Set(v)) => match v.trim() {
                "0" | "1" => {
                    self.radio.sms.text_mode = v.trim() == "1";
                    Outcome::Continue
                }
                _ => sms_error(CmsError::OperationNotAllowed),
            },

            ("CSCA", Form::Read) => {
                let sca = self.flash.stored.sms.service_centre.clone();
                let toa = Address(sca.clone()).toa();
                self.info(&format!("+CSCA: \"{sca}\",{toa}"))
            }
            ("CSCA", Form::Test) => Outcome::Continue,
            ("CSCA", Form::Set(v)) => match split_args(v).ok().as_deref() {
                Some([number, rest @ ..])
                    if number.quoted
                        && rest.len() <= 1
                        && number.text.trim_start_matches('+').bytes().all(|b| b.is_ascii_digit())
                        && number.text.len() <= 21 =>
                {
                    self.flash.stored.sms.service_centre = number.text.clone();
                    self.commit()
                }
                _ => sms_error(CmsError::OperationNotAllowed),
            },

            ("CSMP", Form::Read) => {
                let [fo, vp, pid, dcs] = self.radio.sms.csmp;
                self.info(&format!("+CSMP: {fo},{vp},{pid},{dcs}"))
            }
            ("CSMP", Form::Test) => Outcome::Continue,
            ("CSMP", Form::Set(v)) => match numbers(v, 4) {
                Some(values) => {
                    for (i, n) in values.into_iter().enumerate() {
                        if let Some(n) = n {
                            self.radio.sms.csmp[i] = n;
                        }
                    }
                    Outcome::Continue
                }
                None => sms_error(CmsError::OperationNotAllowed),
            },

            ("CNMI", Form::Read) => {
                let c = self.radio.sms.cnmi;
                self.info(&format!("+CNMI: {},{},{},{},{}", c[0], c[1], c[2], c[3], c[4]))
            }
            ("CNMI", Form::Test) => self.info("+CNMI: (0-3),(0-3),(0-3),(0-2),(0-1)"),
            ("CNMI", Form::Set(v)) => self.cnmi(v, now),

            ("CPMS", Form::Read) => {
                let [m1, m2] = self.radio.sms.memory;
                let (u1, t1) = self.usage(m1);
                let (u2, t2) = self.usage(m2);
                self.info(&format!("+CPMS: \"{m1}\",{u1},{t1},\"{m2}\",{u2},{t2}"))
            }
            ("CPMS", Form::Test) => self.info("+CPMS: ((\"SM\",\"BM\",\"SR\"),(\"SM\"))"),
            ("CPMS", Form::Set(v)) => self.cpms(v),

            ("CMGS", Form::Set(v)) => self.cmgs(v),
            ("CMGS", Form::Test) => Outcome::Continue,
            ("CMGL", Form::Action) => self.cmgl(None),
            ("CMGL", Form::Set(v)) => self.cmgl(Some(v)),
            ("CMGL", Form::Test) => {
                if self.radio.sms.text_mode {
                    self.info("+CMGL: (\"REC UNREAD\",\"REC READ\",\"STO UNSENT\",\"STO SENT\",\"ALL\")")
                } else {
                    self.info("+CMGL: (0-4)")
                }
            }
            ("CMGR", Form::Set(v)) => self.cmgr(v),
            ("CMGR", Form::Test) => Outcome::Continue,
            ("CMGD", Form::Set(v)) => self.cmgd(v),
            ("CMGD", Form::Test) => self.info(&format!("+CMGD: (1-{CAPACITY}),(0-4)")),
            _ => return None,
        };
        Some(outcome)
    }

    /// Storage commands need the SIM (27.005 §3.2.5: 310, 311, 313).
    fn sim_for_sms(&self) -> Result<(), Outcome> {
        match self.radio.sim {
            SimState::Ready => Ok(()),
            SimState::Absent => Err(sms_error(CmsError::SimNotInserted)),
            SimState::PinRequired | SimState::PukRequired => Err(sms_error(CmsError::SimPinRequired)),
            SimState::Failure => Err(sms_error(CmsError::SimFailure)),
        }
    }

    /// (used, total) of a storage: only the SIM holds messages here.
    fn usage(&self, memory: &str) -> (usize, usize) {
        if memory == "SM" {
            (self.flash.stored.sms.messages.len(), CAPACITY)
        } else {
            (0, 0)
        }
    }

    /// `AT+CNMI=<mode>[,<mt>[,<bm>[,<ds>[,<bfr>]]]]` (27.005 §3.4.1).
    fn cnmi(&mut self, args: &str, now: Instant) -> Outcome {
        let limits = [3, 3, 3, 2, 1];
        let Some(values) = numbers(args, 5) else { return sms_error(CmsError::OperationNotAllowed) };
        if values.iter().zip(limits).any(|(v, max)| v.is_some_and(|v| v > max)) || values[0].is_none() {
            return sms_error(CmsError::OperationNotAllowed);
        }
        for (i, v) in values.into_iter().enumerate() {
            if let Some(v) = v {
                self.radio.sms.cnmi[i] = v;
            }
        }
        let [mode, .., bfr] = self.radio.sms.cnmi;
        if mode > 0 {
            let held = std::mem::take(&mut self.radio.sms.held);
            if bfr == 0 && !held.is_empty() {
                // The buffer is flushed after the OK of this command.
                let mut bytes = Vec::new();
                let f = self.format();
                for line in held {
                    f.gsm_info(&mut bytes, &line);
                }
                self.schedule(now + STEP, Timed::Emit(bytes));
            }
        }
        Outcome::Continue
    }

    /// `AT+CPMS=<mem1>[,<mem2>]` (27.005 §3.2.2): answers the usage.
    fn cpms(&mut self, args: &str) -> Outcome {
        let Ok(parts) = split_args(args) else { return sms_error(CmsError::OperationNotAllowed) };
        if parts.is_empty() || parts.len() > 2 {
            return sms_error(CmsError::OperationNotAllowed);
        }
        let mut chosen = self.radio.sms.memory;
        for (i, (arg, allowed)) in parts.iter().zip([&MEM1[..], &MEM2[..]]).enumerate() {
            match allowed.iter().find(|m| arg.text.eq_ignore_ascii_case(m)) {
                Some(m) => chosen[i] = m,
                None => return sms_error(CmsError::OperationNotAllowed),
            }
        }
        self.radio.sms.memory = chosen;
        let (u1, t1) = self.usage(chosen[0]);
        let (u2, t2) = self.usage(chosen[1]);
        self.info(&format!("+CPMS: {u1},{t1},{u2},{t2}"))
    }

    /// `AT+CMGS="<da>"[,<toda>]` (text) or `AT+CMGS=<length>` (PDU): the
    /// `<CR><LF>> ` prompt, then the message up to Ctrl-Z (27.005 §3.5.1,
    /// §4.3).
    fn cmgs(&mut self, args: &str) -> Outcome {
        if let Err(e) = self.sim_for_sms() {
            return e;
        }
        let Ok(parts) = split_args(args) else { return self.mode_error() };
        let (destination, length) = match (self.radio.sms.text_mode, parts.as_slice()) {
            (true, [da, rest @ ..]) if da.quoted && !da.text.is_empty() && rest.len() <= 1 => {
                if !Address(da.text.clone()).is_number() {
                    return sms_error(CmsError::InvalidTextParameter);
                }
                (Some(da.text.clone()), 0)
            }
            (false, [len]) if !len.quoted => match len.text.parse::<usize>() {
                // One TPDU is at most 164 octets (23.040 §9.2.2.2).
                Ok(n) if (7..=164).contains(&n) => (None, n),
                _ => return sms_error(CmsError::InvalidPduParameter),
            },
            _ => return self.mode_error(),
        };
        self.out.extend_from_slice(b"\r\n> ");
        self.set_mode(Mode::SmsEntry { destination, length, text: Vec::new() }, "AT+CMGS prompts");
        Outcome::Deferred
    }

    fn mode_error(&self) -> Outcome {
        sms_error(if self.radio.sms.text_mode { CmsError::InvalidTextParameter } else { CmsError::InvalidPduParameter })
    }

    /// One byte after the `> ` prompt. Ctrl-Z sends, ESC cancels (27.005
    /// §3.5.1); in text mode each `<CR>` is part of the text and is answered
    /// with a new prompt.
    pub(crate) fn sms_entry_byte(&mut self, b: u8) {
        let Mode::SmsEntry { destination, length, text } = &mut self.mode else { return };
        let text_mode = destination.is_some();
        match b {
            0x1a => {
                let (destination, length, text) = (destination.take(), *length, std::mem::take(text));
                self.set_mode(Mode::Command, "Ctrl-Z sends the message");
                let outcome = self.send_sms(destination, length, &text);
                self.conclude(outcome);
            }
            0x1b => {
                self.set_mode(Mode::Command, "ESC cancels the message");
                self.conclude(Outcome::Continue);
            }
            0x08 | 0x7f => {
                text.pop();
                if self.settings.echo {
                    self.out.push(b);
                }
            }
            b'\r' if text_mode => {
                if text.len() < ENTRY_LIMIT {
                    text.push(b'\r');
                }
                self.out.extend_from_slice(b"\r\n> ");
            }
            // Line ends around a PDU are not part of it.
            b'\r' | b'\n' if !text_mode => {}
            _ => {
                if text.len() < ENTRY_LIMIT {
                    text.push(b);
                }
                if self.settings.echo {
                    self.out.push(b);
                }
            }
        }
    }

    /// Hand the message to the service centre: `+CMGS: <mr>` (27.005 §3.5.1).
    fn send_sms(&mut self, destination: Option<String>, length: usize, entry: &[u8]) -> Outcome {
        let entry = String::from_utf8_lossy(entry).into_owned();
        let (to, text, service_centre, pdu) = match destination {
            Some(to) => {
                // Text mode: the default alphabet, one message (27.005 §3.1 <text>).
                match pdu::gsm7_encode(&entry) {
                    Ok(septets) if septets.len() <= 160 => {}
                    _ => return sms_error(CmsError::InvalidTextParameter),
                }
                (to, entry, String::new(), None)
            }
            None => match Submit::decode(&entry) {
                Ok((submit, tpdu_length)) if tpdu_length == length => {
                    (submit.destination.0, submit.text, submit.service_centre.0, Some(entry.trim().to_string()))
                }
                Ok((_, tpdu_length)) => {
                    tracing::debug!(declared = length, actual = tpdu_length, "AT+CMGS length does not match the PDU");
                    return sms_error(CmsError::InvalidPduParameter);
                }
                Err(e) => {
                    tracing::debug!("AT+CMGS PDU: {e}");
                    return sms_error(CmsError::InvalidPduParameter);
                }
            },
        };
        let service_centre =
            if service_centre.is_empty() { self.flash.stored.sms.service_centre.clone() } else { service_centre };
        if service_centre.is_empty() {
            return sms_error(CmsError::ScAddressUnknown);
        }
        if !self.radio.creg_stat().is_registered() {
            return sms_error(CmsError::NoNetworkService);
        }
        let reference = self.radio.sms.next_reference;
        self.radio.sms.next_reference = reference.wrapping_add(1);
        tracing::info!(%to, %text, reference, %service_centre, "SMS to the service centre");
        self.radio.sms.sent.push(SentSms { to, text, reference, service_centre, pdu });
        self.info(&format!("+CMGS: {reference}"))
    }

    /// The `sms` control: the service centre delivers a message; it is
    /// stored and announced per `+CNMI` (27.005 §3.4.1): <mt> 1 `+CMTI`,
    /// <mt> 2 routed to the host with `+CMT` (not stored), <mt> 0 stored
    /// silently; with <mode> 0 the indication is held until <mode> 1-3.
    pub(crate) fn receive_sms(&mut self, from: &str, text: &str, _now: Instant) -> Result<(), ControlError> {
        if !self.radio.creg_stat().is_registered() {
            return Err(ControlError::Sms("the unit is not registered: no message can reach it".into()));
        }
        let timestamp = identity::NETWORK_TIME;
        let deliver = Deliver {
            service_centre: Address(self.flash.stored.sms.service_centre.clone()),
            originator: Address(from.to_string()),
            pid: 0,
            timestamp,
            text: text.to_string(),
        };
        let (pdu_hex, pdu_length) = deliver.encode().map_err(|e| ControlError::Sms(e.to_string()))?;
        let [mode, mt, ..] = self.radio.sms.cnmi;
        let f = self.format();
        if mt == 2 {
            // Routed directly (no message class: mt 2 routes it, 27.005 §3.4.1).
            let (header, body) = if self.radio.sms.text_mode {
                (format!("+CMT: \"{from}\",,\"{}\"", timestamp.text()), text.to_string())
            } else {
                (format!("+CMT: ,{pdu_length}"), pdu_hex)
            };
            if mode == 0 {
                return Err(ControlError::Sms("+CNMI mode 0 with mt 2: the message would be lost".into()));
            }
            f.gsm_info(&mut self.out, &header);
            self.out.extend_from_slice(body.as_bytes());
            self.out.extend_from_slice(b"\r\n");
            return Ok(());
        }
        let messages = &mut self.flash.stored.sms.messages;
        let Some(index) = (1..=CAPACITY as u16).find(|i| messages.iter().all(|m| m.index != *i)) else {
            return Err(ControlError::Sms(format!("the SIM's {CAPACITY} message locations are full")));
        };
        messages.push(StoredSms {
            index,
            status: SmsStatus::RecUnread,
            number: from.to_string(),
            timestamp: timestamp.text(),
            text: text.to_string(),
        });
        messages.sort_by_key(|m| m.index);
        if let Err(e) = self.flash.commit() {
            tracing::error!("parameter store: {e}");
        }
        tracing::info!(%from, %text, index, "SMS from the service centre, stored");
        if mt == 1 || mt == 3 {
            let line = format!("+CMTI: \"SM\",{index}");
            if mode == 0 {
                self.radio.sms.held.push(line);
            } else {
                f.gsm_info(&mut self.out, &line);
            }
        }
        Ok(())
    }

    /// The header and data lines of one stored message, in the current mode.
    fn show(&self, m: &StoredSms, list: bool) -> (String, String) {
        let received = matches!(m.status, SmsStatus::RecUnread | SmsStatus::RecRead);
        if self.radio.sms.text_mode {
            let stat = m.status.name();
            let head = if list { format!("+CMGL: {},\"{stat}\"", m.index) } else { format!("+CMGR: \"{stat}\"") };
            let scts = if received { format!("\"{}\"", m.timestamp) } else { String::new() };
            (format!("{head},\"{}\",,{scts}", m.number), m.text.clone())
        } else {
            let deliver = Deliver {
                service_centre: Address(self.flash.stored.sms.service_centre.clone()),
                originator: Address(m.number.clone()),
                pid: 0,
                timestamp: pdu::Timestamp::parse_text(&m.timestamp).unwrap_or(identity::NETWORK_TIME),
                text: m.text.clone(),
            };
            // Stored messages were encodable when stored.
            let (hex, len) = deliver.encode().unwrap_or_default();
            let stat = m.status.number();
            let head = if list { format!("+CMGL: {},{stat},,{len}", m.index) } else { format!("+CMGR: {stat},,{len}") };
            (head, hex)
        }
    }

    /// `AT+CMGL[=<stat>]` (27.005 §3.4.2): listed unread messages become read.
    fn cmgl(&mut self, args: Option<&str>) -> Outcome {
        if let Err(e) = self.sim_for_sms() {
            return e;
        }
        let wanted = match args.map(|a| split_args(a).ok()) {
            None => Some(SmsStatus::RecUnread),
            Some(Some(parts)) if parts.len() == 1 => {
                let a = &parts[0];
                match (self.radio.sms.text_mode, a.quoted) {
                    (true, true) if a.text.eq_ignore_ascii_case("ALL") => None,
                    (true, true) => match SmsStatus::ALL.iter().find(|s| a.text.eq_ignore_ascii_case(s.name())) {
                        Some(s) => Some(*s),
                        None => return sms_error(CmsError::InvalidTextParameter),
                    },
                    (false, false) if a.text == "4" => None,
                    (false, false) => match SmsStatus::ALL.iter().find(|s| a.text == s.number().to_string()) {
                        Some(s) => Some(*s),
                        None => return sms_error(CmsError::InvalidPduParameter),
                    },
                    _ => return self.mode_error(),
                }
            }
            _ => return self.mode_error(),
        };
        if self.radio.sms.memory[0] != "SM" {
            return Outcome::Continue;
        }
        let listed: Vec<StoredSms> =
            self.flash.stored.sms.messages.iter().filter(|m| wanted.is_none_or(|w| m.status == w)).cloned().collect();
        for m in &listed {
            let (head, data) = self.show(m, true);
            self.format().gsm_info(&mut self.out, &head);
            self.out.extend_from_slice(data.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        self.mark_read(listed.iter().map(|m| m.index).collect());
        Outcome::Continue
    }

    /// `AT+CMGR=<index>` (27.005 §3.4.3): an unread message becomes read.
    fn cmgr(&mut self, args: &str) -> Outcome {
        if let Err(e) = self.sim_for_sms() {
            return e;
        }
        let Ok(index) = args.trim().parse::<u16>() else { return sms_error(CmsError::InvalidMemoryIndex) };
        let found = if self.radio.sms.memory[0] == "SM" {
            self.flash.stored.sms.messages.iter().find(|m| m.index == index).cloned()
        } else {
            None
        };
        let Some(m) = found else { return sms_error(CmsError::InvalidMemoryIndex) };
        let (head, data) = self.show(&m, false);
        self.format().gsm_info(&mut self.out, &head);
        self.out.extend_from_slice(data.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.mark_read(vec![index]);
        Outcome::Continue
    }

    fn mark_read(&mut self, indexes: Vec<u16>) {
        let mut changed = false;
        for m in &mut self.flash.stored.sms.messages {
            if indexes.contains(&m.index) && m.status == SmsStatus::RecUnread {
                m.status = SmsStatus::RecRead;
                changed = true;
            }
        }
        if changed {
            if let Err(e) = self.flash.commit() {
                tracing::error!("parameter store: {e}");
            }
        }
    }

    /// `AT+CMGD=<index>[,<delflag>]` (27.005 §3.5.4): <delflag> 1 deletes
    /// every read message, 2 read and sent, 3 read, sent and unsent, 4 all
    /// (the index is then ignored). An empty location answers 321.
    fn cmgd(&mut self, args: &str) -> Outcome {
        if let Err(e) = self.sim_for_sms() {
            return e;
        }
        let Some(values) = numbers(args, 2) else { return sms_error(CmsError::OperationNotAllowed) };
        let (Some(index), flag) = (values[0], values[1].unwrap_or(0)) else {
            return sms_error(CmsError::InvalidMemoryIndex);
        };
        let messages = &mut self.flash.stored.sms.messages;
        let before = messages.len();
        use SmsStatus::*;
        match flag {
            0 => {
                if !messages.iter().any(|m| m.index == u16::from(index)) {
                    return sms_error(CmsError::InvalidMemoryIndex);
                }
                messages.retain(|m| m.index != u16::from(index));
            }
            1 => messages.retain(|m| m.status != RecRead),
            2 => messages.retain(|m| !matches!(m.status, RecRead | StoSent)),
            3 => messages.retain(|m| m.status == RecUnread),
            4 => messages.clear(),
            _ => return sms_error(CmsError::OperationNotAllowed),
        }
        if messages.len() != before {
            return self.commit();
        }
        Outcome::Continue
    }
}

/// Up to `max` optional numbers 0..=255 separated by commas (`17,167,,0`).
fn numbers(args: &str, max: usize) -> Option<Vec<Option<u8>>> {
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    if parts.len() > max {
        return None;
    }
    let mut out = vec![None; max];
    for (i, p) in parts.iter().enumerate() {
        if !p.is_empty() {
            out[i] = Some(p.parse::<u8>().ok()?);
        }
    }
    Some(out)
}
