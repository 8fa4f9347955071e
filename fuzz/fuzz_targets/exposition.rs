//! Any scrape body, in either format, parses to entries or to an error, never a panic;
//! and a parser that defers labels (then asked for each sample's) gives the same entries,
//! or the same error, as one that does not.
#![no_main]

use exposition::{Entry, Format, ParseError, Parser};
use libfuzzer_sys::fuzz_target;

/// Entries as printed (a NaN value is not equal to itself), up to the first error.
fn parse(data: &[u8], format: Format, defer: bool) -> Vec<String> {
    let mut parser = Parser::new(data, format);
    if defer {
        parser.defer_labels();
    }
    let mut out = Vec::new();
    while let Some(entry) = parser.next() {
        let entry: Result<Entry<'_>, ParseError> = entry.and_then(|mut entry| {
            if let Entry::Sample(sample) = &mut entry {
                parser.parse_labels(sample)?;
            }
            Ok(entry)
        });
        match entry {
            Ok(entry) => out.push(format!("{entry:?}")),
            Err(e) => {
                out.push(format!("{e:?}"));
                break;
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        assert_eq!(parse(data, format, false), parse(data, format, true));
    }
});
