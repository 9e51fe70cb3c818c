//! The IP stack's AT# command set (ch. 2 to 8).
//!
//! Parameters are handled from the table in [`crate::at::parameters`]: `AT#X=v`
//! validates and stores (p.53: "stored in non-volatile memory at once"),
//! `AT#X?` reads back `#X: v` (p.49). Chapter-5 parameters take a socket id:
//! `AT#X=id,v` sets, `AT#X=id` reads (p.30). Everything else is plain code.

use std::time::Instant;

use crate::at::codes::{Condition, StackError};
use crate::at::command::{split_args, Arg, Command, Form};
use crate::at::parameters::{self, validate, Parameter, Value, GPRSMODE, SOCKETS};
use crate::at::response::{self, Final};
use crate::at::{Firmware, Provenance};
use crate::emulator::radio::{Bearer, Event, Session};
use crate::emulator::{Error, Mode, Modem, Outcome, TextTarget, Timed};

/// Most addresses RECiADD keeps (p.18: "the 11th and subsequent addresses
/// will be ignored").
pub const MAX_RECIPIENTS: usize = 10;
/// Longest BODYi and longest single address (p.18: 120 characters).
pub const MAX_TEXT: usize = 120;

/// Commands of the IP services (ch. 3 to 7) that need an IP link.
const SERVICE_COMMANDS: &[&str] = &[
    "GETMAIL",
    "SENDMAIL1",
    "SENDMAIL2",
    "SENDMAIL3",
    "PUTMAIL",
    "FTPGET",
    "FTPPUT",
    "LTCPSTART",
    "LTCPSTOP",
    "OTCP",
    "LUDPSTART",
    "LUDPSTOP",
    "OUDP",
    "PING",
];

impl Modem {
    /// Key of a parameter in the store (`TCPPORT.2` for socket 2).
    fn key(param: &Parameter, socket: Option<u8>) -> String {
        match socket {
            Some(id) if param.per_socket => format!("{}.{id}", param.name),
            _ => param.name.to_string(),
        }
    }

    /// Current value of a parameter (its default unless set).
    pub(crate) fn param(&self, p: &Parameter, socket: Option<u8>) -> Value {
        let socket = if p.per_socket { Some(socket.unwrap_or(1)) } else { None };
        self.flash.stored.parameters.get(&Self::key(p, socket)).cloned().unwrap_or_else(|| p.default.value())
    }

    /// Store a value; if the store cannot be written the unit keeps the
    /// old value (what it reads back is what its flash holds).
    fn store(&mut self, p: &Parameter, socket: Option<u8>, value: Value) -> Outcome {
        let key = Self::key(p, socket);
        let old = if value == p.default.value() {
            self.flash.stored.parameters.remove(&key)
        } else {
            self.flash.stored.parameters.insert(key.clone(), value)
        };
        let outcome = self.commit();
        if let Outcome::Error(_) = outcome {
            match old {
                Some(v) => self.flash.stored.parameters.insert(key, v),
                None => self.flash.stored.parameters.remove(&key),
            };
        }
        outcome
    }

