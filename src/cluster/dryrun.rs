//! The server-side dry-run apply of a preview that the API server checks
//! ([`crate::core::servercheck`] decides what is sent and what the answers mean).

use kube::api::{Patch, PatchParams};

use super::{Cluster, ClusterError, FIELD_MANAGER, with_retry_if};
use crate::core::objects::ObjectRef;
use crate::core::servercheck::Refusal;

impl Cluster {
    /// Sends `body` as a server-side apply with `dryRun=All` (field manager `kjob`, conflicts
    /// forced, as the real apply): the server runs its admission (quota, policies, RBAC,
    /// validation, immutable fields) and persists nothing. `Ok(Err(refusal))` is the server's
    /// refusal; `Err` is a cluster that could not be asked.
    pub async fn dry_run_apply(
        &self,
        id: &ObjectRef,
        body: &serde_json::Value,
    ) -> Result<Result<(), Refusal>, ClusterError> {
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.dry_run = true;
        let patch = Patch::Apply(body);
        match with_retry_if(self.retry, super::transient, || {
            api.patch(&id.name, &params, &patch)
        })
        .await
        {
            Ok(_) => Ok(Ok(())),
            Err(kube::Error::Api(status)) => Ok(Err(Refusal {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            })),
            Err(source) => Err(ClusterError::Api {
                action: "checking (dry run)",
                object: id.to_string(),
                source,
            }),
        }
    }
}
