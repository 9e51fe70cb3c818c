//! Chapter 4, FTP services: `AT#FTPGET` (p.28) and `AT#FTPPUT` (p.29), with
//! the walk-throughs of App. B p.73 (download) and p.75 (upload) and the
//! data-mode framing of App. B p.50-52.
//!
//! What the manual says (digest §3.2, §3.3, §10):
//! - `AT#FTPGET` logs in, downloads FTPGETPATH/FTPGETFILENAME and closes
//!   the connection itself; `Ok_Info_DataBegin` announces the data, payload
//!   ETX and DLE reach the host as `<DLE><ETX>` and `<DLE><DLE>`, an `<ETX>`
//!   ends the data when the data connection closes (completed **or
//!   interrupted**, p.73), then `OK` or `#CME ERROR: <value>`.
//! - `AT#FTPPUT` logs in and answers `Ok_Info_WaitingForData` (p.29 prints
//!   `OK_WaitingForData`, App. B and ch. 9 `…_Info_WaitingForData`); the
//!   host's payload goes to FTPPUTPATH/FTPPUTFILENAME, DLE-coded, and an
//!   `<ETX>` not preceded by `<DLE>` ends it; then `OK` or an error, which on
//!   a failure during the data is **not** preceded by `<ETX>` (p.50).
//! - `38027` when the server name is not resolved (p.28, p.29).
//! - FTPTYPE `A` sends 7-bit NVT-ASCII, the MSB forced to 0 (p.75).
//!
//! Inferred, because pages 26-27 and the rest of p.28/29 were not recovered:
//! - FTPMODE 0 is active (`PORT`), 1 passive (`PASV`): FTPMODE was added in
//!   rev C, so the value every unit had before (0, the default) is the FTP
//!   default mode, active (RFC 959 §3.2); passive is the addition.
//! - FTPGETPATH/FTPPUTPATH are entered with `CWD` before `RETR`/`STOR` of the
//!   bare file name (the manual keeps path and name apart; an empty path
//!   means the login directory).
//! - Each failure's code (see the `Ftp*` conditions in [`Condition`]).
//! - The unit waits [`REPLY_TIMEOUT`] for the server at each step.
//! - `QUIT` is sent at the end whatever the outcome; the unit answers without
//!   waiting for the `221` ("closes the FTP connection itself", p.28).
//! - A download in ASCII is passed on as the server sends it (p.75 speaks of
//!   what the unit *sends*).
//!
//! Readings where the pages disagree (digest §13):
//! - "is echoed" (p.73 of the unit's end-of-download ETX, p.75 of the host's
//!   ETX, item 28): the download's ETX is sent once, as p.28's table shows;
//!   the host's ETX is not sent back, since the payload before it is "not
//!   echoed" and p.29's table shows `OK` next.
//! - The ready message of an upload is written as the unit's other
//!   information messages (`Ok_Info_WaitingForData`, App. B p.75 and ch. 9),
//!   not p.29's `OK_WaitingForData` (item 11).
//! - The download's data begins once the server has started the transfer
//!   (`150`) and the data connection is up; an error before that comes
//!   alone, an error after it follows the ETX (p.73 step 5).

pub mod reply;

use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use reply::{Reply, ReplyParser};

use super::data_mode::{Coding, DataMode, DLE, ETX};
use super::Running;
use crate::at::codes::{Condition, StackError};
use crate::at::command::Form;
use crate::at::parameters::{
    Value, FTPGETFILENAME, FTPGETPATH, FTPMODE, FTPPORT, FTPPUTFILENAME, FTPPUTPATH, FTPPW, FTPSERV, FTPTYPE, FTPUN,
};
use crate::at::response::{Final, Info};
use crate::emulator::net::{Event, Failure, Request};
use crate::emulator::radio::Session;
use crate::emulator::{Error, Mode, Modem, Outcome, Timed};

/// The stack's socket for the FTP control connection (its own id, apart
/// from the TCP sockets 1 and 2; named after port 21).
pub const CONTROL: u8 = 21;
/// The stack's socket for the FTP data connection (after port 20).
pub const DATA: u8 = 20;

