//! The GSM core commands hosts send around the IP stack: V.250 basic commands
//! and the 3GPP TS 27.007 / Wavecom extended commands used by the manual's
//! examples (App. A p.44: `AT+WOPEN`, `AT+CPIN`, `AT+CGREG`) and by public
//! client code for these units (`ATZE0`, `AT+CMEE=1`, `AT+CSQ`, `AT+CGATT=1`,
//! `AT+CGDCONT`, `AT+CFUN`, `AT+WIND`).

use std::time::Instant;

use crate::at::codes::CmeError;
use crate::at::command::{split_args, Command, Form};
use crate::at::response::Final;
use crate::control::SimState;
use crate::emulator::flash::{GprsClass, Profile};
use crate::emulator::identity;
use crate::emulator::{Error, Modem, Outcome, Timed, STEP};

/// Bit rates `AT+IPR` accepts (0 = autobaud).
const RATES: [u32; 11] = [0, 300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];

/// The PIN the emulated SIM accepts when `emulator: {sim: pin-required}`.
pub const SIM_PIN: &str = "0000";

/// `AT+CLAC` (27.007 §8.37): the commands of the GSM core this model answers,
/// one per line with the `AT` prefix. Host libraries read it to pick their
/// dialect (python-gsmmodem treats `+WIND` as "a Wavecom core").
pub const COMMANDS: &[&str] = &[
    "AT&C",
    "AT&D",
    "AT&F",
    "AT&W",
    "ATA",
    "ATD",
    "ATE",
    "ATH",
    "ATI",
    "ATQ",
    "ATS0",
    "ATV",
    "ATZ",
    "AT+CCED",
    "AT+CFUN",
    "AT+CGATT",
    "AT+CGCLASS",
    "AT+CGDCONT",
    "AT+CGMI",
    "AT+CGMM",
    "AT+CGMR",
    "AT+CGREG",
    "AT+CGSN",
    "AT+CIMI",
    "AT+CLAC",
    "AT+CLIP",
    "AT+CMEE",
    "AT+CMGD",
    "AT+CMGF",
    "AT+CMGL",
    "AT+CMGR",
    "AT+CMGS",
    "AT+CNMI",
    "AT+CNUM",
    "AT+COPS",
    "AT+CPIN",
    "AT+CPMS",
    "AT+CPOF",
    "AT+CRC",
    "AT+CREG",
    "AT+CSCA",
    "AT+CSCS",
    "AT+CSMP",
    "AT+CSQ",
    "AT+IFC",
    "AT+IPR",
    "AT+WIND",
    "AT+WOPEN",
];

/// Character sets of `AT+CSCS=?` on a Q24x6 (Wavecom AT guide, +CSCS).
const CHARSETS: [&str; 4] = ["GSM", "PCCP437", "CUSTOM", "HEX"];

impl Modem {
    /// An error for a bad argument of an extended command: `+CME ERROR: 3`
    /// with `AT+CMEE=1`, `ERROR` otherwise.
    fn bad_arg(&self) -> Outcome {
        Outcome::Error(Error::Gsm(CmeError::OperationNotAllowed))
    }

