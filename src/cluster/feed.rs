//! One shared, namespace-scoped watch of the Jobs and of the Warning events of a namespace,
//! for every wait in it: a thousand Jobs waited for at once (`kjob up --parallel`) cost one
//! LIST and one long-lived WATCH of Jobs and one of Warning events, not a poll per Job.
//!
//! [`Cluster::feed`] hands out the namespace's [`Feed`] (started on first use, stopped when the
//! last waiter drops it). Its task keeps the latest state of every Job in the namespace, the
//! last state of the Jobs it saw deleted, and the Warning events in the order they came, and
//! ticks a [`tokio::sync::watch`] channel on every change: a waiter wakes only when something
//! happened, reads what concerns it, and decides with the pure rules of
//! [`crate::core::outcome`].
//!
//! Deadlines hold as for every call: each LIST and each opening of a WATCH goes through
//! [`with_retry`] (an outage shorter than the call deadline is ridden out, a longer one or a
//! silent server is reported as a failure within it); a watch is short (the server ends it
//! after half a request's time limit, and a silent one is dropped after twice that) and is
//! resumed from the last resource version seen, or listed again when that version expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams};
use serde_json::Value;
use tokio::sync::watch;

use super::{Cluster, ClusterError, NoAnswer, RetryPolicy, api_resource, with_retry};
use crate::core::objects::ObjectKind;

/// The running feeds of one client, by namespace.
#[derive(Debug, Default)]
pub(super) struct Feeds(Mutex<HashMap<String, Weak<Feed>>>);

/// Warning events kept before the older half is dropped (a waiter that has not read them by
/// then skips them).
const EVENTS_KEPT: usize = 20_000;

/// What the feed knows about a namespace.
#[derive(Debug, Default)]
struct State {
    /// The latest state of every Job, by name (once the first LIST is done).
    jobs: HashMap<String, Value>,
    /// The first LIST of Jobs is done.
    synced: bool,
    /// The last state of Jobs seen deleted (or missing from a later LIST), by UID.
    gone: HashMap<String, Value>,
    /// Warning events as they came (an update of an event comes again); `events_base` is the
    /// sequence number of the first one kept.
    events: Vec<Arc<Event>>,
    events_base: usize,
    /// How often listing or watching failed for good, and the last such error.
    failures: u64,
    failure: Option<(&'static str, kube::Error)>,
}

/// The shared state and its change signal.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    tick: watch::Sender<u64>,
}

impl Shared {
    fn change(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().expect("feed state"));
        self.tick.send_modify(|n| *n += 1);
    }
}

/// The namespace-scoped watch of Jobs and Warning events (see the module doc).
#[derive(Debug)]
pub struct Feed {
    namespace: String,
    shared: Arc<Shared>,
    task: tokio::task::AbortHandle,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a feed says about one Job.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// Its latest state.
    Live(Value),
    /// It was deleted; its last state.
    Gone(Value),
    /// Not (yet) seen: the feed has not listed yet, or has not caught up with a Job created
    /// just now, or the Job was deleted before the feed saw it.
    Unseen {
        /// The feed has listed the namespace's Jobs.
        synced: bool,
    },
}

impl Feed {
    /// A receiver that changes whenever the feed learns something.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.tick.subscribe()
    }

    /// Job `name` whose UID is `uid`, as the feed last saw it.
    pub fn job(&self, name: &str, uid: &str) -> Seen {
        let state = self.shared.state.lock().expect("feed state");
        match state.jobs.get(name) {
            Some(live) if live["metadata"]["uid"].as_str() == Some(uid) => Seen::Live(live.clone()),
            _ => match state.gone.get(uid) {
                Some(last) => Seen::Gone(last.clone()),
                None => Seen::Unseen {
                    synced: state.synced,
                },
            },
        }
    }

    /// How often the feed has failed so far (compare with a later call to see a new failure).
    pub fn failures(&self) -> u64 {
        self.shared.state.lock().expect("feed state").failures
    }

    /// The last failure, when there were more than `before` in all: the error to end a wait
    /// with.
    pub fn failure_after(&self, before: u64) -> Option<ClusterError> {
        let state = self.shared.state.lock().expect("feed state");
        match &state.failure {
            Some((action, error)) if state.failures > before => Some(ClusterError::Api {
                action,
                object: format!("in namespace {}", self.namespace),
                source: copy(error),
            }),
            _ => None,
        }
    }

    /// The Warning events that came after sequence number `cursor`, and the next cursor.
    pub fn events_after(&self, cursor: usize) -> (Vec<Arc<Event>>, usize) {
        let state = self.shared.state.lock().expect("feed state");
        let from = cursor.max(state.events_base) - state.events_base;
        let next = state.events_base + state.events.len();
        (state.events[from.min(state.events.len())..].to_vec(), next)
    }
}

/// A copy of a client error for each waiter that ends with it (the client's errors do not
/// clone): a status as it is, a silence as a silence, anything else by its message.
fn copy(error: &kube::Error) -> kube::Error {
    match error {
        kube::Error::Api(status) => kube::Error::Api(status.clone()),
        other => match NoAnswer::of(other) {
            Some(silence) => kube::Error::Service(Box::new(*silence)),
            None => kube::Error::Service(other.to_string().into()),
        },
    }
}

