//! Any text parses to a query or to an error, never a panic or a stack overflow; a query
//! prints (canonically and prettified) as text that parses back to the same query.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn round_trip(text: &str) {
    let Ok(expr) = promql::parse(text) else {
        return;
    };
    let printed = promql::format_expr(&expr);
    let again = promql::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} prints as {printed:?}, which does not parse: {e}"));
    let reprinted = promql::format_expr(&again);
    assert_eq!(
        reprinted, printed,
        "{text:?} prints differently once re-parsed"
    );
    let pretty = promql::prettify(&expr);
    let from_pretty = promql::parse(&pretty)
        .unwrap_or_else(|e| panic!("{text:?} prettifies as {pretty:?}, which does not parse: {e}"));
    assert_eq!(
        promql::format_expr(&from_pretty),
        printed,
        "{text:?} prettified as {pretty:?} means another query"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The stack the server's query threads have: the deepest query the parser accepts
    // must fit in it.
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .stack_size(promql::STACK_SIZE)
            .spawn_scoped(s, || round_trip(text));
        match worker.map(|w| w.join()) {
            Ok(Ok(())) => {}
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(e) => panic!("cannot start a thread: {e}"),
        }
    });
});