    /// One V.250 basic command (`E1`, `&W`, `S0=2`, `D…`).
    pub(crate) fn basic(&mut self, cmd: &Command<'_>) -> Outcome {
        let name = cmd.name.as_str();
        if cmd.form == Form::Malformed {
            return Outcome::Error(Error::Plain);
        }
        if name == "D" {
            // Dialling takes the rest of the line (V.250 §6.3.1).
            return self.dial(cmd.tail);
        }
        if let Some(reg) = name.strip_prefix('S') {
            return match cmd.form {
                Form::Read => self.s_read(reg),
                Form::Set(value) => self.s_set(reg, value),
                _ => Outcome::Error(Error::Plain),
            };
        }
        // An overlong number reads as 0, as the unit's parser does.
        let n: u32 = match cmd.form {
            Form::Set(digits) => digits.parse().unwrap_or(0),
            _ => 0,
        };
        match name {
            "E" if n <= 1 => {
                self.settings.echo = n == 1;
                Outcome::Continue
            }
            "V" if n <= 1 => {
                self.settings.verbose = n == 1;
                Outcome::Continue
            }
            "Q" if n <= 1 => {
                self.settings.quiet = n == 1;
                Outcome::Continue
            }
            "Z" if n == 0 => {
                self.settings = self.flash.stored.profile.clone();
                Outcome::Continue
            }
            "&F" if n == 0 => {
                self.settings = Profile::default();
                Outcome::Continue
            }
            "&W" if n == 0 => {
                self.flash.stored.profile = self.settings.clone();
                match self.commit() {
                    Outcome::Continue => Outcome::Continue,
                    _ => Outcome::Error(Error::Plain),
                }
            }
            "I" => self.identify(n),
            "H" if n == 0 => {
                self.radio.call = None;
                self.radio.transparent_call = false;
                if let crate::emulator::radio::Session::Connected {
                    bearer: crate::emulator::radio::Bearer::Gsm, ..
                } = self.radio.session
                {
                    self.end_session();
                }
                Outcome::Continue
            }
            "A" => {
                // The GSM core answers a data call in transparent mode; the
                // IP stack answers with AT#ACCEPT (p.12).
                if self.radio.call.take().is_some() {
                    self.radio.transparent_call = true;
                    Outcome::Final(Final::Connect(9600))
                } else {
                    Outcome::Final(Final::NoCarrier)
                }
            }
            "&C" if n <= 1 => {
                self.settings.dcd_mode = n as u8;
                Outcome::Continue
            }
            "&D" if n <= 2 => {
                self.settings.dtr_mode = n as u8;
                Outcome::Continue
            }
            // Accepted and without effect on this model, as on the unit.
            "&K" | "&S" | "X" | "L" | "M" => Outcome::Continue,
            _ => Outcome::Error(Error::Plain),
        }
    }

    fn identify(&mut self, n: u32) -> Outcome {
        let f = self.format();
        match n {
            0 => {
                f.gsm_info(&mut self.out, identity::MANUFACTURER);
                f.gsm_info(&mut self.out, identity::MODEL);
            }
            3 => f.gsm_info(&mut self.out, identity::REVISION),
            _ => return Outcome::Error(Error::Plain),
        }
        Outcome::Continue
    }

    fn s_read(&mut self, reg: &str) -> Outcome {
        match reg {
            "0" => {
                let text = format!("{:03}", self.settings.s0);
                self.format().gsm_info(&mut self.out, &text);
                Outcome::Continue
            }
            _ => Outcome::Error(Error::Plain),
        }
    }

    fn s_set(&mut self, reg: &str, value: &str) -> Outcome {
        match (reg, value.parse::<u16>()) {
            ("0", Ok(n)) if n <= 255 => {
                self.settings.s0 = n as u8;
                Outcome::Continue
            }
            _ => Outcome::Error(Error::Plain),
        }
    }

    /// `ATD`: outgoing calls other than the stack's are not modelled; a
    /// voice or data call to nowhere gets `NO CARRIER`.
    fn dial(&mut self, _number: &str) -> Outcome {
        if !self.radio.creg_stat().is_registered() {
            return Outcome::Final(Final::NoCarrier);
        }
        Outcome::Final(Final::NoCarrier)
    }

