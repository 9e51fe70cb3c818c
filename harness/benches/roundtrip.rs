//! AT round-trip latency through the reference emulator, against a raw echo
//! over the same kind of channel, so that the emulator's own cost shows as a
//! ratio independent of the machine.
//!
//! Channels:
//! - `tcp`: the emulator behind `listen_tcp`'s accept loop on loopback, vs a
//!   TCP echo server on loopback (both on the benchmark's runtime);
//! - `pty`: [`PtyTransport`] (emulator on the PTY master, host on the slave
//!   through tokio-serial), vs a PTY whose master a thread echoes back,
//!   opened through the same [`SerialTransport`].
//!
//! One round trip is: write `AT<CR>`, read until the reply is complete. What
//! "complete" means is settled once per channel before measuring: if the
//! target answers `OK<CR><LF>` (an AT interpreter), the reply is complete when
//! it ends with `OK<CR><LF>`; if it only echoes (an emulator that does not
//! interpret commands yet), when the bytes received equal the bytes sent.
//! Deciding per exchange would not work: with echo on, an interpreter's
//! reply also starts with the exact echo, and stopping there would leave the
//! `OK` to pollute the next exchange.
//!
//! Usage: `cargo bench --bench roundtrip [-- --quick]`. Other arguments
//! (such as the `--bench` cargo passes) are ignored.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use mtg::emulator::listen::{bound_listener, serve_listener};
use mtg::emulator::EmulatorConfig;
use mtg::transport::{PtyTransport, SerialSettings, SerialTransport};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const COMMAND: &[u8] = b"AT\r";
/// Longest wait for one reply; a slower one is a failure, not a sample.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// While finding out how the target answers: how long a silence ends a reply.
const PROBE_SILENCE: Duration = Duration::from_millis(300);

/// When a reply is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Complete {
    /// The reply ends with `OK<CR><LF>`.
    Ok,
    /// The reply is exactly the bytes sent.
    Echo,
}

impl Complete {
    fn is_done(self, got: &[u8]) -> bool {
        match self {
            Complete::Ok => got.ends_with(b"OK\r\n"),
            Complete::Echo => got == COMMAND,
        }
    }
}

struct Plan {
    warmup: usize,
    iterations: usize,
}

struct Stats {
    median: Duration,
    p99: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Stats {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        Stats { median: at(0.5), p99: at(0.99) }
    }
}

fn micros(d: Duration) -> String {
    format!("{:.1}µs", d.as_secs_f64() * 1e6)
}

/// Send `COMMAND` and read the reply until `complete` says it is whole.
async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    complete: Complete,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    buf.clear();
    io.write_all(COMMAND).await?;
    io.flush().await?;
    let mut chunk = [0u8; 512];
    let read_all = async {
        while !complete.is_done(buf) {
            let n = io.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the line closed"));
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > 4096 {
                return Err(io::Error::other(format!("runaway reply: {}", buf[..64].escape_ascii())));
            }
        }
        Ok(())
    };
    tokio::time::timeout(REPLY_TIMEOUT, read_all)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("incomplete reply `{}`", buf.escape_ascii())))?
}

/// Send one command and see how the target answers.
async fn probe<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S) -> io::Result<Complete> {
    io.write_all(COMMAND).await?;
    io.flush().await?;
    let mut got = Vec::new();
    let mut chunk = [0u8; 512];
    let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
    while !got.ends_with(b"OK\r\n") {
        let wait = if got.is_empty() {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        } else {
            PROBE_SILENCE
        };
        match tokio::time::timeout(wait, io.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return Err(e),
        }
    }
    if got.ends_with(b"OK\r\n") {
        Ok(Complete::Ok)
    } else if got == COMMAND {
        Ok(Complete::Echo)
    } else {
        Err(io::Error::other(format!("unexpected answer to AT: `{}`", got.escape_ascii())))
    }
}

/// Warm up, then time `plan.iterations` round trips.
async fn measure<S: AsyncRead + AsyncWrite + Unpin>(io: &mut S, complete: Complete, plan: &Plan) -> io::Result<Stats> {
    let mut buf = Vec::with_capacity(64);
    for _ in 0..plan.warmup {
        round_trip(io, complete, &mut buf).await?;
    }
    let mut samples = Vec::with_capacity(plan.iterations);
    for _ in 0..plan.iterations {
        let start = Instant::now();
        round_trip(io, complete, &mut buf).await?;
        samples.push(start.elapsed());
    }
    Ok(Stats::of(samples))
}

