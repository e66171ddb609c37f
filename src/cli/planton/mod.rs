//! Project Planton's CLI inputs, for users who already have them: `--stack-input/-i FILE`
//! ([`stack_input`]), a manifest given as an http(s) URL ([`http`]), the kube context chosen as
//! upstream chooses it (`--kube-context`, else the manifest label [`CONTEXT_LABEL`]),
//! `--kustomize-dir DIR --overlay NAME` ([`kustomize`]), and
//! `kjob load-manifest` ([`load_manifest`]). Every command that takes a manifest takes them.
//!
//! `prepare` runs before a command: it turns whichever input was given into a manifest held
//! in memory ([`crate::manifest::provide`]) under a display name that the command then reads as
//! its `--manifest`, and works out how to reach the cluster. Nothing it reads is written to a
//! file: a stack input's kubeconfig, service account key and token stay in memory.

pub mod gke;
pub mod http;
pub mod kustomize;
pub mod load_manifest;
pub mod stack_input;

use std::collections::BTreeSet;

use clap::Args;

use super::args::Command;
use super::{CliError, Exit};
use crate::manifest;

/// The manifest label naming the kubeconfig context (upstream's `kuberneteslabels`);
/// `--kube-context` (or `--context`) wins over it.
pub const CONTEXT_LABEL: &str = "kubernetes.project-planton.org/context";

/// Flags every command takes (global), as upstream's CLI spells them.
#[derive(Debug, Args, Default)]
pub(crate) struct PlantonArgs {
    /// A KubernetesJobStackInput file instead of --manifest: `target` (the manifest) and
    /// `providerConfig` (gcp_gke: endpoint, CA and service account key; digital_ocean_doks:
    /// kubeconfig; none: the ambient kubeconfig).
    #[arg(long, short = 'i', global = true, value_name = "FILE")]
    pub(crate) stack_input: Option<String>,
    /// A kustomize directory instead of --manifest: the manifest is what `kustomize build
    /// DIR/overlays/NAME` prints (with --overlay NAME).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        requires = "overlay",
        conflicts_with = "stack_input"
    )]
    pub(crate) kustomize_dir: Option<std::path::PathBuf>,
    /// The overlay of --kustomize-dir.
    #[arg(long, global = true, value_name = "NAME", requires = "kustomize_dir")]
    pub(crate) overlay: Option<String>,
}

/// What `prepare` found: how to reach the cluster.
#[derive(Default)]
pub struct Prepared {
    /// A kubeconfig's contents from the stack input's provider configuration.
    pub kubeconfig: Option<String>,
    /// The context the manifest's [`CONTEXT_LABEL`] names.
    pub context: Option<String>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field(
                "kubeconfig",
                &self.kubeconfig.as_ref().map(|_| "[redacted]"),
            )
            .field("context", &self.context)
            .finish()
    }
}

/// The command's `--manifest`, when it takes one.
fn manifest_slot(command: &mut Command) -> Option<&mut Option<String>> {
    match command {
        Command::Validate(a) | Command::Refresh(a) => Some(&mut a.manifest),
        Command::Preview(a) => Some(&mut a.manifest.manifest),
        Command::Up(a) => Some(&mut a.manifest.manifest),
        Command::LoadManifest(a) => {
            if a.manifest.is_none() {
                a.manifest = a.path.take();
            }
            Some(&mut a.manifest)
        }
        Command::Down(a) => Some(&mut a.target.which.manifest),
        Command::Outputs(a) => Some(&mut a.target.which.manifest),
        Command::Wait(a) => Some(&mut a.target.which.manifest),
        Command::Logs(a) => Some(&mut a.target.which.manifest),
        Command::List(_)
        | Command::Schema(_)
        | Command::Get(_)
        | Command::State(_)
        | Command::Completion(_)
        | Command::Man(_) => None,
    }
}

fn usage(message: impl Into<String>) -> CliError {
    CliError::new(Exit::Invalid, message)
}

fn is_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

