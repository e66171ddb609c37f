//! A preview that the API server checks: every object a run would apply sent as a server-side
//! dry-run apply ([`crate::cluster::Cluster::dry_run_apply`]), each answer judged by
//! [`crate::core::servercheck`]. Used by `kjob preview --server` and the provider's
//! `serverPreview`.

use crate::cluster::{Cluster, ClusterError};
use crate::core::objects::{Object, ObjectRef};
use crate::core::plan::Action;
use crate::core::servercheck::{self, Verdict};

/// Checks `objects` (each rendered object with its planned action, in apply order) of a run
/// that renders `run`; returns each reported object's verdict, in order. A cluster that cannot
/// be asked is an error.
pub async fn server_check(
    cluster: &Cluster,
    objects: &[(&Object, Action)],
    run: &[ObjectRef],
) -> Result<Vec<(ObjectRef, Verdict)>, ClusterError> {
    let mut verdicts = Vec::new();
    for (object, action) in objects {
        if !servercheck::reported(*action) {
            continue;
        }
        let verdict = match servercheck::before_sending(*action) {
            Some(verdict) => verdict,
            None => {
                let answer = cluster.dry_run_apply(&object.id, &object.body).await?;
                servercheck::judge(&object.id, answer, run)
            }
        };
        verdicts.push((object.id.clone(), verdict));
    }
    Ok(verdicts)
}
