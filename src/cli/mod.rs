//! The `kjob` command line: Project Planton manifests (KubernetesJob, KubernetesNamespace)
//! validated, previewed, applied and destroyed against a Kubernetes cluster, with the embedded
//! state store ([`crate::state`]) as the backend. No Pulumi is involved.
//!
//! The commands share one pipeline with the provider: [`crate::manifest`] (strict YAML with
//! positions), [`crate::manifest::overrides`] (`--set`), each kind's check (defaults, references,
//! validation), rendering, [`crate::core::diff`], and [`crate::deploy`] over [`crate::cluster`].
//!
//! Submodules: [`plan`] loads, orders and checks the documents of a file; [`show`] prints
//! previews, outputs and records; [`run`] applies and deletes, writing state after every object;
//! [`jobs`] shows a Job's progress, refreshes recorded outcomes, and serves `wait` and `logs`.

pub mod jobs;
pub mod plan;
pub mod run;
pub mod show;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cluster::{Cluster, ClusterConfig, ClusterError};
use crate::manifest::overrides::Override;
use crate::state::{self, StateError, Store};

/// Exit codes, as documented in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// A deployment or deletion failed (an object could not be applied or deleted, the Job
    /// failed or did not finish in time, the state store could not be written).
    Failed = 1,
    /// Nothing was done: invalid manifest, unresolvable reference, bad `--set`, bad usage, or
    /// the confirmation was refused or impossible.
    Invalid = 2,
    /// The state store is locked by another run.
    Locked = 3,
    /// The cluster could not be reached (no or invalid kubeconfig, connection refused, TLS).
    Unreachable = 4,
}

/// An error that ends the command: lines to print, a final message and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: Exit,
    /// Lines printed before the message (one per problem).
    pub details: Vec<String>,
    /// The summary, printed as `error: ...`.
    pub message: String,
}

impl CliError {
    /// An error with a code and a message.
    pub fn new(code: Exit, message: impl Into<String>) -> Self {
        Self {
            code,
            details: Vec::new(),
            message: message.into(),
        }
    }

    /// Invalid input (exit 2) with one line per problem.
    pub fn invalid(details: Vec<String>, message: impl Into<String>) -> Self {
        Self {
            code: Exit::Invalid,
            details,
            message: message.into(),
        }
    }
}

impl From<StateError> for CliError {
    fn from(e: StateError) -> Self {
        let code = match e {
            StateError::Locked { .. } => Exit::Locked,
            StateError::NoDir => Exit::Invalid,
            _ => Exit::Failed,
        };
        CliError::new(code, e.to_string())
    }
}

