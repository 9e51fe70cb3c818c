//! The modem's view of the network mapped onto loopback.
//!
//! A scenario that reproduces an appendix example word for word dials the
//! example's port (SMTP 25, POP3 110, FTP 21, DNS 53) at an address the
//! fixture DNS gives for the example's name. On a test machine those servers
//! listen on loopback addresses and ports the fixture provider picked, so the
//! host backend rewrites every address the modem dials (and every DNS server
//! it asks) through this map. An address that is not in the map is dialled
//! as it is. `mtg emulator --net-map FILE` reads the same map from YAML:
//!
//! ```yaml
//! - dial: 127.0.0.2:25      # what the modem dials
//!   to: 127.0.0.2:40125     # where the server listens
//! ```
//!
//! What the host backend does with it:
//! - every endpoint it dials (`Connect`, `SendTo`, each DNS server asked) is
//!   [`NetMap::route`]d;
//! - datagrams coming from a mapped `to` are reported as coming from its
//!   `dial` ([`NetMap::unroute`]), so the stack sees the peer it dialled and
//!   UDPSERV's filter (p.35-36) holds;
//! - a listening socket (`#LTCPSTART`, `#LUDPSTART`) that would listen on a
//!   `dial` endpoint (the emulator's listening address and the port asked,
//!   127.0.0.1:23 by default) listens on its `to` instead: a scenario may ask
//!   for a privileged port and the test machine gives another;
//! - echo requests (`#PING`) are not rewritten: ICMP has no port, and a
//!   fixture's loopback address answers by itself.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One rewritten endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The address and port the modem dials (or asks, for DNS).
    pub dial: SocketAddr,
    /// Where the server really listens.
    pub to: SocketAddr,
}

/// Rewrites of dialled endpoints; empty by default (dial as written).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct NetMap {
    pub mappings: Vec<Mapping>,
}

/// Why a map file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NetMapError {
    #[error("cannot read net map {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("net map {path} is not a list of `dial:`/`to:` address pairs: {message}")]
    Parse { path: String, message: String },
}

impl NetMap {
    /// Read a map file (a YAML list of `dial`/`to` pairs).
    pub fn load(path: &Path) -> Result<NetMap, NetMapError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| NetMapError::Read { path: shown.clone(), source })?;
        yaml_serde::from_str(&text).map_err(|e| NetMapError::Parse { path: shown, message: e.to_string() })
    }

    /// Add a rewrite (a later one for the same `dial` replaces the earlier).
    pub fn insert(&mut self, dial: SocketAddr, to: SocketAddr) {
        self.mappings.retain(|m| m.dial != dial);
        self.mappings.push(Mapping { dial, to });
    }

    /// Where a dial of `addr` really goes.
    pub fn route(&self, addr: SocketAddr) -> SocketAddr {
        self.mappings.iter().find(|m| m.dial == addr).map(|m| m.to).unwrap_or(addr)
    }

    /// The endpoint the modem dialled for traffic that comes from `addr`
    /// (the first mapping whose `to` is `addr`), or `addr` itself.
    pub fn unroute(&self, addr: SocketAddr) -> SocketAddr {
        self.mappings.iter().find(|m| m.to == addr).map(|m| m.dial).unwrap_or(addr)
    }

    pub fn is_empty(&self) -> bool {
        self.mappings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_mapped_endpoints_and_passes_others_through() {
        let mut map = NetMap::default();
        map.insert("127.0.0.2:25".parse().unwrap(), "127.0.0.2:40125".parse().unwrap());
        assert_eq!(map.route("127.0.0.2:25".parse().unwrap()), "127.0.0.2:40125".parse().unwrap());
        assert_eq!(map.route("127.0.0.3:25".parse().unwrap()), "127.0.0.3:25".parse().unwrap());
        assert_eq!(map.unroute("127.0.0.2:40125".parse().unwrap()), "127.0.0.2:25".parse().unwrap());
        assert_eq!(map.unroute("127.0.0.2:40126".parse().unwrap()), "127.0.0.2:40126".parse().unwrap());
    }

    #[test]
    fn reads_the_yaml_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.yaml");
        std::fs::write(&path, "- dial: 127.0.0.2:25\n  to: 127.0.0.2:40125\n").unwrap();
        let map = NetMap::load(&path).unwrap();
        assert_eq!(map.mappings.len(), 1);
        std::fs::write(&path, "- dial: nowhere\n").unwrap();
        let err = NetMap::load(&path).unwrap_err().to_string();
        assert!(err.contains("not a list of `dial:`/`to:`"), "{err}");
    }
}
