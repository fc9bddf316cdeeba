//! Typed vpc API calls.
