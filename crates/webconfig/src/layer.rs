//! The tower layer that puts web.yml in front of any HTTP service: the rate limit (429),
//! the configured headers, and basic auth (401), with the configuration in force (a
//! changed file is adopted once it has settled and is valid; see `reload.rs`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{Either, Full};

use crate::live::{AuthDecision, WebConfigHandle};

/// The client's address, put into request extensions by [`crate::serve`]. Other servers
/// can insert it too; without it all clients share one bcrypt queue.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The user a request authenticated as, put into request extensions for the handler.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser(pub String);

/// A [`tower::Layer`] applying a web configuration to every request.
#[derive(Clone)]
pub struct WebConfigLayer {
    handle: WebConfigHandle,
}

impl WebConfigLayer {
    /// A layer for the given live configuration.
    pub fn new(handle: WebConfigHandle) -> Self {
        Self { handle }
    }
}

impl<S> tower::Layer<S> for WebConfigLayer {
    type Service = WebConfigService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WebConfigService {
            inner,
            handle: self.handle.clone(),
        }
    }
}

/// The service made by [`WebConfigLayer`].
#[derive(Clone)]
pub struct WebConfigService<S> {
    inner: S,
    handle: WebConfigHandle,
}

/// The response body: the inner service's, or a short plain-text one of ours.
pub type LayerBody<B> = Either<B, Full<Bytes>>;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A plain-text answer the way Go's `http.Error` writes it.
fn plain<B>(status: StatusCode) -> Response<LayerBody<B>> {
    let text = format!("{}\n", status.canonical_reason().unwrap_or(""));
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(text))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for WebConfigService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = Response<LayerBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone takes the place of the service that was driven to readiness.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let handle = self.handle.clone();
        Box::pin(async move {
            let Ok(snapshot) = handle.snapshot() else {
                return Ok(plain(StatusCode::INTERNAL_SERVER_ERROR));
            };
            if !handle.rate_limit_allows(&snapshot) {
                return Ok(plain(StatusCode::TOO_MANY_REQUESTS));
            }
            if !handle.is_unauthenticated_path(request.uri().path()) {
                let peer = request.extensions().get::<PeerAddr>().map(|p| p.0.ip());
                let decision = handle
                    .authenticate(
                        &snapshot,
                        request.headers().get(header::AUTHORIZATION),
                        peer,
                    )
                    .await;
                match decision {
                    AuthDecision::Allowed(user) => {
                        if let Some(user) = user {
                            request.extensions_mut().insert(AuthenticatedUser(user));
                        }
                    }
                    AuthDecision::Denied => {
                        let mut response = plain(StatusCode::UNAUTHORIZED);
                        response
                            .headers_mut()
                            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
                        for (name, value) in &snapshot.headers {
                            response.headers_mut().insert(name.clone(), value.clone());
                        }
                        return Ok(response);
                    }
                    AuthDecision::Busy => {
                        tokio::time::sleep(handle.overload_delay()).await;
                        return Ok(plain(StatusCode::TOO_MANY_REQUESTS));
                    }
                }
            }
            let response = inner.call(request).await?;
            let mut response = response.map(Either::Left);
            // As in Go, the configured headers are set before the handler runs, so a
            // handler's own value for the same header wins.
            for (name, value) in &snapshot.headers {
                if !response.headers().contains_key(name) {
                    response.headers_mut().insert(name.clone(), value.clone());
                }
            }
            Ok(response)
        })
    }
}
