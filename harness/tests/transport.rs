//! Transports and targets: parsing target texts, opening each kind of line,
//! and the emulator listeners.
//!
//! Exchanges assert only what holds for any AT interpreter with echo on (the
//! units' default, ATE1): `AT<CR>` comes back first, whether or not an
//! `<CR><LF>OK<CR><LF>` follows.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use mtg::emulator::listen::{bound_listener, listen_tcp, serve_listener};
use mtg::emulator::EmulatorConfig;
use mtg::scenario::{Capability, Control};
use mtg::transport::{
    spawn_pty_emulator, ControlError, EmulatorTransport, SerialSettings, SerialTransport, Target, TargetError,
    Transport,
};
use rstest::rstest;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_serial::{DataBits, FlowControl, Parity, StopBits};

/// Longest wait for the echo of a command line.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// Once the echo is in, how long a silence ends the reply.
const SETTLE: Duration = Duration::from_millis(100);

fn visible(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Send `AT<CR>` and collect the reply: until `OK<CR><LF>`, or a short
/// silence after the echo, or the timeout.
async fn at_exchange<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(io: &mut S) -> Vec<u8> {
    io.write_all(b"AT\r").await.expect("write AT");
    io.flush().await.expect("flush");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
    while !got.ends_with(b"OK\r\n") {
        let wait = if contains(&got, b"AT\r") {
            SETTLE
        } else {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        };
        match tokio::time::timeout(wait, io.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => panic!("read failed after {:?}: {e}", visible(&got)),
        }
    }
    got
}

async fn assert_echoes<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(io: &mut S, what: &str) {
    let reply = at_exchange(io).await;
    assert!(reply.starts_with(b"AT\r"), "{what}: expected the echo `AT\\r` first, got `{}`", visible(&reply));
}

fn caps(names: &[&str]) -> BTreeSet<Capability> {
    names.iter().map(|n| Capability::parse(n).unwrap_or_else(|| panic!("test names unknown capability {n}"))).collect()
}

// ---------------------------------------------------------------- parsing

#[rstest]
#[case("emu:", "emu:")]
#[case("  emu:  ", "emu:")]
#[case("emu:?", "emu:")]
#[case("emu:?flash=/tmp/unit.flash", "emu:?flash=/tmp/unit.flash")]
#[case("emu:?caps=pop3,smtp", "emu:?caps=smtp,pop3")]
#[case("emu:?caps=smtp&flash=f", "emu:?flash=f&caps=smtp")]
#[case("emu:?caps=smtp,smtp", "emu:?caps=smtp")]
#[case("pty:", "pty:")]
#[case("pty:?flash=unit.flash&caps=dns", "pty:?flash=unit.flash&caps=dns")]
#[case("emu:?profile=manual", "emu:?profile=manual")]
#[case("emu:?profile=field", "emu:?profile=field")]
#[case("emu:?caps=smtp&profile=manual&flash=f", "emu:?flash=f&profile=manual&caps=smtp")]
#[case("pty:?profile=manual", "pty:?profile=manual")]
#[case("emu:?attach=auto&flash=f", "emu:?flash=f&attach=auto")]
#[case("pty:?attach=manual", "pty:")]
#[case("serial:/dev/ttyUSB0", "serial:/dev/ttyUSB0")]
#[case("serial:/dev/ttyUSB0?baud=115200&data=8&parity=none&stop=1&flow=none", "serial:/dev/ttyUSB0")]
#[case(
    "serial:/dev/ttyS1?baud=9600&data=7&parity=even&stop=2&flow=rtscts",
    "serial:/dev/ttyS1?baud=9600&data=7&parity=even&stop=2&flow=rtscts"
)]
#[case("serial:COM3?flow=xonxoff&parity=odd", "serial:COM3?parity=odd&flow=xonxoff")]
#[case("serial:/dev/ttyUSB0?caps=gprs,control-lines", "serial:/dev/ttyUSB0?caps=gprs,control-lines")]
#[case("tcp:localhost:5000", "tcp:localhost:5000")]
#[case("tcp:10.0.0.2:4001?caps=gprs", "tcp:10.0.0.2:4001?caps=gprs")]
#[case("tcp:[::1]:5000", "tcp:[::1]:5000")]
fn parses_to_canonical_text(#[case] text: &str, #[case] canonical: &str) {
    let target: Target = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(target.to_string(), canonical);
    let again: Target = canonical.parse().unwrap_or_else(|e| panic!("{canonical}: {e}"));
    assert_eq!(again, target, "canonical text must parse back to the same target");
}

