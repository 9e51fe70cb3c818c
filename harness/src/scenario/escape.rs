//! The visible byte notation shared by scenarios and transcripts.
//!
//! Control characters are written by name in angle brackets (`<CR>`, `<LF>`,
//! `<DLE>`, `<ETX>`, manual ch. 1 "Definitions"), Ctrl-Z as `^Z` (manual
//! p.18, "CTRL+Z"), any other byte as `<xHH>`. `<CRLF>` is a shorthand. A
//! literal `<` that does not start an escape stays as it is; write `<<` for
//! a `<` that would otherwise start one.

/// Named control characters, in the manual's vocabulary.
const NAMES: &[(&str, u8)] = &[
    ("NUL", 0x00),
    ("SOH", 0x01),
    ("STX", 0x02),
    ("ETX", 0x03),
    ("EOT", 0x04),
    ("ENQ", 0x05),
    ("ACK", 0x06),
    ("BEL", 0x07),
    ("BS", 0x08),
    ("TAB", 0x09),
    ("LF", 0x0a),
    ("VT", 0x0b),
    ("FF", 0x0c),
    ("CR", 0x0d),
    ("SO", 0x0e),
    ("SI", 0x0f),
    ("DLE", 0x10),
    ("XON", 0x11),
    ("DC2", 0x12),
    ("XOFF", 0x13),
    ("DC4", 0x14),
    ("NAK", 0x15),
    ("SYN", 0x16),
    ("ETB", 0x17),
    ("CAN", 0x18),
    ("EM", 0x19),
    ("SUB", 0x1a),
    ("ESC", 0x1b),
    ("FS", 0x1c),
    ("GS", 0x1d),
    ("RS", 0x1e),
    ("US", 0x1f),
    ("DEL", 0x7f),
];

/// An escape that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad escape `{escape}` at character {offset}: {hint}")]
pub struct EscapeError {
    pub escape: String,
    pub offset: usize,
    pub hint: String,
}

/// Turn the visible notation into bytes.
pub fn decode(text: &str) -> Result<Vec<u8>, EscapeError> {
    let mut out = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'^' if bytes.get(i + 1) == Some(&b'Z') => {
                out.push(0x1a);
                i += 2;
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                out.push(b'<');
                i += 2;
            }
            b'<' => {
                let Some(len) = text[i + 1..].find('>') else {
                    out.push(b'<');
                    i += 1;
                    continue;
                };
                let name = &text[i + 1..i + 1 + len];
                if name == "CRLF" {
                    out.extend_from_slice(b"\r\n");
                } else if let Some(&(_, b)) = NAMES.iter().find(|(n, _)| *n == name) {
                    out.push(b);
                } else if let Some(hex) = name.strip_prefix('x').or_else(|| name.strip_prefix("0x")) {
                    let b = u8::from_str_radix(hex, 16).map_err(|_| EscapeError {
                        escape: format!("<{name}>"),
                        offset: i,
                        hint: "a hex escape is `<xHH>` with two hex digits".into(),
                    })?;
                    out.push(b);
                } else if name.chars().all(|c| c.is_ascii_uppercase()) && !name.is_empty() && name.len() <= 5 {
                    return Err(EscapeError {
                        escape: format!("<{name}>"),
                        offset: i,
                        hint: "unknown control name; use e.g. <CR>, <LF>, <CRLF>, <DLE>, <ETX>, <SUB> or <xHH>, or `<<` for a literal `<`".into(),
                    });
                } else {
                    // Not an escape (e.g. "<value>" in prose): keep the text.
                    out.push(b'<');
                    i += 1;
                    continue;
                }
                i += len + 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Render bytes in the visible notation (the inverse of [`decode`] for every
/// byte string `decode` can produce, except that `<CRLF>` is written as
/// `<CR><LF>` so framing stays visible).
pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 8);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            0x1a => s.push_str("^Z"),
            // A literal "^Z" must not read back as Ctrl-Z.
            b'^' if bytes.get(i + 1) == Some(&b'Z') => s.push_str("<x5E>"),
            b'<' => s.push_str("<<"),
            0x20..=0x7e => s.push(b as char),
            _ => match NAMES.iter().find(|(_, v)| *v == b) {
                Some((n, _)) => {
                    s.push('<');
                    s.push_str(n);
                    s.push('>');
                }
                None => s.push_str(&format!("<x{b:02X}>")),
            },
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("AT<CR>", b"AT\r".to_vec())]
    #[case("a<CRLF>b", b"a\r\nb".to_vec())]
    #[case("body^Z", b"body\x1a".to_vec())]
    #[case("<DLE><ETX>", vec![0x10, 0x03])]
    #[case("<x1A><x00>", vec![0x1a, 0x00])]
    #[case("<<CR>", b"<CR>".to_vec())]
    #[case("AT#X=<value>", b"AT#X=<value>".to_vec())]
    fn decodes(#[case] text: &str, #[case] bytes: Vec<u8>) {
        assert_eq!(decode(text).unwrap(), bytes);
    }

    #[rstest]
    #[case("<CRX>")]
    #[case("<xZZ>")]
    fn refuses(#[case] text: &str) {
        assert!(decode(text).is_err());
    }

    proptest::proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            proptest::prop_assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }
}
