//! The state store: what the CLI deployed, one record per resource, and the lock that keeps two
//! runs from writing at once, behind one interface ([`Store`]) with two backends chosen by URL
//! ([`open`], [`crate::core::backend`]):
//!
//! - `file://DIR` ([`file::FileStore`], the default): one JSON file per resource and a `flock`
//!   ([`lock`]), described below.
//! - `kubernetes://NAMESPACE[?context=NAME]` ([`kube::KubeStore`]): one Secret per record and a
//!   `coordination.k8s.io/v1` Lease ([`lease`]), for teams and CI fleets.
//!
//! What a record holds is pure and lives in [`crate::core::record`]; this module reads and
//! writes it.
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

pub mod file;
pub mod kube;
pub mod lease;
pub mod lock;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::core::backend::Backend;
use crate::core::record::now;
pub use crate::core::record::{Record, Status};
use crate::core::refs::{ResourceKey, Source};
pub use file::FileStore;
pub use lock::{Holder, Lock, host_name};

/// The held lock of a store, whatever the backend: released when dropped.
pub struct Guard(#[allow(dead_code)] Box<dyn Send>);

impl Guard {
    /// Wraps a backend's lock.
    pub fn new(held: impl Send + 'static) -> Self {
        Guard(Box::new(held))
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Guard")
    }
}

/// A state store: records by key, the lock, the store's id. Readers take no lock; writers
/// ([`Store::save`], [`Store::remove`]) run under [`Store::lock`].
pub trait Store: Source + Send + Sync + std::fmt::Debug {
    /// The backend URL it was opened from.
    fn url(&self) -> String;
    /// Reads a record; `None` when there is none.
    fn get(&self, key: &ResourceKey) -> Result<Option<Record>, StateError>;
    /// Reads many records at once (a backend may read them in fewer calls than one each).
    fn get_many(&self, keys: &[ResourceKey]) -> Result<Vec<Option<Record>>, StateError> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    /// Writes a record as it is (no stamp): what [`Store::save`] and `state migrate` use.
    fn put(&self, record: &Record) -> Result<(), StateError>;
    /// Writes a record, stamping `updated_at`.
    fn save(&self, record: &mut Record) -> Result<(), StateError> {
        record.updated_at = now();
        self.put(record)
    }
    /// Removes a record; removing a missing one is not an error.
    fn remove(&self, key: &ResourceKey) -> Result<(), StateError>;
    /// Every record, sorted by kind, env and name.
    fn list(&self) -> Result<Vec<Record>, StateError>;
    /// Takes the lock for the kjob command named `command` (its name alone), waiting up to
    /// `timeout` (zero: refuse at once, naming the holder).
    fn lock(&self, command: &'static str, timeout: Duration) -> Result<Guard, StateError>;
    /// Who holds the lock now, if anyone (as it reads in messages).
    fn holder(&self) -> Result<Option<String>, StateError>;
    /// Releases the lock whoever holds it (`state unlock`); returns who held it.
    fn force_unlock(&self) -> Result<Option<String>, StateError>;
    /// The store's stable id (32 hex digits), created on first use when `create`.
    fn id(&self, create: bool) -> Result<Option<String>, StateError>;
    /// Gives the store `id` when it has none (`state migrate`); an error when it has another.
    fn adopt_id(&self, id: &str) -> Result<(), StateError>;
    /// Where `state migrate` moved this store to, if it did: runs that open it use that one.
    fn moved_to(&self) -> Result<Option<String>, StateError>;
    /// Records (or, with `None`, forgets) where this store moved to.
    fn set_moved_to(&self, url: Option<&str>) -> Result<(), StateError>;
}

/// Opens `backend` and follows where `state migrate` moved it to (at most 4 moves); returns the
/// store and the URLs it moved from.
pub fn open_following(
    backend: &Backend,
    cluster: crate::cluster::ClusterConfig,
) -> Result<(Box<dyn Store>, Vec<String>), StateError> {
    let mut store = open(backend, cluster.clone())?;
    let mut moved = Vec::new();
    while let Some(url) = store.moved_to()? {
        moved.push(store.url());
        if moved.len() > 4 {
            return Err(StateError::Backend(format!(
                "the state store moved too often: {} (fix with `kjob state migrate`)",
                moved.join(" -> ")
            )));
        }
        let next = crate::core::backend::parse(&url).map_err(StateError::Backend)?;
        store = open(&next, cluster.clone())?;
    }
    Ok((store, moved))
}

/// Opens the store a backend names (nothing is contacted yet). `cluster` holds the settings of
/// the command line or provider; a `?context=` of the URL wins over its context.
pub fn open(
    backend: &Backend,
    cluster: crate::cluster::ClusterConfig,
) -> Result<Box<dyn Store>, StateError> {
    Ok(match backend {
        Backend::File(dir) => Box::new(FileStore::new(dir.clone())),
        Backend::Kubernetes { namespace, context } => Box::new(kube::KubeStore::new(
            namespace,
            crate::cluster::ClusterConfig {
                context: context.clone().or(cluster.context.clone()),
                ..cluster
            },
        )?),
    })
}

/// The backend: `explicit` (`--backend`), else `$KJOB_BACKEND`, else the state directory
/// ([`resolve_dir`] of `state_dir`) as `file://`.
pub fn resolve_backend(
    explicit: Option<&str>,
    state_dir: Option<&Path>,
) -> Result<Backend, StateError> {
    let from_env = std::env::var(crate::core::backend::ENV_VAR)
        .ok()
        .filter(|v| !v.is_empty());
    match explicit.map(str::to_owned).or(from_env) {
        Some(url) => crate::core::backend::parse(&url).map_err(StateError::Backend),
        None => Ok(Backend::File(resolve_dir(state_dir)?)),
    }
}

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
    /// A backend URL or setting is not valid.
    #[error("{0}")]
    Backend(String),
    /// The Kubernetes API refused or failed a call of the kubernetes backend.
    #[error("state backend {url}: {message}")]
    Api {
        /// The backend.
        url: String,
        /// What failed, with the verb and resource when a permission is missing.
        message: String,
    },
    /// The run's Lease was lost (taken over, or not renewed in time): it writes no more.
    #[error(
        "state backend {url}: this run lost its lock (Lease {lease}): {why}; it stopped writing state, run it again"
    )]
    LeaseLost {
        /// The backend.
        url: String,
        /// The Lease's name.
        lease: String,
        /// What happened.
        why: String,
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
