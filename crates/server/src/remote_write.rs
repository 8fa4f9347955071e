//! `POST /api/v1/write`, the remote-write receiver (`--web.enable-remote-write-receiver`,
//! `--web.remote-write-receiver.accepted-protobuf-messages`), as Prometheus answers it:
//! 415 for an encoding or message type it does not take, 400 for a body that does not
//! decode or for refused parts of a request (the rest is written: a partial write), 500
//! when storage fails (nothing written, the sender retries), 204 otherwise; 2.0 answers
//! carry the `X-Prometheus-Remote-Write-*-Written` counts.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use remote::{MessageType, Refused};

use crate::web::AppState;

/// Largest compressed body read (axum refuses a longer one with 413 before reading on).
pub const MAX_BODY_BYTES: usize = 32 << 20;

pub async fn write(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.flags.web_enable_remote_write_receiver {
        return plain(
            StatusCode::NOT_FOUND,
            "remote write receiver needs to be enabled with --web.enable-remote-write-receiver",
        );
    }
    let accepted: Vec<MessageType> = state
        .flags
        .web_remote_write_messages
        .iter()
        .filter_map(|m| MessageType::from_name(m))
        .collect();
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let message = match remote::negotiate(
        header_text(header::CONTENT_ENCODING).as_deref(),
        header_text(header::CONTENT_TYPE).as_deref(),
        &accepted,
    ) {
        Ok(m) => m,
        Err(e) => return refused(&e),
    };
    let db = Arc::clone(&state.db);
    let invalid_labels = state.metrics.remote_write_invalid_labels.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        receive(&db, message, &body, |n| {
            invalid_labels.inc_by(n as u64);
        })
    })
    .await;
    match outcome {
        Ok(Ok(answer)) => answer.into_response(message),
        Ok(Err(e)) => refused(&e),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// What a request came to.
struct Answer {
    samples_written: usize,
    histograms_written: usize,
    exemplars_written: usize,
    /// Refused parts (400), empty when all was written.
    errors: Vec<String>,
    /// Storage failed: nothing written (500).
    storage_error: Option<String>,
}

impl Answer {
    fn into_response(self, message: MessageType) -> Response {
        let mut response = if let Some(e) = &self.storage_error {
            plain(StatusCode::INTERNAL_SERVER_ERROR, e)
        } else if !self.errors.is_empty() {
            plain(StatusCode::BAD_REQUEST, &self.errors.join("\n"))
        } else {
            StatusCode::NO_CONTENT.into_response()
        };
        if message == MessageType::V2 {
            let (written, histograms, exemplars) = if self.storage_error.is_some() {
                (0, 0, 0)
            } else {
                (
                    self.samples_written,
                    self.histograms_written,
                    self.exemplars_written,
                )
            };
            let h = response.headers_mut();
            for (name, n) in [
                ("x-prometheus-remote-write-samples-written", written),
                ("x-prometheus-remote-write-histograms-written", histograms),
                ("x-prometheus-remote-write-exemplars-written", exemplars),
            ] {
                h.insert(HeaderName::from_static(name), HeaderValue::from(n));
            }
        }
        response
    }
}

/// Decodes and appends a request; `count_invalid_labels` gets the number of samples refused
/// for their series' labels.
fn receive(
    db: &tsdb::Db,
    message: MessageType,
    body: &[u8],
    count_invalid_labels: impl Fn(usize),
) -> Result<Answer, Refused> {
    let raw = remote::decompress(body, remote::MAX_DECOMPRESSED_BYTES)?;
    let now = crate::now_ms();
    let batch = match message {
        MessageType::V1 => remote::decode_v1(&raw, now)?,
        MessageType::V2 => remote::decode_v2(&raw, now)?,
    };
    if batch.invalid_label_samples > 0 {
        count_invalid_labels(batch.invalid_label_samples);
        tracing::warn!(
            samples = batch.invalid_label_samples,
            "Invalid metric names or labels in a remote write request"
        );
    }
    let mut errors = batch.errors;
    let appended = db.append(&batch.samples).and_then(|floats| {
        db.append_histograms(&batch.histograms)
            .map(|histograms| (floats, histograms))
    });
    // Exemplars after their series' samples: they belong to series the head has.
    let exemplars_sent = batch.exemplars.len();
    let appended = appended.and_then(|(floats, histograms)| {
        db.append_exemplars_by_labels(batch.exemplars)
            .map(|exemplars| (floats, histograms, exemplars))
    });
    let (appended, histograms, exemplars) = match appended {
        Ok(r) => r,
        Err(e) => {
            return Ok(Answer {
                samples_written: 0,
                histograms_written: 0,
                exemplars_written: 0,
                errors,
                storage_error: Some(e.to_string()),
            })
        }
    };
    // As upstream: out-of-order exemplars fail a 2.0 request (a 400, the rest written) and
    // are only logged for 1.0; other refusals (label sets too long) are only logged.
    if exemplars.out_of_order > 0 {
        tracing::warn!(
            num_dropped = exemplars.out_of_order,
            "Error on ingesting out-of-order exemplars"
        );
        if message == MessageType::V2 {
            errors.push(format!(
                "out of order exemplar: {} of {exemplars_sent} exemplars refused",
                exemplars.out_of_order
            ));
        }
    }
    if exemplars.too_long > 0 {
        tracing::debug!(
            dropped = exemplars.too_long,
            "exemplars of a remote write request refused: label set longer than 128 UTF-8 characters"
        );
    }
    let histograms_refused = histograms.out_of_order
        + histograms.out_of_bounds
        + histograms.duplicates
        + histograms.invalid_histograms;
    if histograms_refused > 0 {
        tracing::warn!(
            out_of_order = histograms.out_of_order,
            out_of_bounds = histograms.out_of_bounds,
            duplicates = histograms.duplicates,
            invalid = histograms.invalid_histograms,
            "Native histograms of a remote write request refused"
        );
        let mut why = Vec::new();
        for (n, what) in [
            (histograms.out_of_order, "out of order sample"),
            (histograms.out_of_bounds, "out of bounds"),
            (histograms.duplicates, "duplicate sample for timestamp"),
            (histograms.invalid_histograms, "histogram validation failed"),
        ] {
            if n > 0 {
                why.push(format!("{what}: {n} histograms"));
            }
        }
        errors.push(format!(
            "{histograms_refused} of {} native histograms refused ({})",
            batch.histograms.len(),
            why.join(", ")
        ));
    }
    let mut refused = Vec::new();
    for (n, what) in [
        (appended.out_of_order, "out of order sample"),
        (appended.out_of_bounds, "out of bounds"),
        (appended.duplicates, "duplicate sample for timestamp"),
    ] {
        if n > 0 {
            refused.push(format!("{what}: {n} samples"));
        }
    }
    let rejected = appended.out_of_order + appended.out_of_bounds + appended.duplicates;
    if rejected > 0 {
        tracing::warn!(
            out_of_order = appended.out_of_order,
            out_of_bounds = appended.out_of_bounds,
            duplicates = appended.duplicates,
            "Samples of a remote write request refused"
        );
        errors.push(format!(
            "{rejected} of {} samples refused ({})",
            batch.samples.len(),
            refused.join(", ")
        ));
    }
    Ok(Answer {
        samples_written: batch.samples.len() - rejected,
        histograms_written: batch.histograms.len() - histograms_refused,
        // Repeats of stored exemplars count as written, as upstream counts them.
        exemplars_written: exemplars.appended + exemplars.ignored,
        errors,
        storage_error: None,
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
