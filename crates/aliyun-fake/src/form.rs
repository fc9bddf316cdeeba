//! Strict `application/x-www-form-urlencoded` decoding (query strings and
//! form bodies) and RFC 3986 percent-encoding, written for the verifier.
//!
//! Unlike lenient decoders this one rejects malformed escapes and invalid
//! UTF-8 instead of guessing, so a client bug shows as an error.

use std::collections::BTreeMap;

/// Most parameters accepted in one request (query and form together).
pub const MAX_PARAMS: usize = 1000;
/// Longest accepted parameter name, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// Why a query string or form body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A `%` not followed by two hex digits.
    #[error("malformed percent-encoding at byte {0}")]
    BadEscape(usize),
    /// Decoded bytes are not UTF-8.
    #[error("parameter {0:?} is not valid UTF-8 after decoding")]
    NotUtf8(String),
    /// The same parameter appears twice.
    #[error("parameter {0:?} is repeated")]
    Repeated(String),
    /// Too many parameters.
    #[error("too many parameters (at most {MAX_PARAMS})")]
    TooMany,
    /// A parameter with an empty or overlong name.
    #[error("parameter name is empty or longer than {MAX_NAME_LEN} bytes")]
    BadName,
}

/// Decodes `name=value&...` (`+` is a space, `%XY` a byte) into `into`,
/// failing on malformed input, repeated names, or too many parameters.
pub fn decode_into(raw: &str, into: &mut BTreeMap<String, String>) -> Result<(), FormError> {
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_component(name)?;
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(FormError::BadName);
        }
        let value = decode_component(value)?;
        if into.len() >= MAX_PARAMS {
            return Err(FormError::TooMany);
        }
        if into.contains_key(&name) {
            return Err(FormError::Repeated(name));
        }
        into.insert(name, value);
    }
    Ok(())
}

/// Decodes one component of a form-encoded string.
pub fn decode_component(raw: &str) -> Result<String, FormError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| hex_value(*b));
                let lo = bytes.get(i + 2).and_then(|b| hex_value(*b));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(FormError::BadEscape(i)),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| {
        let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
        FormError::NotUtf8(lossy)
    })
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 percent-encoding as both signature schemes use it: unreserved
/// `A-Z a-z 0-9 - _ . ~` stay, every other UTF-8 byte becomes `%XY`
/// (uppercase hex), so a space is `%20` and `*` is `%2A`.
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 3);
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(raw: &str) -> Result<BTreeMap<String, String>, FormError> {
        let mut m = BTreeMap::new();
        decode_into(raw, &mut m).map(|_| m)
    }

    #[test]
    fn decodes_plus_and_escapes() {
        let m = decode("a=x+y&b=%E4%B8%AD&c=&d").unwrap();
        assert_eq!(m["a"], "x y");
        assert_eq!(m["b"], "中");
        assert_eq!(m["c"], "");
        assert_eq!(m["d"], "");
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(decode("a=%zz").unwrap_err(), FormError::BadEscape(0));
        assert!(matches!(decode("a=%4"), Err(FormError::BadEscape(_))));
        assert!(matches!(decode("a=%FF"), Err(FormError::NotUtf8(_))));
        assert_eq!(decode("a=1&a=2").unwrap_err(), FormError::Repeated("a".into()));
        assert_eq!(decode("=1").unwrap_err(), FormError::BadName);
        let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
        assert_eq!(decode(&many.join("&")).unwrap_err(), FormError::TooMany);
    }

    #[test]
    fn percent_encoding_matches_the_node_sdk_examples() {
        // §10 V-7
        assert_eq!(percent_encode("str"), "str");
        assert_eq!(percent_encode("str'str"), "str%27str");
        assert_eq!(percent_encode("str(str"), "str%28str");
        assert_eq!(percent_encode("str)str"), "str%29str");
        assert_eq!(percent_encode("str*str"), "str%2Astr");
        assert_eq!(percent_encode("a b~"), "a%20b~");
        assert_eq!(percent_encode("中"), "%E4%B8%AD");
    }
}
