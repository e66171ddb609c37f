//! `kjob load-manifest`: prints the effective manifest of each document: `--set` overrides
//! applied, defaults filled, references resolved (from the same file, then the state store), as
//! YAML (default) or JSON. Like upstream's `load-manifest`, it contacts no cluster. Direct
//! secret values print as their SHA-256 marker unless `--show-secrets`.

use clap::Args;
use serde_json::Value;

use crate::cli::{CliError, Context, Format, plan, show};
use crate::core::secrets;

/// `kjob load-manifest` arguments.
#[derive(Debug, Args)]
pub(crate) struct LoadManifestArgs {
    /// Manifest file or http(s) URL; `-` reads standard input.
    #[arg(long, short = 'f', value_name = "FILE", required_unless_present_any = ["stack_input", "kustomize_dir", "path"], conflicts_with = "path")]
    pub(crate) manifest: Option<String>,
    /// The manifest, as a positional argument (as upstream's load-manifest takes it).
    #[arg(value_name = "PATH")]
    pub(crate) path: Option<String>,
    /// Output format: yaml or json (one document: an object; several: a list).
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Yaml)]
    pub(crate) output: Format,
    /// Print direct secret values instead of their SHA-256 markers.
    #[arg(long)]
    pub(crate) show_secrets: bool,
}

/// Runs `kjob load-manifest`.
pub(crate) fn run(context: &Context, args: &LoadManifestArgs) -> Result<(), CliError> {
    let path = args.manifest.as_deref().unwrap_or("-");
    let planned = plan::prepare(context, path)?;
    let documents: Vec<Value> = planned
        .iter()
        .map(|p| {
            if args.show_secrets {
                p.manifest.clone()
            } else {
                secrets::mark(&p.manifest)
            }
        })
        .collect();
    show::effective_manifests(&documents, args.output)
}
