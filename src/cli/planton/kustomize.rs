//! `--kustomize-dir DIR --overlay NAME`: the manifest is what `kustomize build DIR/overlays/NAME`
//! prints, as upstream builds it. The kustomize binary: `$KJOB_KUSTOMIZE`, else the one
//! `scripts/kustomize-build` cached under `${KJOB_CACHE:-~/.cache/kjob}/bin/kustomize<VERSION>/`
//! (the newest), else `kustomize` on `PATH`; with none, the error says how to get one.
//!
//! When the build fails, kustomize's last lines of stderr go into the error, redacted first of
//! every secret value the kustomization tree holds ([`tree_secrets`]): kustomize can echo
//! manifest content (a Secret's data, a job's `spec.env.secrets`) in its messages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::core::secrets;

/// How long one build may take.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Where `scripts/kustomize-build` caches its builds.
fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("KJOB_CACHE") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/kjob")),
    }
}

/// The kustomize binary to run (see the module doc).
pub fn find() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("KJOB_KUSTOMIZE").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "KJOB_KUSTOMIZE names {}, which does not exist",
                path.display()
            ))
        };
    }
    if let Some(bin) = cache_dir().map(|c| c.join("bin"))
        && let Ok(entries) = std::fs::read_dir(&bin)
    {
        let mut built: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("kustomize"))
            .map(|e| e.path().join("kustomize"))
            .filter(|p| p.is_file())
            .collect();
        built.sort();
        if let Some(newest) = built.pop() {
            return Ok(newest);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("kustomize");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err("--kustomize-dir needs a kustomize binary and there is none: build one with scripts/kustomize-build (from the Go module proxy, cached under ~/.cache/kjob), put kustomize on PATH, or set KJOB_KUSTOMIZE".into())
}

/// The overlay's directory, `DIR/overlays/NAME`, checked.
pub fn overlay_dir(dir: &Path, overlay: &str) -> Result<PathBuf, String> {
    if overlay.is_empty() || overlay.contains('/') || overlay == ".." {
        return Err(format!("--overlay {overlay:?}: give an overlay's name"));
    }
    let path = dir.join("overlays").join(overlay);
    if path.is_dir() {
        Ok(path)
    } else {
        Err(format!(
            "--kustomize-dir {} --overlay {overlay}: {} is not a directory",
            dir.display(),
            path.display()
        ))
    }
}

/// Runs `kustomize build` for the overlay; returns the manifest text.
pub async fn build(dir: &Path, overlay: &str) -> Result<String, String> {
    let path = overlay_dir(dir, overlay)?;
    let binary = find()?;
    let run = tokio::process::Command::new(&binary)
        .arg("build")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(DEADLINE, run)
        .await
        .map_err(|_| {
            format!(
                "{} build {}: no result within {} s",
                binary.display(),
                path.display(),
                DEADLINE.as_secs()
            )
        })?
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "{} build {} failed ({}): {}",
            binary.display(),
            path.display(),
            output.status,
            failure_detail(&stderr, &tree_secrets(dir))
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| "kustomize printed non-UTF-8 output".into())
}

/// What of kustomize's stderr goes into kjob's error: its last [`STDERR_LINES`] lines, redacted
/// of `secrets` (in every encoding [`secrets::redact`] knows) before they are cut.
pub fn failure_detail(stderr: &str, secrets: &[String]) -> String {
    let redacted = secrets::redact(stderr, secrets);
    let mut last: Vec<&str> = redacted.lines().rev().take(STDERR_LINES).collect();
    last.reverse();
    last.join("\n")
}

/// How many of kustomize's last stderr lines an error keeps.
pub const STDERR_LINES: usize = 10;

/// Files larger than this are not read for secrets (a kustomization's inputs are small).
const MAX_FILE: u64 = 4 << 20;

/// How deep under the kustomization's directory files are read for secrets.
const MAX_DEPTH: usize = 12;