    /// One extended command (`+NAME…`).
    pub(crate) fn extended(&mut self, cmd: &Command<'_>, now: Instant) -> Outcome {
        let name = &cmd.name[1..];
        let form = cmd.form;
        if form == Form::Malformed {
            return Outcome::Error(Error::Plain);
        }
        let f = self.format();
        match (name, form) {
            ("CGMI", Form::Action) => self.info(identity::MANUFACTURER),
            ("CGMM" | "GMM", Form::Action) => self.info(identity::MODEL),
            ("CGMR" | "GMR", Form::Action) => self.info(identity::REVISION),
            ("CGSN" | "GSN", Form::Action) => self.info(identity::IMEI),
            ("CGMI" | "CGMM" | "GMM" | "CGMR" | "GMR" | "CGSN" | "GSN", Form::Test) => Outcome::Continue,

            // +WOPEN: start the IP stack application (ch. 1 "Open TCP/IP Stack").
            ("WOPEN", Form::Read) => self.info(&format!("+WOPEN: {}", self.flash.stored.wopen)),
            ("WOPEN", Form::Test) => self.info("+WOPEN: (0-1)"),
            ("WOPEN", Form::Set(v)) => match v.trim() {
                "0" | "1" => {
                    self.flash.stored.wopen = u8::from(v.trim() == "1");
                    if self.flash.stored.wopen == 0 {
                        self.end_session();
                    }
                    self.commit()
                }
                _ => self.bad_arg(),
            },

            ("CMEE", Form::Read) => self.info(&format!("+CMEE: {}", self.settings.cmee)),
            ("CMEE", Form::Test) => self.info("+CMEE: (0-1)"),
            ("CMEE", Form::Set(v)) => match v.trim() {
                "0" | "1" => {
                    self.settings.cmee = v.trim().parse().unwrap_or(0);
                    Outcome::Continue
                }
                _ => self.bad_arg(),
            },

            ("CPIN", Form::Read) => match self.radio.sim {
                SimState::Ready => self.info("+CPIN: READY"),
                SimState::PinRequired => self.info("+CPIN: SIM PIN"),
                SimState::PukRequired => self.info("+CPIN: SIM PUK"),
                SimState::Absent => Outcome::Error(Error::Gsm(CmeError::SimNotInserted)),
                SimState::Failure => Outcome::Error(Error::Gsm(CmeError::SimFailure)),
            },
            ("CPIN", Form::Set(v)) => match self.radio.sim {
                SimState::Absent => Outcome::Error(Error::Gsm(CmeError::SimNotInserted)),
                SimState::Failure => Outcome::Error(Error::Gsm(CmeError::SimFailure)),
                // Unblocking with the PUK is not modelled: the PIN alone is refused.
                SimState::PukRequired => Outcome::Error(Error::Gsm(CmeError::SimPukRequired)),
                // Public driver code treats `+CME ERROR: 3` as "PIN already entered".
                SimState::Ready => Outcome::Error(Error::Gsm(CmeError::OperationNotAllowed)),
                SimState::PinRequired => {
                    let pin = split_args(v).ok().and_then(|a| a.into_iter().next()).map(|a| a.text);
                    if pin.as_deref() == Some(SIM_PIN) {
                        self.radio.sim = SimState::Ready;
                        self.auto_attach();
                        self.report_registration();
                        Outcome::Continue
                    } else {
                        Outcome::Error(Error::Gsm(CmeError::IncorrectPassword))
                    }
                }
            },
            ("CPIN", Form::Test) => Outcome::Continue,

            ("CREG" | "CGREG", Form::Read) => {
                let (mode, stat) = if name == "CREG" {
                    (self.settings.creg, self.radio.creg_stat())
                } else {
                    (self.settings.cgreg, self.radio.cgreg_stat())
                };
                self.info(&format!("+{name}: {mode},{}", stat.stat()))
            }
            ("CREG" | "CGREG", Form::Test) => self.info(&format!("+{name}: (0-2)")),
            ("CREG" | "CGREG", Form::Set(v)) => match v.trim().parse::<u8>() {
                Ok(n) if n <= 2 => {
                    if name == "CREG" {
                        self.settings.creg = n;
                    } else {
                        self.settings.cgreg = n;
                    }
                    Outcome::Continue
                }
                _ => self.bad_arg(),
            },

            ("CSQ", Form::Action) => self.info(&format!("+CSQ: {},99", self.radio.rssi)),
            ("CSQ", Form::Test) => self.info("+CSQ: (0-31,99),(0-7,99)"),

            ("CGATT", Form::Read) => self.info(&format!("+CGATT: {}", u8::from(self.radio.attached))),
            ("CGATT", Form::Test) => self.info("+CGATT: (0-1)"),
            ("CGATT", Form::Set(v)) => match v.trim() {
                "1" => {
                    match self.radio.sim {
                        SimState::Absent => return Outcome::Error(Error::Gsm(CmeError::SimNotInserted)),
                        SimState::PinRequired => return Outcome::Error(Error::Gsm(CmeError::SimPinRequired)),
                        SimState::PukRequired => return Outcome::Error(Error::Gsm(CmeError::SimPukRequired)),
                        SimState::Failure => return Outcome::Error(Error::Gsm(CmeError::SimFailure)),
                        SimState::Ready => {}
                    }
                    if !self.radio.creg_stat().is_registered() || !self.radio.gprs_network.is_registered() {
                        return Outcome::Error(Error::Gsm(CmeError::NoNetworkService));
                    }
                    // A GSM-only class has no GPRS to attach to (27.007 §10.1.17).
                    if self.flash.stored.gprs_class == GprsClass::CC {
                        return self.bad_arg();
                    }
                    self.radio.attached = true;
                    // The unsolicited +CGREG follows the OK (drivers wait for it).
                    self.schedule_registration_report(now, false);
                    Outcome::Continue
                }
                "0" => {
                    self.radio.attached = false;
                    if let crate::emulator::radio::Session::Connected {
                        bearer: crate::emulator::radio::Bearer::Gprs,
                        ..
                    } = self.radio.session
                    {
                        self.end_session();
                    }
                    self.schedule_registration_report(now, false);
                    Outcome::Continue
                }
                _ => self.bad_arg(),
            },

            ("CGDCONT", Form::Read) => {
                let lines: Vec<String> = self
                    .flash
                    .stored
                    .contexts
                    .iter()
                    .map(|(cid, (kind, apn))| format!("+CGDCONT: {cid},\"{kind}\",\"{apn}\",\"0.0.0.0\",0,0"))
                    .collect();
                for l in lines {
                    f.gsm_info(&mut self.out, &l);
                }
                Outcome::Continue
            }
            ("CGDCONT", Form::Test) => self.info("+CGDCONT: (1-4),\"IP\",,,(0-1),(0-1)"),
            ("CGDCONT", Form::Set(v)) => self.cgdcont(v),

            ("CFUN", Form::Read) => self.info(&format!("+CFUN: {}", self.radio.cfun)),
            ("CFUN", Form::Test) => self.info("+CFUN: (0-1)"),
            ("CFUN", Form::Set(v)) => match v.trim() {
                "1" | "1,1" => {
                    // A restart of the GSM core: settings from the profile,
                    // session dropped, +WIND indications as the mask asks.
                    self.radio.cfun = 1;
                    self.settings = self.flash.stored.profile.clone();
                    self.end_session();
                    self.radio.attached = false;
                    self.radio.call = None;
                    self.schedule(now + STEP, Timed::Radio(crate::emulator::radio::Event::Ready));
                    Outcome::Continue
                }
                "0" => {
                    self.radio.cfun = 0;
                    self.radio.attached = false;
                    self.end_session();
                    // 27.007 §7.2: +CREG reports every change of registration.
                    self.schedule_registration_report(now, true);
                    Outcome::Continue
                }
                _ => self.bad_arg(),
            },

            // +CPOF: power the GSM part off (drivers send AT+CFUN=1,1 then
            // AT+CPOF=1 before cutting power). The core keeps answering AT
            // commands, like AT+CFUN=0; AT+CFUN=1 brings the radio back.
            ("CPOF", Form::Action) | ("CPOF", Form::Set("1")) => {
                self.radio.cfun = 0;
                self.end_session();
                self.radio.attached = false;
                self.schedule_registration_report(now, true);
                Outcome::Continue
            }
            ("WIND", Form::Read) => self.info(&format!("+WIND: {}", self.flash.stored.wind)),
            ("WIND", Form::Test) => self.info("+WIND: (0-4095)"),
            ("WIND", Form::Set(v)) => match v.trim().parse::<u32>() {
                Ok(n) if n <= 4095 => {
                    self.flash.stored.wind = n;
                    self.commit()
                }
                _ => self.bad_arg(),
            },

            ("IPR", Form::Read) => self.info(&format!("+IPR: {}", self.settings.ipr)),
            ("IPR", Form::Test) => self.info("+IPR: (0,300,600,1200,2400,4800,9600,19200,38400,57600,115200)"),
            ("IPR", Form::Set(v)) => match v.trim().parse::<u32>() {
                Ok(n) if RATES.contains(&n) => {
                    self.settings.ipr = n;
                    Outcome::Continue
                }
                _ => self.bad_arg(),
            },

            ("IFC", Form::Read) => self.info(&format!("+IFC: {},{}", self.settings.ifc.0, self.settings.ifc.1)),
            ("IFC", Form::Test) => self.info("+IFC: (0,2),(0,2)"),
            ("IFC", Form::Set(v)) => {
                let args = split_args(v).unwrap_or_default();
                let parts: Vec<&str> = args.iter().map(|a| if a.quoted { "\"" } else { a.text.as_str() }).collect();
                let ok = |s: &str| matches!(s, "0" | "2");
                match parts.as_slice() {
                    [a] if ok(a) => {
                        self.settings.ifc.0 = a.parse().unwrap_or(0);
                        Outcome::Continue
                    }
                    [a, b] if ok(a) && ok(b) => {
                        self.settings.ifc = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
                        Outcome::Continue
                    }
                    _ => self.bad_arg(),
                }
            }

            ("CLIP", Form::Read) => self.info(&format!("+CLIP: {},1", self.settings.clip)),
            ("CLIP", Form::Test) => self.info("+CLIP: (0-1)"),
            ("CRC", Form::Read) => self.info(&format!("+CRC: {}", self.settings.crc)),
            ("CRC", Form::Test) => self.info("+CRC: (0-1)"),
            ("CLIP" | "CRC", Form::Set(v)) => match v.trim() {
                "0" | "1" => {
                    let n = u8::from(v.trim() == "1");
                    if name == "CLIP" {
                        self.settings.clip = n;
                    } else {
                        self.settings.crc = n;
                    }
                    Outcome::Continue
                }
                _ => self.bad_arg(),
            },
            ("CIMI", Form::Action) => match self.sim_error() {
                Some(e) => e,
                None => self.info(identity::IMSI),
            },
            ("CIMI" | "CNUM" | "CLAC", Form::Test) => Outcome::Continue,
            ("CLAC", Form::Action) => {
                for c in COMMANDS {
                    f.gsm_info(&mut self.out, c);
                }
                Outcome::Continue
            }
            // 27.007 §7.1: the MSISDN the SIM holds.
            ("CNUM", Form::Action) => match self.sim_error() {
                Some(e) => e,
                None => self.info(&format!("+CNUM: \"\",\"{}\",145", identity::OWN_NUMBER)),
            },
            ("COPS", _) => self.cops(form, now),
            ("CSCS", Form::Read) => self.info(&format!("+CSCS: \"{}\"", self.radio.charset)),
            ("CSCS", Form::Test) => {
                let list: Vec<String> = CHARSETS.iter().map(|c| format!("\"{c}\"")).collect();
                self.info(&format!("+CSCS: ({})", list.join(",")))
            }
            ("CSCS", Form::Set(v)) => {
                let arg = split_args(v).ok().and_then(|a| a.into_iter().next());
                match arg.and_then(|a| CHARSETS.iter().find(|c| a.quoted && a.text.eq_ignore_ascii_case(c))) {
                    Some(c) => {
                        self.radio.charset = c;
                        Outcome::Continue
                    }
                    None => self.bad_arg(),
                }
            }
            ("CCED", Form::Set(v)) => self.cced(v),
            ("CGCLASS", Form::Read) => self.info(&format!("+CGCLASS: \"{}\"", self.flash.stored.gprs_class.name())),
            ("CGCLASS", Form::Test) => self.info("+CGCLASS: (\"B\",\"CG\",\"CC\")"),
            ("CGCLASS", Form::Set(v)) => {
                let arg = split_args(v).ok().and_then(|a| a.into_iter().next()).filter(|a| a.quoted);
                let class = match arg.as_ref().map(|a| a.text.to_ascii_uppercase()).as_deref() {
                    Some("B") => GprsClass::B,
                    Some("CG") => GprsClass::CG,
                    Some("CC") => GprsClass::CC,
                    // Class A needs two radios: the Q24x6 has one.
                    _ => return self.bad_arg(),
                };
                self.flash.stored.gprs_class = class;
                // 27.007 §10.1.17: CC while attached detaches.
                if class == GprsClass::CC && self.radio.attached {
                    self.radio.attached = false;
                    self.end_session();
                    self.schedule_registration_report(now, false);
                }
                self.commit()
            }
            _ => match self.sms_command(name, form, now) {
                Some(outcome) => outcome,
                None => Outcome::Error(Error::Plain),
            },
        }
    }