    /// One AT# command.
    pub(crate) fn stack_command(&mut self, cmd: &Command<'_>, now: Instant) -> Outcome {
        // The stack answers nothing of its own until AT+WOPEN=1; the core
        // then rejects AT# commands as unknown (`ERROR`, public driver code).
        if !self.stack_open() {
            return Outcome::Error(Error::Plain);
        }
        let name = &cmd.name[1..];

        if let Some(p) = parameters::find(name) {
            // Rows seen only on real units (SMTPAUTH, digest §13 item 36) are
            // not parameters of S000333D: the manual's unit does not know them.
            if p.basis == Provenance::RealDevice && self.firmware == Firmware::Manual {
                return Outcome::Error(Error::Stack(StackError::UnknownCommand));
            }
            return self.parameter_command(p, cmd.form);
        }
        if let Some(i) = name.strip_prefix("REC").and_then(|r| r.strip_suffix("ADD")) {
            if let Some(i) = mail_index(i) {
                return self.start_text_entry(TextTarget::RecAdd(i), cmd.form);
            }
        }
        if let Some(outcome) = self.display_command(name, cmd.form) {
            return outcome;
        }
        if matches!(name, "LTCPSTART" | "LTCPSTOP" | "OTCP") {
            return self.tcp_command(name, cmd.form, now);
        }
        if matches!(name, "FTPGET" | "FTPPUT") {
            return self.ftp_command(name, cmd.form, now);
        }
        if let Some(outcome) = self.mail_command(name, cmd.form) {
            return outcome;
        }
        if matches!(name, "OUDP" | "LUDPSTART" | "LUDPSTOP" | "PING") {
            if cmd.form != Form::Action {
                return Outcome::Error(Error::Stack(StackError::SyntaxError));
            }
            return if name == "PING" { self.ping_command(now) } else { self.udp_command(name) };
        }
        let known = matches!(name, "CONNECTIONSTART" | "CONNECTIONSTOP" | "ACCEPT" | "DELFLASH")
            || SERVICE_COMMANDS.contains(&name);
        if !known {
            // An unknown mnemonic is unknown whatever follows it (`=…`, `?`).
            return Outcome::Error(Error::Stack(StackError::UnknownCommand));
        }
        if cmd.form != Form::Action {
            return Outcome::Error(Error::Stack(StackError::SyntaxError));
        }
        match name {
            "CONNECTIONSTART" => self.connection_start(now),
            "CONNECTIONSTOP" => self.connection_stop(now),
            "ACCEPT" => self.accept(now),
            "DELFLASH" => self.delflash(),
            n => self.service_command(n),
        }
    }

    fn parameter_command(&mut self, p: &'static Parameter, form: Form<'_>) -> Outcome {
        let args = match form {
            // AT#BODYi<CR> starts multi-line entry (p.18).
            Form::Action => {
                if let Some(i) = p.name.strip_prefix("BODY").and_then(mail_index) {
                    return self.start_text_entry(TextTarget::Body(i), form);
                }
                return Outcome::Error(Error::Stack(StackError::SyntaxError));
            }
            Form::Read => return self.read_parameter(p),
            Form::Test => return Outcome::Continue,
            Form::Malformed => return Outcome::Error(Error::Stack(StackError::SyntaxError)),
            Form::Set(args) => args,
        };
        let Ok(args) = split_args(args) else {
            return Outcome::Error(Error::Stack(StackError::SyntaxError));
        };
        // `AT#X=` with nothing after `=` is a syntax error; `AT#X=""` is an
        // empty string, which resets a text parameter.
        if args.iter().any(|a| a.text.is_empty() && !a.quoted) {
            return Outcome::Error(Error::Stack(StackError::SyntaxError));
        }
        if p.per_socket {
            return self.socket_parameter(p, &args);
        }
        if args.len() != 1 {
            return Outcome::Error(Error::Stack(StackError::SyntaxError));
        }
        self.set(p, None, &args[0])
    }

    /// `AT#X?` (p.49); a chapter-5 parameter shows every socket.
    fn read_parameter(&mut self, p: &'static Parameter) -> Outcome {
        let sockets: Vec<Option<u8>> =
            if p.per_socket { SOCKETS.iter().map(|s| Some(*s)).collect() } else { vec![None] };
        for socket in sockets {
            let line = self.read_line(p, socket);
            self.format().stack_info(&mut self.out, &line);
        }
        Outcome::Continue
    }

    /// Chapter 5 forms: `AT#X=id` reads socket `id`, `AT#X=id,value` sets it.
    /// Firmware before rev C had one socket and no id (`AT#TCPPORT=23`,
    /// `AT#TCPSERV="host"`, seen in public driver code): a single argument
    /// that is quoted, or is not a socket id, sets socket 1.
    fn socket_parameter(&mut self, p: &'static Parameter, args: &[Arg]) -> Outcome {
        match args {
            [id] if !id.quoted && socket_id(&id.text).is_some() => {
                let line = self.read_line(p, socket_id(&id.text));
                self.format().stack_info(&mut self.out, &line);
                Outcome::Continue
            }
            [value] => self.set(p, Some(1), value),
            [id, value] => match socket_id(&id.text) {
                Some(s) => self.set(p, Some(s), value),
                None => Modem::answer(Condition::BadSocketId),
            },
            _ => Outcome::Error(Error::Stack(StackError::SyntaxError)),
        }
    }

