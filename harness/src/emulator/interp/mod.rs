//! The AT interpreter: command lines in, answers out (ch. 2 to 8, App. B
//! p.49-53 for the framing).
//!
//! - [`line`]: command-line assembly (prefix, backspace, line ends, overlong lines);
//! - [`gsm`]: the GSM 07.07 / Wavecom core commands hosts send around the IP stack;
//! - [`sms`]: short messages (3GPP TS 27.005, text and PDU mode);
//! - [`stack`]: the IP stack's AT# commands (parameters, sessions, the command table);
//! - [`display`]: the display commands (`#VPHY` … `#VALL`).
//!
//! Lines are split into commands, and results written, by [`crate::at`].

pub mod display;
pub mod gsm;
pub mod line;
pub mod sms;
pub mod stack;

use std::time::Instant;

use super::{Mode, Modem};
use crate::at::codes::{Answer, CmeError, CmsError, Condition, StackError};
use crate::at::command::{self as at_command, Kind};
use crate::at::response::Final;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTarget {
    Body(u8),
    RecAdd(u8),
}

impl Modem {
    pub(super) fn byte(&mut self, b: u8, now: Instant) {
        match &mut self.mode {
            Mode::TextEntry { .. } => self.text_entry_byte(b),
            Mode::SmsEntry { .. } => self.sms_entry_byte(b),
            Mode::Busy => self.queue(b),
            Mode::Data => self.data_byte(b, now),
            Mode::Command => {
                if self.etx_aborts_listen(b) {
                    return;
                }
                if self.settings.echo {
                    self.out.push(b);
                }
                match self.line.push(b) {
                    line::Event::Pending => {}
                    line::Event::Line(body) => {
                        self.last_line = Some(body.clone());
                        self.execute(&body, now);
                    }
                    line::Event::Repeat => {
                        if let Some(body) = self.last_line.clone() {
                            self.execute(&body, now);
                        }
                    }
                    line::Event::TooLong { stack } => {
                        let f = self.format();
                        if stack && self.stack_open() {
                            self.answer_now(Condition::LineTooLong);
                        } else {
                            f.final_result(&mut self.out, Final::Error);
                        }
                    }
                }
            }
        }
    }

    /// Ctrl-Z ends the entry (p.18). Backspace edits, as on the command line.
    fn text_entry_byte(&mut self, b: u8) {
        let Mode::TextEntry { target, text } = &mut self.mode else { return };
        match b {
            0x1a => {
                let (target, text) = (*target, std::mem::take(text));
                self.set_mode(Mode::Command, "Ctrl-Z ends the text");
                self.finish_text_entry(target, &text);
            }
            0x08 | 0x7f => {
                text.pop();
                if self.settings.echo {
                    self.out.push(b);
                }
            }
            _ => {
                // Bound the buffer: the stored value is bounded anyway (p.18).
                if text.len() < 4096 {
                    text.push(b);
                }
                if self.settings.echo {
                    self.out.push(b);
                }
            }
        }
    }

    /// Execute one command line (the text after `AT`). Basic commands may be
    /// chained (`ATZE0`), extended `+` commands are separated by `;`
    /// (`AT+CMEE=1;+CREG=1`), and an AT# command takes the rest of the line.
    fn execute(&mut self, body: &str, now: Instant) {
        for command in at_command::parse_body(body) {
            let outcome = match command.kind {
                Kind::Stack => self.stack_command(&command, now),
                Kind::Extended => self.extended(&command, now),
                Kind::Basic => self.basic(&command),
            };
            if outcome != Outcome::Continue {
                return self.conclude(outcome);
            }
        }
        self.conclude(Outcome::Continue);
    }

    /// Write what ends a command line: `OK` after the last command, the
    /// error or final result that stopped it, or nothing when the command
    /// answers later (timer, text entry) or has answered in full.
    pub(crate) fn conclude(&mut self, outcome: Outcome) {
        let f = self.format();
        match outcome {
            Outcome::Continue => f.final_result(&mut self.out, Final::Ok),
            Outcome::Error(Error::Plain) => f.final_result(&mut self.out, Final::Error),
            Outcome::Error(Error::Stack(code)) => f.stack_error(&mut self.out, code),
            Outcome::Error(Error::Gsm(code)) => f.gsm_error(&mut self.out, code),
            Outcome::Error(Error::Sms(code)) => f.sms_error(&mut self.out, code),
            Outcome::Final(r) => f.final_result(&mut self.out, r),
            Outcome::Deferred | Outcome::Answered => {}
        }
    }
}

impl Modem {
    /// The answer chosen for a condition the manual does not print
    /// ([`Condition::choice`]), as a command's outcome.
    pub(crate) fn answer(c: Condition) -> Outcome {
        match c.choice().answer {
            Answer::Stack(e) => Outcome::Error(Error::Stack(e)),
            Answer::Error => Outcome::Error(Error::Plain),
        }
    }

    /// The same answer, written at once (for a command that answers later).
    pub(crate) fn answer_now(&mut self, c: Condition) {
        let f = self.format();
        match c.choice().answer {
            Answer::Stack(e) => f.stack_error(&mut self.out, e),
            Answer::Error => f.final_result(&mut self.out, Final::Error),
        }
    }
}

/// The result of one command of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done; go on with the next command of the line, `OK` at the end.
    Continue,
    /// Stop the line with this error.
    Error(Error),
    /// Stop the line with this final result instead of `OK`.
    Final(Final),
    /// The final result comes later.
    Deferred,
    /// The command has answered in full, with no final result: `#VSTATE` in
    /// the states whose row of p.39 prints no `OK` (manual profile).
    Answered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Error {
    /// `ERROR`.
    Plain,
    /// `#CME ERROR: <code>` of the IP stack (ch. 9).
    Stack(StackError),
    /// `+CME ERROR: <code>` of the GSM core (3GPP TS 27.007 §9.2).
    Gsm(CmeError),
    /// `+CMS ERROR: <code>` of the short message service (27.005 §3.2.5).
    Sms(CmsError),
}
