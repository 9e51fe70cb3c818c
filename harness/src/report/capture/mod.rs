//! Captures an engineer can open in Wireshark: per scenario, one pcapng
//! file holding the serial line in both directions and, where the target
//! can tell (the emulator), the unit's IP side as IPv4 packets synthesised
//! from the modem's point of view ([`ip`]), on one timeline
//! (`OUT/captures/<id>.pcapng`).
//!
//! Each chunk of the line is one packet of the exported-PDU link type
//! (`LINKTYPE_WIRESHARK_UPPER_PDU`, 252) whose header names Wireshark's `at`
//! dissector, so AT commands and responses decode without "decode as". The
//! direction is in each packet's flags (outbound: host to unit; inbound:
//! unit to host) and its comment. Secrets are masked by the one redaction
//! function ([`crate::redact`]), as everywhere else.
//!
//! pcap-file 3.0.0-rc1 is used because 2.0.0 writes pcapng timestamps a
//! thousand times off; a test reads the timestamps back.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;

pub mod ip;

use super::{write_atomic, ReportError};
use crate::runner::events::{Event, Sink};
use crate::transcript::{Entry, Transcript};

/// Exported-PDU tags (Wireshark's `exported_pdu.h`).
const TAG_END: u16 = 0;
const TAG_PROTO_NAME: u16 = 12;
/// EPB flags: direction bits (pcapng §4.3.1).
const INBOUND: u32 = 1;
const OUTBOUND: u32 = 2;

/// The exported-PDU header naming the `at` dissector, then `payload`.
fn at_pdu(payload: &[u8]) -> Vec<u8> {
    let name = b"at";
    let padded = name.len().div_ceil(4) * 4;
    let mut pdu = Vec::with_capacity(8 + padded + payload.len());
    pdu.extend_from_slice(&TAG_PROTO_NAME.to_be_bytes());
    pdu.extend_from_slice(&(padded as u16).to_be_bytes());
    pdu.extend_from_slice(name);
    pdu.resize(4 + padded, 0);
    pdu.extend_from_slice(&TAG_END.to_be_bytes());
    pdu.extend_from_slice(&0u16.to_be_bytes());
    pdu.extend_from_slice(payload);
    pdu
}

