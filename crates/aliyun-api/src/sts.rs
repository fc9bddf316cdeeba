//! Typed sts API calls.
