//! Is the rig ready? The health check before a suite, shared by `mtg probe`
//! and `mtg run`, and the check after a failure on a unit that is shared
//! by the whole run (a serial port, a line over the network).
//!
//! The check sends harmless commands ([`PROBE`]: nothing is changed on the
//! unit) and records every answer: the unit's identity (`AT+CGMR`,
//! `AT#VVERSION`, read by [`crate::family`]) and firmware fingerprint. A
//! line that cannot be opened, or a unit that does not answer `AT`, means
//! the rig is not ready: a run stops before its first scenario (exit code 3)
//! instead of failing every scenario as if the unit had findings.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::lines::LineReader;
use super::Options;
use crate::family::{Identity, ProbeAnswer};
use crate::transport::{Target, Transport};

/// Commands that tell what is on the line without changing anything.
pub const PROBE: &[&str] = &[
    "AT",
    "ATI",
    "AT+CGMR",
    "AT+CPIN?",
    "AT+CSQ",
    "AT+CREG?",
    "AT+CGREG?",
    "AT+CGATT?",
    "AT+WOPEN?",
    "AT#VVERSION",
    "AT#VSTATE",
];

/// How long one probe command may take (times the run's time scale):
/// between bytes, and in all.
const IDLE: Duration = Duration::from_secs(3);
const TOTAL: Duration = Duration::from_secs(5);

/// Send `commands` one by one and collect the answers. An `AT` that is not
/// answered is sent again after [`reset::WAKE`](super::reset::WAKE) (a unit
/// left in data mode, at an SMS prompt or in a text entry by an earlier run
/// is not a unit that does not answer); if it is still not answered, the
/// check stops there (nothing else would be). `say` sees each answer as it
/// comes (`mtg probe` prints them).
pub async fn check(
    t: &mut dyn Transport,
    commands: &[&str],
    options: &Options,
    say: &mut (dyn FnMut(&ProbeAnswer) + Send),
) -> Result<Vec<ProbeAnswer>, String> {
    let mut reader = LineReader::new();
    let mut answers = Vec::new();
    for command in commands {
        let mut answer = ask(t, &mut reader, command, options).await?;
        if *command == "AT" && answer.lines.is_empty() {
            let mut log = crate::transcript::Transcript::new("health", Vec::new());
            super::reset::wake(t, &mut reader, options, &mut log).await;
            answer = ask(t, &mut reader, command, options).await?;
        }
        say(&answer);
        let silent = answer.lines.is_empty();
        answers.push(answer);
        if *command == "AT" && silent {
            break;
        }
    }
    Ok(answers)
}

/// One command and its answer: every line up to the final result.
async fn ask(
    t: &mut dyn Transport,
    reader: &mut LineReader,
    command: &str,
    options: &Options,
) -> Result<ProbeAnswer, String> {
    let desc = t.describe();
    t.write_all(format!("{command}\r").as_bytes()).await.map_err(|e| format!("writing to {desc}: {e}"))?;
    t.flush().await.map_err(|e| format!("writing to {desc}: {e}"))?;
    let idle = IDLE.mul_f64(options.time_scale);
    let deadline = t.now() + TOTAL.mul_f64(options.time_scale);
    let mut lines = Vec::new();
    while let Ok(seg) = reader.next(t, idle, deadline).await {
        let line = crate::transcript::line_text(&seg);
        if line.is_empty() || (lines.is_empty() && line.eq_ignore_ascii_case(command)) {
            continue; // the echo
        }
        let last = crate::at::response::is_final(&line);
        lines.push(line);
        if last {
            break;
        }
    }
    Ok(ProbeAnswer { command: command.to_string(), lines })
}

/// The identity the answers give: the information lines of `AT+CGMR` and
/// `AT#VVERSION` when they were answered `OK`; and whether the rig is ready.
pub fn identity(desc: &str, answers: Vec<ProbeAnswer>) -> Identity {
    let info = |command: &str| {
        let a = answers.iter().find(|a| a.command == command)?;
        let (last, info) = a.lines.split_last()?;
        (matches!(last.as_str(), "OK" | "0") && !info.is_empty()).then(|| info.join(" "))
    };
    let (cgmr, vversion) = (info("AT+CGMR"), info("AT#VVERSION"));
    let at_answered = answers.iter().any(|a| a.command == "AT" && !a.lines.is_empty());
    let not_ready = (!at_answered).then(|| not_answering(desc));
    let unknown = not_ready.clone().or_else(|| {
        (cgmr.is_none() && vversion.is_none()).then(|| format!("{desc} answered neither AT+CGMR nor AT#VVERSION"))
    });
    Identity { cgmr, vversion, unknown, answers, not_ready }
}

fn not_answering(desc: &str) -> String {
    format!("the rig is not ready: {desc} does not answer AT (check the path, the baud rate (AT+IPR) and the cable)")
}

/// Is the unit still answering `AT`? For a unit shared by the whole run,
/// after a scenario that did not pass. A silent unit is first woken (see
/// [`check`]): a scenario that failed may have left it in data mode, at an
/// SMS prompt or in a text entry.
pub async fn answers_at(target: &Target, options: &Options) -> Result<(), String> {
    let mut t = target.open().await.map_err(|e| format!("the rig is not ready: {e}"))?;
    let desc = t.describe();
    let answers = check(t.as_mut(), &["AT"], options, &mut |_| {}).await?;
    match answers.first() {
        Some(a) if !a.lines.is_empty() => Ok(()),
        _ => Err(not_answering(&desc)),
    }
}

/// Whether scenarios share one unit that can stop answering (a physical
/// line). The emulator targets start a unit per scenario.
pub fn shared_unit(target: &Target) -> bool {
    !matches!(target, Target::Emulator { .. } | Target::Pty { .. })
}

/// Run the configured power-cycle command through the shell, within
/// `timeout`; then give the unit time to boot is the command's job.
pub async fn power_cycle(command: &str, timeout: Duration) -> Result<(), String> {
    tracing::warn!(command, "power-cycling the unit");
    let child = tokio::process::Command::new("sh").arg("-c").arg(command).kill_on_drop(true).status();
    match tokio::time::timeout(timeout, child).await {
        Err(_) => Err(format!("power-cycle command `{command}` did not finish within {}s", timeout.as_secs())),
        Ok(Err(e)) => Err(format!("power-cycle command `{command}` could not run: {e}")),
        Ok(Ok(status)) if !status.success() => Err(format!("power-cycle command `{command}` failed: {status}")),
        Ok(Ok(_)) => Ok(()),
    }
}
