//! What differs between operating systems, in one place: owner-only file modes, syncing a
//! directory, the signals that stop a command, the host's name. Everything else in the crate is
//! portable; `tests/pure/architecture.rs` keeps Unix-only APIs out of every other file, and
//! `cargo check --target x86_64-apple-darwin` / `x86_64-pc-windows-gnu` build the crate for macOS
//! and Windows.

use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::path::Path;

/// Makes a file created through `options` readable and writable by its owner only (0600) on
/// Unix. Elsewhere the file inherits its directory's access control (on Windows, the user's
/// profile folders are private to the user already).
pub fn owner_only_file(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Makes directories created through `builder` private to their owner (0700) on Unix; see
/// [`owner_only_file`] for other systems.
pub fn owner_only_dir(builder: &mut DirBuilder) -> &mut DirBuilder {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

/// Flushes a directory's entries to disk, so that a file renamed into it survives a crash.
/// Windows cannot open a directory as a file and journals renames itself: nothing to do there.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The permission bits of `path` on Unix (`None` elsewhere, or when it cannot be read); for tests.
#[cfg(test)]
pub(crate) fn mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(std::fs::metadata(path).ok()?.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The host's name, for the state lock's holder: the kernel's (Linux), `/etc/hostname`, then
/// `HOSTNAME` (most Unix shells) or `COMPUTERNAME` (Windows); `unknown` when none says.
pub fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .or_else(|| {
            ["HOSTNAME", "COMPUTERNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The signals that ask a command to stop: SIGINT and SIGTERM on Unix, Ctrl-C and Ctrl-Break on
/// Windows. Caught from [`Stop::catch`] on (inside a Tokio runtime).
pub struct Stop {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
    #[cfg(windows)]
    ctrl_break: tokio::signal::windows::CtrlBreak,
}

impl Stop {
    /// Catches the stop signals; `None` when they cannot be caught (the defaults stay).
    pub fn catch() -> Option<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Some(Stop {
                interrupt: signal(SignalKind::interrupt()).ok()?,
                terminate: signal(SignalKind::terminate()).ok()?,
            })
        }
        #[cfg(windows)]
        {
            Some(Stop {
                ctrl_c: tokio::signal::windows::ctrl_c().ok()?,
                ctrl_break: tokio::signal::windows::ctrl_break().ok()?,
            })
        }
        #[cfg(not(any(unix, windows)))]
        {
            None
        }
    }

    /// The name of the next stop signal received (`SIGINT`, `SIGTERM`, `Ctrl-C`, `Ctrl-Break`).
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(windows)]
        {
            tokio::select! {
                _ = self.ctrl_c.recv() => "Ctrl-C",
                _ = self.ctrl_break.recv() => "Ctrl-Break",
            }
        }
        #[cfg(not(any(unix, windows)))]
        {
            std::future::pending().await
        }
    }

    /// [`Stop::next`] of `stop`; never resolves when there is none.
    pub async fn next_of(stop: Option<&mut Stop>) -> &'static str {
        match stop {
            Some(stop) => stop.next().await,
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_has_a_name() {
        assert!(!host_name().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn owner_only_files_and_dirs_are_private_on_unix() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("d");
        owner_only_dir(DirBuilder::new().recursive(true))
            .create(&dir)
            .unwrap();
        let file = dir.join("f");
        owner_only_file(OpenOptions::new().write(true).create_new(true))
            .open(&file)
            .unwrap();
        assert_eq!(mode(&dir), Some(0o700));
        assert_eq!(mode(&file), Some(0o600));
        sync_dir(&dir).unwrap();
    }

    /// A signal sent to this process is named by the next call, and does not end the process.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_caught_sigterm_is_named() {
        let mut stop = Stop::catch().expect("signals can be caught");
        let pid = std::process::id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
        let name = tokio::time::timeout(std::time::Duration::from_secs(5), stop.next())
            .await
            .expect("the signal arrives");
        assert_eq!(name, "SIGTERM");
    }
}