impl Cluster {
    /// The shared watch of Jobs and Warning events in `namespace`, started if none runs (on the
    /// current Tokio runtime).
    pub async fn feed(&self, namespace: &str) -> Result<Arc<Feed>, ClusterError> {
        let client = self.client().await?;
        let mut feeds = self.feeds.0.lock().expect("feeds");
        feeds.retain(|_, feed| feed.strong_count() > 0);
        if let Some(feed) = feeds.get(namespace).and_then(Weak::upgrade)
            && !feed.task.is_finished()
        {
            return Ok(feed);
        }
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            tick: watch::channel(0).0,
        });
        let jobs: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &api_resource(ObjectKind::Job));
        let events: Api<Event> = Api::namespaced(client, namespace);
        let retry = self.retry;
        let task = tokio::spawn({
            let shared = shared.clone();
            async move {
                let jobs = follow(jobs, None, retry, "watching Jobs", |change| {
                    shared.change(|s| job_change(s, change));
                });
                let events = follow(events, Some("type=Warning"), retry, "watching events", {
                    |change| shared.change(|s| event_change(s, change))
                });
                futures::join!(jobs, events);
            }
        })
        .abort_handle();
        let feed = Arc::new(Feed {
            namespace: namespace.to_owned(),
            shared,
            task,
        });
        feeds.insert(namespace.to_owned(), Arc::downgrade(&feed));
        Ok(feed)
    }
}

/// One thing a watch learnt.
enum Change<K> {
    /// A LIST: everything there is now.
    Listed(Vec<K>),
    /// An object was added or changed.
    Applied(K),
    /// An object was deleted.
    Deleted(K),
    /// Listing or opening a watch failed for good (past the call deadline).
    Failed(&'static str, kube::Error),
}

fn job_change(state: &mut State, change: Change<DynamicObject>) {
    let value = |o| serde_json::to_value(o).expect("objects serialize");
    let name = |v: &Value| {
        v["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let uid = |v: &Value| v["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
    match change {
        Change::Listed(items) => {
            let mut now: HashMap<String, Value> = HashMap::new();
            for item in items {
                let v = value(item);
                now.insert(name(&v), v);
            }
            for (name, old) in state.jobs.drain() {
                let same = now.get(&name).is_some_and(|v| uid(v) == uid(&old));
                if !same {
                    state.gone.insert(uid(&old), old);
                }
            }
            state.jobs = now;
            state.synced = true;
        }
        Change::Applied(item) => {
            let v = value(item);
            if let Some(old) = state.jobs.insert(name(&v), v.clone())
                && uid(&old) != uid(&v)
            {
                state.gone.insert(uid(&old), old);
            }
        }
        Change::Deleted(item) => {
            let v = value(item);
            let key = name(&v);
            if state.jobs.get(&key).is_some_and(|o| uid(o) == uid(&v)) {
                state.jobs.remove(&key);
            }
            state.gone.insert(uid(&v), v);
        }
        Change::Failed(action, error) => {
            state.failures += 1;
            state.failure = Some((action, error));
        }
    }
}

fn event_change(state: &mut State, change: Change<Event>) {
    match change {
        Change::Listed(items) => state.events.extend(items.into_iter().map(Arc::new)),
        Change::Applied(item) => state.events.push(Arc::new(item)),
        Change::Deleted(_) => {}
        Change::Failed(action, error) => {
            state.failures += 1;
            state.failure = Some((action, error));
        }
    }
    if state.events.len() > EVENTS_KEPT {
        let dropped = state.events.len() / 2;
        state.events.drain(..dropped);
        state.events_base += dropped;
    }
}

/// Lists, then watches from the version listed, resuming each watch where the last ended and
/// listing again when that is no longer possible; reports every change to `on`. Never ends
/// (the feed's task is aborted when nobody waits any more).
async fn follow<K>(
    api: Api<K>,
    fields: Option<&'static str>,
    retry: RetryPolicy,
    action: &'static str,
    mut on: impl FnMut(Change<K>),
) where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    // How long one watch may last: half a request's time limit, 1 s to 60 s (as `wait_gone`).
    let watch_for =
        (retry.deadlines.request / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut list = ListParams::default();
    let mut watch = WatchParams::default().timeout(watch_for.as_secs().try_into().unwrap_or(60));
    if let Some(fields) = fields {
        list = list.fields(fields);
        watch = watch.fields(fields);
    }
    let version = |o: &K| o.meta().resource_version.clone().unwrap_or_default();
    let mut pause = Duration::from_millis(100);
    'list: loop {
        let mut at = match with_retry(retry, || api.list(&list)).await {
            Ok(found) => {
                let at = found.metadata.resource_version.clone().unwrap_or_default();
                on(Change::Listed(found.items));
                at
            }
            Err(error) => {
                on(Change::Failed(action, error));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
                continue 'list;
            }
        };
        pause = Duration::from_millis(100);
        loop {
            let stream = match with_retry(retry, || api.watch(&watch, &at)).await {
                Ok(stream) => stream.boxed(),
                Err(error) => {
                    on(Change::Failed(action, error));
                    continue 'list;
                }
            };
            let started = tokio::time::Instant::now();
            let until = started + watch_for * 2;
            let mut stream = std::pin::pin!(stream.take_until(tokio::time::sleep_until(until)));
            while let Some(event) = stream.next().await {
                match event {
                    Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => {
                        at = version(&o);
                        on(Change::Applied(o));
                    }
                    Ok(WatchEvent::Deleted(o)) => {
                        at = version(&o);
                        on(Change::Deleted(o));
                    }
                    Ok(WatchEvent::Bookmark(b)) => at = b.metadata.resource_version,
                    // The version expired (410) or the server refused: list again.
                    Ok(WatchEvent::Error(_)) => continue 'list,
                    // The connection broke: resume from the last version.
                    Err(_) => break,
                }
            }
            // A watch that ended at once is not reopened in a tight loop.
            if started.elapsed() < Duration::from_millis(500) {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}