    fn set(&mut self, p: &'static Parameter, socket: Option<u8>, arg: &Arg) -> Outcome {
        if self.service_running() {
            return Outcome::Error(Error::Stack(StackError::ServiceRunning));
        }
        // RECi="x" sets one address and resets the others (p.18).
        let value = match validate(p, arg) {
            Ok(Value::Text(t)) if p.name.starts_with("REC") => {
                Value::List(if t.is_empty() { Vec::new() } else { vec![t] })
            }
            Ok(v) => v,
            Err(r) => return Modem::answer(r.condition()),
        };
        self.store(p, socket, value)
    }

    /// `#X: value` (p.49); chapter-5 parameters show their socket id first.
    pub(crate) fn read_line(&self, p: &Parameter, socket: Option<u8>) -> String {
        let value = self.param(p, socket).display(p.domain);
        match socket {
            Some(id) if p.per_socket => format!("#{}: {id},{value}", p.name),
            _ => format!("#{}: {value}", p.name),
        }
    }

    fn start_text_entry(&mut self, target: TextTarget, form: Form<'_>) -> Outcome {
        if form != Form::Action {
            return Outcome::Error(Error::Stack(StackError::SyntaxError));
        }
        if self.service_running() {
            return Outcome::Error(Error::Stack(StackError::ServiceRunning));
        }
        self.set_mode(Mode::TextEntry { target, text: Vec::new() }, "text entry");
        Outcome::Deferred
    }

    /// Ctrl-Z received: store the text. BODYi keeps its first 120 characters;
    /// RECiADD keeps the first ten addresses, one per line (p.18).
    pub(crate) fn finish_text_entry(&mut self, target: TextTarget, text: &[u8]) {
        let text = String::from_utf8_lossy(text);
        let (param, value) = match target {
            TextTarget::Body(i) => {
                let body: String = text.chars().take(MAX_TEXT).collect();
                (parameters::body(i), Value::Text(body))
            }
            TextTarget::RecAdd(i) => {
                let addresses: Vec<String> = text
                    .split(['\r', '\n'])
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .take(MAX_RECIPIENTS)
                    .map(|a| a.chars().take(MAX_TEXT).collect())
                    .collect();
                (parameters::rec(i), Value::List(addresses))
            }
        };
        let p = param.expect("targets are made from mail_index, 1 to 3");
        let outcome = self.store(p, None, value);
        let f = self.format();
        match outcome {
            Outcome::Error(Error::Stack(c)) => f.stack_error(&mut self.out, c),
            _ => f.final_result(&mut self.out, Final::Ok),
        }
    }

    /// `AT#CONNECTIONSTART` (p.13-14): GPRS or GSM per GPRSMODE. The
    /// session comes up in the background: the interpreter keeps answering,
    /// so `#VSTATE` can show CHECKING, DIALING and AUTHENTICATING (p.39), and
    /// the address and `Ok_Info_…` message end the command when it is up.
    fn connection_start(&mut self, now: Instant) -> Outcome {
        match self.radio.session {
            Session::Idle => {}
            _ => return Outcome::Error(Error::Stack(StackError::AlreadyRunning)),
        }
        if !self.radio.creg_stat().is_registered() {
            return Outcome::Error(Error::Stack(StackError::NotAttached));
        }
        if self.param_int(&GPRSMODE) == 1 {
            if self.radio.cgreg_stat() == crate::control::Registration::NotRegistered {
                return Outcome::Error(Error::Stack(StackError::NotAttached));
            }
            self.set_session(Session::Checking, "AT#CONNECTIONSTART (GPRS)");
            self.schedule(now + self.radio.pace, Timed::Radio(Event::GprsActivation));
            Outcome::Deferred
        } else {
            let number = self.selected_dial_number();
            if number.is_empty() {
                return Modem::answer(Condition::UnusableConfiguration);
            }
            self.dial_gsm(&number, now);
            Outcome::Deferred
        }
    }

