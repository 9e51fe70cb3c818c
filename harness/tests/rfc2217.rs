//! The RFC 2217 transport against a scripted server: negotiation, the line
//! settings, IAC escaping both ways, control lines acknowledged or not.

use std::time::Duration;

use mtg::scenario::Control;
use mtg::transport::rfc2217::{COM_PORT, DCD, DO, IAC, NOTIFY_MODEMSTATE, SB, SE, SERVER, SET_BAUDRATE, SET_CONTROL};
use mtg::transport::{ControlError, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that agrees to COM-PORT-OPTION, acknowledges the baud rate,
/// notifies DCD on, echoes data (escaped), and acknowledges SET-CONTROL
/// only when `acks_control`.
async fn server(acks_control: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(&[IAC, DO, COM_PORT]).await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        let mut set_up = false;
        let mut echoed = 0;
        loop {
            let n = match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            seen.extend_from_slice(&buf[..n]);
            if !set_up && seen.windows(4).any(|w| w == [IAC, SB, COM_PORT, SET_BAUDRATE]) {
                set_up = true;
                let mut ack = vec![IAC, SB, COM_PORT, SET_BAUDRATE + SERVER, 0, 1, 0xC2, 0, IAC, SE];
                ack.extend([IAC, SB, COM_PORT, NOTIFY_MODEMSTATE + SERVER, DCD, IAC, SE]);
                s.write_all(&ack).await.unwrap();
            }
            if let Some(i) = seen.windows(4).position(|w| w == [IAC, SB, COM_PORT, SET_CONTROL]) {
                let value = seen[i + 4];
                seen.drain(..i + 4);
                if acks_control {
                    s.write_all(&[IAC, SB, COM_PORT, SET_CONTROL + SERVER, value, IAC, SE]).await.unwrap();
                }
            }
            // Echo the data bytes (after the marker), escaped as they came.
            if let Some(i) = seen.windows(5).position(|w| w == b"DATA:") {
                let data = seen[i..].to_vec();
                if data.len() > echoed {
                    s.write_all(&data[echoed..]).await.unwrap();
                    echoed = data.len();
                }
            }
        }
    });
    port
}

#[tokio::test]
async fn data_is_escaped_and_control_lines_are_acknowledged() {
    let port = server(true).await;
    let target: Target = format!("rfc2217:127.0.0.1:{port}").parse().unwrap();
    let mut t = target.open().await.unwrap();
    t.write_all(b"DATA:\xff\x01\r").await.unwrap();
    t.flush().await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 8 {
        let n = tokio::time::timeout(Duration::from_secs(2), t.read(&mut buf)).await.unwrap().unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"DATA:\xff\x01\r");
    t.control(&Control::Dtr(false)).await.unwrap();
    t.control(&Control::Rts(true)).await.unwrap();
    t.control(&Control::Lines { dcd: Some(true), ri: Some(false), dsr: Some(false), cts: Some(false) }).await.unwrap();
    let err = t.control(&Control::Lines { dcd: Some(false), ri: None, dsr: None, cts: None }).await.unwrap_err();
    assert!(matches!(err, ControlError::Mismatch { .. }), "{err}");
}

#[tokio::test]
async fn control_lines_never_acknowledged_are_not_available() {
    let port = server(false).await;
    let target: Target = format!("rfc2217:127.0.0.1:{port}").parse().unwrap();
    let mut t = target.open().await.unwrap();
    let err = t.control(&Control::Dtr(true)).await.unwrap_err();
    assert!(matches!(err, ControlError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("DTR is not available on this port"), "{err}");
}
