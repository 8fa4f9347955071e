//! What service discovery reads from endpoints and files it does not control: an HTTP SD
//! answer's target groups, and a resolv.conf. Neither may panic; a parsed group list
//! keeps every target's address.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(groups) = discovery::http::parse_groups(data) {
        for g in &groups {
            assert!(g.targets.iter().all(|t| t.contains_key("__address__")));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let config = discovery::dns::parse_resolv_conf(text);
        assert!(config.ndots <= 15);
        let _ = discovery::dns::name_list("web.svc", &config);
    }
});