#[test]
fn parses_fields() {
    let t: Target = "serial:/dev/ttyS1?baud=9600&data=7&parity=even&stop=2&flow=rtscts&caps=gprs".parse().unwrap();
    assert_eq!(
        t,
        Target::Serial {
            path: "/dev/ttyS1".to_string(),
            settings: SerialSettings {
                baud: 9600,
                data_bits: DataBits::Seven,
                parity: Parity::Even,
                stop_bits: StopBits::Two,
                flow_control: FlowControl::Hardware,
            },
            caps: caps(&["gprs"]),
        }
    );
    let t: Target = "tcp:[::1]:5000".parse().unwrap();
    assert_eq!(t, Target::Tcp { host: "::1".to_string(), port: 5000, caps: BTreeSet::new() });
    let t: Target = "emu:?flash=/tmp/x".parse().unwrap();
    assert_eq!(t.emulator_config().unwrap().flash.unwrap().to_str(), Some("/tmp/x"));
    assert_eq!(t.emulator_config().unwrap().firmware, mtg::at::Firmware::Field);
    let t: Target = "pty:?profile=manual".parse().unwrap();
    assert_eq!(t.emulator_config().unwrap().firmware, mtg::at::Firmware::Manual);
    let t: Target = "pty:?attach=auto".parse().unwrap();
    assert_eq!(t.emulator_config().unwrap().attach, mtg::emulator::Attach::Auto);
    let err = "emu:?attach=sometimes".parse::<Target>().unwrap_err().to_string();
    assert!(err.contains("attach=sometimes"), "{err}");
}

#[test]
fn default_serial_settings_are_the_manuals() {
    let s = SerialSettings::default();
    assert_eq!(s.baud, 115_200);
    assert_eq!(s.data_bits, DataBits::Eight);
    assert_eq!(s.parity, Parity::None);
    assert_eq!(s.stop_bits, StopBits::One);
    assert_eq!(s.flow_control, FlowControl::None);
    assert_eq!(s.to_string(), "115200 8N1");
}

const FORMS: &str = "use emu:, serial:PATH, tcp:HOST:PORT, rfc2217:HOST:PORT, labgrid:PLACE or pty:";
const ALL_CAPS: &str = "gprs, gsm-data, incoming-call, smtp, pop3, ftp, tcp-echo, udp-echo, dns, ping, \
                        http, control-lines, emulator-control";