/// The exit code of a cluster error: unreachable (4) when the cluster could not be talked to,
/// else failed (1).
pub fn cluster_exit(e: &ClusterError) -> Exit {
    match e {
        ClusterError::Config(_) => Exit::Unreachable,
        ClusterError::Api {
            source: kube::Error::Api(_),
            ..
        } => Exit::Failed,
        ClusterError::Api { .. } => Exit::Unreachable,
        _ => Exit::Failed,
    }
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  deployment failed: an object could not be applied or deleted, the Job failed or did not
     finish in time (up, wait; the Job keeps running), or the state store could not be
     written (state records what exists); logs: the Job has no pods
  2  nothing was done: invalid manifest (every problem is listed as FILE:LINE:COLUMN: PATH:
     REASON), unresolvable reference, bad --set, bad usage, confirmation refused, or (wait,
     logs, outputs) the resource is not deployed
  3  the state store is locked by another kjob up/down (the message names its pid, host,
     command line and start time)
  4  the cluster could not be reached (kubeconfig missing or invalid, connection refused, TLS)";

const AFTER_HELP: &str = "\
Examples:
  kjob validate --manifest examples/job.yaml
  kjob preview  --manifest examples/namespace-and-job.yaml
  kjob up       --manifest examples/job.yaml --yes
  kjob up       --manifest job.yaml --set spec.parallelism=3 --set spec.env.variables.MODE.value=full
  kjob up       --manifest all.yaml --set migrate:spec.image.tag=1.37   (several documents: NAME:PATH)
  cat job.yaml | kjob up --manifest - --yes
  kjob outputs  --name migrate -o json
  kjob up       --manifest job.yaml --yes --no-wait && kjob wait --manifest job.yaml --timeout 300
  kjob logs     --name migrate --tail 50
  kjob list
  kjob down     --manifest examples/job.yaml --yes
  kjob schema

State: one JSON file per resource under --state-dir, else $KJOB_STATE_DIR, else
$XDG_STATE_HOME/kjob, else ~/.local/state/kjob. Direct secret values are stored only as SHA-256
hashes; the manifest stays their source of truth. up and down hold the store's lock for the
whole run; a second run is refused at once (exit 3) unless --lock-timeout gives it time to wait.

Confirmation: up and down show what they will do and ask before doing it when standard input
is a terminal; when it is not (scripts, CI, --manifest -), they proceed only with --yes.

Colour: previews are coloured when standard output is a terminal and NO_COLOR is not set.

Progress: while up and wait wait for a Job, a spinner shows its active/succeeded/failed pod
counts and the time waited when standard error is a terminal; otherwise a plain line is printed
each time the counts change. Pod warning events (image pulls, scheduling) are printed as they
happen. A failed Job's report names the failing pods with their exit codes, their last log
lines (or why there are none) and recent warnings, secret values redacted.

Test hook: KJOB_TEST_CRASH_AFTER_OBJECTS=N makes up abort the process right after the N-th
object is applied and recorded (to test crash recovery). Do not set it otherwise.
";

/// `kjob`: deploy Project Planton KubernetesJob and KubernetesNamespace manifests.
#[derive(Debug, Parser)]
#[command(
    name = "kjob",
    version,
    about = "Deploy Project Planton KubernetesJob and KubernetesNamespace manifests to Kubernetes, with an embedded state store",
    long_about = "Deploy Project Planton KubernetesJob and KubernetesNamespace manifests to Kubernetes, with an embedded state store.\n\n\
A manifest file may hold several YAML documents; they are applied in the order their valueFrom references require \
(a cycle is an error). References resolve from the documents of the same file, then from the state store.",
    after_help = AFTER_HELP,
    after_long_help = format!("{AFTER_HELP}\n{EXIT_CODES}"),
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
struct Global {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account).
    #[arg(long, global = true, value_name = "FILE")]
    kubeconfig: Option<String>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
    /// State directory (default: $KJOB_STATE_DIR, $XDG_STATE_HOME/kjob, ~/.local/state/kjob).
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Override a manifest value: dotted path (snake or camel case), value typed per the proto
    /// field. Repeatable. With several documents in the file, prefix the document's
    /// metadata.name: NAME:PATH=VALUE.
    #[arg(long = "set", global = true, value_name = "[NAME:]PATH=VALUE", value_parser = crate::manifest::overrides::parse)]
    set: Vec<Override>,
    /// Do not ask for confirmation (required by up and down when standard input is not a
    /// terminal).
    #[arg(long, short = 'y', global = true)]
    yes: bool,
    /// Seconds to wait for the state store's lock held by another run (0: refuse at once).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 0)]
    lock_timeout: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check manifests: syntax, fields, types, defaults, references and validation; contacts no
    /// cluster.
    #[command(after_help = "Example:\n  kjob validate --manifest examples/namespace-and-job.yaml")]
    Validate(ManifestArg),
    /// Show what up would do: per object create, update, replace, delete or unchanged, and a
    /// diff of the inputs against the state store (secret values masked); contacts no cluster.
    #[command(
        after_help = "Example:\n  kjob preview --manifest examples/job.yaml --set spec.parallelism=2"
    )]
    Preview(ManifestArg),
    /// Apply manifests in reference order, recording state after every object, and wait for
    /// each Job to finish.
    #[command(after_help = format!("{UP_HELP}\n{EXIT_CODES}"))]
    Up(UpArgs),
    /// Wait for deployed Jobs to finish: those of the KubernetesJobs of a manifest file, or the
    /// named one, as recorded in the state store.
    #[command(after_help = WAIT_HELP)]
    Wait(WaitArgs),
    /// Print the last lines of a deployed Job's pods' logs, each prefixed with its pod's name,
    /// secret values redacted.
    #[command(after_help = LOGS_HELP)]
    Logs(LogsArgs),
    /// Delete exactly what the state store says was created, in reverse dependency order.
    #[command(
        visible_alias = "destroy",
        after_help = format!("Examples:\n  kjob down --manifest examples/namespace-and-job.yaml --yes\n  kjob destroy --name migrate --kind KubernetesJob --yes\n\n{EXIT_CODES}")
    )]
    Down(DownArgs),
    /// Print the outputs (status.outputs) of deployed resources: namespace and jobName for a
    /// KubernetesJob; namespace, namespaceId, labelsJson, ... for a KubernetesNamespace.
    #[command(
        after_help = "Examples:\n  kjob outputs --manifest examples/job.yaml\n  kjob outputs --name migrate -o json"
    )]
    Outputs(OutputsArgs),
    /// List the resources in the state store.
    #[command(after_help = "Example:\n  kjob list -o json")]
    List(ListArgs),
    /// Print one resource's state record (manifest with secrets redacted, outputs, objects,
    /// status, timestamps).
    #[command(after_help = "Example:\n  kjob get migrate --kind KubernetesJob -o json")]
    Get(GetArgs),
    /// Write the generated schemas (the Pulumi package schema and the manifest's JSON Schema)
    /// into a directory.
    #[command(
        after_help = "Example:\n  kjob schema            (writes schema/schema.json and schema/kubernetesjob.schema.json)"
    )]
    Schema(SchemaArgs),
}

