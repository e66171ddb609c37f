//! The embedded state store: what the CLI deployed, one JSON file per resource, and the lock
//! that keeps two runs from writing at once.
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
//! holder writes its pid, host, command line and start time into it. Another run is refused at
//! once, with those details, unless it was given a timeout to wait (the CLI's `--lock-timeout`,
//! default 0: refuse). The kernel releases the lock when the holder exits, however it exits.
//! Readers (`preview`, `outputs`, `list`, `get`, reference lookups) take no lock: renames make
//! every record they read whole.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::core::objects::API_VERSION;
use crate::core::objects::ObjectRef;
use crate::core::refs::{ResourceKey, Source};

/// The environment variable naming the state directory.
pub const ENV_VAR: &str = "KJOB_STATE_DIR";
/// The record format's version.
pub const FORMAT: u32 = 1;

/// What a resource's deployment is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// An `up` is (or was, when it crashed) applying objects.
    Applying,
    /// The last `up` finished.
    Applied,
    /// The last `up` failed part-way; `objects` lists what exists.
    Failed,
    /// A `down` is (or was) deleting objects.
    Deleting,
}

impl Status {
    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applying => "applying",
            Status::Applied => "applied",
            Status::Failed => "failed",
            Status::Deleting => "deleting",
        }
    }
}

/// One resource's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// Kind name, e.g. `KubernetesJob`.
    pub kind: String,
    /// `metadata.env` (possibly empty).
    pub env: String,
    /// `metadata.name`.
    pub name: String,
    /// Where the deployment stands.
    pub status: Status,
    /// The resolved manifest, secret values redacted ([`redact`]).
    pub manifest: Value,
    /// `status.outputs` (JSON names).
    pub outputs: Value,
    /// The Kubernetes objects this resource owns, in apply order.
    pub objects: Vec<ObjectRef>,
    /// Objects an `up` is about to apply and has not confirmed yet: a crash between the API
    /// server accepting one and the record saying so leaves it here, so `down` still finds it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<ObjectRef>,
    /// Objects that already existed without our ownership labels and were used as they are
    /// (a Namespace); never deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ObjectRef>,
    /// The Job's last known outcome (`Complete`, `Failed`, `Running`, `Suspended`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_status: Option<crate::core::outcome::JobStatus>,
    /// Why the last run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the resource was first recorded (RFC 3339).
    pub created_at: String,
    /// When the record last changed (RFC 3339).
    pub updated_at: String,
}

