//! The store's lock: `<dir>/lock`, `flock`ed for the whole of an `up` or `down`, holding who
//! holds it: pid, host, the command's name and the start time. Nothing else: a command line can
//! carry a secret value (`--set spec.env.secrets.X.value=...`), so it is never written, and a
//! lock file that holds more (an older kjob wrote the whole command line) shows no more than
//! the command's name either.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{FileStore, StateError, io_error};
use crate::core::record::now;

/// Who holds the lock, as written into the lock file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// The kjob command's name (`up`, `down`), never its arguments; empty when unknown.
    pub command: String,
    /// When it took the lock (RFC 3339).
    pub started_at: String,
}

impl Holder {
    /// This process, about to run kjob's `command` (only its name is kept: see
    /// [`command_name`]).
    pub fn current(command: &str) -> Self {
        Holder {
            pid: std::process::id(),
            host: host_name(),
            command: command_name(command),
            started_at: now(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let command = command_name(&self.command);
        write!(f, "pid {} on host {}, running ", self.pid, self.host)?;
        if command.is_empty() {
            write!(f, "kjob since {}", self.started_at)
        } else {
            write!(f, "`kjob {command}` since {}", self.started_at)
        }
    }
}

/// The name of a command: the first word of `text` when it is a plain name (ASCII letters,
/// digits and dashes, at most 32), else nothing. Whatever follows it (arguments, which may
/// carry secret values) is dropped.
pub fn command_name(text: &str) -> String {
    let word = text.split_whitespace().next().unwrap_or_default();
    let plain = word.len() <= 32
        && !word.starts_with('-')
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if plain {
        word.to_owned()
    } else {
        String::new()
    }
}

/// The host's name, for lock holder details.
pub use crate::os::host_name;

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

impl FileStore {
    /// The lock file's path.
    pub fn lock_path(&self) -> PathBuf {
        self.dir().join("lock")
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

    /// Takes the store's lock for the kjob command named `command` (`up`, `down`: its name
    /// alone, never its arguments), waiting up to `timeout` (zero: refuse at once).
    pub fn lock(&self, command: &'static str, timeout: Duration) -> Result<Lock, StateError> {
        self.make_dirs(self.dir())?;
        let path = self.lock_path();
        let mut file = crate::os::owner_only_file(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )
        .open(&path)
        .map_err(io_error(format!("opening {}", path.display())))?;
        // Saturating: `--lock-timeout 18446744073709551615` waits for ever, without a panic.
        let deadline = crate::core::time::deadline(Instant::now(), timeout);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(StateError::Locked {
                            dir: self.dir().display().to_string(),
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
        let text = serde_json::to_string(&Holder::current(command)).expect("holders serialize");
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn the_lock_refuses_a_second_holder_and_names_the_first() {
        let temp = tempfile::tempdir().unwrap();
        let store = FileStore::new(temp.path());
        let held = store.lock("up", Duration::ZERO).unwrap();
        let started = Instant::now();
        let err = store.lock("down", Duration::ZERO).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        let text = err.to_string();
        assert!(matches!(err, StateError::Locked { .. }));
        assert!(
            text.contains(&format!("pid {} on host ", std::process::id())),
            "{text}"
        );
        assert!(text.contains("running `kjob up` since "), "{text}");
        // Waiting: the second gets the lock once the first lets go.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let second = store.lock("down", Duration::from_secs(10)).unwrap();
        releaser.join().unwrap();
        assert!(store.holder().contains("`kjob down`"));
        drop(second);
        assert!(store.lock("again", Duration::ZERO).is_ok());
    }

    /// `--lock-timeout 18446744073709551615` panicked on `Instant + Duration` overflow; now it
    /// waits (for ever, in practice) like any other timeout.
    #[test]
    fn a_huge_lock_timeout_waits_without_a_panic() {
        let temp = tempfile::tempdir().unwrap();
        let store = FileStore::new(temp.path());
        let held = store
            .lock("up", Duration::from_secs(u64::MAX))
            .expect("a free lock is taken at once");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let second = store.lock("down", Duration::MAX).unwrap();
        releaser.join().unwrap();
        assert!(store.holder().contains("`kjob down`"));
        drop(second);
    }

    #[test]
    fn a_secret_bearing_command_line_never_reaches_the_lock_file() {
        let temp = tempfile::tempdir().unwrap();
        let store = FileStore::new(temp.path());
        let argv = "up --manifest job.yaml --set spec.env.secrets.PW.value=hunter2-secret --yes";
        let held = store.lock(argv, Duration::ZERO).unwrap();
        let raw = fs::read_to_string(store.lock_path()).unwrap();
        assert!(!raw.contains("hunter2"), "{raw}");
        assert!(!raw.contains("--set"), "{raw}");
        let written: Value = serde_json::from_str(&raw).unwrap();
        let mut fields: Vec<&str> = written
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(fields, ["command", "host", "pid", "started_at"]);
        assert_eq!(written["command"], "up");
        assert_eq!(written["pid"], std::process::id());
        let refused = store.lock("down", Duration::ZERO).unwrap_err().to_string();
        assert!(!refused.contains("hunter2"), "{refused}");
        assert!(refused.contains("running `kjob up` since "), "{refused}");
        drop(held);

        // A lock file written with the whole command line (as older kjob versions did) shows
        // no more than the command's name either.
        fs::write(
            store.lock_path(),
            r#"{"pid":7,"host":"h","command":"/usr/bin/kjob up --set spec.env.secrets.PW.value=hunter2","started_at":"t"}"#,
        )
        .unwrap();
        assert_eq!(store.holder(), "pid 7 on host h, running kjob since t");
        fs::write(
            store.lock_path(),
            r#"{"pid":7,"host":"h","command":"up --set spec.env.secrets.PW.value=hunter2","started_at":"t"}"#,
        )
        .unwrap();
        assert_eq!(store.holder(), "pid 7 on host h, running `kjob up` since t");
    }

    #[test]
    fn command_names_are_plain_words() {
        assert_eq!(command_name("down"), "down");
        assert_eq!(command_name("  up --yes"), "up");
        assert_eq!(command_name("--set=a"), "");
        assert_eq!(command_name("spec.x=y"), "");
        assert_eq!(command_name(""), "");
        assert_eq!(command_name(&"a".repeat(33)), "");
    }
}
