//! `aliyun-call` as an operator runs it: parameters sent as given, JSON on stdout, API errors on stderr.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::{
    collections::BTreeMap,
    process::Command,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{RawQuery, State},
    http::StatusCode,
    response::IntoResponse,
};

type Seen = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Answers like the API: an error for `Fail`, else a small success body.
async fn api(State(seen): State<Seen>, RawQuery(q): RawQuery) -> impl IntoResponse {
    let params: BTreeMap<String, String> = q
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let fail = params.get("Action").is_some_and(|a| a == "Fail");
    seen.lock().unwrap().push(params);
    if fail {
        (
            StatusCode::FORBIDDEN,
            r#"{"RequestId":"RID-9","Code":"Forbidden.RAM","Message":"User not authorized to operate on the specified resource."}"#,
        )
    } else {
        (StatusCode::OK, r#"{"RequestId":"RID-1","Vpcs":{"Vpc":[]}}"#)
    }
}

/// Serves on a loopback port from a thread of its own, so the test can block on the child process.
fn serve() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(api).with_state(seen.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (format!("http://{}", rx.recv().unwrap()), seen)
}

fn aliyun_call(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_aliyun-call"))
        .args(["--endpoint", endpoint])
        .args(args)
        .env_clear()
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "AKID")
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "call-secret-never-printed")
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

#[test]
fn parameters_are_sent_exactly_as_given() {
    let (endpoint, seen) = serve();
    let out = aliyun_call(
        &endpoint,
        &["--product", "vpc", "--region", "cn-beijing", "DescribeVpcs", "VpcName=a=b c+d&é", "Empty=", "Tag.1.Key=k"],
    );
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stdout["RequestId"], "RID-1");
    let got = seen.lock().unwrap()[0].clone();
    assert_eq!(got["VpcName"], "a=b c+d&é");
    assert_eq!(got["Empty"], "");
    assert_eq!(got["Tag.1.Key"], "k");
    assert_eq!(got["Action"], "DescribeVpcs");
    assert_eq!(got["Version"], "2016-04-28");
    assert_eq!(got["RegionId"], "cn-beijing");
    assert_eq!(got["AccessKeyId"], "AKID");
    assert!(got.contains_key("Signature"));
}

#[test]
fn api_errors_print_code_message_and_request_id_and_exit_1() {
    let (endpoint, _seen) = serve();
    let out = aliyun_call(&endpoint, &["--product", "ecs", "Fail"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "Forbidden.RAM: User not authorized to operate on the specified resource. (RID-9)");
    assert!(out.stdout.is_empty());
    assert!(!stderr.contains("call-secret-never-printed"));
}

#[test]
fn a_parameter_without_equals_is_refused_before_any_call() {
    let (endpoint, seen) = serve();
    let out = aliyun_call(&endpoint, &["--product", "ecs", "DescribeInstances", "NoEquals"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NoEquals"));
    assert!(seen.lock().unwrap().is_empty());
}
