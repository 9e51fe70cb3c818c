//! The simulated radio side: SIM, GSM/GPRS registration, incoming calls and
//! the connection sessions of `AT#CONNECTIONSTART` / `AT#ACCEPT` (ch. 2).
//!
//! Only the radio is simulated; everything above IP is real traffic. Radio
//! events come from scenario steps (`emulator: {ring: …}`) through
//! [`Modem::control`].

use std::time::{Duration, Instant};

use super::{ControlError, Modem, Timed, STEP};
use crate::at::codes::{Condition, StackError};
use crate::at::parameters::{self as p, Parameter, Value};
use crate::at::response::{Final, Info};
use crate::control::{Control, FarEnd, GprsFault, Registration, SimState};

/// Time between two rings of an incoming call (a network rings every ~5 s;
/// shortened so that scenarios stay fast).
pub const RING_PERIOD: Duration = Duration::from_millis(100);

/// The bearer of a connection session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer {
    Gsm,
    Gprs,
}

/// `#VSTATE` states (p.39).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    Idle,
    /// Setting up an outgoing session or answering an incoming call.
    Checking,
    Dialing,
    Authenticating,
    Connected {
        bearer: Bearer,
        my_ip: String,
        peer_ip: String,
    },
    /// `AT#CONNECTIONSTOP` is releasing the line.
    Disconnecting,
}

/// An incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub number: Option<String>,
    pub rings_left: u32,
    pub rings: u32,
    pub voice: bool,
}

/// Radio state.
#[derive(Debug, Clone)]
pub struct Radio {
    pub sim: SimState,
    pub registration: Registration,
    /// Whether the network offers GPRS service where the unit is.
    pub gprs_network: Registration,
    pub attached: bool,
    pub rssi: u8,
    pub cfun: u8,
    pub fault: Option<GprsFault>,
    pub call: Option<Call>,
    pub session: Session,
    pub sessions: u32,
    /// How the far end of GSM data calls behaves.
    pub far_end: FarEnd,
    /// Last traffic on the serial line or the session, for PHYTIMEOUT (p.8).
    pub last_activity: Option<Instant>,
    /// Duration of each step of a network procedure.
    pub pace: Duration,
    /// A data call the GSM core answered by itself (ATS0, ATA): the line is
    /// connected transparently, without the IP stack.
    pub transparent_call: bool,
    /// Attach to GPRS by itself once registered ([`super::Attach`]).
    pub auto_attach: bool,
    /// `AT+COPS` <mode> (0 automatic, 1 manual, 2 deregistered) and
    /// <format> (0 long, 1 short, 2 numeric), 27.007 §7.3.
    pub cops_mode: u8,
    pub cops_format: u8,
    /// `AT+CSCS` (27.007 §5.5).
    pub charset: &'static str,
    /// Short message settings and the service centre's side.
    pub sms: SmsSettings,
}

/// What the host chose for short messages (27.005 §3.2.3 `+CMGF`, §3.3.2
/// `+CSMP`, §3.4.1 `+CNMI`, §3.2.2 `+CPMS`), and what the simulated service
/// centre received. Volatile, like the unit's (`AT&W` is not modelled for
/// them).
#[derive(Debug, Clone)]
pub struct SmsSettings {
    pub text_mode: bool,
    pub csmp: [u8; 4],
    pub cnmi: [u8; 5],
    /// `+CPMS` <mem1> (read, list, delete) and <mem2> (write, send).
    pub memory: [&'static str; 2],
    /// The next TP-MR (`+CMGS: <mr>`).
    pub next_reference: u8,
    /// Indications held while `+CNMI` <mode> is 0 (27.005 §3.4.1: buffered
    /// in the TA, flushed when <mode> 1-3 is entered with <bfr> 0).
    pub held: Vec<String>,
    /// Messages the service centre accepted.
    pub sent: Vec<SentSms>,
}

impl Default for SmsSettings {
    /// Wavecom defaults: PDU mode (27.005 §3.2.3), `+CSMP: 17,167,0,0`
    /// (27.005 §3.3.2's example values), `+CNMI: 0,1,0,0,0` (Q24x6 guide).
    fn default() -> Self {
        SmsSettings {
            text_mode: false,
            csmp: [17, 167, 0, 0],
            cnmi: [0, 1, 0, 0, 0],
            memory: ["SM", "SM"],
            next_reference: 0,
            held: Vec::new(),
            sent: Vec::new(),
        }
    }
}

/// A message the host sent (`AT+CMGS`), as the service centre received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub to: String,
    pub text: String,
    /// `+CMGS: <mr>`.
    pub reference: u8,
    /// The service centre it went through (the PDU's, or `+CSCA`).
    pub service_centre: String,
    /// The PDU as the host wrote it (PDU mode only).
    pub pdu: Option<String>,
}

