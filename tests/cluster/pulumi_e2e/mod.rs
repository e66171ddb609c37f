//! The real Pulumi engine against the test bed: `pulumi` (built by `scripts/pulumi-build`) runs the
//! programs in `sdk-examples/` on a local file backend in a temp dir, fully offline, with the
//! provider under test installed the way users install it: `scripts/release --binary` packs it
//! into the release archive and `pulumi plugin install resource kjob <version> --file <archive>`
//! puts it into the run's PULUMI_HOME ([`install`]); it is never on PATH. Objects are checked in
//! the cluster with kube, outputs with `pulumi stack output --json`.
//!
//! The CLI is found through `KJOB_PULUMI_BIN` (a directory; `scripts/test` exports it), else
//! `scripts/pulumi-build --print-dir`; without it these tests fail (nothing is skipped). The
//! language tests need the language hosts `scripts/pulumi-build` also builds, `node`/`npm`,
//! the virtualenv of `scripts/python-env` (`KJOB_PYTHON_VENV` overrides), and `go`.
//!
//! Every test has its own run directory, stack and namespace, and destroys what it created.
//! Set `KJOB_KEEP_PULUMI_RUNS=1` to keep the run directories for inspection.

use crate::common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kjob::cluster::Cluster;
use kjob::core::objects::ObjectKind;
use serde_json::Value;

const JOB_TYPE: &str = "kjob:index:KubernetesJob";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `pulumi` and its language hosts.
pub(crate) fn pulumi_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = match std::env::var_os("KJOB_PULUMI_BIN").filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => {
                let out = Command::new(repo().join("scripts/pulumi-build"))
                    .arg("--print-dir")
                    .output()
                    .expect("run scripts/pulumi-build --print-dir");
                assert!(out.status.success(), "scripts/pulumi-build --print-dir failed: {}", String::from_utf8_lossy(&out.stderr));
                PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
            }
        };
        assert!(
            dir.join("pulumi").is_file(),
            "no Pulumi CLI at {}: run scripts/pulumi-build (README's test command, scripts/test, does this and exports KJOB_PULUMI_BIN)",
            dir.display()
        );
        dir
    })
    .clone()
}

/// Runs `f` against the test bed on a runtime of its own.
fn kube<T, F, Fut>(f: F) -> T
where
    F: FnOnce(Cluster) -> Fut,
    Fut: Future<Output = T>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(f(common::cluster()))
}

fn live(kind: ObjectKind, namespace: Option<&str>, name: &str) -> Option<Value> {
    let (namespace, name) = (namespace.map(str::to_owned), name.to_owned());
    kube(|c| async move { common::get(&c, kind, namespace.as_deref(), &name).await })
}

fn job(namespace: &str, name: &str) -> Option<Value> {
    live(ObjectKind::Job, Some(namespace), name)
}

fn uid(object: &Value) -> String {
    object["metadata"]["uid"]
        .as_str()
        .expect("live objects have a uid")
        .to_owned()
}

