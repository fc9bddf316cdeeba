//! HTTP-level tests of aliyun-fake: a signed client drives the real listener.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod admin;
mod auth;
mod ecs_vpc;
mod metadata_sts;
mod robustness;
mod routes;
mod support;