/// How long the unit waits for the server at each step. Inferred: App. B
/// p.68 gives the SMTP client 3 minutes ("no answer from the SMTP server
/// after 3 minutes"); the FTP client is taken to wait as long.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(180);

/// How long host payload is held before it is sent. FTP has no TXDELAY
/// parameter; TCPTXDELAY's default (p.31, 100 ms) is taken (inferred).
const PUT_DELAY: Duration = Duration::from_millis(100);

/// Which command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `AT#FTPGET`: server to host.
    Get,
    /// `AT#FTPPUT`: host to server.
    Put,
}

/// What one command needs from the FTP parameters (p.28/29 list them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub direction: Direction,
    pub user: String,
    pub password: String,
    pub path: String,
    pub file: String,
    /// FTPTYPE `I` (else `A`).
    pub binary: bool,
    /// FTPMODE 1 (else active).
    pub passive: bool,
}

/// Why a transfer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// FTPSERV is a name the DNS could not resolve (p.28/29: 38027).
    NotResolved,
    /// Anything else: the condition whose code the unit answers.
    Condition(Condition),
}

/// What the transfer asks of the modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Net(Request),
    /// Raw bytes for the host (coded payload, the closing ETX).
    Host(Vec<u8>),
    /// An information message for the host.
    Info(Info),
    /// The line goes into (true) or out of (false) data mode.
    DataMode(bool),
    /// Call back at this time (see [`Transfer::timer`]).
    Arm(Instant),
    /// The command's final result.
    Done(Result<(), Fault>),
}

/// Where the control dialogue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Connecting,
    Greeting,
    User,
    Pass,
    Type,
    Cwd,
    /// Active: waiting for the data listener, then for `PORT`'s reply.
    Port,
    Pasv,
    /// `RETR`/`STOR` sent.
    Transfer,
    Done,
}

/// The data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataConn {
    None,
    Pending,
    Open,
    Closed,
}

/// One `AT#FTPGET` or `AT#FTPPUT` in progress: the FTP client, sans IO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    job: Job,
    step: Step,
    replies: ReplyParser,
    data_conn: DataConn,
    /// The server's `125`/`150` has arrived.
    started: bool,
    /// The host has been told the data begins (`Ok_Info_DataBegin` /
    /// `Ok_Info_WaitingForData`).
    announced: bool,
    /// Download bytes that arrived before the announcement.
    early: Vec<u8>,
    /// The download's closing `<ETX>` has been sent.
    etx_sent: bool,
    /// The host has ended the upload.
    host_done: bool,
    /// The transfer's `226`/`250` has arrived.
    completed: bool,
    /// The upload's data mode, while the host sends.
    data: Option<DataMode>,
    /// The control connection's server, which alone may open an active data
    /// connection.
    server: Option<IpAddr>,
    /// When the server's silence becomes a timeout (None: waiting for the host).
    deadline: Option<Instant>,
    /// When the armed timer fires (one at a time).
    armed: Option<Instant>,
    actions: Vec<Action>,
}

impl Transfer {
    /// Start: connect to the server's control port.
    pub fn start(job: Job, host: String, port: u16, now: Instant) -> (Transfer, Vec<Action>) {
        let mut t = Transfer {
            job,
            step: Step::Connecting,
            replies: ReplyParser::default(),
            data_conn: DataConn::None,
            started: false,
            announced: false,
            early: Vec::new(),
            etx_sent: false,
            host_done: false,
            completed: false,
            data: None,
            server: None,
            deadline: None,
            armed: None,
            actions: Vec::new(),
        };
        t.actions.push(Action::Net(Request::Connect { socket: CONTROL, host, port }));
        t.wait_for_server(now);
        let actions = std::mem::take(&mut t.actions);
        (t, actions)
    }

    pub(super) fn describe(&self) -> String {
        let cmd = match self.job.direction {
            Direction::Get => "FTPGET",
            Direction::Put => "FTPPUT",
        };
        format!("{cmd} {:?} (data connection {:?})", self.step, self.data_conn)
    }

