//! rclone's name encoding (lib/encoder), byte for byte, for the masks this backend uses:
//! `Slash`, `InvalidUtf8`, `Dot` (Amazon Drive's default `Slash,InvalidUtf8,Dot`) and the
//! local side's `Slash,Dot`. NUL, `␀` and the quote rune `‛` are always handled. A local
//! file is named on the Drive as `drive_encode(local_decode(raw))`, exactly as rclone's local
//! and acd backends combined do, so the same tree gets the same Drive names from both.

use std::ffi::{OsStr, OsString};

const QUOTE: char = '‛'; // U+201B SINGLE HIGH-REVERSED-9 QUOTATION MARK
const SYMBOL_NULL: char = '␀'; // U+2400
const FULL_SLASH: char = '／'; // U+FF0F = '/' + 0xFEE0
const FULL_DOT: &str = "．"; // U+FF0E

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "encoding flag {0:?} is not supported by acdc (supported: Slash, InvalidUtf8, Dot, None); \
         fix the `encoding` option of the remote"
    )]
    UnsupportedFlag(String),
    #[error(
        "the name {0:?} is not valid UTF-8 and the remote's encoding lacks InvalidUtf8, so Amazon Drive cannot store it"
    )]
    NotUtf8(String),
    #[error("an empty name cannot be stored on Amazon Drive")]
    Empty,
}

/// A set of rclone encoder flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    pub slash: bool,
    pub invalid_utf8: bool,
    pub dot: bool,
}

impl Encoding {
    /// Amazon Drive's default, rclone's `Slash,InvalidUtf8,Dot`.
    pub const DRIVE: Encoding = Encoding {
        slash: true,
        invalid_utf8: true,
        dot: true,
    };
    /// rclone's local backend on Linux (`Base`: `Slash,Dot`).
    pub const LOCAL: Encoding = Encoding {
        slash: true,
        invalid_utf8: false,
        dot: true,
    };

    /// Parses rclone's syntax: comma-separated flag names (`Slash,InvalidUtf8,Dot`, `None`).
    pub fn parse(text: &str) -> Result<Encoding, NameError> {
        let mut e = Encoding {
            slash: false,
            invalid_utf8: false,
            dot: false,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "Slash" => e.slash = true,
                "InvalidUtf8" => e.invalid_utf8 = true,
                "Dot" => e.dot = true,
                "None" => {}
                other => return Err(NameError::UnsupportedFlag(other.to_string())),
            }
        }
        Ok(e)
    }

    /// rclone's `Encode`: a raw name (any bytes) to its encoded form.
    pub fn encode(&self, raw: &[u8]) -> Vec<u8> {
        if raw.is_empty() {
            return Vec::new();
        }
        if self.dot {
            let whole: Option<&str> = match raw {
                b"." => Some("．"),
                b".." => Some("．．"),
                _ if raw == FULL_DOT.as_bytes() => Some("‛．"),
                _ if raw == "．．".as_bytes() => Some("‛．‛．"),
                _ => None,
            };
            if let Some(w) = whole {
                return w.as_bytes().to_vec();
            }
        }
        let mut out = Vec::with_capacity(raw.len() + 8);
        for piece in raw.utf8_chunks() {
            for c in piece.valid().chars() {
                match c {
                    '\0' => push(&mut out, SYMBOL_NULL),
                    SYMBOL_NULL | QUOTE => {
                        push(&mut out, QUOTE);
                        push(&mut out, c);
                    }
                    '/' if self.slash => push(&mut out, FULL_SLASH),
                    FULL_SLASH if self.slash => {
                        push(&mut out, QUOTE);
                        push(&mut out, c);
                    }
                    _ => push(&mut out, c),
                }
            }
            for &b in piece.invalid() {
                if self.invalid_utf8 {
                    push(&mut out, QUOTE);
                    out.extend_from_slice(format!("{b:02X}").as_bytes());
                } else {
                    out.push(b);
                }
            }
        }
        out
    }

    /// rclone's `Decode`: undoes `encode`. Sequences rclone would not produce decode as
    /// rclone decodes them (`‛` before a non-hex character stays literal).
    pub fn decode(&self, encoded: &[u8]) -> Vec<u8> {
        if self.dot {
            let whole: Option<&[u8]> = match encoded {
                _ if encoded == "．".as_bytes() => Some(b"."),
                _ if encoded == "．．".as_bytes() => Some(b".."),
                _ if encoded == "‛．".as_bytes() => Some("．".as_bytes()),
                _ if encoded == "‛．‛．".as_bytes() => Some("．．".as_bytes()),
                _ => None,
            };
            if let Some(w) = whole {
                return w.to_vec();
            }
        }
        // Runes as Go ranges over a string: characters, or single invalid bytes.
        let mut runes: Vec<(Option<char>, &[u8])> = Vec::with_capacity(encoded.len());
        let mut at = 0;
        for piece in encoded.utf8_chunks() {
            for c in piece.valid().chars() {
                let len = c.len_utf8();
                runes.push((Some(c), &encoded[at..at + len]));
                at += len;
            }
            for _ in piece.invalid() {
                runes.push((None, &encoded[at..at + 1]));
                at += 1;
            }
        }
        let mut out = Vec::with_capacity(encoded.len());
        let mut unquote_next = false;
        let mut skip_next = false;
        for (i, &(rune, bytes)) in runes.iter().enumerate() {
            if skip_next {
                skip_next = false;
                continue;
            }
            let unquote = std::mem::replace(&mut unquote_next, false);
            match rune {
                Some(SYMBOL_NULL) => {
                    if unquote {
                        push(&mut out, SYMBOL_NULL);
                    } else {
                        out.push(0);
                    }
                    continue;
                }
                Some(QUOTE) => {
                    if unquote {
                        push(&mut out, QUOTE);
                    } else {
                        unquote_next = true;
                    }
                    continue;
                }
                Some(FULL_SLASH) if self.slash => {
                    if unquote {
                        push(&mut out, FULL_SLASH);
                    } else {
                        out.push(b'/');
                    }
                    continue;
                }
                _ => {}
            }
            if unquote {
                if self.invalid_utf8 {
                    // Two hex digits after the quote stand for one raw byte.
                    let next = runes.get(i + 1).map(|r| r.1);
                    if let (Some(hi), Some(lo)) = (hex_digit(bytes), next.and_then(hex_digit)) {
                        out.push(hi << 4 | lo);
                        skip_next = true;
                        continue;
                    }
                }
                push(&mut out, QUOTE);
            }
            out.extend_from_slice(bytes);
        }
        if unquote_next {
            push(&mut out, QUOTE);
        }
        out
    }
}

