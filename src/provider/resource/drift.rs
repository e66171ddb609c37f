//! Drift on `pulumi refresh`: besides the inputs Read rebuilds from the live objects, each
//! field of an object that differs from what the resource's inputs render is reported as a
//! warning, the same way `kjob refresh` reports it ([`crate::core::drift`]; secret values
//! never shown). The next `pulumi up` applies the inputs again.

use serde_json::Value;

use super::KubernetesJob;
use crate::core::drift;
use crate::core::objects::ObjectKind;
use crate::core::owner::ownership;
use crate::provider::inputs;

impl KubernetesJob {
    /// Warns about every drifted field of the objects the previous inputs render (only those
    /// that are this resource's). Nothing is reported when the inputs do not render or the
    /// cluster cannot be read (Read itself reports that).
    pub(super) async fn report_drift(&self, urn: &str, previous: &Value) {
        let name = urn.rsplit("::").next().unwrap_or_default();
        let Ok(rendered) = super::prepare(&inputs::inputs_of_outputs(previous), name, urn) else {
            return;
        };
        let mut lines = Vec::new();
        for object in &rendered.objects {
            match self.cluster.get(&object.id).await {
                Ok(Some(live)) if ownership(&live, &rendered.owner).is_ours(true) => {
                    lines.extend(drift::drift(object, &live).iter().map(ToString::to_string));
                }
                Ok(Some(_)) => {}
                // A gone Job is Read's own business (collected after its TTL, or deleted).
                Ok(None) if object.id.kind == ObjectKind::Job => {}
                Ok(None) => lines.push(format!("{}: gone (deleted outside kjob)", object.id)),
                Err(e) => {
                    tracing::debug!("drift of {}: {e}", object.id);
                    return;
                }
            }
        }
        if !lines.is_empty() {
            self.log
                .warn(
                    urn,
                    format!(
                        "drift: the live objects differ from what this resource applied (the next up applies it again):\n  {}",
                        lines.join("\n  ")
                    ),
                )
                .await;
        }
    }
}