impl Default for Radio {
    fn default() -> Self {
        Radio {
            sim: SimState::Ready,
            registration: Registration::Home,
            gprs_network: Registration::Home,
            attached: false,
            rssi: 20,
            cfun: 1,
            fault: None,
            call: None,
            session: Session::Idle,
            sessions: 0,
            far_end: FarEnd::Connect(9600),
            last_activity: None,
            pace: STEP,
            transparent_call: false,
            auto_attach: false,
            cops_mode: 0,
            cops_format: 0,
            charset: "GSM",
            sms: SmsSettings::default(),
        }
    }
}

impl Radio {
    /// `+CREG` stat as the unit reports it.
    pub fn creg_stat(&self) -> Registration {
        if self.cfun == 0 || self.sim != SimState::Ready || self.cops_mode == 2 {
            Registration::NotRegistered
        } else {
            self.registration
        }
    }

    /// `+CGREG` stat: registered for GPRS only while attached.
    pub fn cgreg_stat(&self) -> Registration {
        if !self.attached || !self.creg_stat().is_registered() {
            Registration::NotRegistered
        } else {
            self.gprs_network
        }
    }

    /// A fresh address for a new session (volatile: transcripts redact it).
    fn next_ip(&mut self, prefix: &str) -> String {
        self.sessions += 1;
        format!("{prefix}.{}.{}", self.sessions / 250, self.sessions % 250 + 1)
    }
}

/// A radio event due at some time.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Ring,
    /// The GPRS activation requested by `AT#CONNECTIONSTART` completes.
    GprsActivation,
    /// A GSM data call is up (`CONNECT 9600`); PPP follows.
    GsmConnected {
        answered: bool,
    },
    /// The PPP negotiation completes.
    PppUp {
        answered: bool,
    },
    /// The automatic call-back of ANSWERMODE 2/3 fires (p.7, App. B p.58).
    CallBack {
        number: String,
    },
    /// The `+WIND: 3`/`+WIND: 4` of a (re)started core.
    Ready,
    /// The end of a failed GSM call attempt series: BUSY, NO ANSWER or NO CARRIER.
    DialFailed,
    /// Check the inactivity timer (PHYTIMEOUT, p.8).
    Inactivity,
    /// `AT#CONNECTIONSTOP` has released the line: `OK`.
    Released,
}

