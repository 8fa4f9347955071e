//! Any `match[]` text gives matchers or an error, never a panic; the matchers it gives
//! print as a selector that parses back to the same matchers, and matching any value
//! with them (regexes included) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// What a selector's matchers say, for comparing two parses: a set (the printer sorts
/// matchers, as Prometheus's does).
fn meaning(matchers: &[model::Matcher]) -> Vec<(String, String, String)> {
    let mut all: Vec<_> = matchers
        .iter()
        .map(|m| (m.name.clone(), format!("{:?}", m.op), m.value.clone()))
        .collect();
    all.sort();
    all
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(matchers) = promql::parse_selector(text) else {
        return;
    };
    let expr = promql::parse(text)
        .unwrap_or_else(|e| panic!("{text:?} gave matchers but does not parse: {e}"));
    let printed = promql::format_expr(&expr);
    let again = promql::parse_selector(&printed)
        .unwrap_or_else(|e| panic!("{text:?} prints as {printed:?}, which is not a selector: {e}"));
    assert_eq!(
        meaning(&again),
        meaning(&matchers),
        "{text:?} prints as {printed:?}, which selects something else"
    );
    let labels =
        model::Labels::from_pairs(matchers.iter().map(|m| (m.name.as_str(), m.value.as_str())));
    for m in &matchers {
        let _ = m.matches("");
        let _ = m.matches(&m.value);
        let _ = m.matches(text);
        let _ = m.matches_labels(&labels);
    }
});
