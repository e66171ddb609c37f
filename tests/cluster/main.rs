//! Every test that runs against the test bed (`scripts/testbed up`, which README's test command
//! starts), in one binary: the CLI and the provider end to end, Job outcomes, the API server's
//! Job semantics, faults, load, secrets and the real Pulumi engine. There is no skipping:
//! without a test bed these tests fail and say how to start one.

mod common;
mod launch;

mod cancel;
mod cli;
mod cli_lifecycle;
mod deadlines;
mod faults;
mod job_semantics;
mod live_view;
mod load;
mod namespace_kind;
mod operator;
mod outages;
mod outcome_parity;
mod parallel;
mod planton;
mod provider_await;
mod provider_lifecycle;
mod pulumi_e2e;
mod requests;
mod secrets;
mod shared_cluster;
mod team;
mod team_rbac;
mod wait_requests;
mod warnings;