impl Modem {
    pub(crate) fn radio_control(&mut self, control: &Control, now: Instant) -> Result<(), ControlError> {
        match control {
            Control::Restart => Err(ControlError::RestartIsTheOwners),
            Control::Ring { number, count, voice } => {
                if self.radio.call.is_some()
                    || matches!(self.radio.session, Session::Connected { bearer: Bearer::Gsm, .. })
                {
                    return Err(ControlError::CallInProgress);
                }
                if *count == 0 {
                    return Err(ControlError::NoRings);
                }
                self.radio.call = Some(Call { number: number.clone(), rings_left: *count, rings: 0, voice: *voice });
                self.schedule(now, Timed::Radio(Event::Ring));
                Ok(())
            }
            Control::RemoteHangup => {
                if self.radio.call.take().is_some() {
                    return Ok(());
                }
                if std::mem::take(&mut self.radio.transparent_call) {
                    self.format().final_result(&mut self.out, Final::NoCarrier);
                    return Ok(());
                }
                match self.radio.session {
                    Session::Connected { bearer: Bearer::Gsm, .. } => {
                        self.end_session();
                        self.format().final_result(&mut self.out, Final::NoCarrier);
                        Ok(())
                    }
                    _ => Err(ControlError::NoCall),
                }
            }
            Control::Registration(r) => {
                self.radio.registration = *r;
                self.auto_attach();
                self.report_registration();
                Ok(())
            }
            Control::GprsRegistration(r) => {
                self.radio.gprs_network = *r;
                self.auto_attach();
                self.report_registration();
                Ok(())
            }
            Control::Signal(rssi) => {
                if *rssi > 31 && *rssi != 99 {
                    return Err(ControlError::BadRssi(*rssi));
                }
                self.radio.rssi = *rssi;
                Ok(())
            }
            Control::Sim(s) => {
                let before = (self.radio.creg_stat(), self.radio.cgreg_stat());
                let was_absent = self.radio.sim == SimState::Absent;
                self.radio.sim = *s;
                // Wavecom +WIND: 0/1, SIM removed/inserted, when the mask has bit 0.
                if self.flash.stored.wind & 0x01 != 0 && was_absent != (*s == SimState::Absent) {
                    let line = if was_absent { "+WIND: 1" } else { "+WIND: 0" };
                    self.format().gsm_info(&mut self.out, line);
                }
                self.auto_attach();
                // Without a usable SIM the unit is not registered (27.007 §7.2).
                if (self.radio.creg_stat(), self.radio.cgreg_stat()) != before {
                    self.report_registration();
                }
                Ok(())
            }
            Control::GprsFault(f) => {
                if *f == GprsFault::SessionLost {
                    if let Session::Connected { bearer: Bearer::Gprs, .. } = self.radio.session {
                        self.end_session();
                        self.format().stack_error(&mut self.out, StackError::GprsSessionLost);
                        return Ok(());
                    }
                }
                self.radio.fault = Some(*f);
                Ok(())
            }
            Control::FarEnd(f) => {
                if let FarEnd::PppError(code) = f {
                    if !StackError::from_code(*code).is_some_and(|e| StackError::PPP_FAILURES.contains(&e)) {
                        return Err(ControlError::NotAPppError(*code));
                    }
                }
                self.radio.far_end = *f;
                Ok(())
            }
            Control::Pace(d) => {
                self.radio.pace = d.0;
                Ok(())
            }
            Control::FlashWriteFault => {
                self.flash.fail_next_write = true;
                Ok(())
            }
            Control::Advance(d) => {
                // Moving every deadline earlier is moving the clock later.
                for (at, _, _) in &mut self.timers {
                    *at = at.checked_sub(d.0).unwrap_or(now).min(*at);
                }
                if let Some(last) = &mut self.radio.last_activity {
                    *last = last.checked_sub(d.0).unwrap_or(*last);
                }
                Ok(())
            }
            Control::Dtr(on) => {
                let falling = self.dtr && !*on;
                self.dtr = *on;
                if falling && self.settings.dtr_mode > 0 {
                    self.dtr_dropped();
                }
                Ok(())
            }
            // The model has no flow control: the unit is always ready to
            // receive, whatever RTS says.
            Control::Rts(_) => Ok(()),
            Control::Peer { .. } | Control::Client { .. } => Err(ControlError::NotForTheInterpreter),
            Control::Sms { from, text } => self.receive_sms(from, text, now),
            Control::Lines { dcd, ri, dsr, cts } => {
                let (is_dcd, is_ri) = (self.dcd(), self.radio.call.is_some());
                let show = |b: bool| if b { "on" } else { "off" };
                let mut wrong = Vec::new();
                if dcd.is_some_and(|d| d != is_dcd) {
                    wrong.push(format!("DCD is {}", show(is_dcd)));
                }
                if ri.is_some_and(|r| r != is_ri) {
                    wrong.push(format!("RI is {}", show(is_ri)));
                }
                // A powered unit holds DSR on (AT&S0, the default) and, with
                // no flow control modelled, CTS on.
                if *dsr == Some(false) {
                    wrong.push("DSR is on".to_string());
                }
                if *cts == Some(false) {
                    wrong.push("CTS is on".to_string());
                }
                if wrong.is_empty() {
                    Ok(())
                } else {
                    Err(ControlError::LinesDiffer(wrong.join(", ")))
                }
            }
        }
    }

