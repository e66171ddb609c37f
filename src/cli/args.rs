//! The command line's shape: the clap definitions of every command and flag, and the help
//! texts (examples, exit codes). Nothing here runs a command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::select::Selector;
use crate::manifest::overrides::OverrideList;

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
     command and start time)
  4  the cluster could not be reached (kubeconfig missing or invalid, connection refused, TLS)
  130  interrupted (SIGINT, SIGTERM): waits and deletes stop at once; up and down record what
     exists (a Job keeps running: the next up waits for it again) and release the lock; a
     second signal, or a command still busy 1.5 s later, exits at once";

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

Colour: previews are coloured when standard output is a terminal and NO_COLOR is not set
(--color always|never decides instead).

Scriptable output: -o json|yaml on validate, preview, up, down and refresh prints one document
(version 1: plan, results, outputs, error; secret values as \"[secret]\") when the command ends.

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
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) kubeconfig: Option<String>,
    /// Kubeconfig context (default: the manifest's label kubernetes.project-planton.org/context,
    /// else the current context).
    #[arg(
        long,
        visible_alias = "kube-context",
        global = true,
        value_name = "NAME"
    )]
    pub(crate) context: Option<String>,
    /// State directory (default: $KJOB_STATE_DIR, $XDG_STATE_HOME/kjob, ~/.local/state/kjob).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// State backend URL: file://DIR (the default, from --state-dir) or
    /// kubernetes://NAMESPACE[?context=NAME] (Secrets and a Lease in that namespace).
    #[arg(long, global = true, value_name = "URL", env = "KJOB_BACKEND")]
    pub(crate) backend: Option<String>,
    /// Override a manifest value: dotted path (snake or camel case), value typed per the proto
    /// field. Repeatable. With several documents in the file, prefix the document's
    /// metadata.name: NAME:PATH=VALUE. Several in one argument are separated by commas:
    /// --set spec.parallelism=2,spec.suspend=true.
    #[arg(long = "set", global = true, value_name = "[NAME:]PATH=VALUE[,...]", value_parser = clap::value_parser!(OverrideList))]
    pub(crate) set: Vec<OverrideList>,
    /// Do not ask for confirmation (required by up and down when standard input is not a
    /// terminal).
    #[arg(long, short = 'y', global = true)]
    pub(crate) yes: bool,
    /// The stack this run deploys for (part of the owner identity on every object it creates):
    /// runs with the same stack name own the same objects. Default: the state store's own id,
    /// so two state stores never own each other's objects.
    #[arg(long, global = true, value_name = "NAME", env = "KJOB_STACK")]
    pub(crate) stack: Option<String>,
    /// Seconds to wait for the state store's lock held by another run (0: refuse at once).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 0)]
    pub(crate) lock_timeout: u64,
    /// Seconds one request to the Kubernetes API server may go unanswered before it is abandoned
    /// and retried (watches and followed logs are not limited by it).
    #[arg(long, global = true, value_name = "SECONDS", env = "KJOB_REQUEST_TIMEOUT",
        default_value_t = crate::cluster::Deadlines::REQUEST.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) request_timeout: u64,
    /// Seconds one Kubernetes API call may take with all its retries; a call that gets no answer
    /// fails after this long.
    #[arg(long, global = true, value_name = "SECONDS", env = "KJOB_CALL_TIMEOUT",
        default_value_t = crate::cluster::Deadlines::CALL.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) call_timeout: u64,
    #[command(flatten)]
    pub(crate) planton: super::planton::PlantonArgs,
    /// More detail on standard error: -v logs kjob's info messages, -vv its debug messages
    /// (KJOB_LOG, when set, decides instead).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Only errors on standard error: no progress, spinner or step lines (results, warnings
    /// and errors are still printed).
    #[arg(long, short = 'q', global = true)]
    pub(crate) quiet: bool,
    /// Colour standard output: auto (a terminal and NO_COLOR unset), always or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
}

