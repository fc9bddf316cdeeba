//! ratelimit