    pub(super) fn data_mode(&mut self) -> Option<&mut DataMode> {
        self.data.as_mut()
    }

    /// Host payload for the server: FTPTYPE `A` forces the MSB to 0 (p.75).
    pub fn outgoing(&self, mut bytes: Vec<u8>) -> Vec<u8> {
        if !self.job.binary {
            bytes.iter_mut().for_each(|b| *b &= 0x7f);
        }
        bytes
    }

    /// What the network did.
    pub fn net_event(&mut self, event: Event, now: Instant) -> Vec<Action> {
        if self.step != Step::Done {
            self.event(event, now);
        }
        std::mem::take(&mut self.actions)
    }

    /// The host ended the upload with an unescaped ETX (p.29): what it typed
    /// has been sent; the data connection closes and the server confirms.
    pub fn host_end(&mut self, now: Instant) -> Vec<Action> {
        if self.step != Step::Done && self.job.direction == Direction::Put && !self.host_done {
            self.host_done = true;
            self.data = None;
            self.actions.push(Action::DataMode(false));
            self.actions.push(Action::Net(Request::Close { socket: DATA }));
            self.data_conn = DataConn::Closed;
            self.wait_for_server(now);
            self.maybe_finish();
        }
        std::mem::take(&mut self.actions)
    }

    /// The armed timer fired.
    pub fn timer(&mut self, now: Instant) -> Vec<Action> {
        if self.armed.is_some_and(|at| at <= now) {
            self.armed = None;
            match self.deadline {
                _ if self.step == Step::Done => {}
                Some(d) if d <= now => self.fail(Condition::FtpTimeout),
                Some(d) => self.arm(d),
                None => {}
            }
        }
        std::mem::take(&mut self.actions)
    }

    /// The IP link went: the transfer ends (its answer is the link's).
    pub fn link_lost(&mut self) -> Vec<Action> {
        if self.job.direction == Direction::Get && self.announced && !self.etx_sent {
            self.etx_sent = true;
            self.actions.push(Action::Host(vec![ETX]));
        }
        self.step = Step::Done;
        std::mem::take(&mut self.actions)
    }

    fn wait_for_server(&mut self, now: Instant) {
        let deadline = now + REPLY_TIMEOUT;
        self.deadline = Some(deadline);
        if self.armed.is_none() {
            self.arm(deadline);
        }
    }

    fn arm(&mut self, at: Instant) {
        self.armed = Some(at);
        self.actions.push(Action::Arm(at));
    }

    fn send(&mut self, line: &str) {
        tracing::debug!(command = %redact_pass(line), "FTP");
        let bytes = format!("{line}\r\n").into_bytes();
        self.actions.push(Action::Net(Request::Send { socket: CONTROL, bytes }));
    }

