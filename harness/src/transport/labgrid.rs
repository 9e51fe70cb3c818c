//! `labgrid:PLACE` — a shared lab unit reached through labgrid.
//!
//! The place is acquired with `labgrid-client -p PLACE acquire` the first
//! time the target is opened in this process, the host and port of its
//! `NetworkSerialPort` are read from `labgrid-client -p PLACE show`, and the
//! line is opened over RFC 2217 (labgrid's exporter serves a serial port
//! through ser2net in RFC 2217 mode). Later opens in the same run reuse the
//! acquisition. The place is released by [`release_all`] at the end of a run
//! (`mtg run` calls it after a normal end, a failure, a rig that is not ready
//! and Ctrl-C alike) or, failing that, when its [`Acquired`] guard is dropped.
//!
//! The coordinator is `?coordinator=HOST:PORT` or, without it, whatever
//! `labgrid-client` finds itself (`LG_COORDINATOR`).

use std::ffi::OsString;
use std::io;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one `labgrid-client` call may take (an unreachable coordinator
/// makes it retry).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How `labgrid-client` is run: the program, the coordinator, and (for tests)
/// the `PATH` it is looked up in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub program: OsString,
    pub coordinator: Option<String>,
    pub path: Option<OsString>,
}

impl Client {
    pub fn new(coordinator: Option<String>) -> Client {
        Client { program: "labgrid-client".into(), coordinator, path: None }
    }

    /// Run `labgrid-client [-x COORDINATOR] -p PLACE ARGS…`: its stdout, or
    /// an error naming the place, the command and what it printed.
    fn run(&self, place: &str, args: &[&str]) -> io::Result<String> {
        let mut cmd = Command::new(&self.program);
        if let Some(path) = &self.path {
            cmd.env("PATH", path);
        }
        if let Some(c) = &self.coordinator {
            cmd.arg("-x").arg(c);
        }
        cmd.arg("-p").arg(place).args(args);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let shown = format!("labgrid-client -p {place} {}", args.join(" "));
        let child = cmd.spawn().map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::NotFound {
                " (labgrid-client is not installed or not on PATH: pip install labgrid)"
            } else {
                ""
            };
            io::Error::new(e.kind(), format!("labgrid place `{place}`: cannot run `{shown}`: {e}{hint}"))
        })?;
        let output = wait_with_timeout(child, CLIENT_TIMEOUT).map_err(|e| {
            io::Error::new(e.kind(), format!("labgrid place `{place}`: `{shown}`: {e}{}", self.coordinator_hint()))
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            return Ok(stdout);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said: Vec<&str> = [stderr.trim(), stdout.trim()].into_iter().filter(|s| !s.is_empty()).collect();
        let said = said.join(" / ");
        Err(io::Error::other(format!(
            "labgrid place `{place}`: `{shown}` failed ({}){}: {}",
            output.status,
            self.coordinator_hint(),
            if said.is_empty() { "no output".to_string() } else { said },
        )))
    }

    fn coordinator_hint(&self) -> String {
        match &self.coordinator {
            Some(c) => format!(" [coordinator {c}]"),
            None => match std::env::var("LG_COORDINATOR") {
                Ok(c) => format!(" [coordinator {c} from LG_COORDINATOR]"),
                Err(_) => " [coordinator: labgrid-client's default; set LG_COORDINATOR or ?coordinator=]".to_string(),
            },
        }
    }
}

