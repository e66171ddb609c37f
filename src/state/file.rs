//! The `file://` backend ([`FileStore`]): one JSON file per resource, read whole and written atomically (see the
//! [module doc](super) for the layout and the guarantees).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use std::time::Duration;

use super::{Guard, StateError, Store, io_error};
use crate::core::record::{Record, now};
use crate::core::refs::{ResourceKey, Source};
use crate::os::sync_dir;

/// The state store in one directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
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

/// The directory holding `path`: its parent, or the working directory (`.`) for a bare
/// relative name such as `--state-dir st` (whose parent is the empty path).
fn parent_of(path: &Path) -> Option<&Path> {
    path.parent().map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    })
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// 128 fresh random bits as hex (the standard library's randomly keyed hasher, over the time,
/// the process and a counter).
pub(super) fn fresh_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let half = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(salt);
        hasher.write_u32(std::process::id());
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        hasher.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

impl FileStore {
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

    /// The store's stable id (the file `id`: 32 hex digits), part of the owner identity of what
    /// the CLI deploys from it. Created on first use when `create`; `None` when there is none yet
    /// and `create` is false. Two runs creating it at once agree on one (the first link wins).
    pub fn id(&self, create: bool) -> Result<Option<String>, StateError> {
        let path = self.dir.join("id");
        let read = |path: &Path| -> Result<Option<String>, StateError> {
            match fs::read_to_string(path) {
                Ok(text) => {
                    let id = text.trim();
                    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                        Ok(Some(id.to_owned()))
                    } else {
                        Err(StateError::Corrupt {
                            path: path.display().to_string(),
                            reason: "not a state store id (32 hex digits)".into(),
                        })
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error(format!("reading {}", path.display()))(e)),
            }
        };
        if let Some(id) = read(&path)? {
            return Ok(Some(id));
        }
        if !create {
            return Ok(None);
        }
        let temp = self.dir.join(format!(".id.{}.tmp", std::process::id()));
        self.write_atomic(&temp, format!("{}\n", fresh_id()).as_bytes())?;
        let linked = fs::hard_link(&temp, &path);
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                let syncing = format!("syncing {}", self.dir.display());
                sync_dir(&self.dir).map_err(io_error(syncing))?;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(format!("creating {}", path.display()))(e)),
        }
        read(&path)
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
    pub(super) fn make_dirs(&self, dir: &Path) -> Result<(), StateError> {
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
        crate::os::owner_only_dir(fs::DirBuilder::new().recursive(true))
            .create(dir)
            .map_err(io_error(format!("creating {}", dir.display())))?;
        for created in missing.iter().rev() {
            if let Some(parent) = parent_of(created) {
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
            let mut file =
                crate::os::owner_only_file(OpenOptions::new().write(true).create_new(true))
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
        self.put(record)
    }

    /// Writes a record as it is (atomically).
    pub fn put(&self, record: &Record) -> Result<(), StateError> {
        let bytes = crate::core::backend::record_bytes(record);
        self.write_atomic(&self.record_path(&record.key()), &bytes)
    }

    /// Gives the store `id` when it has none; an error when it has another.
    pub fn adopt_id(&self, id: &str) -> Result<(), StateError> {
        match self.id(false)? {
            Some(own) if own == id => Ok(()),
            Some(own) => Err(StateError::Backend(format!(
                "{} already has the id {own}, not {id}: its objects belong to another store",
                self.describe()
            ))),
            None => {
                self.make_dirs(&self.dir)?;
                self.write_atomic(&self.dir.join("id"), format!("{id}\n").as_bytes())
            }
        }
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
}

impl Source for FileStore {
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

impl Store for FileStore {
    fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }
    fn get(&self, key: &ResourceKey) -> Result<Option<Record>, StateError> {
        FileStore::get(self, key)
    }
    fn put(&self, record: &Record) -> Result<(), StateError> {
        FileStore::put(self, record)
    }
    fn remove(&self, key: &ResourceKey) -> Result<(), StateError> {
        FileStore::remove(self, key)
    }
    fn list(&self) -> Result<Vec<Record>, StateError> {
        FileStore::list(self)
    }
    fn lock(&self, command: &'static str, timeout: Duration) -> Result<Guard, StateError> {
        FileStore::lock(self, command, timeout).map(Guard::new)
    }
    fn holder(&self) -> Result<Option<String>, StateError> {
        if !self.lock_path().exists() {
            return Ok(None);
        }
        Ok(match FileStore::lock(self, "", Duration::ZERO) {
            Ok(_free) => None,
            Err(StateError::Locked { holder, .. }) => Some(holder),
            Err(e) => return Err(e),
        })
    }
    fn force_unlock(&self) -> Result<Option<String>, StateError> {
        match Store::holder(self)? {
            None => Ok(None),
            Some(holder) => Err(StateError::Backend(format!(
                "{} is locked by {holder}: a file lock ends only with its holder's process (stop that process)",
                self.describe()
            ))),
        }
    }
    fn id(&self, create: bool) -> Result<Option<String>, StateError> {
        FileStore::id(self, create)
    }
    fn adopt_id(&self, id: &str) -> Result<(), StateError> {
        FileStore::adopt_id(self, id)
    }
    fn moved_to(&self) -> Result<Option<String>, StateError> {
        let path = self.dir.join("moved-to");
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(format!("reading {}", path.display()))(e)),
        }
    }
    fn set_moved_to(&self, url: Option<&str>) -> Result<(), StateError> {
        let path = self.dir.join("moved-to");
        match url {
            Some(url) => self.write_atomic(&path, format!("{url}\n").as_bytes()),
            None => match fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_error(format!("removing {}", path.display()))(e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::objects::{ObjectKind, ObjectRef};
    use serde_json::json;

    fn key(name: &str) -> ResourceKey {
        ResourceKey::job(name)
    }

    #[test]
    fn records_round_trip_atomically() {
        let temp = tempfile::tempdir().unwrap();
        let store = FileStore::new(temp.path().join("state"));
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
        // Private to the owner (where the system has Unix modes).
        if let Some(mode) = crate::os::mode(&path) {
            assert_eq!(mode, 0o600);
            assert_eq!(crate::os::mode(store.dir()), Some(0o700));
        }
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
    fn a_bare_relative_name_lives_in_the_working_directory() {
        assert_eq!(parent_of(Path::new("st")), Some(Path::new(".")));
        assert_eq!(parent_of(Path::new("st/lock")), Some(Path::new("st")));
        assert_eq!(parent_of(Path::new("/s")), Some(Path::new("/")));
        assert_eq!(parent_of(Path::new("/")), None);
    }

    #[test]
    fn damaged_records_are_reported() {
        let temp = tempfile::tempdir().unwrap();
        let store = FileStore::new(temp.path());
        let path = store.record_path(&key("a"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "{ not json").unwrap();
        let err = store.get(&key("a")).unwrap_err().to_string();
        assert!(err.contains("is damaged"), "{err}");
    }

    #[test]
    fn env_and_names_are_safe_in_paths() {
        let store = FileStore::new("/s");
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
}