#[derive(Debug, Args)]
struct SchemaArgs {
    /// Directory to write into.
    #[arg(long, value_name = "DIR", default_value = "schema")]
    dir: PathBuf,
}

#[derive(Debug, Args)]
struct ManifestArg {
    /// Manifest file; `-` reads standard input. May hold several YAML documents.
    #[arg(long, short = 'f', value_name = "FILE")]
    manifest: String,
}

const UP_HELP: &str = "\
Examples:
  kjob up --manifest examples/job.yaml --yes
  kjob up --manifest - --yes < job.yaml
  kjob up --manifest job.yaml --yes --no-wait     (then: kjob wait --manifest job.yaml)
  kjob up --manifest job.yaml --yes --timeout 60

Job outcome: up waits for each Job it creates or changes until it is Complete (exit 0) or
Failed (exit 1 with a failure report: the failing pods, their exit codes and last log lines,
recent warning events, secret values redacted), or until --timeout (exit 1; the Job keeps
running and the next up waits for it again). Waiting is skipped for a resource annotated
kjob.project-planton.org/wait: \"false\" unless --wait is given, and for all with --no-wait.

Re-runs: a failed Job is deleted and run again by the next up. An unchanged Job that
completed is left alone (run once), unless annotated kjob.project-planton.org/run-policy:
every-up, which runs it again on every up. Before planning, up reads each recorded Job: one
that finished meanwhile gets its outcome recorded, and one that completed and that Kubernetes
deleted after ttlSecondsAfterFinished is recorded as Collected and is not created again.
";

const WAIT_HELP: &str = "\
Examples:
  kjob up   --manifest job.yaml --yes --no-wait
  kjob wait --manifest job.yaml
  kjob wait --name migrate --env prod --timeout 300

