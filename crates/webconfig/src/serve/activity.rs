//! What one connection is doing, for the deadlines hyper does not enforce itself:
//!
//! - a request with a body must have been answered within the read timeout of its head
//!   arriving. A client trickling the body a byte at a time would otherwise hold the
//!   connection (and its handler) for as long as it likes; a deadline reset on every
//!   frame does not stop that, so this one is fixed.
//! - a connection with nothing in flight is closed: without a first request after the
//!   header timeout, between requests after the read timeout. hyper closes an idle
//!   HTTP/1 connection itself, sooner, at its header timeout (the header timer starts
//!   again as soon as a connection goes idle), but does nothing of the kind for HTTP/2,
//!   nor while it is still finding out which of the two a TLS client speaks.
//!
//! The request body itself cannot be wrapped: the services served take hyper's
//! `Incoming`, which only hyper can create. So a missed body deadline ends the whole
//! connection (on HTTP/2, with the other requests on it), and a handler still working on
//! a request with a body at its deadline is dropped with it, as Go's `ReadTimeout` cancels
//! the request's context.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The time limits a connection's [`Activity`] is checked against.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// How long a new connection may go without its first request; `None`: as long as it
    /// likes.
    pub(super) first_request: Option<Duration>,
    /// How long a connection may sit with nothing in flight once it has served a request;
    /// `None`: as long as it likes.
    pub(super) idle: Option<Duration>,
}

/// Why a connection's time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    /// Nothing in flight for longer than the limits allow: close it politely.
    Idle,
    /// A request with a body was not answered within the read timeout: drop it.
    BodyDeadline,
}

/// The requests in flight on one connection. Shared between the connection's task, which
/// waits on [`Activity::expiry`], and its requests, which hold a [`RequestGuard`].
pub(super) struct Activity {
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    /// Requests whose handler has not answered or whose answer is still being sent.
    in_flight: usize,
    /// When `in_flight` last became zero, or when the connection opened.
    quiet_since: Instant,
    served_any: bool,
    /// The deadlines of requests with a body whose handler has not answered yet, by id.
    body_deadlines: Vec<(u64, Instant)>,
    next_id: u64,
}

impl Activity {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                in_flight: 0,
                quiet_since: Instant::now(),
                served_any: false,
                body_deadlines: Vec::new(),
                next_id: 0,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update is a few plain assignments, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a request whose head has arrived; `body_deadline` is when its handler must
    /// have answered (for requests with a body).
    pub(super) fn request_started(
        self: &Arc<Self>,
        body_deadline: Option<Instant>,
    ) -> RequestGuard {
        let deadline_id = {
            let mut state = self.state();
            state.in_flight += 1;
            state.served_any = true;
            body_deadline.map(|deadline| {
                let id = state.next_id;
                state.next_id += 1;
                state.body_deadlines.push((id, deadline));
                id
            })
        };
        self.changed.notify_waiters();
        RequestGuard {
            activity: Arc::clone(self),
            deadline_id,
        }
    }

    /// The next instant something may expire, and what, as the state is now.
    fn next_expiry(&self, limits: Limits) -> Option<(Instant, Expiry)> {
        let state = self.state();
        let body = state
            .body_deadlines
            .iter()
            .map(|(_, deadline)| *deadline)
            .min()
            .map(|deadline| (deadline, Expiry::BodyDeadline));
        let idle = if state.in_flight > 0 {
            None
        } else if state.served_any {
            limits.idle.map(|limit| state.quiet_since + limit)
        } else {
            limits.first_request.map(|limit| state.quiet_since + limit)
        }
        .map(|deadline| (deadline, Expiry::Idle));
        // A body deadline wins a tie: it is the harder measure.
        match (body, idle) {
            (Some(b), Some(i)) => Some(if i.0 < b.0 { i } else { b }),
            (b, i) => b.or(i),
        }
    }

    /// Resolves when the connection's time is up under `limits` (never, if nothing can
    /// expire and nothing changes).
    pub(super) async fn expiry(&self, limits: Limits) -> Expiry {
        loop {
            // Registered before reading the state, so a change in between is not missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.next_expiry(limits) {
                Some((deadline, what)) if deadline <= Instant::now() => return what,
                Some((deadline, _)) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => {}
                        _ = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// A request in flight: its body deadline is lifted by [`RequestGuard::answered`], and it
/// stops counting as in flight when dropped (with the response body, once sent).
pub(super) struct RequestGuard {
    activity: Arc<Activity>,
    deadline_id: Option<u64>,
}

impl RequestGuard {
    /// The handler has answered: its body, if any, no longer needs to arrive in time.
    pub(super) fn answered(&mut self) {
        let Some(id) = self.deadline_id.take() else {
            return;
        };
        self.activity
            .state()
            .body_deadlines
            .retain(|(other, _)| *other != id);
        self.activity.changed.notify_waiters();
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.answered();
        {
            let mut state = self.activity.state();
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.in_flight == 0 {
                state.quiet_since = Instant::now();
            }
        }
        self.activity.changed.notify_waiters();
    }
}

/// A response body that keeps its request counted as in flight until it is dropped (hyper
/// drops it once sent, or when the connection ends).
pub(super) struct TrackedBody<B> {
    inner: Pin<Box<B>>,
    _request: RequestGuard,
}

impl<B> TrackedBody<B> {
    pub(super) fn new(inner: B, request: RequestGuard) -> Self {
        Self {
            inner: Box::pin(inner),
            _request: request,
        }
    }
}

impl<B> Body for TrackedBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        self.get_mut().inner.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real time, short limits: the bounds are loose so that a busy machine does not fail them.
    const LIMITS: Limits = Limits {
        first_request: Some(Duration::from_millis(100)),
        idle: Some(Duration::from_millis(300)),
    };

    fn within(elapsed: Duration, at_least: Duration) {
        assert!(elapsed >= at_least, "{elapsed:?} < {at_least:?}");
        assert!(elapsed < at_least + Duration::from_secs(1), "{elapsed:?}");
    }

    #[tokio::test]
    async fn a_new_connection_must_send_a_request_within_the_first_limit() {
        let activity = Activity::new();
        let started = Instant::now();
        assert_eq!(activity.expiry(LIMITS).await, Expiry::Idle);
        within(started.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test]
    async fn idle_counts_from_the_end_of_the_last_response() {
        let activity = Activity::new();
        let guard = activity.request_started(None);
        let waiting = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { activity.expiry(LIMITS).await }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!waiting.is_finished(), "a request in flight is not idle");
        let answered = Instant::now();
        drop(guard);
        assert_eq!(waiting.await.unwrap(), Expiry::Idle);
        within(answered.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test]
    async fn a_body_deadline_holds_until_the_handler_answers() {
        let activity = Activity::new();
        let start = Instant::now();
        let mut quick = activity.request_started(Some(start + Duration::from_millis(100)));
        quick.answered();
        let _late = activity.request_started(Some(start + Duration::from_millis(250)));
        assert_eq!(activity.expiry(LIMITS).await, Expiry::BodyDeadline);
        within(start.elapsed(), Duration::from_millis(250));
    }

    #[tokio::test]
    async fn no_idle_limit_means_none_after_the_first_request() {
        let activity = Activity::new();
        drop(activity.request_started(None));
        let limits = Limits {
            idle: None,
            ..LIMITS
        };
        let expired = tokio::time::timeout(Duration::from_millis(500), activity.expiry(limits));
        assert!(expired.await.is_err());
    }
}
