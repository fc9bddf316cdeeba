//! Reading counters from the CCM's `/metrics` (Prometheus or OpenMetrics text): `aliyun_api_retries`, if the
//! implementation exposes it.

use std::collections::BTreeMap;

/// Samples of counter `name` (with or without the `_total` suffix) by their `action` label (empty when the
/// series has none), or `None` when the text has no such metric at all.
pub fn counter_by_action(text: &str, name: &str) -> Option<BTreeMap<String, f64>> {
    let total = format!("{name}_total");
    let mut found = text.lines().any(|l| {
        let mut words = l.split_whitespace();
        words.next() == Some("#") && words.next() == Some("TYPE") && words.next().is_some_and(|m| m == name)
    });
    let mut by_action = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((metric, labels, rest)) = split_sample(line) else { continue };
        let Some(value) = rest.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()) else { continue };
        if metric != name && metric != total {
            continue;
        }
        found = true;
        *by_action.entry(label(labels, "action").unwrap_or_default()).or_insert(0.0) += value;
    }
    found.then_some(by_action)
}

/// `metric{labels} value...` or `metric value...` as (metric, labels, the rest).
fn split_sample(line: &str) -> Option<(&str, &str, &str)> {
    match line.find('{') {
        Some(open) => {
            let close = open + line[open..].find('}')?;
            Some((line[..open].trim(), &line[open + 1..close], &line[close + 1..]))
        }
        None => {
            let (metric, rest) = line.trim().split_once(char::is_whitespace)?;
            Some((metric, "", rest))
        }
    }
}

/// The value of label `key` in `a="x",b="y"`.
fn label(labels: &str, key: &str) -> Option<String> {
    let mut rest = labels;
    while !rest.is_empty() {
        let (k, after) = rest.split_once("=\"")?;
        let end = after.find('"')?;
        if k.trim().trim_start_matches(',').trim() == key {
            return Some(after[..end].to_owned());
        }
        rest = &after[end + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_retries_by_action() {
        let text = "# HELP aliyun_api_retries Retried API calls.\n# TYPE aliyun_api_retries counter\n\
                    aliyun_api_retries_total{product=\"vpc\",action=\"CreateRouteEntries\"} 3\n\
                    aliyun_api_retries_total{product=\"ecs\",action=\"DescribeInstances\"} 1\n\
                    aliyun_api_requests_total{product=\"ecs\",action=\"DescribeInstances\"} 10\n# EOF\n";
        let m = counter_by_action(text, "aliyun_api_retries").expect("found");
        assert_eq!(m["CreateRouteEntries"], 3.0);
        assert_eq!(m.values().sum::<f64>(), 4.0);
    }

    #[test]
    fn declared_but_empty_is_zero_and_absent_is_none() {
        let declared = "# TYPE aliyun_api_retries counter\n# EOF\n";
        assert_eq!(counter_by_action(declared, "aliyun_api_retries"), Some(BTreeMap::new()));
        assert_eq!(counter_by_action("go_goroutines 12\n", "aliyun_api_retries"), None);
    }
}