/// (ms into the scenario, interface, direction flags, bytes, comment).
type Frame = (u64, u32, u32, Vec<u8>, Option<&'static str>);

/// One scenario run as a pcapng file: interface 0 the serial line, interface
/// 1 (when the target recorded any) the IP side; `started` is when the
/// scenario started (wall clock), entries are placed at their offsets.
pub fn serial_pcapng(transcript: &Transcript, started: SystemTime) -> Result<Vec<u8>, pcap_file::PcapError> {
    let secrets = transcript.redactor();
    let base = started.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut frames: Vec<Frame> = Vec::new();
    for entry in &transcript.entries {
        let (bytes, at_ms, flags, comment) = match entry {
            Entry::Sent { bytes, at_ms } => (bytes, *at_ms, OUTBOUND, "host -> unit"),
            Entry::Received { bytes, at_ms, .. } => (bytes, *at_ms, INBOUND, "unit -> host"),
            _ => continue,
        };
        frames.push((at_ms, 0, flags, at_pdu(&secrets.redact_bytes(bytes)), Some(comment)));
    }
    let packets = ip::packets(&transcript.network, &|b| secrets.redact_wire(b));
    let has_network = !packets.is_empty();
    for (at_ms, sent, data) in packets {
        frames.push((at_ms, 1, if sent { OUTBOUND } else { INBOUND }, data, None));
    }
    frames.sort_by_key(|f| f.0);

    let mut writer = PcapNgWriter::new(Vec::new())?;
    let mut serial = InterfaceDescriptionBlock::new(DataLink::WIRESHARK_UPPER_PDU, 0);
    serial.options.push(InterfaceDescriptionOption::IfName(Cow::Borrowed("serial")));
    serial.options.push(InterfaceDescriptionOption::IfDescription(Cow::Owned(format!(
        "serial line of scenario {} (host <-> unit)",
        transcript.scenario
    ))));
    writer.write_pcapng_block(serial)?;
    if has_network {
        let mut network = InterfaceDescriptionBlock::new(DataLink::RAW, 0);
        network.options.push(InterfaceDescriptionOption::IfName(Cow::Borrowed("network")));
        network.options.push(InterfaceDescriptionOption::IfDescription(Cow::Borrowed(
            "the unit's IP side, synthesised from its stack's view (session address, dialled ports)",
        )));
        writer.write_pcapng_block(network)?;
    }
    for (at_ms, interface, flags, data, comment) in frames {
        let mut epb = EnhancedPacketBlock::default();
        epb.interface_id = interface;
        epb.timestamp = base + Duration::from_millis(at_ms);
        epb.original_len = data.len() as u32;
        epb.data = Cow::Owned(data);
        epb.options = vec![EnhancedPacketOption::Flags(flags)];
        if let Some(c) = comment {
            epb.options.push(EnhancedPacketOption::Comment(Cow::Borrowed(c)));
        }
        writer.write_pcapng_block(epb)?;
    }
    Ok(writer.into_inner())
}

/// Writes `captures/<id>.pcapng` for every scenario that ran.
pub struct CaptureReporter {
    dir: PathBuf,
}

impl CaptureReporter {
    pub fn new(out: &Path) -> CaptureReporter {
        CaptureReporter { dir: out.join("captures") }
    }

    fn write(&self, id: &str, transcript: &Transcript, started: SystemTime) -> Result<(), ReportError> {
        if transcript.network.is_empty()
            && !transcript.entries.iter().any(|e| matches!(e, Entry::Sent { .. } | Entry::Received { .. }))
        {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| ReportError::Write { path: self.dir.clone(), source })?;
        let bytes = serial_pcapng(transcript, started).map_err(|e| ReportError::Write {
            path: self.dir.join(format!("{id}.pcapng")),
            source: std::io::Error::other(e.to_string()),
        })?;
        write_atomic(&self.dir.join(format!("{id}.pcapng")), &bytes)
    }
}

impl Sink for CaptureReporter {
    fn event(&self, event: &Event<'_>) {
        if let Event::ScenarioFinished { scenario, started, outcome, .. } = event {
            if let Err(e) = self.write(&scenario.id, &outcome.transcript, *started) {
                eprintln!("error: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcapng::{Block, PcapNgReader};

    #[test]
    fn packets_carry_direction_time_and_masked_secrets() {
        let mut t = Transcript::new("t", Vec::new());
        t.push(Entry::Sent { bytes: b"AT#SMTPPW=\"hunter22\"\r".to_vec(), at_ms: 5 });
        t.push(Entry::Received { bytes: b"\r\nOK\r\n".to_vec(), at_ms: 1500, role: crate::transcript::Role::Matched });
        let started = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let file = serial_pcapng(&t, started).unwrap();
        let mut reader = PcapNgReader::new(&file[..]).unwrap();
        let mut packets = Vec::new();
        while let Some(block) = reader.next_block() {
            if let Block::EnhancedPacket(p) = block.unwrap() {
                let options: Vec<_> = p.options.iter().map(|o| o.clone().into_owned()).collect();
                packets.push((p.timestamp, p.data.to_vec(), options));
            }
        }
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0].0, Duration::from_secs(1_700_000_000) + Duration::from_millis(5));
        assert_eq!(packets[1].0, Duration::from_millis(1_700_000_001_500));
        let first = String::from_utf8_lossy(&packets[0].1);
        assert!(first.contains("AT#SMTPPW=<redacted>"), "{first}");
        assert!(!first.contains("hunter22"));
        assert!(packets[0].1.starts_with(&[0, 12, 0, 4, b'a', b't', 0, 0, 0, 0, 0, 0]));
        assert!(packets[1].2.contains(&EnhancedPacketOption::Flags(INBOUND)));
    }
}
