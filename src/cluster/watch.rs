//! Waiting for an object to be gone with a watch instead of polling it: one small LIST by name
//! (which also says the current resource version), then a watch from that version that ends at
//! the object's `DELETED` event. Silence is still found within the call deadline: each watch is
//! short (the server ends it) and bounded on our side too, and the LIST that follows it has the
//! usual deadline and retries.

use std::time::Duration;

use futures::StreamExt;
use kube::api::{ListParams, WatchEvent, WatchParams};

use super::{Cluster, ClusterError, with_retry};
use crate::core::objects::ObjectRef;

impl Cluster {
    /// Waits until an object no longer exists (at most `timeout`).
    pub async fn wait_gone(&self, id: &ObjectRef, timeout: Duration) -> Result<(), ClusterError> {
        let now = || tokio::time::Instant::now();
        let deadline =
            tokio::time::Instant::from_std(crate::core::time::deadline(now().into_std(), timeout));
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        let by_name = format!("metadata.name={}", id.name);
        // How long one watch may last: half a request's time limit, 1 s to 60 s.
        let watch_for = (self.retry.deadlines.request / 2)
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut pause = Duration::from_millis(100);
        loop {
            let params = ListParams::default().fields(&by_name);
            let list = with_retry(self.retry, || api.list_metadata(&params))
                .await
                .map_err(|source| ClusterError::Api {
                    action: "reading",
                    object: id.to_string(),
                    source,
                })?;
            if list.items.is_empty() {
                return Ok(());
            }
            let started = now();
            if started >= deadline {
                return Err(ClusterError::Timeout {
                    what: format!("{id} to be deleted"),
                    seconds: timeout.as_secs(),
                });
            }
            let version = list.metadata.resource_version.unwrap_or_default();
            let watch = WatchParams::default()
                .fields(&by_name)
                .timeout(u32::try_from(watch_for.as_secs()).unwrap_or(60));
            let until = deadline.min(started + watch_for * 2);
            let deleted = tokio::time::timeout_at(until, async {
                let Ok(stream) = api.watch_metadata(&watch, &version).await else {
                    return false;
                };
                let mut stream = stream.boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(WatchEvent::Deleted(_)) => return true,
                        Ok(WatchEvent::Error(_)) | Err(_) => return false,
                        Ok(_) => {}
                    }
                }
                false
            })
            .await;
            if deleted == Ok(true) {
                return Ok(());
            }
            // The watch ended, was refused or went silent: read again. A watch that could not
            // even start is not retried in a tight loop.
            if now() - started < Duration::from_millis(500) {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}