/// The secret values held in the YAML and JSON files under `dir` (hidden directories skipped):
/// each document's secret properties ([`secrets::secret_values`]), a `Secret`'s `data` (as
/// written and decoded) and `stringData`, a `secretGenerator`'s literals, env files and files,
/// and the values a JSON 6902 patch writes under `secrets`, `data` or `stringData` (inline
/// patches included). Unreadable or malformed files are skipped: kustomize reports them.
pub fn tree_secrets(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0usize)];
    while let Some((here, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&here) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if meta.is_dir() {
                if !hidden && depth < MAX_DEPTH {
                    pending.push((path, depth + 1));
                }
                continue;
            }
            let yaml = path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json");
            if !yaml || meta.len() > MAX_FILE {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&path) {
                collect_text(&text, &here, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The secrets of a YAML text's documents; `base` resolves a generator's file names.
fn collect_text(text: &str, base: &Path, out: &mut Vec<String>) {
    let Ok(documents) = serde_saphyr::from_multiple::<Value>(text) else {
        return;
    };
    for document in &documents {
        collect_document(document, base, out);
    }
}

fn collect_document(document: &Value, base: &Path, out: &mut Vec<String>) {
    match document {
        Value::Array(operations) => {
            for op in operations {
                let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
                if ["secrets", "data", "stringData"]
                    .iter()
                    .any(|word| path.split('/').any(|s| s == *word))
                {
                    strings(op.get("value").unwrap_or(&Value::Null), out);
                }
            }
        }
        Value::Object(map) => {
            out.extend(secrets::secret_values(document));
            if map.get("kind").and_then(Value::as_str) == Some("Secret") {
                if let Some(data) = map.get("data") {
                    strings(data, out);
                    let mut encoded = Vec::new();
                    strings(data, &mut encoded);
                    out.extend(encoded.iter().filter_map(|e| secrets::decode_base64(e)));
                }
                strings(map.get("stringData").unwrap_or(&Value::Null), out);
            }
            for generator in list(map.get("secretGenerator")) {
                for literal in list(generator.get("literals")).filter_map(Value::as_str) {
                    out.push(
                        literal
                            .split_once('=')
                            .map_or(literal, |(_, v)| v)
                            .to_owned(),
                    );
                }
                let envs = list(generator.get("envs")).chain(generator.get("env"));
                for file in envs.filter_map(Value::as_str) {
                    let text = std::fs::read_to_string(base.join(file)).unwrap_or_default();
                    out.extend(
                        text.lines()
                            .filter_map(|l| l.split_once('='))
                            .map(|(_, v)| v.trim().to_owned()),
                    );
                }
                for file in list(generator.get("files")).filter_map(Value::as_str) {
                    let file = file.split_once('=').map_or(file, |(_, f)| f);
                    if let Ok(text) = std::fs::read_to_string(base.join(file)) {
                        out.push(text.trim().to_owned());
                        out.push(text);
                    }
                }
            }
            for patch in list(map.get("patches")).chain(list(map.get("patchesJson6902"))) {
                if let Some(text) = patch.get("patch").and_then(Value::as_str) {
                    collect_text(text, base, out);
                }
            }
        }
        _ => {}
    }
}

/// The items of a YAML sequence (none when absent or not a sequence).
fn list(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

/// Every string (and scalar) under `value`.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_must_be_a_directory_under_overlays() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("overlays/dev")).unwrap();
        assert!(overlay_dir(dir.path(), "dev").is_ok());
        let e = overlay_dir(dir.path(), "prod").unwrap_err();
        assert!(e.contains("overlays/prod is not a directory"), "{e}");
        assert!(overlay_dir(dir.path(), "../x").is_err());
    }

    #[test]
    fn kustomize_stderr_is_redacted_of_the_trees_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "base/job.yaml",
            "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata: {name: a}\nspec:\n  env:\n    secrets:\n      DB: {value: job-secret-value}\n",
        );
        // c2VjcmV0LWRhdGEtdmFsdWU= is base64("secret-data-value").
        write(
            "base/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: c2VjcmV0LWRhdGEtdmFsdWU=}\nstringData: {p: string-data-value}\n",
        );
        write("overlays/dev/.env", "TOKEN=env-file-value\n");
        write(
            "overlays/dev/kustomization.yaml",
            "resources: [../../base]\nsecretGenerator:\n- name: g\n  literals: [PASS=literal-value]\n  envs: [.env]\npatches:\n- target: {kind: Secret}\n  patch: |-\n    - op: replace\n      path: /stringData/p\n      value: patched-value\n",
        );
        let secrets = tree_secrets(dir.path());
        let stderr = "Error: accumulating resources: accumulation err='accumulating resources from '../../base': \
            base/job.yaml: resource is missing metadata.namespace': spec:\n  env:\n    secrets:\n      DB: {value: job-secret-value}\n\
            data: {k: c2VjcmV0LWRhdGEtdmFsdWU=} (secret-data-value) stringData: {p: string-data-value}\n\
            literal PASS=literal-value, env TOKEN=env-file-value, patch value patched-value\n";
        let detail = failure_detail(stderr, &secrets);
        for secret in [
            "job-secret-value",
            "c2VjcmV0LWRhdGEtdmFsdWU",
            "secret-data-value",
            "string-data-value",
            "literal-value",
            "env-file-value",
            "patched-value",
        ] {
            assert!(!detail.contains(secret), "{secret} leaked: {detail}");
        }
        assert!(
            detail.contains("base/job.yaml: resource is missing metadata.namespace"),
            "{detail}"
        );
        assert!(detail.contains(secrets::REDACTED), "{detail}");
    }

    #[test]
    fn the_error_keeps_the_last_lines() {
        let stderr: String = (0..15).map(|i| format!("line {i}\n")).collect();
        let detail = failure_detail(&stderr, &[]);
        assert!(
            detail.starts_with("line 5\n") && detail.ends_with("line 14"),
            "{detail}"
        );
    }
}
