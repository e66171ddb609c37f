//! How a command ends when it fails: the exit codes documented in `--help` ([`Exit`]), and the
//! error that carries one with the lines to print ([`CliError`]), converted from the state
//! store's and the cluster's errors.

use crate::cluster::ClusterError;
use crate::state::StateError;

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
    /// Interrupted by SIGINT or SIGTERM (128 + SIGINT, as shells report Ctrl-C): what exists
    /// is recorded and the lock released.
    Interrupted = 130,
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
            StateError::NoDir | StateError::Backend(_) => Exit::Invalid,
            _ => Exit::Failed,
        };
        CliError::new(code, e.to_string())
    }
}

/// The exit code of a cluster error: unreachable (4) when the cluster could not be talked to,
/// else failed (1).
pub fn cluster_exit(e: &ClusterError) -> Exit {
    match e {
        ClusterError::Cancelled(_) => Exit::Interrupted,
        ClusterError::Config(_) => Exit::Unreachable,
        ClusterError::Api {
            source: kube::Error::Api(_),
            ..
        } => Exit::Failed,
        ClusterError::Api { .. } => Exit::Unreachable,
        _ => Exit::Failed,
    }
}