    /// With [`super::Attach::Auto`], attach to GPRS as soon as the unit is
    /// registered for GSM and GPRS, with a ready SIM, the radio on and a
    /// class that has GPRS (27.007 §10.1.9 leaves the attach to the MT).
    pub(crate) fn auto_attach(&mut self) {
        if self.radio.auto_attach
            && !self.radio.attached
            && self.radio.cfun == 1
            && self.radio.creg_stat().is_registered()
            && self.radio.gprs_network.is_registered()
            && self.flash.stored.gprs_class != crate::emulator::flash::GprsClass::CC
        {
            tracing::debug!("GPRS attach without AT+CGATT=1 (attach=auto)");
            self.radio.attached = true;
        }
    }

    /// Unsolicited `+CREG`/`+CGREG` as enabled by their modes (27.007 §7.2, §10.1.19).
    pub(crate) fn report_registration(&mut self) {
        let f = self.format();
        if self.settings.creg > 0 {
            let line = format!("+CREG: {}", self.radio.creg_stat().stat());
            f.gsm_info(&mut self.out, &line);
        }
        if self.settings.cgreg > 0 {
            let line = format!("+CGREG: {}", self.radio.cgreg_stat().stat());
            f.gsm_info(&mut self.out, &line);
        }
    }

    pub(crate) fn radio_event(&mut self, event: Event, now: Instant) {
        let f = self.format();
        match event {
            Event::Ring => {
                let Some(mut call) = self.radio.call.take() else { return };
                call.rings += 1;
                call.rings_left -= 1;
                if self.settings.crc == 1 {
                    // 27.007 §6.11 extended format; App. B p.62 prints "+CRING:xxx".
                    f.gsm_info(&mut self.out, if call.voice { "+CRING: VOICE" } else { "+CRING: ASYNC" });
                } else {
                    f.final_result(&mut self.out, Final::Ring);
                }
                if self.settings.clip == 1 {
                    let (number, kind) = match &call.number {
                        Some(n) => (n.clone(), if n.starts_with('+') { 145 } else { 129 }),
                        None => (String::new(), 128),
                    };
                    f.gsm_info(&mut self.out, &format!("+CLIP: \"{number}\",{kind}"));
                }
                if self.auto_operation(&call, now) {
                    return;
                }
                // V.250 S0: the GSM core answers after S0 rings, unless the IP
                // stack handles incoming calls itself (ANSWERMODE > 0, p.7).
                let s0 = u32::from(self.settings.s0);
                let stack_answers = self.stack_open() && self.param_int(&p::ANSWERMODE) > 0;
                if s0 > 0 && call.rings >= s0 && !call.voice && !stack_answers {
                    self.radio.transparent_call = true;
                    f.final_result(&mut self.out, Final::Connect(9600));
                    return;
                }
                if call.rings_left > 0 {
                    self.schedule(now + RING_PERIOD, Timed::Radio(Event::Ring));
                    self.radio.call = Some(call);
                }
            }
            Event::GprsActivation => {
                if self.radio.session != Session::Checking {
                    return;
                }
                let fault = match self.radio.fault.take() {
                    Some(GprsFault::ApnRejected) => Some(StackError::GprsAborted),
                    Some(GprsFault::InvalidEvent) => Some(StackError::InvalidActivationEvent),
                    Some(GprsFault::OpenFailed) => Some(StackError::OpenGprsFailed),
                    Some(GprsFault::SessionLost) | None => None,
                };
                if let Some(code) = fault {
                    self.set_session(Session::Idle, "GPRS activation failed");
                    f.stack_error(&mut self.out, code);
                } else {
                    let my_ip = self.radio.next_ip("10.64");
                    f.gsm_info(&mut self.out, &my_ip);
                    f.final_result(&mut self.out, Final::Info(Info::GprsActivation));
                    self.set_session(
                        Session::Connected { bearer: Bearer::Gprs, my_ip, peer_ip: "0.0.0.0".into() },
                        "GPRS activated",
                    );
                    self.start_inactivity(now);
                }
            }
            Event::GsmConnected { answered } => {
                let connect = match self.radio.far_end {
                    FarEnd::Connect(speed) => Final::Connect(speed),
                    FarEnd::Connect1200_75 => Final::Connect1200_75,
                    _ => Final::Connect(9600),
                };
                f.final_result(&mut self.out, connect);
                self.set_session(Session::Authenticating, "the data call is connected");
                self.schedule(now + self.radio.pace, Timed::Radio(Event::PppUp { answered }));
            }
            Event::PppUp { answered } => {
                let ppp_error = match self.radio.far_end {
                    FarEnd::PppFailure => Some(StackError::PppFailed),
                    // Checked against the table when the control was applied.
                    FarEnd::PppError(code) => StackError::from_code(code),
                    _ => None,
                };
                if let Some(code) = ppp_error {
                    // "The PPP negotiation has failed (check ISPUN, ISPPW, PPPMODE)" (p.14).
                    self.set_session(Session::Idle, "PPP negotiation failed");
                    f.stack_error(&mut self.out, code);
                    return;
                }
                let mode = self.param_int(&p::PPPMODE);
                // Which side serves addresses (p.9): standard PPP is a client
                // when calling and a server when called; reverse PPP the opposite.
                let server = match mode {
                    2 => !answered,
                    4 => true,
                    3 => false,
                    _ => answered,
                };
                let (my_ip, peer_ip) = if server {
                    (self.param_text(&p::PPPMYIP), self.param_text(&p::PPPPEERIP))
                } else {
                    (self.radio.next_ip("10.65"), "10.65.255.254".to_string())
                };
                f.gsm_info(&mut self.out, &my_ip);
                f.final_result(&mut self.out, Final::Info(Info::Ppp));
                self.set_session(Session::Connected { bearer: Bearer::Gsm, my_ip, peer_ip }, "PPP is up");
                self.start_inactivity(now);
            }
            Event::DialFailed => {
                let result = match self.radio.far_end {
                    FarEnd::Busy => Final::Busy,
                    FarEnd::NoAnswer => Final::NoAnswer,
                    _ => Final::NoCarrier,
                };
                self.set_session(Session::Idle, "the call attempts failed");
                f.final_result(&mut self.out, result);
            }
            Event::Inactivity => {
                let Session::Connected { .. } = self.radio.session else { return };
                let timeout = Duration::from_secs(60 * self.param_int(&p::PHYTIMEOUT).max(1) as u64);
                let last = self.radio.last_activity.unwrap_or(now);
                if now >= last + timeout {
                    // p.8: "TIMEOUT: The inactivity timer is reached; the modem
                    // ends the communication" - a telephone line. A GPRS
                    // session has no line: ch. 9 has "Timeout, no activity on
                    // network connection" (35862) for it.
                    let gprs = matches!(self.radio.session, Session::Connected { bearer: Bearer::Gprs, .. });
                    self.end_session();
                    if gprs {
                        f.stack_error(&mut self.out, StackError::InactivityTimeout);
                    } else {
                        f.gsm_info(&mut self.out, "TIMEOUT");
                    }
                } else {
                    self.schedule(last + timeout, Timed::Radio(Event::Inactivity));
                }
            }
            Event::CallBack { number } => {
                if self.radio.session != Session::Idle {
                    return;
                }
                // ANSWERMODE 2 calls "back the ISP or attempts a GPRS
                // connection" (App. B p.58): what AT#CONNECTIONSTART would do.
                if number.is_empty() && self.param_int(&p::GPRSMODE) == 1 {
                    if self.radio.cgreg_stat() == Registration::NotRegistered {
                        f.stack_error(&mut self.out, StackError::NotAttached);
                        return;
                    }
                    self.set_session(Session::Checking, "the call-back dials");
                    self.schedule(now + self.radio.pace, Timed::Radio(Event::GprsActivation));
                } else if number.is_empty() {
                    self.answer_now(Condition::UnusableConfiguration);
                } else {
                    self.dial_gsm(&number, now);
                }
            }
            Event::Released => {
                if self.radio.session == Session::Disconnecting {
                    self.set_session(Session::Idle, "AT#CONNECTIONSTOP released the line");
                    f.final_result(&mut self.out, Final::Ok);
                }
            }
            Event::Ready => {
                let mask = self.flash.stored.wind;
                // The order of a Wavecom start: SIM inserted (bit 0), product
                // ready (bit 2), AT commands ready (bit 3).
                if mask & 0x01 != 0 && self.radio.sim != SimState::Absent {
                    f.gsm_info(&mut self.out, "+WIND: 1");
                }
                self.auto_attach();
                if mask & 0x04 != 0 {
                    f.gsm_info(&mut self.out, "+WIND: 3");
                }
                if mask & 0x08 != 0 {
                    f.gsm_info(&mut self.out, "+WIND: 4");
                }
            }
        }
    }

