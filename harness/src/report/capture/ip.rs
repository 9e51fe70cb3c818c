//! IPv4 packets synthesised from what the modem's stack did
//! ([`Traffic`]): TCP with a handshake, sequence numbers and closes, UDP
//! datagrams, so that Wireshark follows the streams and decodes SMTP, POP3,
//! FTP, DNS and HTTP by their ports. The addresses are the modem's view:
//! its session address, and the server's address on the port it dialled.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::emulator::net::{internet_checksum as checksum, Traffic};

const SYN: u8 = 0x02;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
/// Segments larger than this are split (a typical MSS).
const MSS: usize = 1460;

/// One synthesised packet: milliseconds into the scenario, whether the
/// modem sent it, the IPv4 bytes.
pub type Packet = (u64, bool, Vec<u8>);

struct Stream {
    local: SocketAddr,
    remote: SocketAddr,
    /// Next sequence number of each side.
    local_seq: u32,
    remote_seq: u32,
}

/// Packets for `traffic`, with payloads passed through `mask` (the one
/// redaction of [`crate::redact`]).
pub fn packets(traffic: &[(u64, Traffic)], mask: &dyn Fn(&[u8]) -> Vec<u8>) -> Vec<Packet> {
    let mut streams: HashMap<u8, Stream> = HashMap::new();
    let mut out = Vec::new();
    let mut ident: u16 = 1;
    let push = |out: &mut Vec<Packet>, at: u64, sent: bool, packet: Option<Vec<u8>>| {
        if let Some(p) = packet {
            out.push((at, sent, p));
        }
    };
    for (at, t) in traffic {
        let at = *at;
        match t {
            Traffic::Opened { socket, local, remote, outgoing } => {
                let mut s = Stream { local: *local, remote: *remote, local_seq: 1000, remote_seq: 5000 };
                if *outgoing {
                    push(&mut out, at, true, tcp(&mut ident, &s, true, SYN, &[]));
                    s.local_seq += 1;
                    push(&mut out, at, false, tcp(&mut ident, &s, false, SYN | ACK, &[]));
                    s.remote_seq += 1;
                    push(&mut out, at, true, tcp(&mut ident, &s, true, ACK, &[]));
                } else {
                    push(&mut out, at, false, tcp(&mut ident, &s, false, SYN, &[]));
                    s.remote_seq += 1;
                    push(&mut out, at, true, tcp(&mut ident, &s, true, SYN | ACK, &[]));
                    s.local_seq += 1;
                    push(&mut out, at, false, tcp(&mut ident, &s, false, ACK, &[]));
                }
                streams.insert(*socket, s);
            }
            Traffic::Data { socket, sent, bytes } => {
                let Some(s) = streams.get_mut(socket) else { continue };
                let payload = mask(bytes);
                for chunk in payload.chunks(MSS) {
                    push(&mut out, at, *sent, tcp(&mut ident, s, *sent, PSH | ACK, chunk));
                    if *sent {
                        s.local_seq = s.local_seq.wrapping_add(chunk.len() as u32);
                    } else {
                        s.remote_seq = s.remote_seq.wrapping_add(chunk.len() as u32);
                    }
                }
            }
            Traffic::Closed { socket, local } => {
                let Some(mut s) = streams.remove(socket) else { continue };
                let first = *local;
                push(&mut out, at, first, tcp(&mut ident, &s, first, FIN | ACK, &[]));
                bump(&mut s, first);
                push(&mut out, at, !first, tcp(&mut ident, &s, !first, FIN | ACK, &[]));
                bump(&mut s, !first);
                push(&mut out, at, first, tcp(&mut ident, &s, first, ACK, &[]));
            }
            Traffic::Datagram { local, remote, sent, bytes } => {
                let (from, to) = if *sent { (*local, *remote) } else { (*remote, *local) };
                push(&mut out, at, *sent, udp(&mut ident, from, to, &mask(bytes)));
            }
        }
    }
    out
}

