//! The AT language of the unit, and nothing else: command lines, result
//! codes, the chapter 9 codes and the AT# parameter table.
//!
//! This is the only module that parses or writes AT text. It does no I/O and
//! depends on no other module of the crate (it could be its own crate): the
//! emulator, the transcript, the runner's defaults, coverage and redaction
//! all read lines through it.
//!
//! - [`command`]: command lines → commands (names, forms, argument spans);
//! - [`response`]: result codes and information lines, read and written;
//! - [`codes`]: chapter 9's `#CME ERROR` codes and 27.007's `+CME ERROR` codes;
//! - [`parameters`]: the AT# parameter table (domains, defaults, display groups);
//! - [`Firmware`]: whose words the writer uses where field firmware and the
//!   manual differ (`scenarios/errata.yaml`).

pub mod codes;
pub mod command;
pub mod parameters;
pub mod response;

/// Where a fact about the unit comes from, in the vocabulary of
/// `scenarios/manual-index.yaml` (`basis:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provenance {
    /// Read in the manual (local pages or the digest of the missing ones).
    Manual,
    /// Seen only in third-party driver code for real units.
    RealDevice,
    /// Not recovered: chosen by the project.
    Inferred,
}

impl Provenance {
    /// The index's spelling (`manual`, `real-device`, `inferred`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Manual => "manual",
            Provenance::RealDevice => "real-device",
            Provenance::Inferred => "inferred",
        }
    }
}

/// Which firmware the unit's words follow: what public driver code shows
/// real units answer (`field`), or what the manual prints (`manual`). Where
/// the two differ, `scenarios/errata.yaml` lists the difference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Firmware {
    /// As real units answer ([code]/[code2] of the digest): the default.
    #[default]
    Field,
    /// As S000333D prints it, word for word.
    Manual,
}

impl Firmware {
    pub const ALL: [Firmware; 2] = [Firmware::Field, Firmware::Manual];

    pub fn name(self) -> &'static str {
        match self {
            Firmware::Field => "field",
            Firmware::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<Firmware> {
        Firmware::ALL.into_iter().find(|f| f.name() == text)
    }
}

impl std::fmt::Display for Firmware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
