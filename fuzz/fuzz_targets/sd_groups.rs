//! What service discovery reads from endpoints and files it does not control: an HTTP SD
//! answer's target groups, a resolv.conf, Consul's catalog and health answers, and a
//! Kubernetes API server's list pages and watch streams (decoded, stored and built into
//! every role's groups). None may panic; a parsed group list or Consul target keeps every
//! target's address, and every Kubernetes target has one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(groups) = discovery::http::parse_groups(data) {
        for g in &groups {
            assert!(g.targets.iter().all(|t| t.contains_key("__address__")));
        }
    }
    let _ = discovery::consul::parse_catalog_answer(data);
    if let Ok(targets) = discovery::consul::parse_health_answer(data, ",") {
        assert!(targets.iter().all(|t| t.contains_key("__address__")));
    }
    for g in discovery::kubernetes::decode_and_build(data) {
        assert!(g.targets.iter().all(|t| t.contains_key("__address__")));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let config = discovery::dns::parse_resolv_conf(text);
        assert!(config.ndots <= 15);
        let _ = discovery::dns::name_list("web.svc", &config);
    }
});