impl Record {
    /// A new record for `key`, status `applying`, nothing created yet.
    pub fn new(key: &ResourceKey) -> Self {
        let now = now();
        Record {
            format: FORMAT,
            kind: key.kind.clone(),
            env: key.env.clone(),
            name: key.name.clone(),
            status: Status::Applying,
            manifest: Value::Null,
            outputs: json!({}),
            objects: Vec::new(),
            pending: Vec::new(),
            foreign: Vec::new(),
            job_status: None,
            error: None,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    /// The resource's key.
    pub fn key(&self) -> ResourceKey {
        ResourceKey {
            kind: self.kind.clone(),
            env: self.env.clone(),
            name: self.name.clone(),
        }
    }

    /// The document references resolve against: `{apiVersion, kind, metadata, spec, status:
    /// {outputs}}`.
    /// Secret values are not stored, so a reference to one fails instead of resolving to its
    /// redaction marker.
    pub fn document(&self) -> Value {
        let mut spec = self
            .manifest
            .get("spec")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Some(secrets) = spec
            .pointer_mut("/env/secrets")
            .and_then(Value::as_object_mut)
        {
            for entry in secrets.values_mut().filter_map(Value::as_object_mut) {
                if entry
                    .get("value")
                    .and_then(Value::as_str)
                    .is_some_and(crate::core::secrets::is_marker)
                {
                    entry.remove("value");
                    entry.insert(
                        "valueNotStored".into(),
                        "the state store keeps no secret values".into(),
                    );
                }
            }
        }
        json!({
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "metadata": self.manifest.get("metadata").cloned().unwrap_or_else(|| json!({"name": self.name})),
            "spec": spec,
            "status": {"outputs": self.outputs},
        })
    }

    /// Adds an object (once), keeping apply order; it is no longer pending.
    pub fn add_object(&mut self, object: &ObjectRef) {
        self.pending.retain(|o| o != object);
        if !self.objects.contains(object) {
            self.objects.push(object.clone());
        }
    }

    /// Removes an object (applied or pending).
    pub fn remove_object(&mut self, object: &ObjectRef) {
        self.objects.retain(|o| o != object);
        self.pending.retain(|o| o != object);
    }

    /// Every object that may exist: applied and pending, in apply order (kind order: Namespace,
    /// ConfigMap, Secret, ServiceAccount, Job), so that deleting in reverse removes a Job
    /// before its namespace.
    pub fn all_objects(&self) -> Vec<ObjectRef> {
        let mut all = self.objects.clone();
        all.extend(
            self.pending
                .iter()
                .filter(|o| !self.objects.contains(o))
                .cloned(),
        );
        all.sort_by_key(|o| o.kind);
        all
    }
}

/// The current time, RFC 3339 in UTC with milliseconds.
pub fn now() -> String {
    let ts = jiff::Timestamp::now();
    jiff::Timestamp::from_millisecond(ts.as_millisecond())
        .unwrap_or(ts)
        .to_string()
}

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

/// `[A-Za-z0-9-]` as is, everything else `%XX`.
fn path_part(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The state store in one directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Who holds the lock, as written into the lock file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// Command line.
    pub command: String,
    /// When it took the lock (RFC 3339).
    pub started_at: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {}, running `{}` since {}",
            self.pid, self.host, self.command, self.started_at
        )
    }
}

