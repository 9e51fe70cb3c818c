//! Parameter stores written by earlier emulator versions still load: a unit
//! on a bench keeps its flash file across harness upgrades. The file under
//! tests/data was written by the emulator of main at f72b6a5 (before the
//! emulator's rooms were rebuilt), through its AT interface.

use std::time::Duration;

use mtg::emulator::EmulatorConfig;
use mtg::transport::{EmulatorTransport, Transport};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn a_store_written_at_f72b6a5_reads_back_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let flash = dir.path().join("flash.json");
    let original = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/flash-f72b6a5.json");
    std::fs::copy(&original, &flash).unwrap();
    let config = EmulatorConfig { flash: Some(flash), ..EmulatorConfig::default() };
    let mut t = EmulatorTransport::start(config).expect("the old store loads");
    // The saved profile: echo off, +CMEE=1, S0=2; the stack stays open (+WOPEN=1).
    let mut answers = String::new();
    for line in [
        "ATS0?",
        "AT+WIND?",
        "AT+CGDCONT?",
        "AT#REDIALCOUNT?",
        "AT#ISPUN?",
        "AT#TCPPORT=2",
        "AT#DLEMODE=2",
        "AT#VMAIL1",
        "AT#VMAIL2",
        "AT#FTPTYPE?",
        "AT#GPRSMODE?",
        // Written before the SIM's messages and the GPRS class were kept:
        // an empty message store and the default class.
        "AT+CPMS?",
        "AT+CGCLASS?",
        "AT#NOSUCH",
    ] {
        t.write_all(format!("{line}\r").as_bytes()).await.unwrap();
        let mut buf = [0u8; 4096];
        let deadline = t.now() + Duration::from_secs(2);
        while let Ok(Some(n)) = t.read_until(&mut buf, deadline).await {
            if n == 0 {
                break;
            }
            answers.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    for expected in [
        "\r\n002\r\n",
        "+WIND: 255",
        "+CGDCONT: 1,\"IP\",\"internet.example\"",
        "#REDIALCOUNT: 14\r\n",
        "#ISPUN: \"user\"\r\n",
        "#TCPPORT: 2,5000\r\n",
        "#DLEMODE: 2,0\r\n",
        "#REC1=a@example.com\r\n",
        "#REC2=x@example.com,y@example.com\r\n",
        "#FTPTYPE: A\r\n",
        "#GPRSMODE: 0\r\n",
        "+CPMS: \"SM\",0,20,\"SM\",0,20\r\n",
        "+CGCLASS: \"B\"\r\n",
        "#CME ERROR: 34817",
    ] {
        assert!(answers.contains(expected), "missing {expected:?} in {answers:?}");
    }
    assert!(!answers.contains("ATS0?"), "the saved profile (echo off) was not restored: {answers:?}");
}