    /// The SIM errors of a command that reads the SIM (27.007 §9.2).
    fn sim_error(&self) -> Option<Outcome> {
        match self.radio.sim {
            SimState::Ready => None,
            SimState::Absent => Some(Outcome::Error(Error::Gsm(CmeError::SimNotInserted))),
            SimState::PinRequired => Some(Outcome::Error(Error::Gsm(CmeError::SimPinRequired))),
            SimState::PukRequired => Some(Outcome::Error(Error::Gsm(CmeError::SimPukRequired))),
            SimState::Failure => Some(Outcome::Error(Error::Gsm(CmeError::SimFailure))),
        }
    }

    /// `AT+COPS` (27.007 §7.3): read `+COPS: <mode>[,<format>,"<oper>"]`,
    /// test the Wavecom form (the operator tuples only), set
    /// `<mode>[,<format>[,"<oper>"]]`: 0 automatic, 1 manual (our network
    /// only), 2 deregister, 3 format only, 4 manual then automatic.
    fn cops(&mut self, form: Form<'_>, now: Instant) -> Outcome {
        let [long, short, numeric] = identity::OPERATOR;
        match form {
            Form::Read => {
                let mode = self.radio.cops_mode;
                if self.radio.creg_stat().is_registered() {
                    let format = self.radio.cops_format;
                    let name = identity::OPERATOR[format as usize];
                    self.info(&format!("+COPS: {mode},{format},\"{name}\""))
                } else {
                    self.info(&format!("+COPS: {mode}"))
                }
            }
            Form::Test => {
                if let Some(e) = self.sim_error() {
                    return e;
                }
                let stat = if self.radio.creg_stat().is_registered() { 2 } else { 1 };
                self.info(&format!("+COPS: ({stat},\"{long}\",\"{short}\",\"{numeric}\")"))
            }
            Form::Set(v) => {
                let Ok(args) = split_args(v) else { return self.bad_arg() };
                let num = |i: usize| args.get(i).map(|a| a.text.parse::<u8>().ok());
                let mode = match num(0) {
                    Some(Some(m)) if m <= 4 => m,
                    _ => return self.bad_arg(),
                };
                let format = match num(1) {
                    None => None,
                    Some(Some(f)) if f <= 2 => Some(f),
                    _ => return self.bad_arg(),
                };
                if let Some(oper) = args.get(2) {
                    let f = format.unwrap_or(self.radio.cops_format) as usize;
                    if !matches!(mode, 1 | 4) || oper.text != identity::OPERATOR[f] {
                        return self.bad_arg();
                    }
                } else if mode == 1 {
                    return self.bad_arg();
                }
                if let Some(f) = format {
                    self.radio.cops_format = f;
                }
                if mode != 3 {
                    let before = self.radio.creg_stat();
                    self.radio.cops_mode = if mode == 4 { 1 } else { mode };
                    if mode == 2 {
                        self.radio.attached = false;
                        self.end_session();
                    }
                    self.auto_attach();
                    if self.radio.creg_stat() != before {
                        self.schedule_registration_report(now, true);
                    }
                }
                Outcome::Continue
            }
            _ => Outcome::Error(Error::Plain),
        }
    }