Waits for each selected Job (namespace and name from the state store's record) until it is
Complete or Failed, or until --timeout, which applies to each Job. Progress as in up: a
spinner with active/succeeded/failed pod counts and the time waited on a terminal, a plain
line per change otherwise, and pod warning events as they happen. A Job that Kubernetes already
deleted after ttlSecondsAfterFinished is judged by its recorded outcome. wait only reads the
state store (it takes no lock and changes no record; the next up records the outcome).

Secret values are redacted from everything printed: those of --manifest, those of the Job's
live Secret <name>-env-secrets, and words whose SHA-256 matches a hash in the state store
(with --name alone these last two are all there is).

Exit codes:
  0  every Job is Complete (or completed and was collected by its TTL)
  1  a Job failed (with the failure report), is suspended, was deleted, or did not finish
     within --timeout (it keeps running: wait again, see kjob logs, or stop it with kjob down)
  2  not deployed (no record, or no Job recorded), bad usage
  4  the cluster could not be reached
";

const LOGS_HELP: &str = "\
Examples:
  kjob logs --manifest job.yaml
  kjob logs --name migrate --tail 20
  kjob logs --name migrate --env prod 2>/dev/null | grep ERROR

Prints, for every pod of each selected Job (oldest first), its last --tail log lines on
standard output, each line prefixed with the pod's name (\"migrate-x7k2p: ...\"). A pod whose
log cannot be read (the node serves none, the pod is gone, no RBAC permission for pods/log)
gets one line on standard error saying so and why, with the pod's phase and exit code.

Secret values are redacted as in kjob wait: the values of --manifest, those of the Job's live
Secret <name>-env-secrets, and any word whose SHA-256 matches a hash in the state store. With
--name alone only the last two are available; a secret printed inside a longer word is then
redacted only when the live Secret can be read.

Exit codes:
  0  the Job's pods were found (even when their logs could not be read)
  1  the Job has no pods (not started, deleted, or the Job was collected by its TTL)
  2  not deployed (no record, or no Job recorded), bad usage
  4  the cluster could not be reached
";

#[derive(Debug, Args)]
struct UpArgs {
    #[command(flatten)]
    manifest: ManifestArg,
    /// Wait for every Job to finish, even one annotated kjob.project-planton.org/wait:
    /// "false" (default: wait, unless the annotation says not to).
    #[arg(long, overrides_with = "no_wait")]
    wait: bool,
    /// Do not wait for Jobs to finish (the annotation kjob.project-planton.org/wait: "false"
    /// does this for one resource).
    #[arg(long, overrides_with = "wait")]
    no_wait: bool,
    /// Seconds to wait for each Job to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    timeout: u64,
}

/// Which deployed KubernetesJob(s) `wait` and `logs` act on.
#[derive(Debug, Args)]
struct JobTarget {
    #[command(flatten)]
    which: Which,
    /// metadata.env of the named KubernetesJob (default: any; needed when several share the
    /// name).
    #[arg(long, value_name = "ENV", conflicts_with = "manifest")]
    env: Option<String>,
}

impl JobTarget {
    fn selector(&self) -> plan::Selector {
        match (&self.which.manifest, &self.which.name) {
            (Some(manifest), _) => plan::Selector::Manifest(manifest.clone()),
            (None, name) => plan::Selector::Name {
                name: name.clone().unwrap_or_default(),
                kind: Some("KubernetesJob".into()),
                env: self.env.clone(),
            },
        }
    }
}

#[derive(Debug, Args)]
struct WaitArgs {
    #[command(flatten)]
    target: JobTarget,
    /// Seconds to wait for each Job to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    timeout: u64,
}

#[derive(Debug, Args)]
struct LogsArgs {
    #[command(flatten)]
    target: JobTarget,
    /// Lines to print from the end of each pod's log.
    #[arg(long, value_name = "LINES", default_value_t = 100)]
    tail: i64,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct Which {
    /// Manifest file naming the resources (`-` reads standard input).
    #[arg(long, short = 'f', value_name = "FILE")]
    manifest: Option<String>,
    /// metadata.name of a resource in the state store.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

#[derive(Debug, Args)]
struct Target {
    #[command(flatten)]
    which: Which,
    /// Kind of the named resource (needed when several kinds share the name); case, dashes
    /// and underscores are ignored.
    #[arg(long, value_name = "KIND", conflicts_with = "manifest")]
    kind: Option<String>,
    /// metadata.env of the named resource (default: any; needed when several share the name).
    #[arg(long, value_name = "ENV", conflicts_with = "manifest")]
    env: Option<String>,
}

#[derive(Debug, Args)]
struct DownArgs {
    #[command(flatten)]
    target: Target,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

#[derive(Debug, Args)]
struct OutputsArgs {
    #[command(flatten)]
    target: Target,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    output: Format,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    output: Format,
}

#[derive(Debug, Args)]
struct GetArgs {
    /// metadata.name of the resource.
    name: String,
    /// Kind (needed when several kinds share the name).
    #[arg(long, value_name = "KIND")]
    kind: Option<String>,
    /// metadata.env (needed when several share the name).
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Yaml)]
    output: Format,
}

/// What every command needs.
pub struct Context {
    /// The state store.
    pub store: Store,
    /// How to reach the cluster (connected lazily).
    pub cluster: Cluster,
    /// `--set` overrides.
    pub sets: Vec<Override>,
    /// Whether to colour standard output.
    pub colour: bool,
}

/// Whether standard output should be coloured: a terminal, and NO_COLOR unset.
pub fn use_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The command line, for the lock file.
fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Asks for confirmation when allowed, as documented in `--help`.
fn confirm(yes: bool, manifest_from_stdin: bool, question: &str) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if manifest_from_stdin || !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            Exit::Invalid,
            "standard input is not a terminal, so there is no one to confirm: pass --yes to proceed without confirmation",
        ));
    }
    use std::io::Write;
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CliError::new(Exit::Invalid, format!("cannot read the answer: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::new(
            Exit::Invalid,
            "cancelled: nothing was changed",
        )),
    }
}