    fn event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Connected { socket: CONTROL, peer } if self.step == Step::Connecting => {
                self.server = Some(peer.ip());
                self.step = Step::Greeting;
                self.wait_for_server(now);
            }
            Event::Data { socket: CONTROL, bytes } => {
                self.wait_for_server(now);
                match self.replies.feed(&bytes) {
                    Ok(replies) => {
                        for r in replies {
                            tracing::debug!(code = r.code, text = %r.lines.join(" / "), "FTP reply");
                            self.reply(r, now);
                            if self.step == Step::Done {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::info!("FTP server: {e}");
                        self.fail(Condition::FtpCommandRefused);
                    }
                }
            }
            Event::PeerClosed { socket: CONTROL } => {
                tracing::info!("the FTP server closed the control connection");
                self.fail(Condition::FtpServerClosed);
            }
            Event::Failed { socket: CONTROL, failure, cause } => {
                tracing::info!(?failure, "FTP control connection: {cause}");
                match (self.step, failure) {
                    (Step::Connecting, Failure::Resolve) => self.finish(Err(Fault::NotResolved)),
                    (Step::Connecting, _) => self.fail(Condition::FtpConnectFailed),
                    _ => self.fail(Condition::FtpServerClosed),
                }
            }
            Event::Listening { socket: DATA, local } if self.step == Step::Port => {
                let SocketAddr::V4(local) = local else {
                    tracing::info!("FTP data listener on {local}: PORT takes IPv4 only");
                    return self.fail(Condition::FtpDataFailed);
                };
                self.send(&format!("PORT {}", reply::port_argument(local)));
            }
            Event::Connected { socket: DATA, peer } if self.data_conn == DataConn::Pending => {
                tracing::debug!(%peer, "FTP data connection up");
                self.data_conn = DataConn::Open;
                self.wait_for_server(now);
                if self.job.passive {
                    self.transfer_command();
                }
                self.maybe_announce(now);
            }
            Event::Data { socket: DATA, bytes } if self.job.direction == Direction::Get => {
                self.wait_for_server(now);
                if self.announced {
                    self.actions.push(Action::Host(dle_code(&bytes)));
                } else {
                    self.early.extend_from_slice(&bytes);
                }
            }
            Event::PeerClosed { socket: DATA } if self.data_conn == DataConn::Open => {
                self.data_conn = DataConn::Closed;
                match self.job.direction {
                    Direction::Get => {
                        self.wait_for_server(now);
                        if self.announced {
                            self.end_download();
                        }
                        self.maybe_announce(now);
                        self.maybe_finish();
                    }
                    // The server may not end an upload: only the host does.
                    Direction::Put if !self.host_done && self.announced => {
                        tracing::info!("the FTP server closed the data connection during the upload");
                        self.fail(Condition::FtpDataFailed);
                    }
                    // Before the transfer starts the control reply says why
                    // (a refused file closes the data connection too).
                    Direction::Put if !self.host_done => self.wait_for_server(now),
                    Direction::Put => {}
                }
            }
            Event::Failed { socket: DATA, failure, cause } => {
                tracing::info!(?failure, "FTP data connection: {cause}");
                self.fail(Condition::FtpDataFailed);
            }
            // Late events of a closed socket, other services' sockets.
            _ => {}
        }
    }

    fn reply(&mut self, r: Reply, now: Instant) {
        if r.code == 421 {
            // "Service not available, closing control connection".
            return self.fail(Condition::FtpServerClosed);
        }
        if r.preliminary() && self.step != Step::Transfer {
            return;
        }
        match self.step {
            Step::Greeting => match r.code {
                220 => self.send_user(),
                _ => self.refused(&r, Condition::FtpCommandRefused),
            },
            Step::User => match r.code {
                230 => self.logged_in(),
                331 => {
                    self.step = Step::Pass;
                    let pass = format!("PASS {}", self.job.password);
                    self.send(&pass);
                }
                _ => self.refused(&r, Condition::FtpLoginRefused),
            },
            Step::Pass => match r.code {
                230 | 202 => self.logged_in(),
                _ => self.refused(&r, Condition::FtpLoginRefused),
            },
            Step::Type => match r.code {
                200 if self.job.path.is_empty() => self.open_data(),
                200 => {
                    self.step = Step::Cwd;
                    let cwd = format!("CWD {}", self.job.path);
                    self.send(&cwd);
                }
                _ => self.refused(&r, Condition::FtpCommandRefused),
            },
            Step::Cwd => match r.code {
                200 | 250 => self.open_data(),
                _ => self.refused(&r, Condition::FtpFileRefused),
            },
            Step::Port => match r.code {
                200 => self.transfer_command(),
                _ => self.refused(&r, Condition::FtpDataFailed),
            },
            Step::Pasv => match (r.code, reply::passive_address(&r)) {
                (227, Some(addr)) => self.connect_data(addr),
                (227, None) => {
                    tracing::info!(text = %r.lines.join(" "), "227 reply without an address");
                    self.fail(Condition::FtpCommandRefused);
                }
                _ => self.refused(&r, Condition::FtpDataFailed),
            },
            Step::Transfer => match r.code {
                125 | 150 => {
                    self.started = true;
                    self.maybe_announce(now);
                }
                226 | 250 => {
                    self.completed = true;
                    self.maybe_finish();
                }
                425 | 426 => self.refused(&r, Condition::FtpDataFailed),
                450 | 550 | 553 => self.refused(&r, Condition::FtpFileRefused),
                _ => self.refused(&r, Condition::FtpCommandRefused),
            },
            Step::Connecting | Step::Done => {}
        }
    }