fn bump(s: &mut Stream, local: bool) {
    if local {
        s.local_seq = s.local_seq.wrapping_add(1);
    } else {
        s.remote_seq = s.remote_seq.wrapping_add(1);
    }
}

fn v4(a: SocketAddr) -> Option<(Ipv4Addr, u16)> {
    match a.ip() {
        IpAddr::V4(ip) => Some((ip, a.port())),
        IpAddr::V6(_) => None,
    }
}

/// A TCP segment from the modem (`sent`) or to it.
fn tcp(ident: &mut u16, s: &Stream, sent: bool, flags: u8, payload: &[u8]) -> Option<Vec<u8>> {
    let (from, to) = if sent { (s.local, s.remote) } else { (s.remote, s.local) };
    let ((src, sport), (dst, dport)) = (v4(from)?, v4(to)?);
    let (seq, ack) = if sent { (s.local_seq, s.remote_seq) } else { (s.remote_seq, s.local_seq) };
    let mut seg = Vec::with_capacity(20 + payload.len());
    seg.extend_from_slice(&sport.to_be_bytes());
    seg.extend_from_slice(&dport.to_be_bytes());
    seg.extend_from_slice(&seq.to_be_bytes());
    seg.extend_from_slice(&(if flags & ACK != 0 { ack } else { 0 }).to_be_bytes());
    seg.push(5 << 4);
    seg.push(flags);
    seg.extend_from_slice(&65535u16.to_be_bytes());
    seg.extend_from_slice(&[0, 0, 0, 0]);
    seg.extend_from_slice(payload);
    let sum = checksum(&pseudo(src, dst, 6, &seg));
    seg[16..18].copy_from_slice(&sum.to_be_bytes());
    Some(ipv4(ident, src, dst, 6, &seg))
}

fn udp(ident: &mut u16, from: SocketAddr, to: SocketAddr, payload: &[u8]) -> Option<Vec<u8>> {
    let ((src, sport), (dst, dport)) = (v4(from)?, v4(to)?);
    let mut d = Vec::with_capacity(8 + payload.len());
    d.extend_from_slice(&sport.to_be_bytes());
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    let sum = checksum(&pseudo(src, dst, 17, &d));
    d[6..8].copy_from_slice(&(if sum == 0 { 0xffff } else { sum }).to_be_bytes());
    Some(ipv4(ident, src, dst, 17, &d))
}

fn ipv4(ident: &mut u16, src: Ipv4Addr, dst: Ipv4Addr, proto: u8, body: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(20 + body.len());
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&((20 + body.len()) as u16).to_be_bytes());
    p.extend_from_slice(&ident.to_be_bytes());
    *ident = ident.wrapping_add(1);
    p.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let sum = checksum(&p[..20]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(body);
    p
}

fn pseudo(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, body: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + body.len());
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&[0, proto]);
    p.extend_from_slice(&(body.len() as u16).to_be_bytes());
    p.extend_from_slice(body);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_a_handshake_data_and_a_close_with_valid_checksums() {
        let local: SocketAddr = "10.64.0.1:49152".parse().unwrap();
        let remote: SocketAddr = "127.0.0.2:25".parse().unwrap();
        let traffic = vec![
            (0, Traffic::Opened { socket: 9, local, remote, outgoing: true }),
            (1, Traffic::Data { socket: 9, sent: false, bytes: b"220 hi\r\n".to_vec() }),
            (2, Traffic::Closed { socket: 9, local: true }),
        ];
        let p = packets(&traffic, &|b| b.to_vec());
        assert_eq!(p.len(), 3 + 1 + 3);
        // Each IPv4 header and TCP segment checks out (summing with the
        // checksum in gives zero).
        for (_, _, bytes) in &p {
            assert_eq!(checksum(&bytes[..20]), 0);
            let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
            let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
            assert_eq!(checksum(&pseudo(src, dst, 6, &bytes[20..])), 0);
        }
        let data = &p[3].2;
        assert_eq!(&data[40..], b"220 hi\r\n");
        assert_eq!(u16::from_be_bytes([data[20], data[21]]), 25, "from the server's dialled port");
    }
}
