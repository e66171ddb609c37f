//! The `kjob` command line: Project Planton manifests (KubernetesJob, KubernetesNamespace)
//! validated, previewed, applied and destroyed against a Kubernetes cluster, with the embedded
//! state store ([`crate::state`]) as the backend. No Pulumi is involved.
//!
//! The commands share one pipeline with the provider: [`crate::manifest`] (strict YAML with
//! positions), [`crate::manifest::overrides`] (`--set`), each kind's check (defaults, references,
//! validation), rendering, [`crate::core::plan`] and [`crate::core::diff`], and [`crate::deploy`]
//! over [`crate::cluster`].
//!
//! Submodules: [`args`] is the command line's shape (clap, help texts); [`error`] the exit codes
//! and the error a command ends with; [`plan`] loads, orders and checks the documents of a file;
//! [`select`] picks resources by manifest or name. One file per command group: [`deploy`]
//! (`validate`, `preview`, `up`, `down`), [`inspect`] (`outputs`, `list`, `get`, `schema`),
//! [`jobs`] (`wait`, and the refresh of recorded Job outcomes before `up`), [`logs`] (`logs`),
//! [`drift`] (`refresh`, `up --refresh`), [`statecmd`] (`state ...`); [`run`] applies and deletes
//! for `up` and `down`, writing state after every object; [`planton`] takes Project Planton's CLI
//! inputs (stack input, manifest URL, kube context label, `load-manifest`). Only [`show`] prints
//! (a lint holds every other module to it), including the `-o json|yaml` result document
//! ([`show::report`]), completions and man pages ([`show::docs`]).

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod args;
pub mod concurrent;
pub mod deploy;
pub mod drift;
pub mod error;
pub mod inspect;
pub mod jobs;
pub mod logs;
pub mod plan;
pub mod planton;
pub mod run;
pub mod select;
pub mod show;
pub mod statecmd;

use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;

pub use args::{Cli, Format};
pub use error::{CliError, Exit, cluster_exit};

use crate::cluster::{Cluster, ClusterConfig, Deadlines};
use crate::manifest::overrides::Override;
use crate::state::{self, Store};
use args::Command;

/// What every command needs.
pub struct Context {
    /// The state store.
    pub store: Box<dyn Store>,
    /// How to reach the cluster (connected lazily).
    pub cluster: Cluster,
    /// `--set` overrides.
    pub sets: Vec<Override>,
    /// Whether to colour standard output.
    pub colour: bool,
    /// Whether `up` and `down` show the live view on standard error ([`show::live::enabled`]).
    pub live: bool,
    /// `--yes`: proceed without asking.
    pub yes: bool,
    /// How long to wait for the state store's lock (`--lock-timeout`).
    pub lock_timeout: Duration,
    /// The stack its objects are deployed for: `kjob:<--stack>` or `kjob:<state store id>`
    /// (part of their owner identity, [`crate::core::owner::Owner`]).
    pub stack: String,
    /// Cancelled by SIGINT or SIGTERM: waits and deploy sequences stop at once, and the
    /// command records what exists and ends with [`Exit::Interrupted`].
    pub cancel: CancellationToken,
}

/// How long an interrupted command gets to record what exists and release the lock before
/// the process exits 130 anyway (when it is blocked on a prompt, say). A second signal exits
/// at once.
pub const INTERRUPT_GRACE: Duration = Duration::from_millis(1500);

/// The stop signals (SIGINT and SIGTERM; Ctrl-C and Ctrl-Break on Windows), caught from the start
/// of the command on.
struct Signals(crate::os::Stop);

impl Signals {
    /// Catches them (inside the runtime); `None` when they cannot be (the defaults stay).
    fn catch() -> Option<Signals> {
        crate::os::Stop::catch().map(Signals)
    }

    /// The name of the next signal received.
    async fn next(&mut self) -> &'static str {
        self.0.next().await
    }

    /// Cancels `cancel` at the first signal; exits 130 at a second one, or when the command
    /// has not ended [`INTERRUPT_GRACE`] later.
    async fn watch(mut self, cancel: CancellationToken) {
        let name = self.next().await;
        show::interrupted(name);
        cancel.cancel();
        tokio::select! {
            name = self.next() => show::interrupted_again(name),
            () = tokio::time::sleep(INTERRUPT_GRACE) => show::interrupt_grace_over(INTERRUPT_GRACE),
        }
        std::process::exit(Exit::Interrupted as i32);
    }
}

