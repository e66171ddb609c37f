//! The real Pulumi engine against the test bed: `pulumi` (built by `scripts/pulumi-build`) runs the
//! programs in `sdk-examples/` on a local file backend in a temp dir, fully offline, with the
//! provider under test found on PATH. Objects are checked in the cluster with kube, outputs with
//! `pulumi stack output --json`.
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
fn pulumi_bin() -> PathBuf {
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

/// The directory of the provider binary under test (put on PATH for the engine).
fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_pulumi-resource-kjob"))
        .parent()
        .expect("binary has a directory")
        .to_path_buf()
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
struct Run {
    dir: PathBuf,
    /// Projects with a live stack, destroyed on drop if the test did not get to it.
    stacks: std::cell::RefCell<Vec<PathBuf>>,
}

impl Run {
    fn new(tag: &str) -> Run {
        let dir = std::env::temp_dir()
            .join("kjob-pulumi-e2e")
            .join(common::unique(tag));
        std::fs::create_dir_all(dir.join("pulumi-home")).expect("create run dir");
        std::fs::create_dir_all(dir.join("state")).expect("create state dir");
        Run {
            dir,
            stacks: Default::default(),
        }
    }

    /// The same settings `scripts/pulumi-env` prints.
    fn env(&self, cmd: &mut Command) {
        let mut path = vec![pulumi_bin(), provider_dir()];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        cmd.env("PATH", std::env::join_paths(path).expect("PATH"))
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
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &Path, args: &[&str]) -> Command {
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

/// Preview, up, update in place, replace, refresh after an out-of-band deletion, destroy: the
/// YAML example through the real engine.
#[test]
fn yaml_lifecycle_preview_up_update_replace_refresh_destroy() {
    let run = Run::new("yaml");
    let project = run.project("yaml");
    let ns = common::unique("kjob-pyaml");
    run.stack_init(&project, "e2e");
    run.config(&project, "namespace", &ns);

    // preview: the plan, and nothing in the cluster.
    let preview = run.ok(&project, &["preview"]);
    assert!(
        preview.contains(JOB_TYPE) && preview.contains("create"),
        "preview shows the Job to create:\n{preview}"
    );
    assert!(
        live(ObjectKind::Namespace, None, &ns).is_none(),
        "preview must not create the namespace"
    );
    assert!(
        job(&ns, "hello").is_none(),
        "preview must not create the Job"
    );

    // up: the Job ran, and the outputs say where.
    run.up(&project);
    let created = job(&ns, "hello").expect("up created the Job");
    assert_eq!(image_of(&created), "busybox:1.36.1");
    let outputs = run.outputs(&project);
    assert_eq!(outputs["namespace"], ns.as_str(), "outputs: {outputs}");
    assert_eq!(outputs["jobName"], "hello", "outputs: {outputs}");
    let state = run.jobs_in_state(&project);
    assert_eq!(state.len(), 1);
    assert_eq!(
        state[0]["id"],
        format!("{ns}/hello"),
        "ID is <namespace>/<job>"
    );
    assert_eq!(
        state[0]["outputs"]["jobStatus"], "Complete",
        "up waited for the Job: {}",
        state[0]["outputs"]
    );

    // update in place: parallelism changes, the Job keeps its UID.
    run.config(&project, "parallelism", "2");
    let preview = run.ok(&project, &["preview", "--diff"]);
    assert!(
        !preview.contains("replace"),
        "a parallelism change is an update, not a replace:\n{preview}"
    );
    run.up(&project);
    let updated = job(&ns, "hello").expect("the Job is still there");
    assert_eq!(
        uid(&updated),
        uid(&created),
        "parallelism is updated in place"
    );
    assert_eq!(updated["spec"]["parallelism"], 2);

    // replace: a new image means a new Job.
    run.config(&project, "imageTag", "1.37.0");
    let preview = run.ok(&project, &["preview", "--diff"]);
    assert!(
        preview.contains("replace"),
        "an image change replaces the Job:\n{preview}"
    );
    run.up(&project);
    let replaced = job(&ns, "hello").expect("the replacement Job exists");
    assert_ne!(
        uid(&replaced),
        uid(&created),
        "an image change replaces the Job"
    );
    assert_eq!(image_of(&replaced), "busybox:1.37.0");
    assert_eq!(replaced["spec"]["parallelism"], 2);

    // refresh after an out-of-band deletion (no ttlSecondsAfterFinished): the Job leaves the
    // state, and the next up creates it again.
    let (ns2, name) = (ns.clone(), "hello".to_owned());
    kube(|c| async move {
        let id = common::obj(ObjectKind::Job, Some(&ns2), &name);
        c.delete(&id, None, None).await.expect("delete the Job");
        c.wait_gone(&id, Duration::from_secs(60))
            .await
            .expect("the Job goes away");
    });
    run.ok(&project, &["refresh", "--yes", "--skip-preview"]);
    assert!(
        run.jobs_in_state(&project).is_empty(),
        "refresh drops a Job deleted out of band from the state"
    );
    run.up(&project);
    let recreated = job(&ns, "hello").expect("up recreates the Job");
    assert_ne!(uid(&recreated), uid(&replaced));
    assert_eq!(run.jobs_in_state(&project).len(), 1);

    // destroy: the Job and the namespace it created go.
    run.destroy(&project);
    assert!(job(&ns, "hello").is_none(), "destroy deletes the Job");
    assert!(
        namespace_gone(&ns),
        "destroy deletes the namespace it created"
    );
}

/// `pulumi import` of a Job another stack created: the ID is `<namespace>/<job>`, and the
/// imported state has the Job's inputs and outputs.
#[test]
fn yaml_import_a_job_from_another_stack() {
    let run = Run::new("import");
    let owner = run.project("yaml");
    let ns = common::unique("kjob-pimport");
    run.stack_init(&owner, "owner");
    run.config(&owner, "namespace", &ns);
    run.up(&owner);
    let created = job(&ns, "hello").expect("the owner stack created the Job");

    // A second stack of the same program on the same namespace is refused, naming the owner,
    // and its destroy leaves the first stack's Job alone.
    run.ok(&owner, &["stack", "init", "intruder"]);
    run.config(&owner, "namespace", &ns);
    let refused = run.pulumi(&owner, &["up", "--yes", "--skip-preview"]);
    let said = show(&refused);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("already exists and belongs to KubernetesJob \"hello\"")
            && said.contains("/owner"),
        "the error names the owner stack:\n{said}"
    );
    run.ok(&owner, &["destroy", "--yes", "--skip-preview"]);
    run.ok(&owner, &["stack", "rm", "--yes"]);
    run.ok(&owner, &["stack", "select", "owner"]);
    assert_eq!(
        uid(&job(&ns, "hello").expect("the owner's Job stays")),
        uid(&created)
    );

    // An empty YAML project imports it.
    let importer = run.dir.join("importer");
    std::fs::create_dir_all(&importer).unwrap();
    std::fs::write(
        importer.join("Pulumi.yaml"),
        "name: kjob-import\nruntime: yaml\nresources: {}\n",
    )
    .unwrap();
    run.stack_init(&importer, "importer");
    let id = format!("{ns}/hello");
    let generated = importer.join("imported.yaml");
    run.ok(
        &importer,
        &[
            "import",
            JOB_TYPE,
            "adopted",
            &id,
            "--yes",
            "--protect=false",
            "--out",
            generated.to_str().unwrap(),
        ],
    );
    let state = run.jobs_in_state(&importer);
    assert_eq!(state.len(), 1, "the import is in the state");
    let imported = &state[0];
    assert_eq!(imported["id"], id.as_str());
    assert_eq!(imported["outputs"]["namespace"], ns.as_str());
    assert_eq!(imported["outputs"]["jobName"], "hello");
    assert_eq!(imported["outputs"]["jobStatus"], "Complete");
    assert_eq!(
        imported["inputs"]["spec"]["image"]["repo"], "busybox",
        "inputs rebuilt from the live Job: {}",
        imported["inputs"]
    );
    assert_eq!(imported["inputs"]["spec"]["image"]["tag"], "1.36.1");
    let code = std::fs::read_to_string(&generated).expect("import wrote the program text");
    assert!(
        code.contains(JOB_TYPE) || code.contains("KubernetesJob"),
        "generated code names the type:\n{code}"
    );
    assert_eq!(
        uid(&job(&ns, "hello").expect("import changes nothing")),
        uid(&created)
    );
    // The generated program is the imported resource: previewing it changes nothing.
    std::fs::write(
        importer.join("Pulumi.yaml"),
        format!("name: kjob-import\nruntime: yaml\n{code}"),
    )
    .unwrap();
    run.ok(&importer, &["preview", "--expect-no-changes"]);

    // Let the owner delete it; the importer forgets it without touching the cluster.
    run.ok(&importer, &["stack", "rm", "--yes", "--force"]);
    run.stacks.borrow_mut().retain(|p| p != &importer);
    run.destroy(&owner);
    assert!(job(&ns, "hello").is_none());
}

/// `pulumi import` of a Job the kjob CLI deployed (`kjob up`): same ID form, same inputs.
#[test]
fn yaml_import_a_job_the_cli_deployed() {
    let run = Run::new("cliimport");
    let ns = common::unique("kjob-pcli");
    let manifest = run.dir.join("job.yaml");
    let document = common::manifest(
        "migrate",
        &ns,
        serde_json::json!({"createNamespace": true, "parallelism": 1}),
    );
    std::fs::write(&manifest, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    let state_dir = run.dir.join("kjob-state");
    let kubeconfig = common::kubeconfig();
    let cli = |verb: &str| {
        let args = [
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--kubeconfig",
            kubeconfig.as_str(),
            verb,
            "--manifest",
            manifest.to_str().unwrap(),
            "--yes",
        ];
        run.run(env!("CARGO_BIN_EXE_kjob"), &run.dir, &args, &[]);
    };
    cli("up");
    let created = job(&ns, "migrate").expect("kjob up created the Job");

    let importer = run.dir.join("importer");
    std::fs::create_dir_all(&importer).unwrap();
    std::fs::write(
        importer.join("Pulumi.yaml"),
        "name: kjob-cli-import\nruntime: yaml\nresources: {}\n",
    )
    .unwrap();
    run.stack_init(&importer, "importer");
    let generated = importer.join("imported.yaml");
    run.ok(
        &importer,
        &[
            "import",
            JOB_TYPE,
            "migrate",
            &format!("{ns}/migrate"),
            "--yes",
            "--protect=false",
            "--out",
            generated.to_str().unwrap(),
        ],
    );
    let state = run.jobs_in_state(&importer);
    assert_eq!(state.len(), 1);
    assert_eq!(state[0]["outputs"]["jobName"], "migrate");
    assert_eq!(state[0]["outputs"]["namespace"], ns.as_str());
    assert_eq!(
        state[0]["inputs"]["spec"]["command"],
        serde_json::json!(["true"]),
        "inputs: {}",
        state[0]["inputs"]
    );
    assert_eq!(state[0]["inputs"]["spec"]["image"]["tag"], "1.36");
    let code = std::fs::read_to_string(&generated).expect("import wrote the program text");
    std::fs::write(
        importer.join("Pulumi.yaml"),
        format!("name: kjob-cli-import\nruntime: yaml\n{code}"),
    )
    .unwrap();
    run.ok(&importer, &["preview", "--expect-no-changes"]);
    assert_eq!(
        uid(&job(&ns, "migrate").expect("still there")),
        uid(&created)
    );

    // The CLI keeps ownership: the importer forgets the Job, the CLI deletes it.
    run.ok(&importer, &["stack", "rm", "--yes", "--force"]);
    run.stacks.borrow_mut().retain(|p| p != &importer);
    cli("down");
    assert!(job(&ns, "migrate").is_none());
    assert!(namespace_gone(&ns));
}

/// The second Job's namespace is the first Job's `namespace` output.
#[test]
fn yaml_namespace_from_another_resource_output() {
    let run = Run::new("chain");
    let project = run.project("yaml-namespace-from-output");
    let ns = common::unique("kjob-pchain");
    run.stack_init(&project, "e2e");
    run.config(&project, "namespace", &ns);
    run.up(&project);
    let outputs = run.outputs(&project);
    assert_eq!(outputs["namespace"], ns.as_str(), "outputs: {outputs}");
    assert_eq!(outputs["jobName"], "report");
    assert_eq!(outputs["setupJob"], "setup");
    let setup = job(&ns, "setup").expect("first Job");
    let report = job(&ns, "report").expect("second Job, in the first one's namespace");
    let started = |j: &Value| {
        j["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        started(&report) >= started(&setup),
        "the dependent Job is created after the first"
    );
    run.destroy(&project);
    assert!(job(&ns, "report").is_none() && job(&ns, "setup").is_none());
    assert!(namespace_gone(&ns));
}

/// An env variable (and the namespace) from `valueFrom`, resolved through the kjob CLI's state
/// store: `kjob up` deploys a KubernetesNamespace, the program's provider has `stateDir`.
#[test]
fn yaml_value_from_through_the_cli_state_store() {
    let run = Run::new("state");
    let project = run.project("yaml-value-from-state");
    let ns = common::unique("kjob-pstate");
    let state_dir = run.dir.join("kjob-state");
    let manifest = project.join("namespace.yaml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("name: kjob-analytics", &format!("name: {ns}"));
    std::fs::write(&manifest, text).unwrap();
    let kjob = env!("CARGO_BIN_EXE_kjob");
    let kubeconfig = common::kubeconfig();
    let cli = |args: &[&str]| {
        let mut full = vec![
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--kubeconfig",
            kubeconfig.as_str(),
        ];
        full.extend(args);
        run.run(kjob, &project, &full, &[]);
    };
    cli(&["up", "--manifest", manifest.to_str().unwrap(), "--yes"]);
    assert!(
        live(ObjectKind::Namespace, None, &ns).is_some(),
        "kjob up created the namespace"
    );

    run.stack_init(&project, "e2e");
    run.config(&project, "stateDir", state_dir.to_str().unwrap());
    run.up(&project);
    let outputs = run.outputs(&project);
    assert_eq!(
        outputs["namespace"],
        ns.as_str(),
        "spec.namespace valueFrom resolved: {outputs}"
    );
    assert_eq!(
        outputs["targetNamespace"],
        ns.as_str(),
        "env valueFrom resolved to status.outputs.namespace: {outputs}"
    );
    let report = job(&ns, "report").expect("the Job runs in the namespace from the state store");
    let env = &report["spec"]["template"]["spec"]["containers"][0]["env"];
    let target = env
        .as_array()
        .and_then(|e| e.iter().find(|v| v["name"] == "TARGET_NAMESPACE"))
        .expect("TARGET_NAMESPACE is set");
    assert_eq!(target["value"], ns.as_str());

    run.destroy(&project);
    assert!(job(&ns, "report").is_none());
    cli(&["down", "--manifest", manifest.to_str().unwrap(), "--yes"]);
    assert!(namespace_gone(&ns));
}

// ---------------------------------------------------------------------------------------------
// The same program in TypeScript, Python and Go, with SDKs generated by `pulumi package gen-sdk`
// from the provider binary at test time.

/// Generates the SDK for `language` into `<project>/sdk/<language>` (`--local`), from the
/// provider binary.
///
/// One exception, for nodejs only: a local Node.js SDK's package.json carries the version
/// placeholder `${VERSION}` unless the schema sets `language.nodejs.respectSchemaVersion`, and
/// the Node.js host hands that placeholder to the engine as the plugin's version, which the engine
/// refuses ("illegal semver returned by language host: kjob@v${VERSION}"). While the provider's
/// schema does not set it, the SDK is generated from the provider's schema (`pulumi package
/// get-schema`) with that one language option added.
fn gen_sdk(run: &Run, project: &Path, language: &str) -> PathBuf {
    let host = pulumi_bin().join(format!("pulumi-language-{language}"));
    assert!(
        host.is_file(),
        "no {} : scripts/pulumi-build builds the language hosts (its record: {})",
        host.display(),
        pulumi_bin().join("LANGUAGES").display()
    );
    let provider = env!("CARGO_BIN_EXE_pulumi-resource-kjob");
    let mut source = provider.to_owned();
    if language == "nodejs" {
        let text = run.ok(project, &["package", "get-schema", provider]);
        let mut schema: Value = serde_json::from_str(&text).expect("get-schema prints JSON");
        if schema.pointer("/language/nodejs/respectSchemaVersion") != Some(&Value::Bool(true)) {
            eprintln!(
                "note: the provider's schema lacks language.nodejs.respectSchemaVersion; adding it for gen-sdk"
            );
            let language = schema
                .as_object_mut()
                .expect("schema is an object")
                .entry("language")
                .or_insert_with(|| serde_json::json!({}));
            let nodejs = language
                .as_object_mut()
                .expect("language is an object")
                .entry("nodejs")
                .or_insert_with(|| serde_json::json!({}));
            nodejs["respectSchemaVersion"] = Value::Bool(true);
            let path = project.join("kjob-schema.json");
            std::fs::write(&path, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
            source = path.to_string_lossy().into_owned();
        }
    }
    run.ok(
        project,
        &[
            "package",
            "gen-sdk",
            &source,
            "--language",
            language,
            "--local",
            "--out",
            "sdk",
        ],
    );
    let dir = project.join("sdk").join(language);
    assert!(dir.is_dir(), "gen-sdk wrote {}", dir.display());
    dir
}

/// Up, check the Job and the outputs, destroy.
fn up_check_destroy(run: &Run, project: &Path, ns: &str) {
    run.up(project);
    let outputs = run.outputs(project);
    assert_eq!(outputs["namespace"], ns, "outputs: {outputs}");
    assert_eq!(outputs["jobName"], "hello", "outputs: {outputs}");
    let created = job(ns, "hello").expect("the program created the Job");
    assert_eq!(image_of(&created), "busybox:1.36.1");
    run.destroy(project);
    assert!(job(ns, "hello").is_none());
    assert!(namespace_gone(ns));
}

fn which(program: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH; the {program} example needs it"))
}

#[test]
fn typescript_sdk_up_destroy() {
    let run = Run::new("ts");
    let project = run.project("typescript");
    gen_sdk(&run, &project, "nodejs");
    let npm = which("npm");
    run.run(
        &npm,
        &project,
        &["install", "--no-audit", "--no-fund", "--loglevel=error"],
        &[],
    );
    let ns = common::unique("kjob-pts");
    run.stack_init(&project, "e2e");
    run.config(&project, "namespace", &ns);
    up_check_destroy(&run, &project, &ns);
}

/// The virtualenv with the Pulumi Python SDK (scripts/python-env), or `KJOB_PYTHON_VENV`.
fn python_venv() -> PathBuf {
    if let Some(v) = std::env::var_os("KJOB_PYTHON_VENV").filter(|v| !v.is_empty()) {
        return PathBuf::from(v);
    }
    let out = Command::new(repo().join("scripts/python-env"))
        .output()
        .expect("run scripts/python-env");
    assert!(
        out.status.success(),
        "scripts/python-env failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn python_sdk_up_destroy() {
    let run = Run::new("py");
    let project = run.project("python");
    let sdk = gen_sdk(&run, &project, "python");
    let venv = python_venv();
    // The generated package (and what it needs beyond the venv's pulumi) goes into a directory
    // of this run, on PYTHONPATH: the cached venv stays as it is.
    let site = run.dir.join("site-packages");
    let python = venv.join("bin/python");
    run.run(
        &python,
        &project,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            site.to_str().unwrap(),
            "--no-deps",
            sdk.to_str().unwrap(),
        ],
        &[],
    );
    run.run(
        &python,
        &project,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            site.to_str().unwrap(),
            "parver>=0.2.1",
        ],
        &[],
    );
    let ns = common::unique("kjob-ppy");
    run.stack_init(&project, "e2e");
    run.config(&project, "namespace", &ns);
    // The Python host runs the first python3 on PATH: the venv's.
    let path = std::env::join_paths(
        [venv.join("bin"), pulumi_bin(), provider_dir()]
            .into_iter()
            .chain(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            )),
    )
    .unwrap();
    let started = Instant::now();
    let mut up = run.command(
        pulumi_bin().join("pulumi"),
        &project,
        &["up", "--yes", "--skip-preview", "--non-interactive"],
    );
    up.env("PATH", &path).env("PYTHONPATH", &site);
    let out = up.output().expect("run pulumi up");
    eprintln!(
        "[python] pulumi up -> {:?} in {:.1}s",
        out.status.code(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "pulumi up (python) failed:\n{}",
        show(&out)
    );
    let outputs = run.outputs(&project);
    assert_eq!(outputs["namespace"], ns.as_str(), "outputs: {outputs}");
    assert_eq!(outputs["jobName"], "hello");
    assert_eq!(
        image_of(&job(&ns, "hello").expect("the program created the Job")),
        "busybox:1.36.1"
    );
    let mut destroy = run.command(
        pulumi_bin().join("pulumi"),
        &project,
        &["destroy", "--yes", "--skip-preview", "--non-interactive"],
    );
    destroy.env("PATH", &path).env("PYTHONPATH", &site);
    let out = destroy.output().expect("run pulumi destroy");
    assert!(
        out.status.success(),
        "pulumi destroy (python) failed:\n{}",
        show(&out)
    );
    run.ok(&project, &["stack", "rm", "--yes"]);
    run.stacks.borrow_mut().retain(|p| p != &project);
    assert!(job(&ns, "hello").is_none());
    assert!(namespace_gone(&ns));
}

#[test]
fn go_sdk_up_destroy() {
    let run = Run::new("go");
    let project = run.project("go");
    let sdk = gen_sdk(&run, &project, "go");
    assert!(sdk.join("kjob").is_dir(), "the Go SDK has the kjob package");
    // The generated package has no go.mod; the example's go.mod replaces its module with ./sdk,
    // which gets the one-line go.mod its README shows (a file beside the generated code).
    let module_root = project.join("sdk");
    if !module_root.join("go.mod").exists() && !sdk.join("go.mod").exists() {
        std::fs::write(
            module_root.join("go.mod"),
            "module example.com/pulumi-kjob/sdk\n\ngo 1.24\n",
        )
        .unwrap();
    }
    let go = which("go");
    run.run(
        &go,
        &project,
        &["mod", "tidy"],
        &[("GOTOOLCHAIN", OsString::from("local"))],
    );
    let ns = common::unique("kjob-pgo");
    run.stack_init(&project, "e2e");
    run.config(&project, "namespace", &ns);
    up_check_destroy(&run, &project, &ns);
}
