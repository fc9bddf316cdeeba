//! Typed ecs API calls.