    fn send_user(&mut self) {
        self.step = Step::User;
        let user = format!("USER {}", self.job.user);
        self.send(&user);
    }

    fn logged_in(&mut self) {
        self.step = Step::Type;
        self.send(if self.job.binary { "TYPE I" } else { "TYPE A" });
    }

    /// Passive: ask the server where to connect; active: listen, then `PORT`.
    fn open_data(&mut self) {
        self.data_conn = DataConn::Pending;
        if self.job.passive {
            self.step = Step::Pasv;
            self.send("PASV");
        } else {
            self.step = Step::Port;
            // Only the control connection's server may connect (RFC 2577 §3).
            let allowed = self.server;
            self.actions.push(Action::Net(Request::Listen { socket: DATA, port: 0, allowed }));
        }
    }

    fn connect_data(&mut self, addr: SocketAddrV4) {
        self.actions.push(Action::Net(Request::Connect {
            socket: DATA,
            host: addr.ip().to_string(),
            port: addr.port(),
        }));
    }

    fn transfer_command(&mut self) {
        self.step = Step::Transfer;
        let verb = match self.job.direction {
            Direction::Get => "RETR",
            Direction::Put => "STOR",
        };
        let line = format!("{verb} {}", self.job.file);
        self.send(&line);
    }

    /// The data begins for the host once the server has started the
    /// transfer and the data connection is up (App. B p.73 step 3, p.75
    /// step 3).
    fn maybe_announce(&mut self, now: Instant) {
        if self.announced || !self.started || self.data_conn == DataConn::Pending {
            return;
        }
        self.announced = true;
        match self.job.direction {
            Direction::Get => {
                self.actions.push(Action::Info(Info::DataBegin));
                let early = std::mem::take(&mut self.early);
                if !early.is_empty() {
                    self.actions.push(Action::Host(dle_code(&early)));
                }
                if self.data_conn == DataConn::Closed {
                    self.end_download();
                }
            }
            Direction::Put if self.data_conn == DataConn::Closed => {
                tracing::info!("the FTP data connection closed before the upload began");
                self.fail(Condition::FtpDataFailed);
            }
            Direction::Put => {
                self.actions.push(Action::Info(Info::WaitingForData));
                self.data = Some(DataMode::new(Coding::Dle, PUT_DELAY));
                self.actions.push(Action::DataMode(true));
                // Waiting for the host now, not for the server.
                self.deadline = None;
                let _ = now;
            }
        }
    }

    /// p.73 step 5: `<ETX>` when the data connection closes.
    fn end_download(&mut self) {
        if !self.etx_sent {
            self.etx_sent = true;
            self.actions.push(Action::Host(vec![ETX]));
        }
    }

    fn maybe_finish(&mut self) {
        let data_done = match self.job.direction {
            Direction::Get => self.etx_sent,
            Direction::Put => self.host_done,
        };
        if self.completed && data_done {
            self.finish(Ok(()));
        }
    }

    fn refused(&mut self, r: &Reply, permanent: Condition) {
        tracing::info!(code = r.code, text = %r.lines.join(" / "), step = ?self.step, "FTP server refused");
        // A transient refusal (4xx) is the server's lack of resources.
        let condition = if r.transient() && permanent != Condition::FtpDataFailed {
            Condition::FtpServerBusy
        } else if r.preliminary() || r.positive() {
            // A positive reply where the dialogue expects another.
            Condition::FtpCommandRefused
        } else {
            permanent
        };
        self.fail(condition);
    }

    fn fail(&mut self, condition: Condition) {
        // p.73 step 5: the download's ETX comes when the data connection
        // closes, "completed or interrupted"; an upload's error is not
        // preceded by ETX (p.50).
        if self.job.direction == Direction::Get && self.announced {
            self.end_download();
        }
        if self.data.take().is_some() {
            self.actions.push(Action::DataMode(false));
        }
        self.finish(Err(Fault::Condition(condition)));
    }

