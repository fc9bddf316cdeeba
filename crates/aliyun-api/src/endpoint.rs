//! Products, API versions and endpoint resolution (regional public, VPC-internal, and the Go CCM's overrides).

use std::fmt;

/// An Alibaba Cloud product this client speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Product {
    /// Elastic Compute Service, API `2014-05-26`.
    Ecs,
    /// Virtual Private Cloud, API `2016-04-28`.
    Vpc,
    /// Server Load Balancer (Classic Load Balancer), API `2014-05-15`.
    Slb,
    /// Security Token Service, API `2015-04-01`.
    Sts,
}

impl Product {
    /// Every product, in a stable order.
    pub const ALL: [Product; 4] = [Product::Ecs, Product::Vpc, Product::Slb, Product::Sts];

    /// The API version string sent as `Version` / `x-acs-version`.
    pub fn version(self) -> &'static str {
        match self {
            Product::Ecs => "2014-05-26",
            Product::Vpc => "2016-04-28",
            Product::Slb => "2014-05-15",
            Product::Sts => "2015-04-01",
        }
    }

    /// The lower-case product code used in host names (`ecs`, `vpc`, `slb`, `sts`).
    pub fn code(self) -> &'static str {
        match self {
            Product::Ecs => "ecs",
            Product::Vpc => "vpc",
            Product::Slb => "slb",
            Product::Sts => "sts",
        }
    }

    /// The product whose API version is `version`, if any.
    pub fn from_version(version: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.version() == version)
    }

    /// Parses a product code (`ecs`, `vpc`, `slb`, `sts`), case-insensitively.
    pub fn from_code(code: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.code().eq_ignore_ascii_case(code))
    }

    /// The environment variable that overrides this product's endpoint (the Go CCM's names, plus `STS_ENDPOINT`).
    pub fn endpoint_env(self) -> &'static str {
        match self {
            Product::Ecs => "ECS_ENDPOINT",
            Product::Vpc => "VPC_ENDPOINT",
            Product::Slb => "SLB_ENDPOINT",
            Product::Sts => "STS_ENDPOINT",
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Which network the client reaches the API over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// Public endpoints (`ecs.<region>.aliyuncs.com`).
    #[default]
    Public,
    /// VPC-internal endpoints (`ecs-vpc.<region>.aliyuncs.com`), free of internet egress.
    Vpc,
}

/// URL scheme for API calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// HTTPS (the default).
    #[default]
    Https,
    /// Plain HTTP (`ALICLOUD_CLIENT_SCHEME=HTTP`, or a local fake).
    Http,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

/// Resolves the base URL of each product for one region.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    region: String,
    network: Network,
    scheme: Scheme,
    overrides: [Option<String>; 4],
}

impl Endpoints {
    /// Endpoints of `region` on the public network over HTTPS, with no overrides.
    pub fn new(region: impl Into<String>) -> Self {
        Self { region: region.into(), ..Self::default() }
    }

    /// Like [`Endpoints::new`], then applies the environment: `ECS_ENDPOINT`, `VPC_ENDPOINT`, `SLB_ENDPOINT`,
    /// `STS_ENDPOINT` and `ALICLOUD_CLIENT_SCHEME=HTTP`.
    pub fn from_env(region: impl Into<String>) -> Self {
        Self::new(region).with_env(|name| std::env::var(name).ok())
    }