fn push(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

fn hex_digit(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [b] => (*b as char).to_digit(16).map(|d| d as u8),
        _ => None,
    }
}

/// The Drive name rclone would give a local file named `local` (raw OS bytes).
pub fn drive_name(local: &OsStr, drive: Encoding) -> Result<String, NameError> {
    let raw = local.as_encoded_bytes();
    if raw.is_empty() {
        return Err(NameError::Empty);
    }
    let encoded = drive.encode(&Encoding::LOCAL.decode(raw));
    String::from_utf8(encoded)
        .map_err(|e| NameError::NotUtf8(String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// The local file name for a Drive name (the reverse of [`drive_name`]).
pub fn local_name(drive_name: &str, drive: Encoding) -> OsString {
    let raw = Encoding::LOCAL.encode(&drive.decode(drive_name.as_bytes()));
    bytes_to_os(raw)
}

#[cfg(unix)]
fn bytes_to_os(bytes: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes)
}

#[cfg(not(unix))]
fn bytes_to_os(bytes: Vec<u8>) -> OsString {
    OsString::from(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(raw: &[u8]) -> String {
        String::from_utf8(Encoding::DRIVE.encode(raw)).expect("drive encoding is UTF-8")
    }

    #[test]
    fn reference_table() {
        // §13.3 of the API reference: raw ↔ wire.
        let table: &[(&[u8], &str)] = &[
            (b"a/b", "a／b"),
            ("a／b".as_bytes(), "a‛／b"),
            (b".", "．"),
            (b"..", "．．"),
            ("．".as_bytes(), "‛．"),
            ("．．".as_bytes(), "‛．‛．"),
            (b"...", "..."),
            (b". .", ". ."),
            (b".hidden", ".hidden"),
            (b"a.", "a."),
            (b"x\x00y", "x␀y"),
            ("x␀y".as_bytes(), "x‛␀y"),
            ("it‛s".as_bytes(), "it‛‛s"),
            (b"a\xBF\xFEb", "a‛BF‛FEb"),
            (b"a\xBF\xCE\xBE\xFEb", "a‛BFξ‛FEb"),
            ("‛AB".as_bytes(), "‛‛AB"),
            (b"a\\b:c*?", "a\\b:c*?"),
            (b"\xE2\x82", "‛E2‛82"),
            ("\u{FFFD}".as_bytes(), "\u{FFFD}"),
            (b"tab\tname", "tab\tname"),
            (b"", ""),
        ];
        for (raw, wire) in table {
            assert_eq!(enc(raw), *wire, "encode {:?}", String::from_utf8_lossy(raw));
            assert_eq!(
                Encoding::DRIVE.decode(wire.as_bytes()),
                *raw,
                "decode {wire:?}"
            );
        }
    }

    #[test]
    fn decoding_what_rclone_did_not_produce() {
        let d = |s: &str| Encoding::DRIVE.decode(s.as_bytes());
        assert_eq!(d("‛a‛"), "‛a‛".as_bytes());
        assert_eq!(d("a‛B‛Eg"), "a‛B‛Eg".as_bytes());
        assert_eq!(d("‛ab"), b"\xAB");
        assert_eq!(d("end‛"), "end‛".as_bytes());
    }

    #[test]
    fn local_files_get_the_names_rclone_gave_them() {
        // Observed with rclone 1.60 copying a local tree (§13.3).
        let local = |b: &[u8]| {
            use std::os::unix::ffi::OsStrExt;
            drive_name(OsStr::from_bytes(b), Encoding::DRIVE).unwrap()
        };
        assert_eq!(local("full／slash.txt".as_bytes()), "full／slash.txt");
        assert_eq!(local("．".as_bytes()), "．");
        assert_eq!(local("．．".as_bytes()), "．．");
        assert_eq!(local("trail．".as_bytes()), "trail．");
        assert_eq!(local("nul␀.txt".as_bytes()), "nul␀.txt");
        assert_eq!(local(b"bad\xFF.bin"), "bad‛FF.bin");
        assert_eq!(local(b"bad\xC3(two.bin"), "bad‛C3(two.bin");
        assert_eq!(local(b"tab\tname.txt"), "tab\tname.txt");
        assert_eq!(local(b"back\\slash.txt"), "back\\slash.txt");
        // And back.
        assert_eq!(
            local_name("bad‛FF.bin", Encoding::DRIVE).as_encoded_bytes(),
            b"bad\xFF.bin"
        );
        assert_eq!(
            local_name("AC／DC.mp3", Encoding::DRIVE).as_encoded_bytes(),
            "AC／DC.mp3".as_bytes()
        );
        assert_eq!(
            local_name("．", Encoding::DRIVE).as_encoded_bytes(),
            "．".as_bytes()
        );
    }

    #[test]
    fn option_parsing() {
        assert_eq!(
            Encoding::parse("Slash,InvalidUtf8,Dot").unwrap(),
            Encoding::DRIVE
        );
        assert_eq!(Encoding::parse(" Slash , Dot ").unwrap(), Encoding::LOCAL);
        assert!(!Encoding::parse("None").unwrap().slash);
        assert_eq!(
            Encoding::parse("Slash,Ctl"),
            Err(NameError::UnsupportedFlag("Ctl".into()))
        );
        // Without InvalidUtf8 a name with invalid bytes cannot go to the Drive.
        use std::os::unix::ffi::OsStrExt;
        let none = Encoding::parse("Slash,Dot").unwrap();
        assert!(matches!(
            drive_name(OsStr::from_bytes(b"x\xFF"), none),
            Err(NameError::NotUtf8(_))
        ));
        assert_eq!(
            drive_name(OsStr::new(""), Encoding::DRIVE),
            Err(NameError::Empty)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn drive_encoding_round_trips_any_bytes(raw in proptest::collection::vec(any::<u8>(), 0..40)) {
            let wire = Encoding::DRIVE.encode(&raw);
            prop_assert_eq!(Encoding::DRIVE.decode(&wire), raw);
        }

        #[test]
        fn drive_names_are_storable(raw in proptest::collection::vec(any::<u8>(), 1..40)) {
            let wire = String::from_utf8(Encoding::DRIVE.encode(&raw));
            prop_assert!(wire.is_ok(), "always UTF-8");
            let wire = wire.unwrap();
            prop_assert!(!wire.contains('/'));
            prop_assert!(!wire.contains('\0'));
            prop_assert!(wire != "." && wire != "..");
        }

        #[test]
        fn round_trips_with_special_characters(
            parts in proptest::collection::vec(prop_oneof![
                Just("/".to_string()), Just("／".to_string()), Just("‛".to_string()), Just("␀".to_string()),
                Just(".".to_string()), Just("．".to_string()), Just("\0".to_string()), Just("AB".to_string()),
                Just("ff".to_string()), "[a-z ]{0,3}".prop_map(|s| s),
            ], 0..8),
            invalid in proptest::option::of(128u8..=255),
        ) {
            let mut raw = parts.concat().into_bytes();
            if let Some(b) = invalid { raw.push(b); }
            prop_assert_eq!(Encoding::DRIVE.decode(&Encoding::DRIVE.encode(&raw)), raw.clone());
            prop_assert_eq!(Encoding::LOCAL.decode(&Encoding::LOCAL.encode(&raw)), raw);
        }
    }
}
