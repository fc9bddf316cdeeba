//! Typed slb API calls.
