//! `POST /api/v1/otlp/v1/metrics`, the OTLP metrics receiver (`--web.enable-otlp-receiver`),
//! as Prometheus 3 answers it: 404 when off; 415 for a content type other than protobuf or
//! JSON, or an encoding other than gzip; 400 for a body that does not decompress or decode;
//! 413 past the size limit; 500 with upstream's texts when the translation fails (a delta
//! metric without `otlp-native-delta-ingestion`, a name that cannot be made): nothing of
//! the request is written then, as upstream rolls back; 400 when storage refuses samples
//! (out of order, out of bounds, duplicates), the rest kept; else 200 with an
//! `ExportMetricsServiceResponse` in the request's encoding, whose `partial_success` counts
//! the exponential histogram points that promethium cannot store yet.
//!
//! Translation follows prometheus.yml's `otlp` section as in force when the request
//! arrives; start timestamps are stored with `--enable-feature=st-storage`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use remote::otlp::{self, BodyFormat, Encoding};
use remote::Refused;

use crate::web::AppState;

/// Largest body read, compressed or not (axum refuses a longer one with 413): the
/// decompressed limit, which a compressed body never needs to exceed.
pub const MAX_BODY_BYTES: usize = otlp::MAX_DECOMPRESSED_BYTES;

pub async fn write(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.flags.web_enable_otlp_receiver {
        return plain(
            StatusCode::NOT_FOUND,
            "otlp write receiver needs to be enabled with --web.enable-otlp-receiver",
        );
    }
    let header_text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let format = match otlp::negotiate(
        header_text(header::CONTENT_TYPE),
        header_text(header::CONTENT_ENCODING),
    ) {
        Ok(f) => f,
        Err(e) => return refused(&e),
    };
    let settings = otlp::Settings::from_config(
        &state.config.current().otlp,
        state.flags.feature_enabled("otlp-native-delta-ingestion"),
        i64::try_from(state.flags.query_lookback_delta.as_millis()).unwrap_or(i64::MAX),
    );
    let store_start_timestamps = state.flags.feature_enabled("st-storage");
    let db = Arc::clone(&state.db);
    let metrics = Arc::clone(&state.metrics);
    let outcome = tokio::task::spawn_blocking(move || {
        receive(
            &db,
            format,
            &body,
            &settings,
            store_start_timestamps,
            |category, n| {
                metrics
                    .otlp_translation_warnings
                    .get_or_create(&vec![("category", category)])
                    .inc_by(n);
            },
        )
    })
    .await;
    match outcome {
        Ok(Ok(answer)) => answer.into_response(format.encoding),
        Ok(Err(e)) => refused(&e),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// What a decoded request came to.
enum Answer {
    /// Written; `rejected` points (native histograms) were not, for `message`.
    Accepted { rejected: usize, message: String },
    /// Not (wholly) written: a status and upstream's text.
    Failed { status: StatusCode, text: String },
}

impl Answer {
    fn into_response(self, encoding: Encoding) -> Response {
        match self {
            Answer::Accepted { rejected, message } => {
                let body = otlp::encode_response(encoding, rejected, &message);
                let mut response = (StatusCode::OK, body).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(encoding.content_type()),
                );
                response
            }
            Answer::Failed { status, text } => plain(status, &text),
        }
    }
}

/// Decodes, translates and appends a request; `count_warnings` gets the translation
/// warnings per category.
fn receive(
    db: &tsdb::Db,
    format: BodyFormat,
    body: &[u8],
    settings: &otlp::Settings,
    store_start_timestamps: bool,
    count_warnings: impl Fn(&'static str, u64),
) -> Result<Answer, Refused> {
    let request = otlp::decode(format, body, otlp::MAX_DECOMPRESSED_BYTES)?;
    let translation =
        otlp::translate(&request, settings).map_err(|e| Refused::TooLarge(e.to_string()))?;
    drop(request);
    if !translation.warnings.is_empty() {
        let mut by_category: Vec<(&'static str, u64)> = Vec::new();
        for w in &translation.warnings {
            match by_category
                .iter_mut()
                .find(|(c, _)| *c == w.category.as_str())
            {
                Some((_, n)) => *n += 1,
                None => by_category.push((w.category.as_str(), 1)),
            }
        }
        for (category, n) in by_category {
            count_warnings(category, n);
        }
        let messages: Vec<&str> = translation
            .warnings
            .iter()
            .map(|w| w.message.as_str())
            .collect();
        tracing::warn!(
            warnings = ?messages,
            "Warnings translating OTLP metrics to Prometheus write request"
        );
    }
    if !translation.errors.is_empty() {
        // Upstream rolls its appender back: nothing of the request is stored.
        let text = translation.errors.join("\n");
        tracing::error!(err = %text, "Error appending remote write");
        return Ok(Answer::Failed {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            text,
        });
    }
    let starts: &[i64] = if store_start_timestamps {
        &translation.start_timestamps
    } else {
        &[]
    };
    let mut appended = match db.append_batch_with_starts(&[], &[], &translation.samples, starts) {
        Ok(r) => r.result,
        Err(e) => {
            tracing::error!(err = %e, "Error appending remote write");
            return Ok(Answer::Failed {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                text: e.to_string(),
            });
        }
    };
    // Exponential histogram points, as native histograms.
    if !translation.histograms.is_empty() {
        let hist_starts: &[i64] = if store_start_timestamps {
            &translation.histogram_start_timestamps
        } else {
            &[]
        };
        match db.append_histogram_batch_with_starts(&[], &translation.histograms, &[], hist_starts)
        {
            Ok(r) => {
                let r = r.result;
                appended.out_of_order += r.out_of_order;
                appended.out_of_bounds += r.out_of_bounds;
                appended.duplicates += r.duplicates;
                appended.invalid_histograms += r.invalid_histograms;
            }
            Err(e) => {
                tracing::error!(err = %e, "Error appending remote write");
                return Ok(Answer::Failed {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    text: e.to_string(),
                });
            }
        }
    }
    // Exemplars after their series' samples (stored with --enable-feature=exemplar-storage;
    // refusals are logged, not errors, as upstream's OTLP path does).
    match db.append_exemplars_by_labels(translation.exemplars) {
        Ok(r) if r.out_of_order + r.too_long > 0 => tracing::debug!(
            out_of_order = r.out_of_order,
            too_long = r.too_long,
            "exemplars of an OTLP write request refused"
        ),
        Ok(_) => {}
        Err(e) => {
            tracing::error!(err = %e, "Error appending remote write");
            return Ok(Answer::Failed {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                text: e.to_string(),
            });
        }
    }
    let rejected = appended.out_of_order
        + appended.out_of_bounds
        + appended.duplicates
        + appended.invalid_histograms;
    if rejected > 0 {
        // Upstream answers these 400 so that senders do not retry; its appender then takes
        // back the whole request, ours keeps the samples it did take.
        let reasons: Vec<String> = [
            (appended.out_of_order, "out of order sample"),
            (appended.out_of_bounds, "out of bounds"),
            (appended.duplicates, "duplicate sample for timestamp"),
            (appended.invalid_histograms, "invalid native histogram"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{what}: {n} samples"))
        .collect();
        let text = format!(
            "{rejected} of {} samples refused ({})",
            translation.samples.len() + translation.histograms.len(),
            reasons.join(", ")
        );
        tracing::warn!(err = %text, "Samples of an OTLP write request refused");
        return Ok(Answer::Failed {
            status: StatusCode::BAD_REQUEST,
            text,
        });
    }
    Ok(Answer::Accepted {
        rejected: 0,
        message: String::new(),
    })
}

fn refused(e: &Refused) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    plain(status, &e.to_string())
}

/// Go's `http.Error`: the text and a newline, as plain text.
fn plain(status: StatusCode, text: &str) -> Response {
    let mut response = (status, format!("{text}\n")).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
