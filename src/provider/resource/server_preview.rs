//! `serverPreview`: during `pulumi preview` (Create and Update with `preview`), the API server
//! checks every object the resource would apply, as `kjob preview --server` does: the same
//! [`crate::deploy::server_check`] and the same rules ([`crate::core::servercheck`]). Inputs
//! not known yet (another resource's outputs) or a cluster that cannot be reached skip the
//! check, with a note; a refusal fails the preview and names each refused object.

use super::KubernetesJob;
use super::types::ResourceError;
use crate::core::objects::ObjectKind;
use crate::core::plan::Action;
use crate::core::secrets;
use crate::core::servercheck::Verdict;
use crate::kinds::Rendered;

impl KubernetesJob {
    /// Checks `rendered` with the API server when `serverPreview` is on. `creating`: the
    /// objects are created (a Job that exists then is one being replaced); otherwise updated.
    pub(super) async fn server_preview(
        &self,
        urn: &str,
        rendered: Result<Rendered, String>,
        manifest: &serde_json::Value,
        creating: bool,
    ) -> Result<(), ResourceError> {
        if !self.config.server_preview {
            return Ok(());
        }
        if has_unknown(manifest) {
            self.log
                .info(urn, "serverPreview: not checked by the API server: some inputs are not known until the update")
                .await;
            return Ok(());
        }
        let rendered = match rendered {
            Ok(rendered) => rendered,
            Err(why) => {
                self.log
                    .info(
                        urn,
                        format!("serverPreview: not checked by the API server: {why}"),
                    )
                    .await;
                return Ok(());
            }
        };
        let mut objects = Vec::new();
        for object in &rendered.objects {
            let action = if object.id.kind == ObjectKind::Job && creating {
                match self.cluster.get(&object.id).await {
                    Ok(Some(_)) => Action::Replace,
                    Ok(None) => Action::Create,
                    Err(e) => return self.unreachable(urn, &e.to_string()).await,
                }
            } else if creating {
                Action::Create
            } else {
                Action::Update
            };
            objects.push((object, action));
        }
        let verdicts =
            match crate::deploy::server_check(&self.cluster, &objects, &rendered.ids()).await {
                Ok(verdicts) => verdicts,
                Err(e) => return self.unreachable(urn, &e.to_string()).await,
            };
        let values = secrets::secret_values(manifest);
        let refused: Vec<String> = verdicts
            .iter()
            .filter_map(|(id, verdict)| match verdict {
                Verdict::Refused { message } => {
                    Some(format!("{id}: {}", secrets::redact(message, &values)))
                }
                _ => None,
            })
            .collect();
        for (id, verdict) in &verdicts {
            if let Verdict::NotChecked { why } = verdict {
                self.log
                    .info(urn, format!("serverPreview: {id} not checked: {why}"))
                    .await;
            }
        }
        if refused.is_empty() {
            return Ok(());
        }
        Err(ResourceError::Invalid(format!(
            "the API server refuses what this KubernetesJob would apply (serverPreview): {}",
            refused.join("; ")
        )))
    }

    /// Logs why nothing was checked; the preview goes on.
    async fn unreachable(&self, urn: &str, why: &str) -> Result<(), ResourceError> {
        self.log
            .info(
                urn,
                format!("serverPreview: the cluster cannot be asked, so the API server checked nothing: {why}"),
            )
            .await;
        Ok(())
    }
}

/// Whether any value of `value` is an unknown placeholder of a preview.
fn has_unknown(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Array(items) => items.iter().any(has_unknown),
        Value::Object(map) => map.values().any(has_unknown),
        other => crate::provider::values::is_unknown(other),
    }
}
