//! One run per unit: a lock file per local serial device.
//!
//! `mtg-<sanitised path>.lock` (e.g. `mtg-dev-ttyUSB0.lock`) holds the pid
//! of the run that uses the device, in `$MTG_LOCK_DIR`, else
//! `$XDG_RUNTIME_DIR`, else `/run/lock` when writable, else the temporary
//! directory. A lock whose pid is no longer alive is stale and reclaimed.
//! The lock is released when the [`DeviceLock`] is dropped.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::transport::Target;

/// A device held by this process until dropped.
#[derive(Debug)]
pub struct DeviceLock {
    pub path: PathBuf,
}

/// Why a device could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{device} is in use by another mtg run (pid {pid}; lock file {}); wait for it, or remove the lock file if that process is not mtg", path.display())]
    Held { device: String, pid: u32, path: PathBuf },
    #[error("cannot lock {device} with {}: {source}", path.display())]
    Io { device: String, path: PathBuf, source: std::io::Error },
}

/// Where lock files go.
pub fn lock_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MTG_LOCK_DIR").or_else(|| std::env::var_os("XDG_RUNTIME_DIR")) {
        return PathBuf::from(dir);
    }
    let run_lock = Path::new("/run/lock");
    if run_lock.is_dir() && tempfile::tempfile_in(run_lock).is_ok() {
        return run_lock.to_path_buf();
    }
    std::env::temp_dir()
}

/// The lock file name of a device: `mtg-` and the path with every character
/// other than a letter, a digit, `.`, `_` or `-` turned into `-`.
pub fn lock_name(device: &str) -> String {
    let s: String = device
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect();
    format!("mtg-{}.lock", s.trim_start_matches('-'))
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    // SAFETY: signal 0 sends nothing; it only asks whether the pid exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Lock `device` in `dir`.
pub fn lock_in(dir: &Path, device: &str) -> Result<DeviceLock, LockError> {
    let path = dir.join(lock_name(device));
    let io = |source| LockError::Io { device: device.to_string(), path: path.clone(), source };
    for _ in 0..3 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                writeln!(f, "{}", std::process::id()).map_err(io)?;
                return Ok(DeviceLock { path });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                match text.trim().parse::<u32>() {
                    Ok(pid) if pid == std::process::id() || alive(pid) => {
                        return Err(LockError::Held { device: device.to_string(), pid, path })
                    }
                    // Stale (its process is gone) or half written: reclaim.
                    _ => match std::fs::remove_file(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                        _ => {}
                    },
                }
            }
            Err(e) => return Err(io(e)),
        }
    }
    Err(io(std::io::Error::other("the lock file keeps changing")))
}

/// Lock the device of a target, when it is a local serial port; other
/// targets need no lock (`None`).
pub fn lock_target(target: &Target) -> Result<Option<DeviceLock>, LockError> {
    match target {
        Target::Serial { path, .. } => lock_in(&lock_dir(), path).map(Some),
        _ => Ok(None),
    }
}

impl Drop for DeviceLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(lock_name("/dev/ttyUSB0"), "mtg-dev-ttyUSB0.lock");
        assert_eq!(lock_name("/dev/serial/by-id/usb-FTDI:1"), "mtg-dev-serial-by-id-usb-FTDI-1.lock");
    }

    #[test]
    fn one_holder_at_a_time_and_stale_locks_are_reclaimed() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_in(dir.path(), "/dev/ttyS9").unwrap();
        let e = lock_in(dir.path(), "/dev/ttyS9").unwrap_err().to_string();
        assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
        assert!(e.contains("mtg-dev-ttyS9.lock"), "{e}");
        drop(held);
        assert!(!dir.path().join("mtg-dev-ttyS9.lock").exists());
        // A dead pid (beyond pid_max) leaves a stale lock.
        std::fs::write(dir.path().join("mtg-dev-ttyS9.lock"), "4194399\n").unwrap();
        let again = lock_in(dir.path(), "/dev/ttyS9").unwrap();
        let text = std::fs::read_to_string(&again.path).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
    }
}
