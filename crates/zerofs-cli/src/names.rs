//! Names as text: raw bytes shown with `\xNN` escapes, and the escapes read back.
//!
//! Output escapes what is not printable UTF-8: invalid bytes as `\xNN`, control characters
//! as `\n`, `\t` or `\xNN`, and the backslash itself as `\\` (as `ls -b` and Python's
//! `repr` do), so every name prints on one line and maps back to exactly one byte string.
//! Arguments are taken byte for byte; with `--escaped` they are unescaped first, so what
//! `ls` prints can be pasted back.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// `bytes` with every byte that is not printable UTF-8 escaped (see the module docs).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let mut b = [0; 4];
                    for x in c.encode_utf8(&mut b).bytes() {
                        out.push_str(&format!("\\x{x:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// [`escape`] of an OS string.
pub fn show(s: &OsStr) -> String {
    escape(s.as_bytes())
}

/// The bytes `escape` produced `text` from; `None` if it holds a malformed escape.
pub fn unescape(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' {
            out.push(text[i]);
            i += 1;
            continue;
        }
        match text.get(i + 1)? {
            b'\\' => out.push(b'\\'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'x' => {
                let hex = std::str::from_utf8(text.get(i + 2..i + 4)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(out)
}

/// A JSON string for a name: exact when it is UTF-8, else escaped (and flagged by the caller).
pub fn json_name(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => (escape(bytes), true),
    }
}

/// An argument as given, or unescaped with `--escaped`.
pub fn arg(raw: &OsStr, escaped: bool) -> Result<OsString, String> {
    if !escaped {
        return Ok(raw.to_owned());
    }
    unescape(raw.as_bytes())
        .map(OsString::from_vec)
        .ok_or_else(|| format!("malformed escape in {:?}", show(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_every_byte_string() {
        let cases: &[&[u8]] = &[
            b"plain.txt",
            b"raw-\xff\xfe",
            b"back\\slash",
            b"new\nline\ttab\x01",
            "é✓".as_bytes(),
            b"\\xff literally",
            b"",
        ];
        for &c in cases {
            let e = escape(c);
            assert!(!e.contains('\n'));
            assert_eq!(unescape(e.as_bytes()).as_deref(), Some(c), "{e}");
        }
        assert_eq!(escape(b"raw-\xff"), "raw-\\xff");
        assert_eq!(escape("é".as_bytes()), "é");
        for bad in [&b"\\"[..], b"\\q", b"\\x4", b"\\xzz"] {
            assert_eq!(unescape(bad), None);
        }
    }

    #[test]
    fn json_names_are_exact_when_utf8() {
        assert_eq!(json_name(b"a\\b"), ("a\\b".into(), false));
        assert_eq!(json_name(b"\xff"), ("\\xff".into(), true));
    }
}