async fn dispatch(cli: Cli) -> Result<(), CliError> {
    let global = cli.global;
    let dir = state::resolve_dir(global.state_dir.as_deref())?;
    let context = Context {
        store: Store::new(dir),
        cluster: Cluster::new(ClusterConfig {
            kubeconfig: global.kubeconfig.clone(),
            context: global.context.clone(),
        }),
        sets: global.set.clone(),
        colour: use_colour(),
    };
    let lock_timeout = Duration::from_secs(global.lock_timeout);
    match cli.command {
        Command::Validate(args) => {
            let planned = plan::prepare(&context, &args.manifest)?;
            show::validated(&planned);
            Ok(())
        }
        Command::Preview(args) => {
            let planned = plan::prepare(&context, &args.manifest)?;
            let changes = plan::changes(&context.store, &planned)?;
            show::preview(&planned, &changes, context.colour);
            Ok(())
        }
        Command::Up(args) => {
            let _lock = context.store.lock(&command_line(), lock_timeout)?;
            let planned = plan::prepare(&context, &args.manifest.manifest)?;
            jobs::refresh(&context, &planned).await?;
            let changes = plan::changes(&context.store, &planned)?;
            show::preview(&planned, &changes, context.colour);
            if changes.iter().any(|c| !c.skip) {
                confirm(
                    global.yes,
                    args.manifest.manifest == "-",
                    "Apply these changes?",
                )?;
            }
            let options = run::UpOptions {
                wait: match (args.wait, args.no_wait) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
                timeout: Duration::from_secs(args.timeout),
            };
            run::up(&context, &planned, &changes, &options).await
        }
        Command::Down(args) => {
            let _lock = context.store.lock(&command_line(), lock_timeout)?;
            let records = plan::targets(&context, &args.target.selector())?;
            show::down_plan(&records, &context.store, context.colour);
            if records.is_empty() {
                return Ok(());
            }
            confirm(
                global.yes,
                args.target.which.manifest.as_deref() == Some("-"),
                "Delete these resources?",
            )?;
            run::down(&context, records).await
        }
        Command::Outputs(args) => {
            let records = plan::targets(&context, &args.target.selector())?;
            if let Some(missing) = records.iter().find(|r| r.record.is_none()) {
                return Err(CliError::new(
                    Exit::Invalid,
                    format!(
                        "{} is not deployed: {} has no record of it",
                        missing.key,
                        context.store.describe_dir()
                    ),
                ));
            }
            show::outputs(&records, args.output)
        }
        Command::Wait(args) => {
            jobs::wait(
                &context,
                &args.target.selector(),
                Duration::from_secs(args.timeout),
            )
            .await
        }
        Command::Logs(args) => jobs::logs(&context, &args.target.selector(), args.tail).await,
        Command::List(args) => show::list(&context.store.list()?, args.output),
        Command::Schema(args) => {
            crate::schema::write_all(&args.dir).map_err(|e| {
                CliError::new(
                    Exit::Failed,
                    format!("cannot write the schemas into {}: {e}", args.dir.display()),
                )
            })?;
            println!(
                "wrote {}/{} and {}/{}",
                args.dir.display(),
                crate::schema::PULUMI_SCHEMA_FILE,
                args.dir.display(),
                crate::schema::JSON_SCHEMA_FILE
            );
            Ok(())
        }
        Command::Get(args) => {
            let selector = plan::Selector::Name {
                name: args.name,
                kind: args.kind,
                env: args.env,
            };
            let records = plan::targets(&context, &selector)?;
            let record = records
                .into_iter()
                .next()
                .and_then(|r| r.record)
                .expect("a name selects one record");
            show::record(&record, args.output)
        }
    }
}