#[rstest]
#[case("foo:bar", format!("unknown scheme `foo` in target `foo:bar`: {FORMS}"))]
#[case("emu", format!("missing scheme in target `emu`: {FORMS}"))]
#[case("", format!("missing scheme in target ``: {FORMS}"))]
#[case(":x", format!("missing scheme in target `:x`: {FORMS}"))]
#[case("emu:foo", "invalid target `emu:foo`: emu: takes no path (write emu: or emu:?flash=FILE)".to_string())]
#[case("pty:/dev/pts/3", "invalid target `pty:/dev/pts/3`: pty: takes no path (write pty: or pty:?flash=FILE)".to_string())]
#[case("emu:?baud=9600", "unknown option `baud` in target `emu:?baud=9600`: emu: takes flash, profile, attach, caps".to_string())]
#[case("pty:?flash=a&speed=1", "unknown option `speed` in target `pty:?flash=a&speed=1`: pty: takes flash, profile, attach, caps".to_string())]
#[case("emu:?profile=strict", "invalid profile `strict` in target `emu:?profile=strict`: expected field or manual".to_string())]
#[case("pty:?profile=Manual", "invalid profile `Manual` in target `pty:?profile=Manual`: expected field or manual".to_string())]
#[case("tcp:h:1?profile=manual", "unknown option `profile` in target `tcp:h:1?profile=manual`: tcp: takes caps".to_string())]
#[case("tcp:h:1?flash=x", "unknown option `flash` in target `tcp:h:1?flash=x`: tcp: takes caps".to_string())]
#[case(
    "serial:/dev/ttyS0?flash=x",
    "unknown option `flash` in target `serial:/dev/ttyS0?flash=x`: serial: takes baud, data, parity, stop, flow, caps"
        .to_string()
)]
#[case(
    "emu:?caps=gprs,fax",
    format!("unknown capability `fax` in target `emu:?caps=gprs,fax`: valid capabilities are {ALL_CAPS}")
)]
#[case(
    "tcp:h:1?caps=SMTP",
    format!("unknown capability `SMTP` in target `tcp:h:1?caps=SMTP`: valid capabilities are {ALL_CAPS}")
)]
#[case("serial:", "invalid target `serial:`: serial: needs a device path, e.g. serial:/dev/ttyUSB0".to_string())]
#[case(
    "serial:/dev/ttyS0?baud=fast",
    "invalid baud `fast` in target `serial:/dev/ttyS0?baud=fast`: expected a positive number of bits per second, e.g. 115200"
        .to_string()
)]
#[case("serial:/dev/ttyS0?baud=0", "invalid baud `0` in target `serial:/dev/ttyS0?baud=0`: expected a positive number of bits per second, e.g. 115200".to_string())]
#[case("serial:/dev/ttyS0?data=9", "invalid data `9` in target `serial:/dev/ttyS0?data=9`: expected 5, 6, 7 or 8".to_string())]
#[case("serial:/dev/ttyS0?parity=mark", "invalid parity `mark` in target `serial:/dev/ttyS0?parity=mark`: expected none, even or odd".to_string())]
#[case("serial:/dev/ttyS0?stop=3", "invalid stop `3` in target `serial:/dev/ttyS0?stop=3`: expected 1 or 2".to_string())]
#[case("serial:/dev/ttyS0?flow=dsrdtr", "invalid flow `dsrdtr` in target `serial:/dev/ttyS0?flow=dsrdtr`: expected none, rtscts or xonxoff".to_string())]
#[case("serial:/dev/ttyS0?baud", "invalid target `serial:/dev/ttyS0?baud`: option `baud` has no value: write KEY=VALUE".to_string())]
#[case("emu:?=x", "invalid target `emu:?=x`: option `=x` has no name: write KEY=VALUE".to_string())]
#[case("serial:/dev/ttyS0?baud=1&baud=2", "invalid target `serial:/dev/ttyS0?baud=1&baud=2`: option `baud` is given twice".to_string())]
#[case("tcp:localhost", "invalid target `tcp:localhost`: tcp: needs HOST:PORT, e.g. tcp:localhost:5000".to_string())]
#[case("tcp::5000", "invalid target `tcp::5000`: tcp: needs a host before the port, e.g. tcp:localhost:5000".to_string())]
#[case("tcp:[::1:5000", "invalid target `tcp:[::1:5000`: unbalanced `[` in host `[::1`: write tcp:[::1]:5000".to_string())]
#[case("tcp:localhost:http", "invalid port `http` in target `tcp:localhost:http`: expected a TCP port number, 1 to 65535".to_string())]
#[case("tcp:localhost:0", "invalid port `0` in target `tcp:localhost:0`: expected a TCP port number, 1 to 65535".to_string())]
#[case("tcp:localhost:70000", "invalid port `70000` in target `tcp:localhost:70000`: expected a TCP port number, 1 to 65535".to_string())]
fn rejects_bad_texts(#[case] text: &str, #[case] message: String) {
    match text.parse::<Target>() {
        Ok(t) => panic!("`{text}` parsed as {t:?}"),
        Err(e) => assert_eq!(e.to_string(), message),
    }
}

