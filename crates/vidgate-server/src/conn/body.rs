//! Request and response bodies as the connection sees them: [`RateBody`] holds a request
//! body to a minimum average rate, and [`Tracked`] keeps a connection counted as in a
//! request until its response body is gone.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use hyper::body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::slots::InRequest;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body that fails once it has arrived slower than `min_rate` bytes per second on
/// average since the request's head, after a grace period.
///
/// At any moment with `n` bytes received the body is too slow from
/// `start + max(grace, n / min_rate)` on; the timer is set to that instant and pushed back by
/// every chunk. When it fires, the body answers an error and raises `expired`, which the
/// connection turns into a 408 answer.
pub struct RateBody<B> {
    inner: B,
    started: Instant,
    received: u64,
    min_rate: u64,
    grace: Duration,
    timer: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
}

/// The request body arrived too slowly.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than {0} bytes per second")]
pub struct TooSlow(u64);

impl<B> RateBody<B> {
    /// Starts the clock now.
    pub fn new(inner: B, min_rate: u64, grace: Duration, expired: Arc<AtomicBool>) -> Self {
        let started = Instant::now();
        RateBody {
            inner,
            started,
            received: 0,
            min_rate: min_rate.max(1),
            grace,
            timer: Box::pin(tokio::time::sleep_until(started + grace)),
            expired,
        }
    }

    fn deadline(&self) -> Instant {
        let earned = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        self.started + self.grace.max(earned)
    }
}

impl<B> HttpBody for RateBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.expired.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(TooSlow(this.min_rate).into())));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let deadline = this.deadline();
                    this.timer.as_mut().reset(deadline);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if this.timer.as_mut().poll(cx).is_ready() {
                    this.expired.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(TooSlow(this.min_rate).into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its connection counted as in a request until hyper drops it
/// (the whole answer has been handed to the connection, or the connection is gone).
pub struct Tracked {
    pub inner: Body,
    pub _in_request: InRequest,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