fn wait_with_timeout(mut child: std::process::Child, timeout: Duration) -> io::Result<std::process::Output> {
    // Read the pipes on threads so that a chatty client cannot block.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = io::Read::read_to_end(&mut err, &mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {} s (is the coordinator reachable?)", timeout.as_secs()),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(std::process::Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}

/// The host and port of the `NetworkSerialPort` in `labgrid-client show`
/// output (its resources are printed as Python dicts:
/// `'params': {'host': '127.0.0.1', 'port': 41233, …}`).
pub fn parse_show(text: &str) -> Option<(String, u16)> {
    // From the first resource block of that class on.
    let start = text.match_indices("NetworkSerialPort").map(|(i, _)| i).find(|&i| text[i..].contains("'host'"))?;
    let rest = &text[start..];
    let host = {
        let i = rest.find("'host':")? + "'host':".len();
        let v = rest[i..].trim_start();
        let quote = v.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let v = &v[1..];
        v[..v.find(quote)?].to_string()
    };
    let port = {
        let i = rest.find("'port':")? + "'port':".len();
        let v = rest[i..].trim_start();
        let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u16>().ok().filter(|&p| p != 0)?
    };
    Some((host, port))
}

/// An acquired place: released (once) by [`Acquired::release`] or on drop.
#[derive(Debug)]
pub struct Acquired {
    client: Client,
    place: String,
    pub host: String,
    pub port: u16,
    released: bool,
}

impl Acquired {
    /// Acquire `place` and find its serial port. If the port cannot be
    /// found, the place is released again before the error is returned.
    pub fn acquire(client: &Client, place: &str) -> io::Result<Acquired> {
        client.run(place, &["acquire"])?;
        let mut guard = Acquired {
            client: client.clone(),
            place: place.to_string(),
            host: String::new(),
            port: 0,
            released: false,
        };
        let shown = client.run(place, &["show"])?;
        let (host, port) = parse_show(&shown).ok_or_else(|| {
            io::Error::other(format!(
                "labgrid place `{place}` has no NetworkSerialPort with a host and port (add-match one from an \
                 exporter with a RawSerialPort or NetworkSerialPort); `labgrid-client -p {place} show` said: {}",
                shown.trim()
            ))
        })?;
        guard.host = host;
        guard.port = port;
        Ok(guard)
    }

    pub fn place(&self) -> &str {
        &self.place
    }

    /// Release the place now; later calls and the drop do nothing.
    pub fn release(&mut self) -> io::Result<()> {
        if self.released {
            return Ok(());
        }
        self.released = true;
        self.client.run(&self.place, &["release"]).map(drop)
    }
}

impl Drop for Acquired {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            eprintln!("mtg: {e}");
        }
    }
}

/// The places this process holds.
static HELD: Mutex<Vec<Acquired>> = Mutex::new(Vec::new());

/// The host and port of `place`'s serial line, acquiring the place the
/// first time (it stays acquired until [`release_all`]).
pub fn endpoint(client: &Client, place: &str) -> io::Result<(String, u16)> {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(a) = held.iter().find(|a| a.place == place && a.client == *client) {
        return Ok((a.host.clone(), a.port));
    }
    let a = Acquired::acquire(client, place)?;
    let found = (a.host.clone(), a.port);
    held.push(a);
    Ok(found)
}