impl Target {
    fn selector(&self) -> plan::Selector {
        match (&self.which.manifest, &self.which.name) {
            (Some(manifest), _) => plan::Selector::Manifest(manifest.clone()),
            (None, name) => plan::Selector::Name {
                name: name.clone().unwrap_or_default(),
                kind: self.kind.clone(),
                env: self.env.clone(),
            },
        }
    }
}

trait DescribeDir {
    fn describe_dir(&self) -> String;
}

impl DescribeDir for Store {
    fn describe_dir(&self) -> String {
        format!("the state store at {}", self.dir().display())
    }
}

/// Runs the command line and exits with its code.
pub fn main() -> ! {
    crate::logging::init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(Exit::Failed as i32);
        }
    };
    let code = match runtime.block_on(dispatch(cli)) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            for line in &e.details {
                eprintln!("{line}");
            }
            eprintln!("error: {}", e.message);
            e.code
        }
    };
    drop(runtime);
    std::process::exit(code as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_global_flags_anywhere() {
        let cli = Cli::try_parse_from([
            "kjob",
            "up",
            "--manifest",
            "f.yaml",
            "--set",
            "a:spec.parallelism=3",
            "--yes",
            "--state-dir",
            "/s",
        ])
        .unwrap();
        assert!(cli.global.yes);
        assert_eq!(cli.global.set[0].target.as_deref(), Some("a"));
        assert_eq!(
            cli.global.state_dir.as_deref(),
            Some(std::path::Path::new("/s"))
        );
        assert!(Cli::try_parse_from(["kjob", "destroy", "--name", "x"]).is_ok());
        assert!(
            Cli::try_parse_from(["kjob", "down"]).is_err(),
            "down needs --manifest or --name"
        );
        assert!(Cli::try_parse_from(["kjob", "down", "--name", "x", "--manifest", "f"]).is_err());
        assert!(
            Cli::try_parse_from([
                "kjob",
                "down",
                "--name",
                "x",
                "--kind",
                "KubernetesJob",
                "--env",
                "dev"
            ])
            .is_ok()
        );
        assert!(
            Cli::try_parse_from(["kjob", "down", "--manifest", "f", "--kind", "KubernetesJob"])
                .is_err(),
            "--kind goes with --name"
        );
        assert!(
            Cli::try_parse_from(["kjob", "up", "--manifest", "f", "--set", "nonsense"]).is_err()
        );
    }

    #[test]
    fn exit_codes_are_documented() {
        let help = Cli::command().render_long_help().to_string();
        for code in [
            "0  success",
            "1  deployment failed",
            "2  nothing was done",
            "3  the state store is locked",
            "4  the cluster could not be reached",
        ] {
            assert!(help.contains(code), "{code} missing from --help");
        }
    }
}
