//! Any bytes given to the rule file reader give a verdict (rule groups or errors that
//! print), never a panic, a hang or a stack overflow. A file refused for unknown fields
//! is read again with them allowed, which reaches the rest of the file (and a group's
//! `node` key, which only then sets its position).
#![no_main]

use libfuzzer_sys::fuzz_target;

fn check(result: Result<rules::RuleGroups, Vec<rules::RuleFileError>>) -> bool {
    match result {
        Ok(groups) => {
            let _ = groups.duplicate_rules();
            false
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a refusal says why");
            let mut unknown_fields = false;
            for e in &errors {
                unknown_fields |= e.to_string().contains(" not found in type ");
            }
            unknown_fields
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if check(rules::parse_bytes(data)) {
        let lenient = rules::ParseOptions {
            ignore_unknown_fields: true,
            ..rules::ParseOptions::default()
        };
        check(rules::parse_bytes_with(data, &lenient));
    }
});
