//! `POST /api/v1/read`, the remote-read endpoint, as Prometheus answers it: a
//! snappy-compressed `ReadRequest` of queries; the answer in the first response type the
//! client accepts: `SAMPLES` (one snappy-compressed `ReadResponse`, at most
//! `--storage.remote.read-sample-limit` samples, else 400) or `STREAMED_XOR_CHUNKS`
//! (frames of `ChunkedReadResponse`, one series per frame or more frames per series, as
//! `--storage.remote.read-max-bytes-in-frame` allows, written as they are made). External
//! labels are added to the series returned, and an equality matcher on one asks local
//! storage for series without it. At most `--storage.remote.read-concurrent-limit`
//! requests run at once; the others wait.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use model::Labels;
use remote::proto;
use remote::read::codec;

use crate::web::AppState;

pub async fn read(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Ok(_permit) = state.remote_read_slots.clone().acquire_owned().await else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let request = match codec::decode_read_request(&body) {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &e),
    };
    let external = external_labels(&state);
    let response_type = match codec::negotiate_response_type(&request.accepted_response_types) {
        Ok(t) => t,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &e),
    };
    // Matchers are checked before anything is answered: a bad one is the client's error.
    let mut queries = Vec::with_capacity(request.queries.len());
    for q in &request.queries {
        match codec::local_matchers(q, &external) {
            Ok(m) => queries.push((m, q.start_timestamp_ms, q.end_timestamp_ms)),
            Err(e) => return plain(StatusCode::BAD_REQUEST, &e),
        }
    }
    let db = Arc::clone(&state.db);
    if response_type == proto::RESPONSE_STREAMED_XOR_CHUNKS {
        let max_frame = usize::try_from(state.flags.storage_remote_read_max_bytes_in_frame)
            .unwrap_or(1 << 20)
            .max(1);
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        tokio::task::spawn_blocking(move || {
            for (index, (matchers, start, end)) in queries.into_iter().enumerate() {
                let mut series = db.select(&matchers, start, end);
                series.sort_by(|a, b| a.labels.cmp(&b.labels));
                for s in series {
                    if s.samples.is_empty() {
                        continue;
                    }
                    let mut frames = Vec::new();
                    codec::series_frames(
                        &mut frames,
                        index as i64,
                        codec::labels_with_external(&s.labels, &external),
                        &s.samples,
                        max_frame,
                    );
                    // The client went away: stop.
                    if tx.blocking_send(Bytes::from(frames)).is_err() {
                        return;
                    }
                }
            }
        });
        return Response::builder()
            .header(
                header::CONTENT_TYPE,
                "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse",
            )
            .body(Body::new(FrameBody(rx)))
            .unwrap_or_else(|e| plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()));
    }
    let limit = usize::try_from(state.flags.storage_remote_read_sample_limit).unwrap_or(0);
    let answer = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let mut response = proto::ReadResponse::default();
        let mut total = 0usize;
        for (matchers, start, end) in queries {
            let mut series = db.select(&matchers, start, end);
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
            let mut result = proto::QueryResult::default();
            for s in series {
                total += s.samples.len();
                if limit > 0 && total > limit {
                    return Err(format!("exceeded sample limit ({limit})"));
                }
                result.timeseries.push(proto::TimeSeries {
                    labels: codec::labels_with_external(&s.labels, &external),
                    samples: s
                        .samples
                        .iter()
                        .map(|(t, v)| proto::Sample {
                            value: *v,
                            timestamp: *t,
                        })
                        .collect(),
                    ..Default::default()
                });
            }
            response.results.push(result);
        }
        Ok(codec::encode_samples_response(&response))
    })
    .await;
    match answer {
        Ok(Ok(body)) => (
            [
                (header::CONTENT_TYPE, "application/x-protobuf"),
                (header::CONTENT_ENCODING, "snappy"),
            ],
            body,
        )
            .into_response(),
        Ok(Err(e)) => plain(StatusCode::BAD_REQUEST, &e),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn external_labels(state: &AppState) -> Labels {
    let config = state.config.current();
    Labels::from_pairs(
        config
            .global
            .external_labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

fn plain(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// A response body of the frames a blocking task sends, as they come.
struct FrameBody(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for FrameBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(http_body::Frame::data(b))))
    }
}
