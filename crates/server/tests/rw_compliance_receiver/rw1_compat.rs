//! Go's `rw1_compat_test.go`: 1.0 requests to a 2.0 receiver (both MAY).

use crate::helpers::*;
use crate::run_request;

// TestRW1BasicCompatibility (MAY): a 1.0 request of samples is taken (1.0 answers carry no
// `-Written` headers, hence 0 samples expected).
#[test]
fn test_rw1_basic_compatibility() {
    let request = generate_rw1_request(&[
        sample(test_job_instance_labels(), 1.0),
        sample(basic_metric("http_requests_total"), 100.0),
    ]);
    run_request(&request, &written().samples(0).success(true));
}

// TestRW1ErrorHandling (MAY): a 1.0 request whose snappy header is broken is refused.
#[test]
fn test_rw1_error_handling() {
    let mut request = generate_rw1_request(&[sample(basic_metric("error_test"), 1.0)]);
    request.body[0] = 0xff;
    run_request(&request, &written().success(false));
}