    /// `AT+CCED=<mode>[,<requested dump>]` (Wavecom AT guide, +CCED): the
    /// cell environment. Mode 0 answers one shot now; 1 (automatic shots)
    /// answers one shot too (the periodic repeats are not modelled); 2 stops.
    /// Dumps: 1 the main cell (MCC, MNC, LAC, CI, BSIC, BCCH frequency,
    /// RxLev, RxLev full/sub, RxQual, RxQual full/sub, idle timeslot), 2 the
    /// six neighbours (MCC, MNC, LAC, CI, BSIC, BCCH, RxLev each; none here,
    /// so empty), 4 the timing advance, 8 a `+CSQ` line; default 15.
    fn cced(&mut self, args: &str) -> Outcome {
        let parts: Vec<&str> = args.split(',').map(str::trim).collect();
        let mode = match parts[0].parse::<u8>() {
            Ok(m) if m <= 2 => m,
            _ => return self.bad_arg(),
        };
        let dump = match parts.get(1) {
            None => 15,
            Some(d) => match d.parse::<u8>() {
                Ok(d) if (1..=15).contains(&d) => d,
                _ => return self.bad_arg(),
            },
        };
        if parts.len() > 2 {
            return self.bad_arg();
        }
        if mode == 2 {
            return Outcome::Continue;
        }
        if !self.radio.creg_stat().is_registered() {
            return Outcome::Error(Error::Gsm(CmeError::NoNetworkService));
        }
        // rssi of +CSQ is (dBm + 113) / 2, RxLev is dBm + 110 (05.08 §8.1.4).
        let rssi = self.radio.rssi;
        let rxlev =
            if rssi == 99 { String::new() } else { (u32::from(rssi) * 2).saturating_sub(3).min(63).to_string() };
        let (mcc, mnc) = identity::OPERATOR[2].split_at(3);
        let mut fields: Vec<String> = Vec::new();
        if dump & 1 != 0 {
            let main = [mcc, mnc, identity::LAC, identity::CELL_ID, "37", "64", &rxlev, "", "", "0", "", "", "0"];
            fields.extend(main.iter().map(|s| s.to_string()));
        }
        if dump & 2 != 0 {
            fields.extend(std::iter::repeat_n(String::new(), 6 * 7));
        }
        if dump & 4 != 0 {
            fields.push("0".into());
        }
        if !fields.is_empty() {
            self.info(&format!("+CCED: {}", fields.join(",")));
        }
        if dump & 8 != 0 {
            self.info(&format!("+CSQ: {rssi},99"));
        }
        Outcome::Continue
    }