/// Whether a namespace is gone or on its way out (the namespace controller finishes it).
fn namespace_gone(namespace: &str) -> bool {
    match live(ObjectKind::Namespace, None, namespace) {
        None => true,
        Some(ns) => ns["metadata"]["deletionTimestamp"].is_string(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
    {
        let entry = entry.expect("directory entry");
        let name = entry.file_name();
        // Never carry local leftovers (generated SDKs, installs, stack files) into a run.
        if ["node_modules", "sdk", "venv", "bin"]
            .iter()
            .any(|n| name == *n)
            || name.to_string_lossy().starts_with("Pulumi.") && name != "Pulumi.yaml"
        {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One test's Pulumi world: its own PULUMI_HOME, file backend and projects under a temp dir.
pub(crate) struct Run {
    pub(crate) dir: PathBuf,
    /// Projects with a live stack, destroyed on drop if the test did not get to it.
    stacks: std::cell::RefCell<Vec<PathBuf>>,
}

impl Run {
    /// A new run, with the provider under test installed into its PULUMI_HOME.
    pub(crate) fn new(tag: &str) -> Run {
        let dir = std::env::temp_dir()
            .join("kjob-pulumi-e2e")
            .join(common::unique(tag));
        std::fs::create_dir_all(dir.join("pulumi-home")).expect("create run dir");
        std::fs::create_dir_all(dir.join("state")).expect("create state dir");
        let run = Run {
            dir,
            stacks: Default::default(),
        };
        run.install_provider();
        run
    }

    /// The engine's PATH: `first`, the Pulumi CLI's directory and the inherited PATH, without any
    /// directory that holds a `pulumi-resource-kjob` (the installed plugin is the only one).
    fn path(&self, first: &[PathBuf]) -> OsString {
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let dirs = first
            .iter()
            .cloned()
            .chain([pulumi_bin()])
            .chain(std::env::split_paths(&inherited));
        std::env::join_paths(install::without_provider(dirs)).expect("PATH")
    }

    /// The settings `scripts/pulumi-env` prints, with the provider installed instead of on PATH.
    fn env(&self, cmd: &mut Command) {
        cmd.env("PATH", self.path(&[]))
            .env("PULUMI_HOME", self.dir.join("pulumi-home"))
            .env(
                "PULUMI_BACKEND_URL",
                format!("file://{}", self.dir.join("state").display()),
            )
            .env("PULUMI_CONFIG_PASSPHRASE", "kjob-e2e")
            .env("PULUMI_SKIP_UPDATE_CHECK", "true")
            .env("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
            .env("PULUMI_DISABLE_REGISTRY_RESOLVE", "true")
            .env("KUBECONFIG", common::kubeconfig())
            .env_remove("PULUMI_ACCESS_TOKEN")
            .env_remove("PULUMI_STACK");
    }

    /// Copies `sdk-examples/<example>` into the run and returns the copy.
    fn project(&self, example: &str) -> PathBuf {
        let to = self.dir.join(example);
        copy_dir(&repo().join("sdk-examples").join(example), &to);
        to
    }

    /// Every child of a run (pulumi, npm, pip, go, kjob) is bounded by [`common::TOOL_LIMIT`].
    pub(crate) fn command(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        dir: &Path,
        args: &[&str],
    ) -> Command {
        let mut cmd = common::bounded(program);
        cmd.args(args)
            .current_dir(dir)
            .stdin(std::process::Stdio::null());
        self.env(&mut cmd);
        cmd
    }

    fn pulumi(&self, project: &Path, args: &[&str]) -> Output {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--non-interactive", "--color", "never"]);
        let started = Instant::now();
        let out = self
            .command(pulumi_bin().join("pulumi"), project, &full)
            .output()
            .unwrap_or_else(|e| panic!("run pulumi {args:?}: {e}"));
        eprintln!(
            "[{}] pulumi {} -> {:?} in {:.1}s",
            project.file_name().unwrap().to_string_lossy(),
            args.join(" "),
            out.status.code(),
            started.elapsed().as_secs_f64()
        );
        out
    }

    /// Runs pulumi and requires success; returns stdout.
    fn ok(&self, project: &Path, args: &[&str]) -> String {
        let out = self.pulumi(project, args);
        assert!(
            out.status.success(),
            "pulumi {} failed in {}:\n{}",
            args.join(" "),
            project.display(),
            show(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs any program with the run's environment and requires success.
    fn run(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        dir: &Path,
        args: &[&str],
        extra_env: &[(&str, OsString)],
    ) -> String {
        let program = program.as_ref().to_owned();
        let mut cmd = self.command(&program, dir, args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("run {program:?} {args:?}: {e}"));
        eprintln!(
            "[{}] {} {} -> {:?} in {:.1}s",
            dir.file_name().unwrap().to_string_lossy(),
            program.to_string_lossy(),
            args.join(" "),
            out.status.code(),
            started.elapsed().as_secs_f64()
        );
        assert!(
            out.status.success(),
            "{program:?} {} failed in {}:\n{}",
            args.join(" "),
            dir.display(),
            show(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn stack_init(&self, project: &Path, stack: &str) {
        self.ok(project, &["stack", "init", stack]);
        self.stacks.borrow_mut().push(project.to_path_buf());
    }

    fn config(&self, project: &Path, key: &str, value: &str) {
        self.ok(project, &["config", "set", key, value]);
    }

    fn up(&self, project: &Path) -> String {
        self.ok(project, &["up", "--yes", "--skip-preview"])
    }

    fn outputs(&self, project: &Path) -> Value {
        let text = self.ok(project, &["stack", "output", "--json", "--show-secrets"]);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("stack output is not JSON ({e}): {text}"))
    }

    /// The stack's resources of type `kjob:index:KubernetesJob` (from `pulumi stack export`).
    fn jobs_in_state(&self, project: &Path) -> Vec<Value> {
        let text = self.ok(project, &["stack", "export", "--show-secrets"]);
        let deployment: Value = serde_json::from_str(&text).expect("stack export is JSON");
        deployment["deployment"]["resources"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter(|r| r["type"] == JOB_TYPE)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Destroys and removes the stack of `project`.
    fn destroy(&self, project: &Path) {
        self.ok(project, &["destroy", "--yes", "--skip-preview"]);
        self.ok(project, &["stack", "rm", "--yes"]);
        self.stacks.borrow_mut().retain(|p| p != project);
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // A failed test still removes what it deployed.
        for project in self.stacks.borrow().iter() {
            let out = self.pulumi(project, &["destroy", "--yes", "--skip-preview"]);
            if !out.status.success() {
                eprintln!(
                    "cleanup: pulumi destroy in {} failed:\n{}",
                    project.display(),
                    show(&out)
                );
            }
        }
        if std::env::var_os("KJOB_KEEP_PULUMI_RUNS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("kept {}", self.dir.display());
        }
    }
}

fn image_of(job: &Value) -> String {
    job["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

mod install;
mod namespace;
mod operator;
mod sdks;
mod team;
mod yaml;