    /// ANSWERMODE 1-3 (p.7): automatic answer or call-back once RINGCOUNT
    /// rings have been counted and the caller passes CALLSCREENNUM.
    fn auto_operation(&mut self, call: &Call, now: Instant) -> bool {
        let answermode = self.param_int(&p::ANSWERMODE);
        let ringcount = self.param_int(&p::RINGCOUNT);
        if !self.stack_open() || answermode == 0 || ringcount == 0 || i64::from(call.rings) < ringcount {
            return false;
        }
        if call.voice {
            // The stack handles data calls only: "Invalid incoming call type".
            self.format().stack_error(&mut self.out, StackError::InvalidCallType);
            return true;
        }
        let screen = self.param_text(&p::CALLSCREENNUM);
        // The stack learns the caller's number only with AT+CLIP=1 (App. B
        // p.58, 60: a numeric CALLSCREENNUM "needs ... AT+CLIP=1").
        let number = if self.settings.clip == 1 { call.number.clone() } else { None };
        if number.is_none() && (answermode == 3 || !matches!(screen.as_str(), "0" | "*")) {
            // Screening or calling back needs the caller's number (p.7).
            self.format().stack_error(&mut self.out, StackError::CliNotProvided);
            return true;
        }
        let allowed = match screen.as_str() {
            "0" => false,
            "*" => true,
            wanted => number.as_deref() == Some(wanted),
        };
        if !allowed {
            return false;
        }
        match answermode {
            1 => {
                self.set_session(Session::Checking, "ANSWERMODE 1 answers the call");
                self.schedule(now + self.radio.pace, Timed::Radio(Event::GsmConnected { answered: true }));
            }
            _ => {
                let number = if answermode == 3 { number.unwrap_or_default() } else { self.selected_dial_number() };
                let wait = Duration::from_secs(self.param_int(&p::CALLBACKTIMER).max(0) as u64);
                self.schedule(now + wait, Timed::Radio(Event::CallBack { number }));
            }
        }
        true
    }

