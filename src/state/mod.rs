//! The embedded state store: what the CLI deployed, one JSON file per resource ([`store`]), and
//! the lock that keeps two runs from writing at once ([`lock`]). What a record holds is pure and
//! lives in [`crate::core::record`]; this module reads and writes it.
//!
//! **Where.** `--state-dir`, else `$KJOB_STATE_DIR`, else `$XDG_STATE_HOME/kjob`, else
//! `~/.local/state/kjob` ([`resolve_dir`]). Directories are created `0700`, files `0600`.
//!
//! **Layout.** `resources/<kind>/<env or _>/<name>.json`, each a [`Record`]: kind, env, name,
//! status (`applying`, `applied`, `failed`, `deleting`), the resolved manifest (JSON, camelCase,
//! defaults applied, references replaced by their values), its outputs, the identities of the
//! Kubernetes objects created (in apply order) and of those about to be (`pending`: written
//! before they are applied, so that no crash can hide one), the Job's last known outcome, the
//! last error, and `created_at`/`updated_at` (RFC 3339, UTC). Objects that existed without our
//! labels and were used as they are (a Namespace) are listed apart, under `foreign`, and never
//! deleted.
//! Characters of env and name outside `[A-Za-z0-9-]` are written `%XX` in paths.
//!
//! **Secrets.** Direct secret values (`spec.env.secrets.*.value`) are never stored: each is
//! replaced by `[redacted sha256:<hex>]`, the SHA-256 of the value, which keeps the key (so the
//! store knows the secret exists) and lets a later run tell whether the value changed without
//! keeping it. The manifest file stays the source of truth for secret values; `down` needs none
//! of them. (A hash of a guessable value can be confirmed by guessing: keep the directory
//! private, as it is created.)
//!
//! **Atomic writes.** Every write goes to a temporary file in the same directory, is fsynced,
//! renamed over the record and the directory is fsynced, so a crash leaves either the old or
//! the new record, never a torn one. The CLI writes after every object it applies or deletes.
//!
//! **Lock.** `<dir>/lock` is `flock`ed for the whole of an `up` or `down` ([`Store::lock`]); the
//! holder writes its pid, host, command name (`up`, `down`: never its arguments, which may carry
//! a secret value given with `--set`) and start time into it. Another run is refused at once,
//! with those details, unless it was given a timeout to wait (the CLI's `--lock-timeout`,
//! default 0: refuse). The kernel releases the lock when the holder exits, however it exits.
//! Readers (`preview`, `outputs`, `list`, `get`, reference lookups) take no lock: renames make
//! every record they read whole.

pub mod lock;
pub mod store;

use std::io;
use std::path::{Path, PathBuf};

pub use crate::core::record::{Record, Status};
pub use lock::{Holder, Lock, host_name};
pub use store::Store;

/// The environment variable naming the state directory.
pub const ENV_VAR: &str = "KJOB_STATE_DIR";

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file or directory could not be read or written.
    #[error("state store: {what}: {source}")]
    Io {
        /// What we tried.
        what: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// A record is not valid JSON of the expected shape.
    #[error("state store: {path} is damaged: {reason} (move it away to forget that resource)")]
    Corrupt {
        /// The file.
        path: String,
        /// The parse error.
        reason: String,
    },
    /// Another run holds the lock.
    #[error("the state store at {dir} is locked by another kjob run: {holder}")]
    Locked {
        /// The store.
        dir: String,
        /// Who holds it.
        holder: String,
    },
    /// No directory could be chosen.
    #[error(
        "no state directory: pass --state-dir or set {ENV_VAR} (neither XDG_STATE_HOME nor HOME is set)"
    )]
    NoDir,
}

/// Wraps an IO error with what was being done.
fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> StateError {
    let what = what.into();
    move |source| StateError::Io { what, source }
}

/// The state directory: `explicit`, else `$KJOB_STATE_DIR`, else `$XDG_STATE_HOME/kjob`, else
/// `~/.local/state/kjob`.
pub fn resolve_dir(explicit: Option<&Path>) -> Result<PathBuf, StateError> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = var(ENV_VAR) {
        return Ok(dir);
    }
    if let Some(dir) = var("XDG_STATE_HOME").filter(|d| d.is_absolute()) {
        return Ok(dir.join("kjob"));
    }
    var("HOME")
        .map(|home| home.join(".local").join("state").join("kjob"))
        .ok_or(StateError::NoDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_resolution() {
        assert_eq!(
            resolve_dir(Some(Path::new("/x"))).unwrap(),
            PathBuf::from("/x")
        );
    }
}
