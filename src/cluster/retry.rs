//! Deadlines and retries of API calls: every request has a time limit, every call (a request
//! and its retries) a deadline, and the pauses between retries are jittered so that many
//! clients failing together do not retry in lockstep.
//!
//! A request that gets no answer in time is dropped (closing its connection) and counts as a
//! transient failure; when the call's deadline passes and the last attempt was such a silence,
//! the call fails with [`NoAnswer`] ("no answer within Ns"). Long polls (watches, `follow`ed
//! logs) must not go through [`with_retry`]: the client itself has no read timeout, so only the
//! per-request limit applied here could cut them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How long the API server may take: per request and per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Longest one request may go unanswered (connecting, sending and reading the whole
    /// response), provider config `requestTimeout`, CLI `--request-timeout`.
    pub request: Duration,
    /// Longest one call may take with all its retries, provider config `callTimeout`, CLI
    /// `--call-timeout`.
    pub call: Duration,
}

impl Deadlines {
    /// The default time limit of one request: 15 s. A healthy API server answers kjob's reads,
    /// applies and deletes in milliseconds; the slowest legitimate answer waits on admission
    /// webhooks, whose default limit is 10 s.
    pub const REQUEST: Duration = Duration::from_secs(15);
    /// The default deadline of one call: 30 s. It outlasts an API server restart (a few
    /// seconds; the retries carry calls through it) and leaves room for two attempts at the full
    /// request limit, while a silent server fails a command within half a minute.
    pub const CALL: Duration = Duration::from_secs(30);
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            request: Self::REQUEST,
            call: Self::CALL,
        }
    }
}

/// Whether an error is worth retrying: throttling (429), conflicts (409), server errors (5xx)
/// and transport failures (an API server restarting).
pub fn transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 409 | 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Whether a transport error is the client's own connect or write timeout (the server did not
/// answer), found anywhere in its chain of causes.
fn timed_out(error: &kube::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// A call whose last attempt got no answer before its deadline. Travels as
/// `kube::Error::Service`, like the client's other transport failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no answer within {}s from the Kubernetes API server ({attempts} attempt{}, each limited to {}s; see requestTimeout/callTimeout, --request-timeout/--call-timeout)",
    seconds(*within), if *attempts == 1 { "" } else { "s" }, seconds(*request)
)]
pub struct NoAnswer {
    /// The call's deadline, or the time it took when it ran out of attempts first.
    pub within: Duration,
    /// Attempts made.
    pub attempts: u32,
    /// The limit of each.
    pub request: Duration,
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 || s.fract() < 0.05 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

impl NoAnswer {
    /// The silence behind a client error, if that is what it is.
    pub fn of(error: &kube::Error) -> Option<&NoAnswer> {
        match error {
            kube::Error::Service(e) => e.downcast_ref::<NoAnswer>(),
            _ => None,
        }
    }
}

/// How often and how long a transient failure is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included: a cap for failures that come fast.
    pub attempts: u32,
    /// The shortest pause between attempts.
    pub first_pause: Duration,
    /// Longest pause.
    pub max_pause: Duration,
    /// The time limits of each request and of the whole call.
    pub deadlines: Deadlines,
}

impl Default for RetryPolicy {
    /// Pauses from 200 ms to 4 s (decorrelated jitter) until the call's deadline, at most 30
    /// attempts; the default [`Deadlines`].
    fn default() -> Self {
        Self {
            attempts: 30,
            first_pause: Duration::from_millis(200),
            max_pause: Duration::from_secs(4),
            deadlines: Deadlines::default(),
        }
    }
}

impl RetryPolicy {
    /// The pause after one of `previous` (decorrelated jitter): uniform between the first
    /// pause and three times the previous one, at most the longest pause.
    fn next_pause(&self, previous: Duration) -> Duration {
        let low = self.first_pause.min(self.max_pause);
        let high = previous.saturating_mul(3).clamp(low, self.max_pause);
        low + (high - low).mul_f64(unit_random())
    }
}