/// When to colour (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always, even into a pipe or with NO_COLOR.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check manifests: syntax, fields, types, defaults, references and validation; contacts no
    /// cluster.
    #[command(after_help = "Example:\n  kjob validate --manifest examples/namespace-and-job.yaml")]
    Validate(ManifestArg),
    /// Manage the state store: migrate it to another backend, list, show and remove records,
    /// release a lock (see README, Team state).
    #[command(subcommand)]
    State(super::statecmd::StateCommand),
    /// Show what up would do: per object create, update, replace, delete or unchanged, and a
    /// diff of the inputs against the state store (secret values masked); contacts no cluster.
    #[command(
        after_help = "Examples:\n  kjob preview --manifest examples/job.yaml --set spec.parallelism=2\n  kjob preview --manifest examples/job.yaml --server\n\nWith --server the API server checks every object the run would apply (a server-side dry-run\napply: admission, quotas, RBAC, validation, immutable fields); a refusal names the object and\nexits 1. An object whose namespace the same run creates is reported as not checked."
    )]
    Preview(PreviewArgs),
    /// Compare the live objects of deployed resources with what kjob applied and report each
    /// drifted field (secret values never shown); changes nothing (`up --refresh` puts them
    /// back).
    #[command(
        after_help = "Examples:\n  kjob refresh --manifest examples/job.yaml\n  kjob refresh --manifest examples/job.yaml -o json\n  kjob up --manifest examples/job.yaml --refresh --yes"
    )]
    Refresh(ManifestArg),
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
    /// Write the generated schemas (the Pulumi package schema and the manifests' JSON Schemas)
    /// into a directory.
    #[command(
        after_help = "Example:\n  kjob schema            (writes schema/schema.json, schema/kubernetesjob.schema.json\n                          and schema/kubernetesnamespace.schema.json)"
    )]
    Schema(SchemaArgs),
    /// Print the effective manifest: --set overrides, defaults and resolved references applied
    /// (YAML or JSON); contacts no cluster.
    #[command(
        visible_alias = "load",
        after_help = "Examples:\n  kjob load-manifest examples/job.yaml --set spec.parallelism=2\n  kjob load-manifest -i stack-input.yaml -o json"
    )]
    LoadManifest(super::planton::load_manifest::LoadManifestArgs),
    /// Print a shell completion script (generated from these definitions).
    #[command(
        after_help = "Examples:\n  kjob completion bash > /etc/bash_completion.d/kjob\n  kjob completion zsh > \"${fpath[1]}/_kjob\"\n  kjob completion fish > ~/.config/fish/completions/kjob.fish\n  kjob completion powershell >> $PROFILE"
    )]
    Completion(CompletionArgs),
    /// Print the man page kjob(1), or write one page per command into a directory.
    #[command(
        after_help = "Examples:\n  kjob man | man -l -\n  kjob man --dir /usr/local/share/man/man1"
    )]
    Man(ManArgs),
}