    fn finish(&mut self, result: Result<(), Fault>) {
        if self.step == Step::Done {
            return;
        }
        let quit = !matches!(self.step, Step::Connecting);
        self.step = Step::Done;
        if quit {
            self.send("QUIT");
        }
        self.actions.push(Action::Net(Request::Close { socket: DATA }));
        self.actions.push(Action::Net(Request::Close { socket: CONTROL }));
        self.deadline = None;
        self.actions.push(Action::Done(result));
    }
}

/// Payload for the host: ETX and DLE escaped (p.28, p.73 step 4).
fn dle_code(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for &b in bytes {
        if b == ETX || b == DLE {
            out.push(DLE);
        }
        out.push(b);
    }
    out
}

/// Logs never show the password.
fn redact_pass(line: &str) -> &str {
    if line.starts_with("PASS ") {
        "PASS ****"
    } else {
        line
    }
}

impl Modem {
    /// `AT#FTPGET` and `AT#FTPPUT` (p.28, p.29): allowed "once an IP link is
    /// established" and when no other process uses TCP resources.
    pub(crate) fn ftp_command(&mut self, name: &str, form: Form<'_>, now: Instant) -> Outcome {
        if form != Form::Action {
            return Outcome::Error(Error::Stack(StackError::SyntaxError));
        }
        if !matches!(self.radio.session, Session::Connected { .. }) {
            return Outcome::Error(Error::Stack(StackError::NotActive));
        }
        if self.service.is_some() {
            return Modem::answer(Condition::SecondService);
        }
        let direction = if name == "FTPGET" { Direction::Get } else { Direction::Put };
        let (path, file) = match direction {
            Direction::Get => (&FTPGETPATH, &FTPGETFILENAME),
            Direction::Put => (&FTPPUTPATH, &FTPPUTFILENAME),
        };
        let text = |m: &Modem, p| m.param(p, None).to_string();
        let server = text(self, &FTPSERV);
        let port = match self.param(&FTPPORT, None) {
            Value::Int(p) if p > 0 && p <= i64::from(u16::MAX) => p as u16,
            _ => return Modem::answer(Condition::UnusableConfiguration),
        };
        let job = Job {
            direction,
            user: text(self, &FTPUN),
            password: text(self, &FTPPW),
            path: text(self, path),
            file: text(self, file),
            binary: !text(self, &FTPTYPE).eq_ignore_ascii_case("A"),
            passive: self.param(&FTPMODE, None) == Value::Int(1),
        };
        if server.trim().is_empty() || job.file.trim().is_empty() {
            return Modem::answer(Condition::UnusableConfiguration);
        }
        let (transfer, actions) = Transfer::start(job, server, port, now);
        self.set_service(Some(Running::Ftp(Box::new(transfer))), &format!("AT#{name}"));
        // The command answers at the end of the transfer; what the host
        // sends meanwhile waits (an upload's payload comes after
        // `Ok_Info_WaitingForData`).
        self.set_mode(Mode::Busy, "FTP session opening");
        self.ftp_apply(actions, now);
        Outcome::Deferred
    }

    /// What the network did to the FTP service.
    pub(super) fn ftp_event(&mut self, event: Event, now: Instant) {
        let Some(Running::Ftp(t)) = &mut self.service else { return };
        let actions = t.net_event(event, now);
        self.ftp_apply(actions, now);
    }

    /// The host ended an upload's data (an unescaped ETX).
    pub(super) fn ftp_host_end(&mut self, now: Instant) {
        let Some(Running::Ftp(t)) = &mut self.service else { return };
        let actions = t.host_end(now);
        self.ftp_apply(actions, now);
    }

    /// The FTP timer fired.
    pub(crate) fn ftp_timer(&mut self, now: Instant) {
        let Some(Running::Ftp(t)) = &mut self.service else { return };
        let actions = t.timer(now);
        self.ftp_apply(actions, now);
    }