    pub(crate) fn selected_dial_number(&self) -> String {
        if self.param_int(&p::DIALSELECT) == 2 {
            self.param_text(&p::DIALN2)
        } else {
            self.param_text(&p::DIALN1)
        }
    }

    /// The GSM-mode dialogue of `AT#CONNECTIONSTART` (p.13): `DIALING`, the
    /// number, `CONNECT 9600`, the IP address, `Ok_Info_PPP`. A busy, absent
    /// or failing far end is dialled again after REDIALDELAY seconds, up to
    /// REDIALCOUNT more times (p.8, p.13-14); each attempt shows `DIALING`
    /// and the number, the last failure its result code.
    pub(crate) fn dial_gsm(&mut self, number: &str, now: Instant) {
        let f = self.format();
        self.set_session(Session::Dialing, "dialling");
        let mut lines = Vec::new();
        f.stack_info(&mut lines, "DIALING");
        f.stack_info(&mut lines, number);
        let pace = self.radio.pace;
        if let FarEnd::Connect(_) | FarEnd::Connect1200_75 | FarEnd::PppFailure | FarEnd::PppError(_) =
            self.radio.far_end
        {
            self.schedule(now + pace, Timed::Emit(lines));
            self.schedule(now + pace * 2, Timed::Radio(Event::GsmConnected { answered: false }));
            return;
        }
        let retries = self.param_int(&p::REDIALCOUNT).max(0) as u32;
        let delay = Duration::from_secs(self.param_int(&p::REDIALDELAY).max(0) as u64);
        let mut at = now + pace;
        for attempt in 0..=retries {
            if attempt > 0 {
                at += delay;
            }
            self.schedule(at, Timed::Emit(lines.clone()));
        }
        self.schedule(at + pace, Timed::Radio(Event::DialFailed));
    }