/// A uniform number in [0, 1): splitmix64 over a counter seeded once from the clock and the
/// process id. Spreads retries; not for anything secret.
fn unit_random() -> f64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ (u64::from(std::process::id()) << 32)
    });
    let mut z = seed.wrapping_add(
        COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// How one attempt failed transiently.
enum Miss {
    /// The server did not answer in time.
    Silent,
    /// It answered with an error, or the connection failed.
    Error(kube::Error),
}

/// Runs `op` until it succeeds, fails for good, or the policy runs out: each attempt is cut
/// at the request limit (or what is left of the call's deadline), transient failures are
/// retried after a jittered pause while the deadline leaves time for another attempt. A call
/// whose last attempt went unanswered fails with [`NoAnswer`] (as `kube::Error::Service`).
pub async fn with_retry<T, F, Fut>(policy: RetryPolicy, op: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    with_retry_if(policy, transient, op).await
}

/// [`with_retry`] with the caller's idea of which errors are worth retrying (a guarded write
/// does not retry a failed precondition: it reads again and decides again).
pub async fn with_retry_if<T, F, Fut>(
    policy: RetryPolicy,
    retryable: impl Fn(&kube::Error) -> bool,
    mut op: F,
) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let started = Instant::now();
    let deadline = started
        .checked_add(policy.deadlines.call)
        .unwrap_or_else(|| started + Duration::from_secs(100 * 365 * 24 * 3600));
    let mut pause = policy.first_pause;
    let mut attempt = 1;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let limit = policy.deadlines.request.min(left);
        let miss = match tokio::time::timeout(limit, op()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) if !retryable(&e) => return Err(e),
            Ok(Err(e)) if timed_out(&e) => Miss::Silent,
            Ok(Err(e)) => Miss::Error(e),
            Err(_) => Miss::Silent,
        };
        pause = policy.next_pause(pause);
        let left = deadline.saturating_duration_since(Instant::now());
        if attempt >= policy.attempts || pause >= left {
            return Err(match miss {
                Miss::Error(e) => e,
                Miss::Silent => kube::Error::Service(Box::new(NoAnswer {
                    within: if attempt >= policy.attempts {
                        started.elapsed()
                    } else {
                        policy.deadlines.call
                    },
                    attempts: attempt,
                    request: policy.deadlines.request,
                })),
            });
        }
        match &miss {
            Miss::Silent => tracing::debug!(
                attempt,
                "no answer from the Kubernetes API within {limit:?}, retrying in {pause:?}"
            ),
            Miss::Error(e) => tracing::debug!(
                attempt,
                "transient Kubernetes API error, retrying in {pause:?}: {e}"
            ),
        }
        tokio::time::sleep(pause).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(request_ms: u64, call_ms: u64) -> RetryPolicy {
        RetryPolicy {
            attempts: 100,
            first_pause: Duration::from_millis(10),
            max_pause: Duration::from_millis(40),
            deadlines: Deadlines {
                request: Duration::from_millis(request_ms),
                call: Duration::from_millis(call_ms),
            },
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_fails_the_call_at_its_deadline() {
        let started = Instant::now();
        let mut calls = 0;
        let result: Result<(), _> = with_retry(policy(1000, 2500), || {
            calls += 1;
            std::future::pending()
        })
        .await;
        let waited = started.elapsed();
        let error = result.unwrap_err();
        let silence = NoAnswer::of(&error).copied().expect("a NoAnswer");
        assert!(calls >= 2, "retried after a silent attempt: {calls}");
        assert_eq!(silence.attempts, calls);
        assert!(
            waited <= Duration::from_millis(2500),
            "within the deadline: {waited:?}"
        );
        assert!(
            waited >= Duration::from_millis(2000),
            "used the time: {waited:?}"
        );
        let text = error.to_string();
        assert!(text.contains("no answer within 2.5s"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_after_a_silence_succeeds() {
        let mut calls = 0;
        let result = with_retry(policy(100, 5000), || {
            calls += 1;
            let n = calls;
            async move {
                if n == 1 {
                    std::future::pending::<()>().await;
                }
                Ok::<_, kube::Error>(n)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 2);
    }

    #[test]
    fn pauses_are_jittered_and_bounded() {
        let p = policy(1000, 1000);
        let mut pause = p.first_pause;
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            pause = p.next_pause(pause);
            assert!(pause >= p.first_pause && pause <= p.max_pause, "{pause:?}");
            seen.insert(pause.as_micros());
        }
        assert!(seen.len() > 50, "pauses vary: {} distinct", seen.len());
    }

    #[test]
    fn no_answer_reads_well() {
        let e = NoAnswer {
            within: Duration::from_secs(30),
            attempts: 2,
            request: Duration::from_secs(15),
        };
        assert!(e.to_string().starts_with(
            "no answer within 30s from the Kubernetes API server (2 attempts, each limited to 15s"
        ));
    }
}
