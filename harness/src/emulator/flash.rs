//! The persistent parameter store ("flash").
//!
//! Manual p.53: a parameter set offline is "stored in non-volatile memory at
//! once". The emulator keeps its store in one JSON file, rewritten atomically
//! (write to a temporary file in the same directory, then rename) after every
//! change, so a killed emulator never leaves a torn store and a restart on the
//! same file finds every value. A store that cannot be written answers
//! `#CME ERROR: 34824` ("EEPROM write failed", ch. 9).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::at::parameters::Value;

/// Settings of the GSM core that `AT&W` saves and `ATZ` restores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    pub echo: bool,
    pub verbose: bool,
    pub quiet: bool,
    pub cmee: u8,
    pub s0: u8,
    pub ipr: u32,
    pub ifc: (u8, u8),
    pub clip: u8,
    pub crc: u8,
    pub creg: u8,
    pub cgreg: u8,
    /// `AT&C`: 0 DCD always on, 1 DCD follows the data connection.
    pub dcd_mode: u8,
    /// `AT&D`: 0 DTR ignored, 1 or 2 a DTR drop ends the data connection.
    pub dtr_mode: u8,
}

impl Default for Profile {
    /// `AT&F` values of a Wavecom core: echo on, verbose, results shown,
    /// errors as plain `ERROR`, no automatic answer, 115200 bit/s, RTS/CTS,
    /// DCD following the connection (`&C1`), DTR drop hanging up (`&D2`).
    fn default() -> Self {
        Profile {
            echo: true,
            verbose: true,
            quiet: false,
            cmee: 0,
            s0: 0,
            ipr: 115200,
            ifc: (2, 2),
            clip: 0,
            crc: 0,
            creg: 0,
            cgreg: 0,
            dcd_mode: 1,
            dtr_mode: 2,
        }
    }
}

/// Everything that survives a power cycle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stored {
    /// AT# parameters that differ from their default, keyed by mnemonic
    /// (`TCPPORT.2` for socket 2 of a chapter-5 parameter).
    pub parameters: BTreeMap<String, Value>,
    /// `AT+WOPEN` (Wavecom keeps it across resets).
    pub wopen: u8,
    /// `AT+WIND` indication mask.
    pub wind: u32,
    /// The profile saved by `AT&W`.
    pub profile: Profile,
    /// PDP contexts of `AT+CGDCONT`: cid → (type, APN).
    pub contexts: BTreeMap<u8, (String, String)>,
    /// `AT+CGCLASS` (Wavecom keeps the class across resets).
    pub gprs_class: GprsClass,
    /// What the SIM holds for short messages. Stores written before it
    /// existed load with an empty message store (`serde(default)`).
    pub sms: SmsStore,
}

/// The GPRS mobile class of `AT+CGCLASS` (27.007 §10.1.17): the Q24x6 is a
/// class B terminal; `CG` is GPRS only, `CC` GSM only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum GprsClass {
    #[default]
    B,
    CG,
    CC,
}

impl GprsClass {
    pub fn name(self) -> &'static str {
        match self {
            GprsClass::B => "B",
            GprsClass::CG => "CG",
            GprsClass::CC => "CC",
        }
    }
}

/// Short messages on the SIM ("SM" storage, 27.005 §3.1 <mem1>) and the
/// service centre address (`AT+CSCA`, kept on the SIM, 27.005 §3.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsStore {
    pub service_centre: String,
    pub messages: Vec<StoredSms>,
}

impl Default for SmsStore {
    fn default() -> Self {
        SmsStore { service_centre: crate::emulator::identity::SERVICE_CENTRE.to_string(), messages: Vec::new() }
    }
}

/// One stored message (27.005 §3.1 <stat>, <oa>/<da>, <scts>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSms {
    /// 1-based location in the storage (`+CMTI: "SM",<index>`).
    pub index: u16,
    pub status: SmsStatus,
    /// The originator of a received message, the destination of a stored one.
    pub number: String,
    /// The service centre time stamp, in text mode's form `yy/MM/dd,hh:mm:ss±zz`.
    pub timestamp: String,
    pub text: String,
}

/// 27.005 §3.1 <stat>: PDU mode's number, text mode's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmsStatus {
    RecUnread,
    RecRead,
    StoUnsent,
    StoSent,
}

impl SmsStatus {
    pub const ALL: [SmsStatus; 4] =
        [SmsStatus::RecUnread, SmsStatus::RecRead, SmsStatus::StoUnsent, SmsStatus::StoSent];

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            SmsStatus::RecUnread => "REC UNREAD",
            SmsStatus::RecRead => "REC READ",
            SmsStatus::StoUnsent => "STO UNSENT",
            SmsStatus::StoSent => "STO SENT",
        }
    }
}

/// Where the store lives.
#[derive(Debug)]
pub struct Flash {
    path: Option<PathBuf>,
    pub stored: Stored,
    /// Fail the next write (fault injection, `emulator: flash-write-fault`).
    pub fail_next_write: bool,
}

/// A store that cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {cause}")]
pub struct FlashError {
    pub path: PathBuf,
    pub cause: String,
}

impl Flash {
    /// Open the store at `path` (created on first write), or an in-memory one.
    pub fn open(path: Option<&Path>) -> Result<Flash, FlashError> {
        let Some(path) = path else {
            return Ok(Flash { path: None, stored: Stored::default(), fail_next_write: false });
        };
        let stored = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| FlashError {
                path: path.to_path_buf(),
                cause: format!("not a parameter store ({e}); delete it or pick another --flash file"),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored::default(),
            Err(e) => return Err(FlashError { path: path.to_path_buf(), cause: e.to_string() }),
        };
        Ok(Flash { path: Some(path.to_path_buf()), stored, fail_next_write: false })
    }

    /// Write the store atomically.
    pub fn commit(&mut self) -> Result<(), FlashError> {
        if std::mem::take(&mut self.fail_next_write) {
            return Err(FlashError {
                path: self.path.clone().unwrap_or_default(),
                cause: "write failed (injected fault)".into(),
            });
        }
        let Some(path) = &self.path else { return Ok(()) };
        let err = |cause: String| FlashError { path: path.clone(), cause };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let json = serde_json::to_vec_pretty(&self.stored).map_err(|e| err(e.to_string()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| err(e.to_string()))?;
        tmp.write_all(&json).map_err(|e| err(e.to_string()))?;
        tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
        tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flash.json");
        let mut flash = Flash::open(Some(&path)).unwrap();
        flash.stored.parameters.insert("REDIALCOUNT".into(), Value::Int(14));
        flash.stored.wopen = 1;
        flash.commit().unwrap();
        let again = Flash::open(Some(&path)).unwrap();
        assert_eq!(again.stored, flash.stored);

        std::fs::write(&path, b"\x00junk").unwrap();
        let err = Flash::open(Some(&path)).unwrap_err();
        assert!(err.to_string().contains("not a parameter store"), "{err}");
    }
}