    /// Data Carrier Detect: with `AT&C1` on while a socket is in data mode or
    /// a GSM data call is up; with `AT&C0` always on (V.250 §6.2.8).
    pub fn dcd(&self) -> bool {
        self.settings.dcd_mode == 0
            || self.radio.transparent_call
            || self.mode == super::Mode::Data
            || matches!(self.radio.session, Session::Connected { bearer: Bearer::Gsm, .. })
    }

    /// DTR dropped with `AT&D1`/`&D2`: the data connection ends. The manual
    /// does not describe DTR (pages not recovered); the later Universal IP
    /// guide says dropping DTR ends a socket when ETX coding is off, so an
    /// open socket is closed (`OK`) and a GSM data call is hung up
    /// (`NO CARRIER`).
    fn dtr_dropped(&mut self) {
        let f = self.format();
        if self.mode == super::Mode::Data {
            self.stop_services();
            f.final_result(&mut self.out, Final::Ok);
        } else if matches!(self.radio.session, Session::Connected { bearer: Bearer::Gsm, .. }) {
            self.end_session();
            f.final_result(&mut self.out, Final::NoCarrier);
        } else if std::mem::take(&mut self.radio.transparent_call) {
            f.final_result(&mut self.out, Final::NoCarrier);
        }
    }

    /// Every change of the connection session passes here (`#VSTATE`'s
    /// states, p.39), and is logged.
    pub(crate) fn set_session(&mut self, next: Session, why: &str) {
        if next != self.radio.session {
            tracing::debug!(from = ?self.radio.session, to = ?next, why, "session");
            self.radio.session = next;
        }
    }

    /// The IP link goes down: services stop with it.
    pub(crate) fn end_session(&mut self) {
        self.stop_services();
        self.set_session(Session::Idle, "the IP link ended");
        self.radio.last_activity = None;
    }

    /// Arm the inactivity timer of a new session.
    fn start_inactivity(&mut self, now: Instant) {
        self.radio.last_activity = Some(now);
        let timeout = Duration::from_secs(60 * self.param_int(&p::PHYTIMEOUT).max(1) as u64);
        self.schedule(now + timeout, Timed::Radio(Event::Inactivity));
    }

    pub(crate) fn param_int(&self, param: &Parameter) -> i64 {
        match self.param(param, None) {
            Value::Int(n) => n,
            _ => 0,
        }
    }

    pub(crate) fn param_text(&self, param: &Parameter) -> String {
        self.param(param, None).to_string()
    }
}
