//! The browser UI: one page for every UI path (the app routes on the client) and its
//! content-hashed assets, all embedded in the binary at build time (see `build.rs`).

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));
}

/// The paths the app shows a page for (besides `/`, which redirects to `/query`).
pub const PAGES: &[&str] = &[
    "/query",
    "/graph",
    "/alerts",
    "/rules",
    "/targets",
    "/service-discovery",
    "/status",
    "/flags",
    "/config",
    "/tsdb-status",
];

fn file(name: &str) -> Option<&'static [u8]> {
    embedded::FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The app's page, with the route prefix written in for its links and API calls.
pub async fn page(State(state): State<std::sync::Arc<crate::web::AppState>>) -> Response {
    let prefix = escape_html(&state.flags.route_prefix());
    let html = match file("index.html").map(String::from_utf8_lossy) {
        Some(template) => template.replace("%PREFIX%", &prefix),
        None => not_built_page(&prefix),
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // The page names the current assets: always revalidate it.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

fn not_built_page(prefix: &str) -> String {
    let why = if embedded::BUILT {
        "the build produced no index.html"
    } else {
        embedded::WHY
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Promethium</title></head>\n<body>\n<h1>Promethium</h1>\n<p>This server was built without its web UI ({}). Install Node.js and npm and build again (<code>cargo build</code> bundles <code>ui/</code>; if it does not, <code>touch ui/package.json</code> first). The HTTP API works without it.</p>\n<ul>\n<li><a href=\"{prefix}/metrics\">Server metrics</a></li>\n<li><a href=\"{prefix}/api/v1/status/buildinfo\">Build information</a></li>\n</ul>\n</body></html>\n",
        escape_html(why)
    )
}

/// A file under `assets/`: its names carry a content hash, so browsers may keep it for good.
pub async fn asset(Path(name): Path<String>) -> Response {
    let path = format!("assets/{name}");
    let Some(bytes) = file(&path) else {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    };
    let content_type = match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        bytes,
    )
        .into_response()
}