#[rstest]
#[case("emu:", &["gprs", "gsm-data", "incoming-call", "control-lines", "emulator-control"])]
#[case("emu:?caps=smtp,gprs", &["gprs", "gsm-data", "incoming-call", "smtp", "control-lines", "emulator-control"])]
#[case("pty:", &["gprs", "gsm-data"])]
#[case("pty:?caps=tcp-echo", &["gprs", "gsm-data", "tcp-echo"])]
#[case("tcp:localhost:5000", &[])]
#[case("serial:/dev/ttyUSB0?caps=gprs,control-lines", &["gprs", "control-lines"])]
fn capabilities_are_defaults_plus_declared(#[case] text: &str, #[case] expected: &[&str]) {
    let target: Target = text.parse().unwrap();
    assert_eq!(target.capabilities(), caps(expected));
}

// ---------------------------------------------------------------- open errors

#[tokio::test]
async fn refused_tcp_connection_names_the_target() {
    // A port that was just free: bind, learn it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let text = format!("tcp:127.0.0.1:{port}");
    let target: Target = text.parse().unwrap();
    let err = match target.open().await {
        Ok(t) => panic!("connected to {}", t.describe()),
        Err(e) => e,
    };
    let message = err.to_string();
    assert!(matches!(err, TargetError::Open { .. }), "{message}");
    assert!(message.contains(&format!("`{text}`")), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn bad_serial_path_names_the_path() {
    let target: Target = "serial:/nonexistent/ttyMTG0".parse().unwrap();
    let err = match target.open().await {
        Ok(t) => panic!("opened {}", t.describe()),
        Err(e) => e,
    };
    let message = err.to_string();
    assert!(message.contains("/nonexistent/ttyMTG0"), "{message}");
    match err {
        TargetError::Open { cause, .. } => {
            assert_eq!(cause.kind(), std::io::ErrorKind::NotFound, "{message}")
        }
        other => panic!("expected an open error, got {other}"),
    }
}

// ---------------------------------------------------------------- in-process emulator

#[tokio::test]
async fn emulator_round_trip() {
    let target: Target = "emu:?caps=smtp".parse().unwrap();
    let mut line = target.open().await.expect("emu: opens");
    assert!(line.describe().contains("emulator"));
    assert_eq!(line.capabilities(), target.capabilities());
    assert_echoes(&mut *line, "emu:").await;
    assert_echoes(&mut *line, "emu: second command").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_round_trip_on_multi_thread_runtime() {
    let mut line = EmulatorTransport::start(EmulatorConfig::default()).unwrap();
    assert_echoes(&mut line, "emu: multi-thread").await;
    line.control(&Control::Restart).await.expect("restart");
    assert_echoes(&mut line, "emu: multi-thread, after restart").await;
}

#[tokio::test]
async fn emulator_restart_gives_a_fresh_line() {
    let mut line = EmulatorTransport::start(EmulatorConfig::default()).unwrap();
    assert_echoes(&mut line, "before restart").await;
    // Bytes sent just before the restart are lost with the old unit.
    line.write_all(b"ATI").await.unwrap();
    line.control(&Control::Restart).await.expect("restart");
    assert_echoes(&mut line, "after restart").await;
}

#[tokio::test]
async fn emulator_controls_are_answered_not_refused() {
    let mut line = EmulatorTransport::start(EmulatorConfig::default()).unwrap();
    for control in [Control::Signal(20), Control::Dtr(false), Control::Dtr(true), Control::RemoteHangup] {
        let answer = tokio::time::timeout(REPLY_TIMEOUT, line.control(&control))
            .await
            .unwrap_or_else(|_| panic!("{control:?}: no answer"));
        // Whether the model supports a control is the emulator's business;
        // the transport must deliver it and return the verdict.
        if let Err(e) = answer {
            assert!(matches!(e, ControlError::Failed { .. }), "{control:?}: {e}");
        }
    }
    assert_echoes(&mut line, "after controls").await;
}

#[tokio::test]
async fn emulator_task_ends_with_the_transport() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let line = EmulatorTransport::start(EmulatorConfig::default()).unwrap();
    assert_eq!(metrics.num_alive_tasks(), before + 1);
    drop(line);
    for _ in 0..10 {
        if metrics.num_alive_tasks() == before {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the emulator task outlived its transport");
}

#[tokio::test]
async fn emulator_line_closes_when_the_host_shuts_down() {
    let mut line = EmulatorTransport::start(EmulatorConfig::default()).unwrap();
    line.shutdown().await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(REPLY_TIMEOUT, line.read(&mut buf)).await.expect("EOF in time").unwrap();
    assert_eq!(n, 0);
    let err = line.control(&Control::Signal(3)).await.unwrap_err();
    assert!(err.to_string().contains("stopped"), "{err}");
}

// ---------------------------------------------------------------- TCP listener

async fn start_listener() -> (SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>) {
    let (listener, addr) = bound_listener("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert_ne!(addr.port(), 0);
    let task = tokio::spawn(serve_listener(listener, EmulatorConfig::default()));
    (addr, task)
}

#[tokio::test]
async fn tcp_listener_survives_junk_and_dropped_clients() {
    let (addr, listener) = start_listener().await;

    // A client that sends junk and disconnects without reading.
    let mut junk = TcpStream::connect(addr).await.unwrap();
    let mut bytes: Vec<u8> = (0u8..=255).collect();
    bytes.extend_from_slice(b"+++\x1a\x1b\rAT#NOSUCH=\"\r\n\0\xff");
    junk.write_all(&bytes).await.unwrap();
    drop(junk);

    // A client that connects and leaves at once.
    drop(TcpStream::connect(addr).await.unwrap());

    // The next client is still served, through the tcp: target.
    let target: Target = format!("tcp:{addr}").parse().unwrap();
    let mut line = target.open().await.expect("tcp: opens");
    assert!(line.describe().contains(&addr.to_string()), "{}", line.describe());
    assert!(line.capabilities().is_empty());
    assert_echoes(&mut *line, "tcp: after junk").await;

    assert!(!listener.is_finished(), "the listener stopped");
    listener.abort();
}

#[tokio::test]
async fn tcp_listener_serves_clients_concurrently() {
    let (addr, listener) = start_listener().await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    assert_echoes(&mut second, "second client").await;
    assert_echoes(&mut first, "first client").await;
    listener.abort();
}

#[tokio::test]
async fn listen_tcp_reports_an_address_in_use() {
    let (_held, addr) = bound_listener("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let err = tokio::time::timeout(REPLY_TIMEOUT, listen_tcp(addr, EmulatorConfig::default()))
        .await
        .expect("bind fails at once")
        .unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

// ---------------------------------------------------------------- PTY

#[tokio::test]
async fn pty_round_trip() {
    let target: Target = "pty:".parse().unwrap();
    let mut line = target.open().await.expect("pty: opens");
    assert!(line.describe().contains("/dev/"), "{}", line.describe());
    assert_eq!(line.capabilities(), caps(&["gprs", "gsm-data"]));
    assert_echoes(&mut *line, "pty:").await;
    assert_echoes(&mut *line, "pty: second command").await;
    // A PTY has no control lines.
    let err = line.control(&Control::Dtr(false)).await.unwrap_err();
    assert!(matches!(err, ControlError::Unsupported { .. }), "{err}");
}

#[tokio::test]
async fn pty_server_keeps_serving_across_host_sessions() {
    let (path, server) = spawn_pty_emulator(EmulatorConfig::default()).unwrap();
    assert_eq!(server.path(), path);
    let path = path.to_str().unwrap().to_string();
    let settings = SerialSettings::default();

    let mut first = SerialTransport::open(&path, &settings).unwrap();
    assert_echoes(&mut first, "first session").await;
    // Leave with a command in flight: its answer must not greet the next host.
    first.write_all(b"AT\r").await.unwrap();
    drop(first);
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mut second = SerialTransport::open(&path, &settings).unwrap();
    assert_echoes(&mut second, "second session").await;
    drop(second);

    // Reopened with other settings, still served.
    let mut third = SerialTransport::open(&path, &SerialSettings { baud: 9600, ..settings }).unwrap();
    assert_echoes(&mut third, "third session").await;
    drop(third);
    drop(server);
}

#[tokio::test]
async fn pty_server_starts_without_a_host_and_stops_on_drop() {
    let (path, server) = spawn_pty_emulator(EmulatorConfig::default()).unwrap();
    // Nobody has the slave open for a while: the server must wait, not exit.
    tokio::time::sleep(Duration::from_millis(60)).await;
    let mut line = SerialTransport::open(path.to_str().unwrap(), &SerialSettings::default()).unwrap();
    assert_echoes(&mut line, "late host").await;
    drop(line);
    drop(server);
    // With the master closed, the PTY is gone.
    assert!(SerialTransport::open(path.to_str().unwrap(), &SerialSettings::default()).is_err());
}

#[tokio::test]
async fn serial_dtr_refused_by_the_os_names_the_port() {
    let (path, _server) = spawn_pty_emulator(EmulatorConfig::default()).unwrap();
    let path = path.to_str().unwrap();
    let mut line = SerialTransport::open(path, &SerialSettings::default()).unwrap();
    match line.control(&Control::Dtr(true)).await {
        Err(e @ ControlError::Failed { .. }) => {
            assert!(e.to_string().contains(path), "{e}");
            assert!(e.to_string().contains("DTR is not available on this port"), "{e}");
        }
        // Linux refuses modem-line ioctls on a PTY (ENOTTY); elsewhere the
        // kernel may accept them.
        Ok(()) if !cfg!(target_os = "linux") => {}
        other => panic!("DTR must be attempted on a serial port, and refused on a PTY: {other:?}"),
    }
    // DCD and RI cannot be read either: an error saying so, not a verdict.
    if cfg!(target_os = "linux") {
        let err = line.control(&Control::Lines { dcd: Some(true), ri: None, dsr: None, cts: None }).await.unwrap_err();
        assert!(matches!(err, ControlError::Failed { .. }), "{err}");
        assert!(err.to_string().contains("DCD is not available on this port"), "{err}");
    }
    let err = line.control(&Control::Restart).await.unwrap_err();
    assert!(matches!(err, ControlError::Unsupported { .. }), "{err}");
}

/// CPU time (clock ticks) used so far by this process's thread named `name`.
#[cfg(target_os = "linux")]
fn thread_cpu_ticks(name: &str) -> u64 {
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        if std::fs::read_to_string(dir.join("comm")).map(|c| c.trim() == name).unwrap_or(false) {
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
            // Fields after the `(comm)`: state is the first, utime the 12th, stime the 13th.
            let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
            return fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        }
    }
    panic!("no thread named {name}");
}

/// The PTY server must sleep while the line is idle, in every state: no
/// host, a host that is silent, and a host that closed and reopened at once
/// (a hang-up the reactor saw but the server may not have).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn pty_server_sleeps_while_the_line_is_idle() {
    let (path, _server) = spawn_pty_emulator(EmulatorConfig::default()).unwrap();
    let thread = format!("mtg-pty-{}", path.file_name().unwrap().to_string_lossy());
    let port = path.to_str().unwrap();
    // 300 ms of spinning would be about 30 ticks (USER_HZ is 100).
    let assert_idle = |what: &str, before: u64| {
        let used = thread_cpu_ticks(&thread) - before;
        assert!(used <= 10, "{what}: the server used {used} ticks in 300 ms");
    };

    let before = thread_cpu_ticks(&thread);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_idle("no host", before);

    let mut line = SerialTransport::open(port, &SerialSettings::default()).unwrap();
    assert_echoes(&mut line, "first host").await;
    let before = thread_cpu_ticks(&thread);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_idle("silent host", before);

    drop(line);
    let mut line = SerialTransport::open(port, &SerialSettings::default()).unwrap();
    assert_echoes(&mut line, "host back at once").await;
    let before = thread_cpu_ticks(&thread);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_idle("silent host after a reopen", before);
}

#[tokio::test]
async fn the_emulator_holds_dsr_and_cts_on_and_takes_rts() {
    let mut line = EmulatorTransport::start(EmulatorConfig::default()).unwrap();
    line.control(&Control::Rts(false)).await.unwrap();
    line.control(&Control::Lines { dcd: Some(false), ri: Some(false), dsr: Some(true), cts: Some(true) })
        .await
        .unwrap();
    let err = line.control(&Control::Lines { dcd: None, ri: None, dsr: Some(false), cts: None }).await.unwrap_err();
    assert!(matches!(err, ControlError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("DSR is on"), "{err}");
}
