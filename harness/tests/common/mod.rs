//! What the integration tests share: the serial line to an in-process
//! emulated unit, read until an expected answer has come.

// Each test binary uses what it needs of this module.
#![allow(dead_code)]

use std::time::Duration;

use mtg::transport::EmulatorTransport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Read until `needle` has arrived (within `wait`); returns everything read.
pub async fn read_until_within(t: &mut EmulatorTransport, needle: &[u8], wait: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    while !got.windows(needle.len()).any(|w| w == needle) {
        let n = tokio::time::timeout_at(deadline, t.read(&mut buf))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out waiting for {:?}; got {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&got)
                )
            })
            .expect("read");
        assert!(n > 0, "emulator closed the line");
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Read until `needle` has arrived (within 20 s); returns everything read.
pub async fn read_until(t: &mut EmulatorTransport, needle: &[u8]) -> Vec<u8> {
    read_until_within(t, needle, Duration::from_secs(20)).await
}

/// Send a command line and read until `until`; returns what was read.
pub async fn command(t: &mut EmulatorTransport, line: &str, until: &str) -> String {
    t.write_all(format!("{line}\r").as_bytes()).await.unwrap();
    String::from_utf8_lossy(&read_until(t, until.as_bytes()).await).into_owned()
}
