//! The lock of the `kubernetes://` backend: the `coordination.k8s.io/v1` Lease
//! `kjob-state-lock` in the backend's namespace.
//!
//! - **Holder**: `host:pid:start` of the run ([`LeaseHolder`]); never its arguments.
//! - **Taking it**: free when it has no holder, when its `renewTime` is older than its
//!   `leaseDurationSeconds` (by this machine's clock), or when this run has watched it stay
//!   unchanged for that long (so a skewed clock delays a take-over by at most one duration).
//!   Every write is guarded by the Lease's `resourceVersion`: of two runs taking it at once,
//!   one wins and the other reads it again. A held Lease makes the run wait up to
//!   `--lock-timeout`, then fail naming the holder.
//! - **Holding it**: renewed every third of its duration while the run lasts
//!   (`KJOB_LEASE_DURATION`, default 15 s). When a renewal finds another holder, or no renewal
//!   succeeded for a whole duration, the Lease is lost and the store refuses every write from
//!   then on ([`StateError::LeaseLost`]).
//! - **Letting go**: the holder is cleared when the run ends; a killed run's Lease expires.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio_util::sync::CancellationToken;

use super::kube::{KubeStore, block};
use super::{StateError, host_name};
use crate::core::backend::{self, LeaseHolder, lease_expired};

/// When this process first asked for a Lease: the start part of its holder identity.
fn started_at() -> &'static str {
    static START: OnceLock<String> = OnceLock::new();
    START.get_or_init(crate::core::record::now)
}

/// This run's holder identity.
pub fn identity() -> String {
    LeaseHolder {
        host: host_name(),
        pid: std::process::id(),
        started_at: started_at().to_owned(),
    }
    .identity()
}

fn now_micro() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

/// The Lease held by this run; renewed until dropped, then released.
pub struct LeaseGuard {
    api: Api<Lease>,
    current: Arc<Mutex<Lease>>,
    lost: Arc<Mutex<Option<String>>>,
    stop: CancellationToken,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.stop.cancel();
        if self.lost.lock().map(|l| l.is_some()).unwrap_or(true) {
            return;
        }
        let Ok(mut lease) = self.current.lock().map(|l| l.clone()) else {
            return;
        };
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = None;
        }
        let api = self.api.clone();
        let _ = block(async move {
            let post = PostParams::default();
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                api.replace(backend::LEASE_NAME, &post, &lease),
            )
            .await;
        });
    }
}

fn lease_api(client: kube::Client, namespace: &str) -> Api<Lease> {
    Api::namespaced(client, namespace)
}

/// What a Lease says: its holder (when it has one) and whether it has expired.
fn state_of(lease: &Lease, default_seconds: u64) -> (Option<String>, bool) {
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.filter(|h| !h.is_empty());
    let duration = spec
        .lease_duration_seconds
        .map_or(default_seconds as i64, i64::from);
    let renewed = spec
        .renew_time
        .or(spec.acquire_time)
        .map_or(0, |t| t.0.as_second());
    let now = jiff::Timestamp::now().as_second();
    (holder, lease_expired(renewed, duration, now))
}

/// Takes the Lease for `store`, waiting up to `timeout`; starts its renewal.
pub(super) fn acquire(store: &KubeStore, timeout: Duration) -> Result<LeaseGuard, StateError> {
    block(acquire_async(store, timeout))?
}