    /// `AT#CONNECTIONSTOP` (p.12): `OK` once the line is released; while it
    /// is released `#VSTATE` shows DISCONNECTING.
    fn connection_stop(&mut self, now: Instant) -> Outcome {
        self.stop_services();
        self.radio.call = None;
        match self.radio.session {
            Session::Idle | Session::Disconnecting => {
                self.set_session(Session::Idle, "AT#CONNECTIONSTOP");
                Outcome::Continue
            }
            _ => {
                self.set_session(Session::Disconnecting, "AT#CONNECTIONSTOP");
                self.radio.last_activity = None;
                self.schedule(now + self.radio.pace, Timed::Radio(Event::Released));
                Outcome::Deferred
            }
        }
    }

    /// `AT#ACCEPT` (p.12): answer the ringing call; `OK`, then `CONNECT`,
    /// the address and the PPP message follow as the call comes up.
    fn accept(&mut self, now: Instant) -> Outcome {
        let Some(call) = self.radio.call.take() else {
            return Outcome::Final(Final::NoCarrier);
        };
        if call.voice {
            // Ch. 9: "Invalid incoming call type": the stack takes data calls.
            return Outcome::Error(Error::Stack(StackError::InvalidCallType));
        }
        self.format().final_result(&mut self.out, Final::Ok);
        self.set_session(Session::Checking, "AT#ACCEPT");
        self.schedule(now + self.radio.pace, Timed::Radio(Event::GsmConnected { answered: true }));
        Outcome::Deferred
    }

    /// `AT#DELFLASH` (ch. 8; page not recovered): every AT# parameter back to
    /// its default, `OK`.
    fn delflash(&mut self) -> Outcome {
        if self.service_running() {
            return Outcome::Error(Error::Stack(StackError::ServiceRunning));
        }
        let before = std::mem::take(&mut self.flash.stored.parameters);
        let outcome = self.commit();
        if let Outcome::Error(_) = outcome {
            self.flash.stored.parameters = before;
        }
        outcome
    }

    /// The IP services of ch. 3 to 7 need an IP link first ("once an IP link
    /// is established"); the services themselves are not modelled by this
    /// emulator version, which says so on stderr and answers the stack's
    /// "internal resource unavailable" error rather than pretend.
    fn service_command(&mut self, name: &str) -> Outcome {
        match self.radio.session {
            Session::Connected { .. } => {
                tracing::warn!("AT#{name} is not modelled by this emulator version");
                Modem::answer(Condition::ServiceNotModelled)
            }
            _ => Outcome::Error(Error::Stack(StackError::NotActive)),
        }
    }

    /// `#DISPLAYIP` lines (p.15), in the form real units print ([code]:
    /// `#MY IP: "…"`) or the manual's (`MY IP: 1.2.3.4`, see
    /// [`response::display_ip`]), or `None` when no address has been
    /// attributed.
    pub(crate) fn display_ip(&self) -> Option<Vec<String>> {
        match &self.radio.session {
            Session::Connected { bearer, my_ip, peer_ip } => {
                Some(response::display_ip(self.firmware, my_ip, peer_ip, *bearer == Bearer::Gprs))
            }
            _ => None,
        }
    }
}

impl Modem {
    /// The mail commands of ch. 3 (p.21-23), which take no argument.
    fn mail_command(&mut self, name: &str, form: Form<'_>) -> Option<Outcome> {
        use crate::emulator::services::smtp::Command;
        let command = match name {
            "GETMAIL" => None,
            "PUTMAIL" => Some(Command::PutMail),
            _ => Some(Command::SendMail(mail_index(name.strip_prefix("SENDMAIL")?)?)),
        };
        if form != Form::Action {
            return Some(Outcome::Error(Error::Stack(StackError::SyntaxError)));
        }
        Some(match command {
            None => self.getmail(),
            Some(c) => self.smtp_command(c),
        })
    }
}

fn mail_index(s: &str) -> Option<u8> {
    match s {
        "1" => Some(1),
        "2" => Some(2),
        "3" => Some(3),
        _ => None,
    }
}

fn socket_id(s: &str) -> Option<u8> {
    SOCKETS.iter().copied().find(|id| s == id.to_string())
}
