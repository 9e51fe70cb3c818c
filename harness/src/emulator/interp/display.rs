//! Display commands: `#VPHY`, `#VPPP`, `#VGPRS` (p.15-16), `#VMAILi`,
//! `#VPOP3`, `#VSMTP`, `#VDNS` (p.24-25), `#VFTP` (p.29), `#VTCP` (p.33),
//! `#VUDP` (p.36), `#VPING` (p.38), `#VVERSION`, `#VSTATE`, `#VALL` (p.39)
//! and `#DISPLAYIP` (p.15).

use crate::at::codes::{Condition, StackError};
use crate::at::command::Form;
use crate::at::parameters::{display_order, Group, Value, SOCKETS};
use crate::at::Firmware;
use crate::emulator::identity;
use crate::emulator::radio::Session;
use crate::emulator::{Error, Modem, Outcome};

/// The blocks of `#VALL`, in order. The recovered part of p.39 starts with
/// the #VPHY block; the order of the rest (p.40) is inferred from the order
/// of the chapters.
const VALL_GROUPS: &[Group] = &[
    Group::Phy,
    Group::Ppp,
    Group::Gprs,
    Group::Smtp,
    Group::Pop3,
    Group::Mail(1),
    Group::Mail(2),
    Group::Mail(3),
    Group::Dns,
    Group::Ftp,
    Group::Tcp,
    Group::Udp,
    Group::Ping,
];

impl Modem {
    /// Handle a display command, or `None` if `name` is not one.
    pub(crate) fn display_command(&mut self, name: &str, form: Form<'_>) -> Option<Outcome> {
        let group = match name {
            "VPHY" => Group::Phy,
            "VPPP" => Group::Ppp,
            "VGPRS" => Group::Gprs,
            "VSMTP" => Group::Smtp,
            "VPOP3" => Group::Pop3,
            "VMAIL1" => Group::Mail(1),
            "VMAIL2" => Group::Mail(2),
            "VMAIL3" => Group::Mail(3),
            "VDNS" => Group::Dns,
            "VFTP" => Group::Ftp,
            "VTCP" => Group::Tcp,
            "VUDP" => Group::Udp,
            "VPING" => Group::Ping,
            "VALL" | "VVERSION" | "VSTATE" | "DISPLAYIP" => return Some(self.special_display(name, form)),
            _ => return None,
        };
        // #VTCP takes an optional socket id (p.30-31: "AT#VTCP=id").
        let sockets: Vec<u8> = match (group, form) {
            (Group::Tcp, Form::Action) => SOCKETS.to_vec(),
            (Group::Tcp, Form::Set(id)) if SOCKETS.iter().any(|s| id.trim() == s.to_string()) => {
                SOCKETS.iter().copied().filter(|s| id.trim() == s.to_string()).collect()
            }
            (Group::Tcp, _) => return Some(Modem::answer(Condition::BadSocketId)),
            (_, Form::Action) => Vec::new(),
            _ => return Some(Outcome::Error(Error::Stack(StackError::SyntaxError))),
        };
        let lines = self.group_lines(group, &sockets);
        self.emit(&lines);
        Some(Outcome::Continue)
    }

    fn special_display(&mut self, name: &str, form: Form<'_>) -> Outcome {
        if form != Form::Action {
            return Outcome::Error(Error::Stack(StackError::SyntaxError));
        }
        let lines = match name {
            // p.39: the prefix is `#VERSION:`, not `#VVERSION:`.
            "VVERSION" => vec![format!("#VERSION: \"{}\"", identity::STACK_VERSION)],
            "VSTATE" => {
                let (line, ok) = self.state_line();
                self.emit(&[line]);
                // p.39 prints no `OK` after three of the states.
                return if ok { Outcome::Continue } else { Outcome::Answered };
            }
            "DISPLAYIP" => match self.display_ip() {
                Some(lines) => lines,
                None => return Outcome::Error(Error::Stack(StackError::NotActive)),
            },
            _ => {
                // #VALL: the stack banner, then every block, blocks separated
                // by an empty line (p.39).
                let mut lines = vec![identity::STACK_BANNER.to_string()];
                for (i, g) in VALL_GROUPS.iter().enumerate() {
                    if i > 0 {
                        lines.push(String::new());
                    }
                    lines.extend(self.group_lines(*g, &SOCKETS));
                }
                lines
            }
        };
        self.emit(&lines);
        Outcome::Continue
    }

    /// `#VSTATE` (p.39) and whether the final `OK` follows. `#NO SERVICE` has
    /// no `#STATE:` prefix, as printed (SIMCom's clone inherited it). The
    /// table of p.39 prints no `OK` after `#NO SERVICE`, DISCONNECTING and
    /// CHECKING: the manual's unit omits it there, field firmware sends it
    /// after every state, as public driver code expects (digest §13 item 38).
    fn state_line(&self) -> (String, bool) {
        let field = self.firmware == Firmware::Field;
        if !self.radio.creg_stat().is_registered() && self.radio.session == Session::Idle {
            return ("#NO SERVICE".into(), field);
        }
        let state = match &self.radio.session {
            Session::Idle => "IDLE",
            Session::Checking => "CHECKING",
            Session::Dialing => "DIALING",
            Session::Authenticating => "AUTHENTICATING",
            Session::Connected { .. } => "CONNECTED",
            Session::Disconnecting => "DISCONNECTING",
        };
        let ok = field || !matches!(self.radio.session, Session::Checking | Session::Disconnecting);
        (format!("#STATE: \"{state}\""), ok)
    }

    /// The lines of one display group.
    pub(crate) fn group_lines(&self, group: Group, sockets: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        if group == Group::Tcp {
            for &id in sockets {
                for p in display_order(group) {
                    lines.push(self.read_line(p, Some(id)));
                }
            }
            return lines;
        }
        for p in display_order(group) {
            if let Group::Mail(_) = group {
                // p.24 prints the #VMAIL1 block as "#REC1= #CCREC1= #SUBJ1=".
                let value = match self.param(p, None) {
                    Value::List(items) => items.join(","),
                    v => v.to_string(),
                };
                lines.push(format!("#{}={value}", p.name));
            } else {
                lines.push(self.read_line(p, None));
            }
        }
        lines
    }

    fn emit(&mut self, lines: &[String]) {
        let f = self.format();
        for l in lines {
            f.stack_info(&mut self.out, l);
        }
    }
}
