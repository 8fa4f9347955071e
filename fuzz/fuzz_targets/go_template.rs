//! Any text, parsed as an alerting rule's template (Prometheus' variables and functions)
//! and executed on sample data (labels, a value, a fixed query result) with limits, gives
//! an output or an error, never a panic, a hang or unbounded memory.
#![no_main]

use gotemplate::ExecLimits;
use libfuzzer_sys::fuzz_target;
use model::Labels;
use rules::expand::{alert_template_data, parse_check, Context, Expansion, ALERT_TEMPLATE_DEFS};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = parse_check("Fuzz", &text);
    let labels = Labels::from_pairs([
        ("__name__", "up"),
        ("instance", "host.example.com:9100"),
        ("job", "node"),
    ]);
    let external = Labels::from_pairs([("cluster", "eu1")]);
    let value = alert_template_data(&labels, &external, "http://prom:9090/prefix", 0.25);
    let context = Context {
        timestamp_ms: 1_353_755_652_000,
        external_url: "http://prom:9090/prefix".to_string(),
    };
    let query = |q: &str| -> Result<Vec<promql::Sample>, String> {
        if q.is_empty() {
            return Err("empty query".to_string());
        }
        Ok(vec![
            promql::Sample {
                labels: Labels::from_pairs([("instance", "b"), ("__value__", "x")]),
                t: 0,
                v: 2.5,
                h: None,
            },
            promql::Sample {
                labels: Labels::from_pairs([("instance", "a")]),
                t: 0,
                v: f64::NAN,
                h: None,
            },
        ])
    };
    let full = format!("{ALERT_TEMPLATE_DEFS}{text}");
    let result = Expansion {
        name: "__alert_Fuzz",
        text: &full,
        data: &value,
        context: &context,
        query: &query,
        options: None,
        limits: ExecLimits {
            max_template_depth: 50,
            max_output_bytes: 1 << 20,
            max_steps: 50_000,
            max_stack_bytes: 256 << 10,
        },
    }
    .expand();
    // The load-time check and the expansion agree on what parses.
    if let Err(e) = &result {
        if e.starts_with("error parsing template") {
            assert!(
                parsed.is_err(),
                "parse_check accepted what expansion refused: {e}"
            );
        }
    } else {
        assert!(parsed.is_ok(), "expansion parsed what parse_check refused");
    }
});
