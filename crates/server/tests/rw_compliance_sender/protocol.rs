//! Go's `protocol_test.go`: the HTTP side of a 2.0 request.

use crate::helpers::{must, should, V2_CONTENT_TYPE};
use crate::run_test_case;

const SCRAPE_DATA: &str = "test_metric 42\n";

/// Go: TestProtocolCompliance/content_type_protobuf (MUST)
#[test]
fn content_type_protobuf() {
    run_test_case(SCRAPE_DATA, "test_metric", |req| {
        must(
            req.header("Content-Type")
                .contains("application/x-protobuf"),
            "Content-Type header must contain application/x-protobuf",
        );
    });
}

/// Go: TestProtocolCompliance/content_type_with_proto_param (SHOULD)
#[test]
fn content_type_with_proto_param() {
    run_test_case(SCRAPE_DATA, "test_metric", |req| {
        let content_type = req.header("Content-Type");
        should(
            content_type.contains("proto=io.prometheus.write.v2.Request"),
            "Content-Type should include proto parameter for RW 2.0",
        );
        // Beyond upstream: the 2.0 spec's value, exactly.
        should(
            content_type == V2_CONTENT_TYPE,
            format!("Content-Type {content_type:?}, the spec's {V2_CONTENT_TYPE:?}"),
        );
    });
}

/// Go: TestProtocolCompliance/content_encoding_snappy (MUST)
#[test]
fn content_encoding_snappy() {
    run_test_case(SCRAPE_DATA, "test_metric", |req| {
        must(
            req.header("Content-Encoding") == "snappy",
            "Content-Encoding header must be 'snappy'",
        );
    });
}

/// Go: TestProtocolCompliance/version_header_present (MUST)
#[test]
fn version_header_present() {
    run_test_case(SCRAPE_DATA, "test_metric", |req| {
        must(
            !req.version().is_empty(),
            "X-Prometheus-Remote-Write-Version header must be present",
        );
    });
}

/// Go: TestProtocolCompliance/version_header_value (SHOULD)
#[test]
fn version_header_value() {
    run_test_case(SCRAPE_DATA, "test_metric", |req| {
        should(
            req.version().starts_with("2.0"),
            format!("Version should be 2.0.x for RW 2.0, got: {}", req.version()),
        );
    });
}

/// Go: TestProtocolCompliance/user_agent_present (MUST)
#[test]
fn user_agent_present() {
    run_test_case(SCRAPE_DATA, "test_metric", |req| {
        must(
            !req.header("User-Agent").is_empty(),
            "User-Agent header must be present per RFC 9110",
        );
    });
}

/// Go: TestProtocolCompliance/snappy_block_format (MUST)
#[test]
fn snappy_block_format() {
    run_test_case(SCRAPE_DATA, "test_metric", |req| {
        must(!req.body.is_empty(), "Request body must not be empty");
        // The stream identifier chunk that starts snappy's framed format.
        let framed_magic = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x50, 0x59];
        must(
            !req.body.starts_with(&framed_magic),
            "Sender must use snappy block format, not framed format",
        );
    });
}

/// Go: TestProtocolCompliance/protobuf_parseable (MUST)
#[test]
fn protobuf_parseable() {
    run_test_case(SCRAPE_DATA, "test_metric", |req| {
        must(
            req.message.is_ok(),
            format!(
                "Protobuf message must be parseable: {:?}",
                req.message.as_ref().err()
            ),
        );
        must(
            !req.v2().symbols.is_empty(),
            "Parsed request must contain symbols",
        );
    });
}

/// Go: TestHTTPMethod (MUST)
#[test]
fn test_http_method() {
    run_test_case(SCRAPE_DATA, "test_metric", |req| {
        // Beyond upstream (whose check is that a request arrived): it is a POST.
        must(
            req.method == "POST",
            format!("Sender MUST use POST method, got {}", req.method),
        );
    });
}