/// The host's name, for lock holder details.
pub fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// The held lock; released when dropped (or when the process exits).
#[derive(Debug)]
pub struct Lock {
    file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Store {
    /// The store in `dir` (nothing is touched until it is used).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether its directory exists.
    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    /// The file of a resource's record.
    pub fn record_path(&self, key: &ResourceKey) -> PathBuf {
        let env = if key.env.is_empty() {
            "_".to_owned()
        } else {
            path_part(&key.env)
        };
        self.dir
            .join("resources")
            .join(path_part(&key.kind))
            .join(env)
            .join(format!("{}.json", path_part(&key.name)))
    }

    /// Creates `dir` and its missing parents (mode 0700), fsyncing each parent that got a new
    /// entry.
    fn make_dirs(&self, dir: &Path) -> Result<(), StateError> {
        let mut missing = Vec::new();
        let mut here = dir;
        while !here.is_dir() {
            missing.push(here.to_path_buf());
            match here.parent() {
                Some(p) => here = p,
                None => break,
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error(format!("creating {}", dir.display())))?;
        for created in missing.iter().rev() {
            if let Some(parent) = created.parent() {
                sync_dir(parent).map_err(io_error(format!("syncing {}", parent.display())))?;
            }
        }
        Ok(())
    }

    /// Writes `bytes` to `path` atomically: temporary file in the same directory, write, fsync,
    /// rename, fsync the directory.
    pub fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), StateError> {
        let dir = path.parent().expect("record paths have a parent");
        self.make_dirs(dir)?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("record");
        let temp = dir.join(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&temp, path)?;
            sync_dir(dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map_err(io_error(format!("writing {}", path.display())))
    }

    /// Reads a record; `None` when there is none.
    pub fn get(&self, key: &ResourceKey) -> Result<Option<Record>, StateError> {
        let path = self.record_path(key);
        match fs::read(&path) {
            Ok(bytes) => Self::parse(&path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(format!("reading {}", path.display()))(e)),
        }
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<Record, StateError> {
        serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// Writes a record (atomically), stamping `updated_at`.
    pub fn save(&self, record: &mut Record) -> Result<(), StateError> {
        record.updated_at = now();
        let mut bytes = serde_json::to_vec_pretty(record).expect("records serialize");
        bytes.push(b'\n');
        self.write_atomic(&self.record_path(&record.key()), &bytes)
    }

    /// Removes a record (and fsyncs its directory). Removing a missing record is not an error.
    pub fn remove(&self, key: &ResourceKey) -> Result<(), StateError> {
        let path = self.record_path(key);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(format!("removing {}", path.display()))(e)),
        }
        let dir = path.parent().expect("record paths have a parent");
        sync_dir(dir).map_err(io_error(format!("syncing {}", dir.display())))
    }

    /// Every record, sorted by kind, env and name.
    pub fn list(&self) -> Result<Vec<Record>, StateError> {
        let mut out = Vec::new();
        let root = self.dir.join("resources");
        let read_dir = |dir: &Path| -> Result<Vec<PathBuf>, StateError> {
            match fs::read_dir(dir) {
                Ok(entries) => {
                    let mut paths = Vec::new();
                    for entry in entries {
                        let entry =
                            entry.map_err(io_error(format!("listing {}", dir.display())))?;
                        paths.push(entry.path());
                    }
                    Ok(paths)
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(io_error(format!("listing {}", dir.display()))(e)),
            }
        };
        for kind_dir in read_dir(&root)?.into_iter().filter(|p| p.is_dir()) {
            for env_dir in read_dir(&kind_dir)?.into_iter().filter(|p| p.is_dir()) {
                for file in read_dir(&env_dir)? {
                    let name = file
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default();
                    if name.starts_with('.') || !name.ends_with(".json") {
                        continue;
                    }
                    let bytes =
                        fs::read(&file).map_err(io_error(format!("reading {}", file.display())))?;
                    out.push(Self::parse(&file, &bytes)?);
                }
            }
        }
        out.sort_by(|a, b| (&a.kind, &a.env, &a.name).cmp(&(&b.kind, &b.env, &b.name)));
        Ok(out)
    }

    /// The lock file's path.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// Who holds the lock now, as far as the lock file says.
    pub fn holder(&self) -> String {
        let mut text = String::new();
        let _ = File::open(self.lock_path()).and_then(|mut f| f.read_to_string(&mut text));
        match serde_json::from_str::<Holder>(&text) {
            Ok(h) => h.to_string(),
            Err(_) => "another kjob process (it has not written its details yet)".into(),
        }
    }

    /// Takes the store's lock for `command`, waiting up to `timeout` (zero: refuse at once).
    pub fn lock(&self, command: &str, timeout: Duration) -> Result<Lock, StateError> {
        self.make_dirs(&self.dir)?;
        let path = self.lock_path();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_error(format!("opening {}", path.display())))?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(StateError::Locked {
                            dir: self.dir.display().to_string(),
                            holder: self.holder(),
                        });
                    }
                    std::thread::sleep(
                        Duration::from_millis(100)
                            .min(deadline.saturating_duration_since(Instant::now())),
                    );
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(io_error(format!("locking {}", path.display()))(e));
                }
            }
        }
        let holder = Holder {
            pid: std::process::id(),
            host: host_name(),
            command: command.to_owned(),
            started_at: now(),
        };
        let text = serde_json::to_string(&holder).expect("holders serialize");
        let written = (|| {
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })();
        written.map_err(io_error(format!("writing {}", path.display())))?;
        Ok(Lock { file })
    }
}

impl Source for Store {
    fn find(&self, key: &ResourceKey) -> Option<Value> {
        match self.get(key) {
            Ok(record) => record.map(|r| r.document()),
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
        }
    }