/// Runs one parsed command line; SIGINT and SIGTERM cancel it ([`Signals::watch`]).
async fn dispatch(cli: Cli) -> Result<(), CliError> {
    let cancel = CancellationToken::new();
    if let Some(signals) = Signals::catch() {
        tokio::spawn(signals.watch(cancel.clone()));
    }
    let global = cli.global;
    show::set_level(if global.quiet { 0 } else { 1 + global.verbose });
    let (name, format) = cli.command.report_format();
    show::report::start(name, format);
    let mut command = cli.command;
    let mut sets = Vec::new();
    for list in global.set {
        sets.extend(
            list.into_result()
                .map_err(|e| CliError::new(Exit::Invalid, format!("--set: {e}")))?,
        );
    }
    let planton = planton::prepare(&mut command, &global.planton).await?;
    let kubeconfig = match (global.kubeconfig, planton.kubeconfig) {
        (Some(_), Some(_)) => {
            return Err(CliError::new(
                Exit::Invalid,
                "give either --kubeconfig or a stack input with providerConfig, not both",
            ));
        }
        (flag, stack_input) => flag.or(stack_input),
    };
    let deadlines = Deadlines {
        request: Duration::from_secs(global.request_timeout),
        call: Duration::from_secs(global.call_timeout),
    };
    let backend = state::resolve_backend(global.backend.as_deref(), global.state_dir.as_deref())?;
    let cluster = ClusterConfig {
        kubeconfig,
        context: global.context.or(planton.context),
        deadlines,
    };
    let (store, moved) = state::open_following(&backend, cluster.clone())?;
    if !moved.is_empty() {
        show::store_moved(&moved, &store.url());
    }
    let stack = match global.stack {
        Some(name) => format!("kjob:{name}"),
        None => {
            // Only `up` creates the store's id; any other command reads it when there is one.
            let create = matches!(command, Command::Up(_));
            let id = store.id(create)?.unwrap_or_else(|| "unsaved".into());
            format!("kjob:{id}")
        }
    };
    let context = Context {
        store,
        stack,
        cluster: Cluster::new(cluster),
        sets,
        colour: show::use_colour(global.color),
        live: show::live::enabled(global.color),
        yes: global.yes,
        lock_timeout: Duration::from_secs(global.lock_timeout),
        cancel,
    };
    match command {
        Command::Validate(args) => deploy::validate(&context, &args),
        Command::Preview(args) => deploy::preview(&context, &args).await,
        Command::Refresh(args) => drift::refresh(&context, &args).await,
        Command::Up(args) => deploy::up(&context, &args).await,
        Command::Down(args) => deploy::down(&context, &args).await,
        Command::Outputs(args) => inspect::outputs(&context, &args),
        Command::Wait(args) => jobs::wait(&context, &args).await,
        Command::Logs(args) => logs::logs(&context, &args).await,
        Command::List(args) => inspect::list(&context, &args),
        Command::Schema(args) => inspect::schema(&args),
        Command::Get(args) => inspect::get(&context, args),
        Command::LoadManifest(args) => planton::load_manifest::run(&context, &args),
        Command::State(args) => statecmd::run(&context, args).await,
        Command::Completion(args) => {
            show::docs::completion(args.shell);
            Ok(())
        }
        Command::Man(args) => show::docs::man(args.dir.as_deref()),
    }
}

/// Runs the command line and exits with its code.
pub fn main() -> ! {
    let cli = Cli::parse();
    crate::logging::init_with(match cli.global.verbose {
        _ if cli.global.quiet => "error,kube_client=off",
        0 => "warn,kube_client=off",
        1 => "warn,kjob=info,kube_client=off",
        _ => "warn,kjob=debug,kube_client=off",
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            show::error(&CliError::new(
                Exit::Failed,
                format!("cannot start the async runtime: {e}"),
            ));
            std::process::exit(Exit::Failed as i32);
        }
    };
    let result = runtime.block_on(dispatch(cli));
    show::report::finish(result.as_ref().map(|_| ()));
    let code = match result {
        Ok(()) => Exit::Ok,
        Err(e) => {
            show::error(&e);
            e.code
        }
    };
    // Not waiting for blocking reads: a prompt interrupted by a signal still reads its terminal.
    runtime.shutdown_background();
    std::process::exit(code as i32)
}
