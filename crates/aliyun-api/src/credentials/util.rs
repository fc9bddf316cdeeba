//! Small helpers shared by the providers.

use std::error::Error as _;

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Parses an expiry as sent by STS and the metadata server (`2006-01-02T15:04:05Z`).
pub(crate) fn parse_expiration(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).ok()
}

/// A transport error with its causes (`connection refused`, `operation timed out`), for messages.
/// reqwest errors name the URL, never a request body or header value.
pub(crate) fn describe_transport(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() { format!("{err} (timed out)") } else { err.to_string() };
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `text` with every occurrence of `secret` replaced, for echoing server messages.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() { text.to_owned() } else { text.replace(secret, "<redacted>") }
}

/// At most `max` characters of `text`, on a char boundary, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A JSON string field of an object, trimmed; `None` when missing, not a string, or empty.
pub(crate) fn json_str<'a>(object: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(serde_json::Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        let t = parse_expiration("2006-01-02T15:04:05Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1_136_214_245);
        assert!(parse_expiration("yesterday").is_none());
        assert_eq!(redact("bad token abc here abc", "abc"), "bad token <redacted> here <redacted>");
        assert_eq!(redact("x", ""), "x");
        assert_eq!(truncate("héllo", 2), "hé...");
        assert_eq!(truncate("hé", 2), "hé");
        let v = serde_json::json!({"a": " x ", "b": "", "c": 1});
        assert_eq!(json_str(&v, "a"), Some("x"));
        assert_eq!(json_str(&v, "b"), None);
        assert_eq!(json_str(&v, "c"), None);
    }
}