    fn describe(&self) -> String {
        format!("the state store at {}", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::objects::ObjectKind;

    fn key(name: &str) -> ResourceKey {
        ResourceKey {
            kind: "KubernetesJob".into(),
            env: String::new(),
            name: name.into(),
        }
    }

    #[test]
    fn records_round_trip_atomically() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::new(temp.path().join("state"));
        assert!(store.get(&key("a")).unwrap().is_none());
        let mut record = Record::new(&key("a"));
        record.manifest =
            json!({"metadata": {"name": "a"}, "spec": {"namespace": {"value": "ns"}}});
        record.outputs = json!({"namespace": "ns", "jobName": "a"});
        record.add_object(&ObjectRef {
            kind: ObjectKind::Job,
            namespace: Some("ns".into()),
            name: "a".into(),
        });
        record.add_object(&ObjectRef {
            kind: ObjectKind::Job,
            namespace: Some("ns".into()),
            name: "a".into(),
        });
        store.save(&mut record).unwrap();
        let path = store.record_path(&key("a"));
        assert!(
            path.ends_with("resources/KubernetesJob/_/a.json"),
            "{}",
            path.display()
        );
        let back = store.get(&key("a")).unwrap().unwrap();
        assert_eq!(back, record);
        assert_eq!(back.objects.len(), 1);
        // No temporary files are left behind.
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, [std::ffi::OsString::from("a.json")]);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        // The document references resolve against.
        let doc = store.find(&key("a")).unwrap();
        assert_eq!(
            crate::core::refs::walk(&doc, "status.outputs.job_name").unwrap(),
            "a"
        );
        assert_eq!(
            crate::core::refs::walk(&doc, "spec.namespace").unwrap(),
            "ns"
        );
        assert!(store.describe().starts_with("the state store at "));
        assert_eq!(store.list().unwrap().len(), 1);
        store.remove(&key("a")).unwrap();
        store.remove(&key("a")).unwrap();
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn pending_objects_count_until_applied() {
        let ns = ObjectRef {
            kind: ObjectKind::Namespace,
            namespace: None,
            name: "n".into(),
        };
        let cm = ObjectRef {
            kind: ObjectKind::ConfigMap,
            namespace: Some("n".into()),
            name: "c".into(),
        };
        let job = ObjectRef {
            kind: ObjectKind::Job,
            namespace: Some("n".into()),
            name: "j".into(),
        };
        let mut record = Record::new(&key("a"));
        record.objects = vec![job.clone()];
        record.pending = vec![ns.clone(), cm.clone()];
        assert_eq!(
            record.all_objects(),
            [ns.clone(), cm.clone(), job.clone()],
            "apply order"
        );
        record.add_object(&ns);
        assert_eq!((record.objects.len(), record.pending.len()), (2, 1));
        record.remove_object(&cm);
        assert_eq!(record.all_objects(), [ns, job]);
    }

    #[test]
    fn damaged_records_are_reported() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::new(temp.path());
        let path = store.record_path(&key("a"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "{ not json").unwrap();
        let err = store.get(&key("a")).unwrap_err().to_string();
        assert!(err.contains("is damaged"), "{err}");
    }

    #[test]
    fn env_and_names_are_safe_in_paths() {
        let store = Store::new("/s");
        let k = ResourceKey {
            kind: "KubernetesJob".into(),
            env: "../x y".into(),
            name: "a".into(),
        };
        assert_eq!(
            store.record_path(&k),
            PathBuf::from("/s/resources/KubernetesJob/%2E%2E%2Fx%20y/a.json")
        );
        let k = ResourceKey {
            kind: "KubernetesJob".into(),
            env: "_".into(),
            name: "a".into(),
        };
        assert_ne!(store.record_path(&k), store.record_path(&key("a")));
    }

    #[test]
    fn the_lock_refuses_a_second_holder_and_names_the_first() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::new(temp.path());
        let held = store
            .lock("kjob up --manifest a.yaml", Duration::ZERO)
            .unwrap();
        let started = Instant::now();
        let err = store.lock("kjob down", Duration::ZERO).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        let text = err.to_string();
        assert!(matches!(err, StateError::Locked { .. }));
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(
            text.contains("running `kjob up --manifest a.yaml` since "),
            "{text}"
        );
        // Waiting: the second gets the lock once the first lets go.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let second = store.lock("kjob down", Duration::from_secs(10)).unwrap();
        releaser.join().unwrap();
        assert!(store.holder().contains("`kjob down`"));
        drop(second);
        assert!(store.lock("again", Duration::ZERO).is_ok());
    }

    #[test]
    fn directory_resolution() {
        assert_eq!(
            resolve_dir(Some(Path::new("/x"))).unwrap(),
            PathBuf::from("/x")
        );
    }
}