    /// Applies overrides read through `lookup` (an environment, or a map in tests).
    pub fn with_env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        if lookup("ALICLOUD_CLIENT_SCHEME").is_some_and(|s| s.eq_ignore_ascii_case("http")) {
            self.scheme = Scheme::Http;
        }
        for product in Product::ALL {
            if let Some(value) = lookup(product.endpoint_env()).filter(|v| !v.trim().is_empty()) {
                self = self.with_override(product, value.trim());
            }
        }
        self
    }

    /// Uses the VPC-internal or public network.
    pub fn with_network(mut self, network: Network) -> Self {
        self.network = network;
        self
    }

    /// Uses `scheme` for endpoints given without one.
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Sends `product`'s calls to `endpoint`: a host (`ecs.example.com`), a host and port, or a full base URL
    /// (`http://127.0.0.1:8080`).
    pub fn with_override(mut self, product: Product, endpoint: impl Into<String>) -> Self {
        self.overrides[product as usize] = Some(endpoint.into());
        self
    }

    /// Sends every product's calls to one base URL (a local fake serves all products on one listener).
    pub fn with_all(mut self, endpoint: impl Into<String>) -> Self {
        let endpoint = endpoint.into();
        for product in Product::ALL {
            self.overrides[product as usize] = Some(endpoint.clone());
        }
        self
    }

    /// The region these endpoints serve.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The host name a product resolves to by the regional rule, ignoring overrides.
    pub fn default_host(&self, product: Product) -> String {
        let region = self.region.as_str();
        match (product, self.network) {
            (Product::Sts, Network::Public) if region.is_empty() => "sts.aliyuncs.com".to_owned(),
            // products.json: SLB in cn-hangzhou and the finance regions use the central endpoint.
            (Product::Slb, Network::Public) if region == "cn-hangzhou" || region.ends_with("-finance") => {
                "slb.aliyuncs.com".to_owned()
            }
            (Product::Ecs, Network::Public) if region == "cn-hangzhou-finance" => "ecs.aliyuncs.com".to_owned(),
            (p, Network::Public) => format!("{}.{region}.aliyuncs.com", p.code()),
            (p, Network::Vpc) => format!("{}-vpc.{region}.aliyuncs.com", p.code()),
        }
    }

    /// The base URL (scheme, host, optional port; no trailing slash) for `product`.
    pub fn base_url(&self, product: Product) -> String {
        let configured = self.overrides[product as usize].clone();
        let endpoint = configured.unwrap_or_else(|| self.default_host(product));
        let endpoint = endpoint.trim_end_matches('/');
        if endpoint.contains("://") { endpoint.to_owned() } else { format!("{}://{endpoint}", self.scheme.as_str()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn regional_public_and_vpc_hosts() {
        let e = Endpoints::new("cn-beijing");
        assert_eq!(e.base_url(Product::Ecs), "https://ecs.cn-beijing.aliyuncs.com");
        assert_eq!(e.base_url(Product::Slb), "https://slb.cn-beijing.aliyuncs.com");
        let v = e.with_network(Network::Vpc);
        assert_eq!(v.base_url(Product::Vpc), "https://vpc-vpc.cn-beijing.aliyuncs.com");
        assert_eq!(v.base_url(Product::Sts), "https://sts-vpc.cn-beijing.aliyuncs.com");
    }

    #[test]
    fn slb_in_hangzhou_uses_the_central_endpoint() {
        assert_eq!(Endpoints::new("cn-hangzhou").base_url(Product::Slb), "https://slb.aliyuncs.com");
    }

    #[test]
    fn go_ccm_environment_overrides() {
        let env: HashMap<&str, &str> = [
            ("ALICLOUD_CLIENT_SCHEME", "HTTP"),
            ("ECS_ENDPOINT", "ecs.internal.example"),
            ("SLB_ENDPOINT", "https://slb.example:8443/"),
        ]
        .into();
        let e = Endpoints::new("cn-hangzhou").with_env(|k| env.get(k).map(|v| v.to_string()));
        assert_eq!(e.base_url(Product::Ecs), "http://ecs.internal.example");
        assert_eq!(e.base_url(Product::Slb), "https://slb.example:8443");
        assert_eq!(e.base_url(Product::Vpc), "http://vpc.cn-hangzhou.aliyuncs.com");
    }

    #[test]
    fn product_lookup_by_version_and_code() {
        assert_eq!(Product::from_version("2014-05-15"), Some(Product::Slb));
        assert_eq!(Product::from_code("VPC"), Some(Product::Vpc));
        assert_eq!(Product::from_version("2099-01-01"), None);
    }
}
