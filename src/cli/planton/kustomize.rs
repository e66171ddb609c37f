//! `--kustomize-dir DIR --overlay NAME`: the manifest is what `kustomize build DIR/overlays/NAME`
//! prints, as upstream builds it. The kustomize binary: `$KJOB_KUSTOMIZE`, else the one
//! `scripts/kustomize-build` cached under `${KJOB_CACHE:-~/.cache/kjob}/bin/kustomize<VERSION>/`
//! (the newest), else `kustomize` on `PATH`; with none, the error says how to get one.

use std::path::{Path, PathBuf};
use std::time::Duration;

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
        let last: Vec<&str> = stderr.lines().rev().take(10).collect();
        return Err(format!(
            "{} build {} failed ({}): {}",
            binary.display(),
            path.display(),
            output.status,
            last.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| "kustomize printed non-UTF-8 output".into())
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
}
