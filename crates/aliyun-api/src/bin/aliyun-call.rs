//! `aliyun-call`: call any ECS, VPC, SLB or STS action with the credentials chain, and print the JSON answer.
//!
//! For operators checking what their credentials can do, and for poking at `aliyun-fake`.

use std::{path::PathBuf, process::ExitCode};

use aliyun_api::{
    Client, Endpoints, Error, Product, RawRequest, SignatureVersion, client::HttpMethod, credentials::ChainConfig,
    ratelimit::RateLimits, retry::RetryPolicy,
};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProductArg {
    Ecs,
    Vpc,
    Slb,
    Sts,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SignatureArg {
    V1,
    V3,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
enum MethodArg {
    Get,
    Post,
}

/// Call an Alibaba Cloud API action and print its JSON response.
///
/// Credentials come from the chain: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET[/ALIBABA_CLOUD_SECURITY_TOKEN], the Go
/// CCM's ACCESS_KEY_ID/ACCESS_KEY_SECRET, OIDC (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
/// ALIBABA_CLOUD_OIDC_TOKEN_FILE), --cloud-config, then the ECS RAM role from the metadata server.
#[derive(Debug, Parser)]
#[command(name = "aliyun-call", version)]
struct Args {
    /// Base URL or host to send to instead of the product's regional endpoint (e.g. http://127.0.0.1:8080).
    #[arg(long)]
    endpoint: Option<String>,
    /// Product whose API the action belongs to.
    #[arg(long, value_enum)]
    product: ProductArg,
    /// Region ID.
    #[arg(long, env = "ALIBABA_CLOUD_REGION_ID", default_value = "cn-hangzhou")]
    region: String,
    /// Signature scheme: v1 (RPC HMAC-SHA1) or v3 (ACS3-HMAC-SHA256).
    #[arg(long, value_enum, default_value = "v1")]
    signature: SignatureArg,
    /// HTTP method for RPC calls.
    #[arg(long, value_enum, default_value = "POST")]
    method: MethodArg,
    /// The Go CCM's cloud-config file, as one more credentials source.
    #[arg(long)]
    cloud_config: Option<PathBuf>,
    /// Send without credentials (STS AssumeRoleWithOIDC).
    #[arg(long)]
    anonymous: bool,
    /// Action name, e.g. DescribeInstances.
    action: String,
    /// Parameters as Key=Value, sent as given (the value may contain any character, `=` included).
    params: Vec<String>,
}

fn product(arg: ProductArg) -> Product {
    match arg {
        ProductArg::Ecs => Product::Ecs,
        ProductArg::Vpc => Product::Vpc,
        ProductArg::Slb => Product::Slb,
        ProductArg::Sts => Product::Sts,
    }
}

fn build_request(args: &Args) -> Result<RawRequest, String> {
    let mut request = RawRequest::new(product(args.product), args.action.clone());
    request.anonymous = args.anonymous;
    for pair in &args.params {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("parameter `{pair}` is not Key=Value (an empty value is written `Key=`)"));
        };
        if key.is_empty() {
            return Err(format!("parameter `{pair}` has an empty name"));
        }
        request.params.set(key, value);
    }
    Ok(request)
}

fn build_client(args: &Args) -> Result<Client, Error> {
    let mut endpoints = Endpoints::from_env(args.region.clone());
    if let Some(endpoint) = &args.endpoint {
        endpoints = endpoints.with_override(product(args.product), endpoint.clone());
    }
    let mut chain = ChainConfig::from_process_env();
    if let Some(path) = &args.cloud_config {
        chain = chain.cloud_config(path.clone());
    }
    let chain = chain.build();
    Client::builder(args.region.clone())
        .endpoints(endpoints)
        .credentials(chain)
        .signature(match args.signature {
            SignatureArg::V1 => SignatureVersion::V1,
            SignatureArg::V3 => SignatureVersion::V3,
        })
        .method(match args.method {
            MethodArg::Get => HttpMethod::Get,
            MethodArg::Post => HttpMethod::Post,
        })
        // An operator's one-off call: no pacing, and retries only for what is safe to repeat.
        .rate_limits(RateLimits::unlimited())
        .retry(RetryPolicy { max_attempts: 3, ..RetryPolicy::default() })
        .user_agent("aliyun-call")
        .build()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let request = match build_request(&args) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("aliyun-call: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("aliyun-call: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let client = build_client(&args)?;
        client.call_raw(&request).await
    });
    match result {
        Ok(json) => {
            println!("{}", serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string()));
            ExitCode::SUCCESS
        }
        Err(Error::Api { source, .. }) => {
            eprintln!("{}: {} ({})", source.code, source.message, source.request_id);
            ExitCode::FAILURE
        }
        Err(other) => {
            eprintln!("aliyun-call: {other}");
            ExitCode::FAILURE
        }
    }
}