fn report(channel: &str, emulator: &Stats, complete: Complete, raw: &Stats) {
    let ratio = emulator.median.as_secs_f64() / raw.median.as_secs_f64();
    let note = match complete {
        Complete::Ok => "",
        Complete::Echo => " [emulator only echoes: timed to the echo]",
    };
    println!(
        "{channel}: emulator {} (p99 {}), raw echo {} (p99 {}), ratio {ratio:.1}{note}",
        micros(emulator.median),
        micros(emulator.p99),
        micros(raw.median),
        micros(raw.p99),
    );
}

/// A TCP server that sends every byte back.
async fn tcp_echo_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let (mut rd, mut wr) = stream.split();
                let _ = tokio::io::copy(&mut rd, &mut wr).await;
            });
        }
    });
    Ok(addr)
}

async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn bench_tcp(plan: &Plan) -> io::Result<()> {
    let (listener, addr) = bound_listener("127.0.0.1:0".parse().expect("address")).await?;
    let server = tokio::spawn(serve_listener(listener, EmulatorConfig::default()));
    let mut emulator = connect(addr).await?;
    let complete = probe(&mut emulator).await?;
    let emulator_stats = measure(&mut emulator, complete, plan).await?;
    drop(emulator);
    server.abort();

    let mut raw = connect(tcp_echo_server().await?).await?;
    let raw_stats = measure(&mut raw, Complete::Echo, plan).await?;
    report("tcp", &emulator_stats, complete, &raw_stats);
    Ok(())
}

/// A PTY whose master a thread echoes back; returns the slave path and the
/// slave descriptor we hold, which keeps the master from seeing a hang-up
/// between host sessions. Dropping it (once the host has closed too) ends
/// the thread.
fn pty_echo() -> io::Result<(String, OwnedFd)> {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let pty = nix::pty::openpty(None, None)?;
    let mut termios = tcgetattr(&pty.slave)?;
    cfmakeraw(&mut termios);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &termios)?;
    let path = nix::unistd::ttyname(&pty.slave)?
        .to_str()
        .ok_or_else(|| io::Error::other("slave path is not UTF-8"))?
        .to_string();
    let master = pty.master;
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        // Blocking I/O: the smallest possible cost per byte, which is what
        // the raw baseline is for. Ends when the master reports a hang-up.
        while let Ok(n @ 1..) = nix::unistd::read(&master, &mut buf) {
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                match nix::unistd::write(&master, rest) {
                    Ok(written) => rest = &rest[written..],
                    Err(_) => return,
                }
            }
        }
    });
    Ok((path, pty.slave))
}

async fn bench_pty(plan: &Plan) -> io::Result<()> {
    let mut emulator = PtyTransport::start(EmulatorConfig::default()).map_err(io::Error::other)?;
    let complete = probe(&mut emulator).await?;
    let emulator_stats = measure(&mut emulator, complete, plan).await?;
    drop(emulator);

    let (path, held_slave) = pty_echo()?;
    let mut raw = SerialTransport::open(&path, &SerialSettings::default())?;
    let raw_stats = measure(&mut raw, Complete::Echo, plan).await?;
    drop(raw);
    drop(held_slave);
    report("pty", &emulator_stats, complete, &raw_stats);
    Ok(())
}

fn main() {
    let quick = std::env::args().skip(1).any(|a| a == "--quick");
    let plan = if quick { Plan { warmup: 20, iterations: 200 } } else { Plan { warmup: 200, iterations: 5000 } };
    // One thread: client and server tasks alternate without cross-thread
    // wake-ups, which would otherwise dominate loopback latencies.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    println!(
        "AT round trip, median (p99) of {} after {} warm-up{}",
        plan.iterations,
        plan.warmup,
        if quick { " (--quick)" } else { "" }
    );
    let mut failed = false;
    for (channel, result) in [("tcp", runtime.block_on(bench_tcp(&plan))), ("pty", runtime.block_on(bench_pty(&plan)))]
    {
        if let Err(e) = result {
            eprintln!("{channel}: failed: {e}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