async fn acquire_async(store: &KubeStore, timeout: Duration) -> Result<LeaseGuard, StateError> {
    let api = lease_api(store.client().await?, &store.namespace);
    let me = identity();
    let post = PostParams::default();
    let seconds = store.lease_seconds;
    let deadline = crate::core::time::deadline(Instant::now(), timeout);
    let mut watched: Option<(String, Instant)> = None;
    let ours = |mut lease: Lease, transitions: i32| {
        lease.spec = Some(LeaseSpec {
            holder_identity: Some(me.clone()),
            lease_duration_seconds: Some(seconds as i32),
            acquire_time: Some(now_micro()),
            renew_time: Some(now_micro()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        });
        lease
    };
    let taken = loop {
        let existing = match store
            .call("get", "leases", || api.get_opt(backend::LEASE_NAME))
            .await?
        {
            Ok(l) => l,
            Err(e) => return Err(store.refused("get", "leases", &e)),
        };
        let Some(lease) = existing else {
            let fresh = ours(
                Lease {
                    metadata: ObjectMeta {
                        name: Some(backend::LEASE_NAME.into()),
                        labels: Some(
                            [("app.kubernetes.io/managed-by".into(), "kjob".into())].into(),
                        ),
                        ..ObjectMeta::default()
                    },
                    spec: None,
                },
                0,
            );
            match store
                .call("create", "leases", || api.create(&post, &fresh))
                .await?
            {
                Ok(l) => break l,
                Err(e) if crate::cluster::is_conflict(&e) => continue,
                Err(e) => {
                    return Err(store.refused("create", "leases", &e));
                }
            }
        };
        let (holder, expired) = state_of(&lease, seconds);
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let unchanged_for_long = match &watched {
            Some((v, since)) if *v == version => since.elapsed() >= Duration::from_secs(seconds),
            _ => {
                watched = Some((version, Instant::now()));
                false
            }
        };
        let free = holder.is_none() || expired || unchanged_for_long;
        if free {
            if let Some(h) = &holder {
                tracing::warn!(
                    "taking over the expired lock of {}: {}",
                    store.url,
                    LeaseHolder::describe(h)
                );
            }
            let transitions = lease
                .spec
                .as_ref()
                .and_then(|s| s.lease_transitions)
                .unwrap_or(0)
                .saturating_add(1);
            let mine = ours(lease, transitions);
            match store
                .call("update", "leases", || {
                    api.replace(backend::LEASE_NAME, &post, &mine)
                })
                .await?
            {
                Ok(l) => break l,
                Err(e) if crate::cluster::is_conflict(&e) => continue,
                Err(e) => {
                    return Err(store.refused("update", "leases", &e));
                }
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(StateError::Locked {
                dir: store.url.clone(),
                holder: LeaseHolder::describe(holder.as_deref().unwrap_or_default()),
            });
        }
        tokio::time::sleep(Duration::from_millis(500).min(deadline - now)).await;
    };
    let current = Arc::new(Mutex::new(taken));
    let stop = CancellationToken::new();
    if let Ok(mut lost) = store.lost.lock() {
        *lost = None;
    }
    tokio::spawn(renew(
        api.clone(),
        current.clone(),
        store.lost.clone(),
        store.requests.clone(),
        seconds,
        stop.clone(),
    ));
    Ok(LeaseGuard {
        api,
        current,
        lost: store.lost.clone(),
        stop,
    })
}

/// Renews the Lease every third of its duration until `stop`; marks it lost when another run
/// holds it or no renewal succeeded for a whole duration.
async fn renew(
    api: Api<Lease>,
    current: Arc<Mutex<Lease>>,
    lost: Arc<Mutex<Option<String>>>,
    requests: Arc<std::sync::atomic::AtomicU64>,
    seconds: u64,
    stop: CancellationToken,
) {
    let duration = Duration::from_secs(seconds);
    let period = duration / 3;
    let me = identity();
    let post = PostParams::default();
    let mut last_renewal = Instant::now();
    let give_up = |why: String| {
        tracing::warn!("{why}");
        if let Ok(mut l) = lost.lock() {
            *l = Some(why);
        }
    };
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        let Ok(mut lease) = current.lock().map(|l| l.clone()) else {
            return;
        };
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(now_micro());
        }
        requests.fetch_add(1, Ordering::Relaxed);
        let sent =
            tokio::time::timeout(period, api.replace(backend::LEASE_NAME, &post, &lease)).await;
        match sent {
            Ok(Ok(renewed)) => {
                if let Ok(mut c) = current.lock() {
                    *c = renewed;
                }
                last_renewal = Instant::now();
            }
            Ok(Err(e))
                if crate::cluster::is_conflict(&e)
                    || matches!(&e, kube::Error::Api(s) if s.code == 404) =>
            {
                requests.fetch_add(1, Ordering::Relaxed);
                match api.get_opt(backend::LEASE_NAME).await {
                    Ok(Some(now)) => {
                        let (holder, _) = state_of(&now, seconds);
                        if holder.as_deref() == Some(me.as_str()) {
                            if let Ok(mut c) = current.lock() {
                                *c = now;
                            }
                        } else {
                            give_up(format!(
                                "the Lease is now held by {}",
                                holder.as_deref().map_or_else(
                                    || "no one (it was released)".into(),
                                    LeaseHolder::describe
                                )
                            ));
                            return;
                        }
                    }
                    Ok(None) => {
                        give_up("the Lease was deleted".into());
                        return;
                    }
                    Err(_) => {}
                }
            }
            _ => {}
        }
        if last_renewal.elapsed() >= duration {
            give_up(format!("it could not be renewed for {seconds}s"));
            return;
        }
    }
}

/// Who holds `store`'s Lease now, with when it expires; `None` when no one does.
pub(super) async fn holder(store: &KubeStore) -> Result<Option<String>, StateError> {
    let api = lease_api(store.client().await?, &store.namespace);
    let lease = match store
        .call("get", "leases", || api.get_opt(backend::LEASE_NAME))
        .await?
    {
        Ok(l) => l,
        Err(e) => return Err(store.refused("get", "leases", &e)),
    };
    Ok(lease.and_then(|l| {
        let (holder, expired) = state_of(&l, store.lease_seconds);
        holder.map(|h| {
            let mut text = LeaseHolder::describe(&h);
            if expired {
                text.push_str(" (expired: the next run takes it over)");
            }
            text
        })
    }))
}

/// Clears `store`'s Lease holder, whoever it is; returns who held it.
pub(super) async fn force_release(store: &KubeStore) -> Result<Option<String>, StateError> {
    let api = lease_api(store.client().await?, &store.namespace);
    let post = PostParams::default();
    loop {
        let lease = match store
            .call("get", "leases", || api.get_opt(backend::LEASE_NAME))
            .await?
        {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(None),
            Err(e) => return Err(store.refused("get", "leases", &e)),
        };
        let (Some(holder), _) = state_of(&lease, store.lease_seconds) else {
            return Ok(None);
        };
        let mut cleared = lease;
        if let Some(spec) = cleared.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = None;
        }
        match store
            .call("update", "leases", || {
                api.replace(backend::LEASE_NAME, &post, &cleared)
            })
            .await?
        {
            Ok(_) => return Ok(Some(LeaseHolder::describe(&holder))),
            Err(e) if crate::cluster::is_conflict(&e) => continue,
            Err(e) => {
                return Err(store.refused("update", "leases", &e));
            }
        }
    }
}