impl Command {
    /// The name and output format of a command that takes `-o` for its result document
    /// (validate, preview, up, down); a table for the others.
    pub(crate) fn report_format(&self) -> (&'static str, Format) {
        match self {
            Command::Validate(a) => ("validate", a.output),
            Command::Preview(a) => ("preview", a.manifest.output),
            Command::Up(a) => ("up", a.manifest.output),
            Command::Down(a) => ("down", a.output),
            Command::Refresh(a) => ("refresh", a.output),
            _ => ("", Format::Table),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct PreviewArgs {
    #[command(flatten)]
    pub(crate) manifest: ManifestArg,
    /// Also have the API server check every object (server-side dry-run apply); contacts the
    /// cluster.
    #[arg(long)]
    pub(crate) server: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write kjob.1 and kjob-COMMAND.1 into this directory instead of printing kjob.1.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Directory to write into.
    #[arg(long, value_name = "DIR", default_value = "schema")]
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ManifestArg {
    /// Manifest file or http(s) URL; `-` reads standard input. May hold several YAML
    /// documents. Not needed with --stack-input or --kustomize-dir.
    #[arg(long, short = 'f', value_name = "FILE", required_unless_present_any = ["stack_input", "kustomize_dir"])]
    pub(crate) manifest: Option<String>,
    /// Output: text (table), or one JSON or YAML document when the command ends (plan,
    /// per-document results, outputs; see README "Scriptable output").
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub(crate) output: Format,
}

impl ManifestArg {
    /// The manifest to read (set by `--manifest` or by [`super::planton::prepare`]).
    pub(crate) fn path(&self) -> &str {
        self.manifest.as_deref().unwrap_or("-")
    }
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
  130  interrupted (SIGINT, SIGTERM): stopped waiting at once; the Jobs keep running
";

const LOGS_HELP: &str = "\
Examples:
  kjob logs --manifest job.yaml
  kjob logs --name migrate --tail 20
  kjob logs --name migrate --follow
  kjob logs --name migrate --index 2 --since 5m
  kjob logs --name migrate --pod migrate-x7k2p --previous
  kjob logs --name migrate --env prod 2>/dev/null | grep ERROR

Prints, for every pod of each selected Job (oldest first), its last --tail log lines on
standard output, each line prefixed with the pod's name (\"migrate-x7k2p: ...\"); with --pod or
--index into a pipe, a single pod's lines come without the prefix. --follow keeps printing
new lines until the Job is Complete or Failed (Ctrl-C stops earlier; the Job keeps running). A pod whose
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
pub(crate) struct UpArgs {
    #[command(flatten)]
    pub(crate) manifest: ManifestArg,
    /// Wait for every Job to finish, even one annotated kjob.project-planton.org/wait:
    /// "false" (default: wait, unless the annotation says not to).
    #[arg(long, overrides_with = "no_wait")]
    pub(crate) wait: bool,
    /// Do not wait for Jobs to finish (the annotation kjob.project-planton.org/wait: "false"
    /// does this for one resource).
    #[arg(long, overrides_with = "wait")]
    pub(crate) no_wait: bool,
    /// Seconds to wait for each Job to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub(crate) timeout: u64,
    /// Take over objects the manifests render that exist and belong to another owner (another
    /// stack, state store, env or kind) or to no kjob resource: they are relabelled as this
    /// run's, and from then on the other owner leaves them alone. Without it, such an object
    /// stops the run with an error naming its owner.
    #[arg(long)]
    pub(crate) adopt: bool,
    /// Before planning, compare the live objects with what was applied (as kjob refresh does),
    /// report what drifted, and apply again every resource that drifted.
    #[arg(long)]
    pub(crate) refresh: bool,
    /// While waiting for a Job, stream its pods' logs to standard error, each line prefixed
    /// with its pod's name, secret values redacted.
    #[arg(long)]
    pub(crate) logs: bool,
    /// How many documents to apply (and wait for) at once; a document starts only after those
    /// it references are applied. 1 applies them one after another.
    #[arg(long, value_name = "N", default_value_t = super::concurrent::DEFAULT_PARALLEL, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) parallel: u16,
}

/// Which deployed KubernetesJob(s) `wait` and `logs` act on.
#[derive(Debug, Args)]
pub(crate) struct JobTarget {
    #[command(flatten)]
    pub(crate) which: Which,
    /// metadata.env of the named KubernetesJob (default: any; needed when several share the
    /// name).
    #[arg(long, value_name = "ENV", conflicts_with = "manifest")]
    pub(crate) env: Option<String>,
}

impl JobTarget {
    /// The KubernetesJob(s) named: the manifest's, or the one of that name (and env).
    pub(crate) fn selector(&self) -> Selector {
        match (&self.which.manifest, &self.which.name) {
            (Some(manifest), _) => Selector::Manifest(manifest.clone()),
            (None, name) => Selector::Name {
                name: name.clone().unwrap_or_default(),
                kind: Some("KubernetesJob".into()),
                env: self.env.clone(),
            },
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    #[command(flatten)]
    pub(crate) target: JobTarget,
    /// Seconds to wait for each Job to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub(crate) timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    #[command(flatten)]
    pub(crate) target: JobTarget,
    /// Lines to print from the end of each pod's log.
    #[arg(long, value_name = "LINES", default_value_t = 100)]
    pub(crate) tail: i64,
    /// Keep printing lines as they are written (pods that start later too) until the Job is
    /// Complete or Failed, or until interrupted.
    #[arg(long)]
    pub(crate) follow: bool,
    /// The log of each pod's previous container (the one before a restart).
    #[arg(long, conflicts_with = "follow")]
    pub(crate) previous: bool,
    /// Only lines written within this long: seconds, or e.g. 30s, 5m, 1h30m.
    #[arg(long, value_name = "DURATION", value_parser = crate::core::time::parse_duration)]
    pub(crate) since: Option<std::time::Duration>,
    /// Only this pod (a name kjob logs printed).
    #[arg(long, value_name = "POD", conflicts_with = "index")]
    pub(crate) pod: Option<String>,
    /// Only the pods of this completion index (an Indexed Job's).
    #[arg(long, value_name = "N")]
    pub(crate) index: Option<u32>,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
pub(crate) struct Which {
    /// Manifest file or http(s) URL naming the resources (`-` reads standard input).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) manifest: Option<String>,
    /// metadata.name of a resource in the state store.
    #[arg(long, value_name = "NAME", required_unless_present_any = ["manifest", "stack_input", "kustomize_dir"])]
    pub(crate) name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct Target {
    #[command(flatten)]
    pub(crate) which: Which,
    /// Kind of the named resource (needed when several kinds share the name); case, dashes
    /// and underscores are ignored.
    #[arg(long, value_name = "KIND", conflicts_with = "manifest")]
    pub(crate) kind: Option<String>,
    /// metadata.env of the named resource (default: any; needed when several share the name).
    #[arg(long, value_name = "ENV", conflicts_with = "manifest")]
    pub(crate) env: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    #[command(flatten)]
    pub(crate) target: Target,
    /// Output: text (table), or one JSON or YAML document when the command ends.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub(crate) output: Format,
    /// How many resources to delete at once; a resource is deleted only after every resource
    /// that references it is gone. 1 deletes them one after another.
    #[arg(long, value_name = "N", default_value_t = super::concurrent::DEFAULT_PARALLEL, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) parallel: u16,
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
pub(crate) struct OutputsArgs {
    #[command(flatten)]
    pub(crate) target: Target,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub(crate) output: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub(crate) output: Format,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// metadata.name of the resource.
    pub(crate) name: String,
    /// Kind (needed when several kinds share the name).
    #[arg(long, value_name = "KIND")]
    pub(crate) kind: Option<String>,
    /// metadata.env (needed when several share the name).
    #[arg(long, value_name = "ENV")]
    pub(crate) env: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Yaml)]
    pub(crate) output: Format,
}

impl Target {
    /// The resources named: the manifest's, or the one of that name (kind and env narrow it).
    pub(crate) fn selector(&self) -> Selector {
        match (&self.which.manifest, &self.which.name) {
            (Some(manifest), _) => Selector::Manifest(manifest.clone()),
            (None, name) => Selector::Name {
                name: name.clone().unwrap_or_default(),
                kind: self.kind.clone(),
                env: self.env.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests;