/// Open the place's line over RFC 2217. The exporter starts ser2net when the
/// place is acquired, so a refused connection is tried again for a few seconds.
pub async fn connect(host: &str, port: u16, settings: &super::SerialSettings) -> io::Result<super::Rfc2217Transport> {
    let start = Instant::now();
    loop {
        match super::Rfc2217Transport::connect(host, port, settings).await {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && start.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// Release every place this process acquired. Errors are printed.
pub fn release_all() {
    let taken: Vec<Acquired> = std::mem::take(&mut *HELD.lock().unwrap_or_else(|e| e.into_inner()));
    for mut a in taken {
        match a.release() {
            Ok(()) => eprintln!("mtg: labgrid place `{}` released", a.place),
            Err(e) => eprintln!("mtg: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const SHOW: &str = "\
Place 'mtg-unit':
  aliases: 
  comment: 
  tags: 
  matches:
    */mtg-unit/*
  acquired: host/root
  acquired resources:
    exporter-1/mtg-unit/NetworkSerialPort/RawSerialPort
  created: 2026-12-02 07:20:01.123456
  changed: 2026-12-02 07:20:03.654321
Acquired resource 'RawSerialPort' (exporter-1/mtg-unit/NetworkSerialPort/RawSerialPort):
  {'acquired': 'mtg-unit',
   'avail': True,
   'cls': 'NetworkSerialPort',
   'params': {'extra': {'path': '/dev/pts/7', 'proxy': 'localhost', 'proxy_required': False},
              'host': '127.0.0.1',
              'port': 40213,
              'protocol': 'rfc2217',
              'speed': 115200}}
";

    #[test]
    fn show_output_gives_host_and_port() {
        assert_eq!(parse_show(SHOW), Some(("127.0.0.1".to_string(), 40213)));
        assert_eq!(parse_show("Place 'x':\n  acquired: None\n"), None);
        assert_eq!(parse_show(&SHOW.replace("'port': 40213", "'port': None")), None);
    }

    /// A fake labgrid-client that logs its arguments and prints SHOW.
    fn fake_client(dir: &std::path::Path, fail_on: &str) -> Client {
        std::fs::write(dir.join("show.txt"), SHOW).unwrap();
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{log}'\ncase \"$*\" in *{fail_on}*) echo \"Error: place is acquired by someone/else\" >&2; exit 1;; esac\ncase \"$*\" in *show*) cat '{show}';; esac\nexit 0\n",
            log = dir.join("log").display(),
            show = dir.join("show.txt").display(),
        );
        let path = dir.join("labgrid-client");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let search = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
        Client {
            program: "labgrid-client".into(),
            coordinator: Some("127.0.0.1:20408".into()),
            path: Some(search.into()),
        }
    }

    fn log(dir: &std::path::Path) -> String {
        std::fs::read_to_string(dir.join("log")).unwrap_or_default()
    }

    #[test]
    fn the_guard_releases_once_on_drop_or_explicitly() {
        let dir = tempfile::tempdir().unwrap();
        let client = fake_client(dir.path(), "NEVER");
        {
            let a = Acquired::acquire(&client, "mtg-unit").unwrap();
            assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 40213));
        }
        assert_eq!(
            log(dir.path()),
            "-x 127.0.0.1:20408 -p mtg-unit acquire\n-x 127.0.0.1:20408 -p mtg-unit show\n\
             -x 127.0.0.1:20408 -p mtg-unit release\n"
        );
        std::fs::remove_file(dir.path().join("log")).unwrap();
        let mut a = Acquired::acquire(&client, "mtg-unit").unwrap();
        a.release().unwrap();
        drop(a);
        assert_eq!(log(dir.path()).matches("release").count(), 1);
    }

    #[test]
    fn a_place_without_a_serial_port_is_released_again() {
        let dir = tempfile::tempdir().unwrap();
        let client = fake_client(dir.path(), "NEVER");
        std::fs::write(dir.path().join("show.txt"), "Place 'mtg-unit':\n  acquired: host/root\n").unwrap();
        let e = Acquired::acquire(&client, "mtg-unit").unwrap_err().to_string();
        assert!(e.contains("no NetworkSerialPort") && e.contains("mtg-unit"), "{e}");
        assert!(log(dir.path()).ends_with("-p mtg-unit release\n"), "{}", log(dir.path()));
    }

    #[test]
    fn errors_name_the_place_and_what_the_client_said() {
        let dir = tempfile::tempdir().unwrap();
        let client = fake_client(dir.path(), "acquire");
        let e = Acquired::acquire(&client, "mtg-unit").unwrap_err().to_string();
        assert!(e.contains("`mtg-unit`") && e.contains("acquired by someone/else"), "{e}");
        assert!(!log(dir.path()).contains("release"), "nothing acquired, nothing released");

        let missing = Client { path: Some(dir.path().join("nowhere").into()), ..client };
        let e = Acquired::acquire(&missing, "mtg-unit").unwrap_err().to_string();
        assert!(e.contains("not installed") && e.contains("mtg-unit"), "{e}");
    }

    #[test]
    fn release_all_releases_what_endpoint_acquired() {
        let dir = tempfile::tempdir().unwrap();
        let client = fake_client(dir.path(), "NEVER");
        assert_eq!(endpoint(&client, "mtg-unit-all").unwrap(), ("127.0.0.1".to_string(), 40213));
        assert_eq!(endpoint(&client, "mtg-unit-all").unwrap().1, 40213);
        assert_eq!(log(dir.path()).matches("acquire").count(), 1, "acquired once per run");
        release_all();
        assert_eq!(log(dir.path()).matches("-p mtg-unit-all release").count(), 1);
    }
}
