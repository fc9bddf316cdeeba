//! Structured logs on stderr: text or JSON (`--log-format`), level from klog's `--v` unless `RUST_LOG` is set.

use tracing_subscriber::EnvFilter;

use crate::flags::LogFormat;

/// The crates of this project, whose level follows `--v`; dependencies stay at `info` until `--v=6`.
const OWN_CRATES: &[&str] =
    &["ccm", "ccm_kube", "aliyun_api", "node_controller", "route_controller", "clb_controller", "provider_id_initor"];

/// The filter for klog verbosity `v`: 0-2 info, 3-5 debug for this project, 6+ trace (and debug for the rest).
pub fn filter_for_verbosity(v: u8) -> String {
    let (own, rest) = match v {
        0..=2 => ("info", "info"),
        3..=5 => ("debug", "info"),
        _ => ("trace", "debug"),
    };
    let mut directives = vec![rest.to_owned()];
    directives.extend(OWN_CRATES.iter().map(|c| format!("{c}={own}")));
    directives.join(",")
}

/// Installs the global subscriber. `RUST_LOG` wins over `verbosity`.
pub fn init(format: LogFormat, verbosity: u8) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter_for_verbosity(verbosity)));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // Ignore a second initialization (tests), which is harmless.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_maps_to_levels() {
        assert!(filter_for_verbosity(2).starts_with("info,ccm=info"));
        assert!(filter_for_verbosity(4).contains("node_controller=debug"));
        assert!(filter_for_verbosity(9).starts_with("debug,ccm=trace"));
        for v in [0, 3, 6] {
            assert!(EnvFilter::try_new(filter_for_verbosity(v)).is_ok());
        }
    }
}
