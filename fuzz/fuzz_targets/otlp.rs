//! Any OTLP metrics body, as protobuf or JSON, gzip-compressed or not, decodes to a request
//! or to an error naming its HTTP status (never a panic), within the decompressed size bound;
//! a decoded request translates under every translation strategy without panicking, to
//! samples with one start timestamp each and within the translation's bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remote::otlp::{self, BodyFormat, Encoding};

fuzz_target!(|data: &[u8]| {
    for encoding in [Encoding::Protobuf, Encoding::Json] {
        for gzip in [false, true] {
            let format = BodyFormat { encoding, gzip };
            let request = match otlp::decode(format, data, 1 << 20) {
                Ok(r) => r,
                Err(e) => {
                    assert!(matches!(e.status(), 400 | 413), "{e}");
                    continue;
                }
            };
            for strategy in [
                "UnderscoreEscapingWithSuffixes",
                "UnderscoreEscapingWithoutSuffixes",
                "NoUTF8EscapingWithSuffixes",
                "NoTranslation",
            ] {
                let config = promconfig::OtlpConfig {
                    translation_strategy: strategy.into(),
                    promote_all_resource_attributes: true,
                    promote_scope_metadata: true,
                    ..promconfig::OtlpConfig::defaults()
                };
                let settings = otlp::Settings::from_config(&config, true, 300_000);
                if let Ok(t) = otlp::translate(&request, &settings) {
                    assert_eq!(t.samples.len(), t.start_timestamps.len());
                }
            }
        }
    }
});