/// Resolves the manifest input of `command` into memory and works out how to reach the
/// cluster (see the module doc).
pub(crate) async fn prepare(
    command: &mut Command,
    args: &PlantonArgs,
) -> Result<Prepared, CliError> {
    let mut prepared = Prepared::default();
    let Some(slot) = manifest_slot(command) else {
        if args.stack_input.is_some() || args.kustomize_dir.is_some() {
            return Err(usage(
                "--stack-input and --kustomize-dir apply to the commands that take a manifest",
            ));
        }
        return Ok(prepared);
    };
    let (name, text) = if let Some(file) = &args.stack_input {
        if slot.is_some() {
            return Err(usage("give either --manifest or --stack-input, not both"));
        }
        let text = std::fs::read_to_string(file)
            .map_err(|e| usage(format!("{file}: cannot read the stack input: {e}")))?;
        let input = stack_input::parse(file, &text).map_err(|problems| {
            CliError::invalid(problems, format!("{file}: the stack input is not valid"))
        })?;
        if let Some(config) = &input.provider {
            prepared.kubeconfig = Some(kubeconfig(config).await?);
        }
        // Positions in an in-place target are positions in the file.
        let name = if input.in_place {
            file.clone()
        } else {
            format!("{file} (target)")
        };
        (name, input.target)
    } else if let Some(dir) = &args.kustomize_dir {
        if slot.is_some() {
            return Err(usage("give either --manifest or --kustomize-dir, not both"));
        }
        let overlay = args.overlay.as_deref().unwrap_or_default();
        let text = kustomize::build(dir, overlay).await.map_err(usage)?;
        (
            format!("{}/overlays/{overlay} (kustomize build)", dir.display()),
            text,
        )
    } else {
        match slot.as_deref() {
            None => return Ok(prepared),
            Some(url) if is_url(url) => {
                let text = http::get_text(url)
                    .await
                    .map_err(|e| usage(format!("cannot fetch the manifest: {e}")))?;
                (url.to_owned(), text)
            }
            Some(path) => match manifest::read(path) {
                Ok((_, text)) => (path.to_owned(), text),
                // Reported by the command itself, with its usual wording.
                Err(_) => return Ok(prepared),
            },
        }
    };
    prepared.context = context_label(&name, &text)?;
    manifest::provide(&name, text);
    *slot = Some(name);
    Ok(prepared)
}

/// The kubeconfig a provider configuration gives (a GKE token is exchanged here).
async fn kubeconfig(
    config: &crate::api::k8s::KubernetesProviderConfig,
) -> Result<String, CliError> {
    match stack_input::reach(config).map_err(usage)? {
        stack_input::Reach::Kubeconfig(text) => Ok(text),
        stack_input::Reach::Gke {
            endpoint,
            ca_data,
            key_base64,
        } => {
            let token = gke::access_token(&key_base64)
                .await
                .map_err(|e| CliError::new(Exit::Unreachable, e))?;
            Ok(gke::kubeconfig(&endpoint, &ca_data, &token))
        }
    }
}

/// The context the documents' [`CONTEXT_LABEL`] names; documents naming different ones are an
/// error. A manifest that does not parse names none (the command reports it).
fn context_label(name: &str, text: &str) -> Result<Option<String>, CliError> {
    let Ok(docs) = manifest::parse(name, text) else {
        return Ok(None);
    };
    let contexts: BTreeSet<String> = docs
        .iter()
        .filter_map(|d| d.value["metadata"]["labels"][CONTEXT_LABEL].as_str())
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    match contexts.len() {
        0 | 1 => Ok(contexts.into_iter().next()),
        _ => Err(usage(format!(
            "{name}: the documents name different contexts in {CONTEXT_LABEL} ({}); deploy them separately or give --kube-context",
            contexts.into_iter().collect::<Vec<_>>().join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, context: Option<&str>) -> String {
        let labels = context.map_or(String::new(), |c| {
            format!("  labels: {{\"{CONTEXT_LABEL}\": {c}}}\n")
        });
        format!(
            "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata:\n  name: {name}\n{labels}spec: {{namespace: {{value: ns}}, image: {{repo: busybox}}}}\n"
        )
    }

    #[test]
    fn the_context_label_is_read_and_must_agree() {
        assert_eq!(context_label("f", &doc("a", None)).unwrap(), None);
        assert_eq!(
            context_label("f", &doc("a", Some("prod")))
                .unwrap()
                .as_deref(),
            Some("prod")
        );
        let two = format!("{}---\n{}", doc("a", Some("prod")), doc("b", Some("prod")));
        assert_eq!(context_label("f", &two).unwrap().as_deref(), Some("prod"));
        let two = format!("{}---\n{}", doc("a", Some("prod")), doc("b", Some("dev")));
        let e = context_label("f", &two).unwrap_err();
        assert!(e.message.contains("dev, prod"), "{}", e.message);
    }
}
