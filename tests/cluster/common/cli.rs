//! The built `kjob` binary, run as a user runs it: one temporary state directory (and manifest
//! folder) per [`Bed`], the test bed's kubeconfig, no colour.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kjob::state::FileStore as Store;

/// `apiVersion` of the manifests.
pub const API: &str = "kubernetes.project-planton.org/v1";

/// A temporary state directory and manifest folder.
pub struct Bed {
    dir: tempfile::TempDir,
}

impl Bed {
    /// A fresh, empty one.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// Its state directory.
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Its state store.
    pub fn store(&self) -> Store {
        Store::new(self.state())
    }

    /// The stack its runs deploy for (`kjob:<state store id>`), once a run created the id.
    pub fn stack(&self) -> String {
        let id = self.store().id(false).expect("readable").expect("an id");
        format!("kjob:{id}")
    }

    /// Writes a manifest file; returns its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("writable");
        path.to_string_lossy().into_owned()
    }

    /// `kjob ARGS... --kubeconfig <test bed> --state-dir <ours>`, not run yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kjob"));
        command
            .args(args)
            .arg("--kubeconfig")
            .arg(super::kubeconfig())
            .arg("--state-dir")
            .arg(self.state())
            .env("NO_COLOR", "1")
            .env_remove("KJOB_STATE_DIR")
            .env_remove("KJOB_STACK")
            .env_remove("KJOB_BACKEND")
            .env_remove(kjob::cli::run::CRASH_AFTER_OBJECTS)
            .stdin(Stdio::null());
        command
    }

    /// Runs `kjob ARGS...` to the end.
    pub fn run(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let output = self.command(args).output().expect("kjob runs");
        Run::new(output, started.elapsed())
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// How long it ran.
    pub took: Duration,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run::new(o, Duration::ZERO)
    }
}

impl Run {
    /// A run that ended with `o` after `took`.
    pub fn new(o: Output, took: Duration) -> Self {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
            took,
        }
    }

    /// Asserts exit 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.exit(0)
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn exit(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}:\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts a failure (any non-zero exit).
    #[track_caller]
    pub fn failed(&self) -> &Self {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "expected a failure:\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that standard output or standard error holds `text`.
    #[track_caller]
    pub fn says(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "expected {text:?}:\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that neither output holds `text`.
    #[track_caller]
    pub fn never_says(&self, text: &str) -> &Self {
        assert!(
            !self.stdout.contains(text) && !self.stderr.contains(text),
            "{text:?} was printed:\n{}\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that standard error holds every one of `parts`.
    #[track_caller]
    pub fn says_all(&self, parts: &[&str]) -> &Self {
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "expected {part:?} on stderr:\n--- stdout\n{}\n--- stderr\n{}",
                self.stdout,
                self.stderr
            );
        }
        self
    }
}

/// A KubernetesJob document (busybox, `echo ok`) with `spec` lines added.
pub fn yaml_job(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: {API}\nkind: KubernetesJob\nmetadata:\n  name: {name}\nspec:\n  image: {{repo: busybox, tag: '1.36'}}\n  command: [sh, -c, 'echo ok']\n{spec}"
    )
}

/// A KubernetesNamespace document.
pub fn yaml_namespace(name: &str, namespace: &str) -> String {
    format!(
        "apiVersion: {API}\nkind: KubernetesNamespace\nmetadata:\n  name: {name}\nspec:\n  name: {namespace}\n  labels: {{team: data}}\n"
    )
}