    pub(crate) fn info(&mut self, text: &str) -> Outcome {
        self.format().gsm_info(&mut self.out, text);
        Outcome::Continue
    }

    /// Unsolicited +CREG (when `creg`) and +CGREG after the OK of the command
    /// that changed them, as enabled by their modes.
    fn schedule_registration_report(&mut self, now: Instant, creg: bool) {
        let mut lines = Vec::new();
        let f = self.format();
        if creg && self.settings.creg > 0 {
            f.gsm_info(&mut lines, &format!("+CREG: {}", self.radio.creg_stat().stat()));
        }
        if self.settings.cgreg > 0 {
            f.gsm_info(&mut lines, &format!("+CGREG: {}", self.radio.cgreg_stat().stat()));
        }
        if !lines.is_empty() {
            self.schedule(now + STEP, Timed::Emit(lines));
        }
    }

    /// `AT+CGDCONT=<cid>[,"<type>","<apn>"]`; `AT+CGDCONT=<cid>` deletes.
    fn cgdcont(&mut self, args: &str) -> Outcome {
        let Ok(parts) = split_args(args) else {
            return self.bad_arg();
        };
        let cid = match parts[0].text.parse::<u8>() {
            Ok(c) if (1..=4).contains(&c) => c,
            _ => return self.bad_arg(),
        };
        if parts.len() == 1 {
            self.flash.stored.contexts.remove(&cid);
            return self.commit();
        }
        let kind = parts[1].text.to_ascii_uppercase();
        if kind != "IP" {
            return self.bad_arg();
        }
        let apn = parts.get(2).map(|a| a.text.clone()).unwrap_or_default();
        if apn.len() > 100 {
            return self.bad_arg();
        }
        self.flash.stored.contexts.insert(cid, (kind, apn));
        self.commit()
    }
}