    /// The IP link ended under a transfer: the download's ETX, and the line
    /// leaves the transfer's modes (the link's end is reported by whoever
    /// ended it).
    pub(super) fn ftp_link_lost(&mut self) {
        let Some(Running::Ftp(t)) = &mut self.service else { return };
        for action in t.link_lost() {
            if let Action::Host(bytes) = action {
                self.out.extend_from_slice(&bytes);
            }
        }
        if self.mode == Mode::Busy {
            self.set_mode(Mode::Command, "the FTP transfer ended with the IP link");
        }
    }

    fn ftp_apply(&mut self, actions: Vec<Action>, now: Instant) {
        let f = self.format();
        let mut data_began = false;
        for action in actions {
            match action {
                Action::Net(r) => self.net_requests.push(r),
                Action::Host(bytes) => self.out.extend_from_slice(&bytes),
                Action::Info(info) => f.final_result(&mut self.out, Final::Info(info)),
                Action::DataMode(on) => {
                    // set_service follows the transfer into or out of data
                    // mode; out of it, the command still runs.
                    let s = self.service.take();
                    self.set_service(s, if on { "FTP upload data" } else { "FTP upload data ended" });
                    if on {
                        data_began = true;
                    } else {
                        self.set_mode(Mode::Busy, "FTP upload closing");
                    }
                }
                Action::Arm(at) => self.schedule(at, Timed::FtpTimeout),
                Action::Done(result) => {
                    self.set_service(None, "FTP transfer ended");
                    match result {
                        Ok(()) => f.final_result(&mut self.out, Final::Ok),
                        Err(Fault::NotResolved) => f.stack_error(&mut self.out, StackError::NotResolved),
                        Err(Fault::Condition(c)) => self.answer_now(c),
                    }
                    self.release_queued(now);
                }
            }
        }
        // What the host sent before `Ok_Info_WaitingForData` waited in the
        // serial buffer: it is the upload's first payload.
        if data_began && self.mode == Mode::Data {
            self.release_queued(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(direction: Direction, passive: bool) -> Job {
        Job {
            direction,
            user: "u".into(),
            password: "p".into(),
            path: "dir".into(),
            file: "f.bin".into(),
            binary: true,
            passive,
        }
    }

    fn sent(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Net(Request::Send { socket: CONTROL, bytes }) => Some(String::from_utf8_lossy(bytes).into()),
                _ => None,
            })
            .collect()
    }

    fn server(t: &mut Transfer, text: &str, now: Instant) -> Vec<Action> {
        t.net_event(Event::Data { socket: CONTROL, bytes: text.as_bytes().to_vec() }, now)
    }

    fn logged_in(direction: Direction, passive: bool, now: Instant) -> Transfer {
        let (mut t, _) = Transfer::start(job(direction, passive), "ftp.example".into(), 21, now);
        let peer: SocketAddr = "127.0.0.9:21".parse().unwrap();
        t.net_event(Event::Connected { socket: CONTROL, peer }, now);
        assert_eq!(sent(&server(&mut t, "220 hi\r\n", now)), ["USER u\r\n"]);
        assert_eq!(sent(&server(&mut t, "331 pw\r\n", now)), ["PASS p\r\n"]);
        assert_eq!(sent(&server(&mut t, "230 in\r\n", now)), ["TYPE I\r\n"]);
        assert_eq!(sent(&server(&mut t, "200 ok\r\n", now)), ["CWD dir\r\n"]);
        t
    }

    #[test]
    fn passive_download_codes_payload_and_ends_with_etx() {
        let now = Instant::now();
        let mut t = logged_in(Direction::Get, true, now);
        assert_eq!(sent(&server(&mut t, "250 cwd\r\n", now)), ["PASV\r\n"]);
        let a = server(&mut t, "227 Entering Passive Mode (127,0,0,9,4,1)\r\n", now);
        assert!(a.contains(&Action::Net(Request::Connect { socket: DATA, host: "127.0.0.9".into(), port: 1025 })));
        let peer: SocketAddr = "127.0.0.9:1025".parse().unwrap();
        assert_eq!(sent(&t.net_event(Event::Connected { socket: DATA, peer }, now)), ["RETR f.bin\r\n"]);
        // Data before the 150 waits for the announcement.
        assert!(t.net_event(Event::Data { socket: DATA, bytes: vec![1, ETX, DLE] }, now).is_empty());
        let a = server(&mut t, "150 here\r\n", now);
        assert_eq!(a, [Action::Info(Info::DataBegin), Action::Host(vec![1, DLE, ETX, DLE, DLE])]);
        let a = server(&mut t, "226 done\r\n", now);
        assert!(a.is_empty(), "the ETX waits for the data connection to close: {a:?}");
        let a = t.net_event(Event::PeerClosed { socket: DATA }, now);
        assert_eq!(a[0], Action::Host(vec![ETX]));
        assert_eq!(sent(&a), ["QUIT\r\n"]);
        assert_eq!(a.last(), Some(&Action::Done(Ok(()))));
    }

    #[test]
    fn active_upload_listens_sends_port_and_waits_for_the_host() {
        let now = Instant::now();
        let mut t = logged_in(Direction::Put, false, now);
        let a = server(&mut t, "250 cwd\r\n", now);
        let allowed = Some("127.0.0.9".parse().unwrap());
        assert!(a.contains(&Action::Net(Request::Listen { socket: DATA, port: 0, allowed })));
        let local: SocketAddr = "127.0.0.1:40961".parse().unwrap();
        assert_eq!(sent(&t.net_event(Event::Listening { socket: DATA, local }, now)), ["PORT 127,0,0,1,160,1\r\n"]);
        assert_eq!(sent(&server(&mut t, "200 port\r\n", now)), ["STOR f.bin\r\n"]);
        let peer: SocketAddr = "127.0.0.9:20".parse().unwrap();
        assert!(t.net_event(Event::Connected { socket: DATA, peer }, now).is_empty());
        let a = server(&mut t, "150 go\r\n", now);
        assert_eq!(a, [Action::Info(Info::WaitingForData), Action::DataMode(true)]);
        assert!(t.data_mode().is_some());
        let a = t.host_end(now);
        assert!(a.contains(&Action::Net(Request::Close { socket: DATA })));
        let a = server(&mut t, "226 stored\r\n", now);
        assert_eq!(a.last(), Some(&Action::Done(Ok(()))));
    }

    #[test]
    fn silence_times_out_and_a_stale_timer_rearms() {
        let now = Instant::now();
        let (mut t, actions) = Transfer::start(job(Direction::Get, true), "h".into(), 21, now);
        assert_eq!(actions.last(), Some(&Action::Arm(now + REPLY_TIMEOUT)));
        let later = now + Duration::from_secs(10);
        let peer: SocketAddr = "127.0.0.9:21".parse().unwrap();
        t.net_event(Event::Connected { socket: CONTROL, peer }, later);
        let a = t.timer(now + REPLY_TIMEOUT);
        assert_eq!(a, [Action::Arm(later + REPLY_TIMEOUT)]);
        let a = t.timer(later + REPLY_TIMEOUT);
        assert_eq!(a.last(), Some(&Action::Done(Err(Fault::Condition(Condition::FtpTimeout)))));
    }

    #[test]
    fn an_error_after_the_data_began_is_preceded_by_etx_on_a_download() {
        let now = Instant::now();
        let mut t = logged_in(Direction::Get, true, now);
        server(&mut t, "250 cwd\r\n", now);
        server(&mut t, "227 (127,0,0,9,4,1)\r\n", now);
        let peer: SocketAddr = "127.0.0.9:1025".parse().unwrap();
        t.net_event(Event::Connected { socket: DATA, peer }, now);
        server(&mut t, "150 here\r\n", now);
        let a = server(&mut t, "426 aborted\r\n", now);
        assert_eq!(a[0], Action::Host(vec![ETX]));
        assert_eq!(a.last(), Some(&Action::Done(Err(Fault::Condition(Condition::FtpDataFailed)))));
    }
}
