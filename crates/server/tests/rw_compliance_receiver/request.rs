//! Go's `request_test.go`: requests refused for their headers or body (all MUST).

use crate::helpers::*;
use crate::run_request;

/// Go's request of these tests: one sample of `up`, its body then corrupted.
fn corrupted_up_request() -> HttpRequest {
    let mut request = generate_request(&RequestOpts {
        samples: vec![sample(basic_metric("up"), 1.0)],
        ..Default::default()
    });
    request.corrupt_body();
    request
}

/// TestBadContentTypes (MUST): unsupported content types are refused with 415.
mod test_bad_content_types {
    use super::*;

    fn refused_with_415(content_type: &str) {
        let mut request = corrupted_up_request();
        request.set_header("Content-Type", content_type);
        run_request(&request, &written().exact_status(415).success(false));
    }

    // TestBadContentTypes/application_json
    #[test]
    fn application_json() {
        refused_with_415("application/json");
    }

    // TestBadContentTypes/image_png
    #[test]
    fn image_png() {
        refused_with_415("image/png");
    }
}

/// TestBadContentEncodings (MUST): unsupported content encodings are refused with 415.
mod test_bad_content_encodings {
    use super::*;

    fn refused_with_415(content_encoding: &str) {
        let mut request = corrupted_up_request();
        request.set_header("Content-Encoding", content_encoding);
        run_request(&request, &written().exact_status(415).success(false));
    }

    // TestBadContentEncodings/gzip
    #[test]
    fn gzip() {
        refused_with_415("gzip");
    }

    // TestBadContentEncodings/deflate
    #[test]
    fn deflate() {
        refused_with_415("deflate");
    }
}

// TestCorruptRequestBody (MUST): a body that does not decode is refused with a 4xx.
#[test]
fn test_corrupt_request_body() {
    run_request(&corrupted_up_request(), &written().success(false));
}
