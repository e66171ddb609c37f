//! `kjob`: Project Planton's KubernetesJob as a Pulumi resource provider and a manifest CLI.
//!
//! Data flows one way, through three layers. The folders show which is which:
//!
//! | layer | module | what | IO |
//! |---|---|---|---|
//! | generated | [`api`] | types generated from `proto/` and their descriptor pool | no |
//! | core | [`core`] | paths, codec, defaults, names, references, objects and owner labels, secrets, diff and the replace rules, Job outcome rules | no (a test enforces it) |
//! | kinds | [`kinds`] | KubernetesJob and KubernetesNamespace behind one interface: check, render, outputs, the Job they run | no |
//! | generated | [`schema`] | the Pulumi package schema and the JSON Schema, from the descriptors | writes files on request |
//! | shell | [`manifest`] | manifest files: YAML documents with positions, `--set` overrides | reads files |
//! | shell | [`cluster`] | the only Kubernetes client: apply, get, list, delete, logs; deadlines and retries of every call | yes |
//! | shell | [`deploy`] | the one apply / prune / delete path, for an owner's objects only | yes |
//! | shell | [`wait`] | waiting for a Job with progress, failure diagnostics | yes |
//! | shell | [`follow`] | following a Job's pods' logs until it finishes (`logs --follow`, `up --logs`, the provider's status) | yes |
//! | shell | [`state`] | the state store behind one interface: `file://` (records, atomic writes, flock) and `kubernetes://` (Secrets, a Lease) | yes (files, cluster) |
//! | shell | [`os`] | what differs between operating systems: owner-only file modes, syncing a directory, stop signals, the host name | yes |
//! | front end | [`provider`] | `pulumi-resource-kjob`: the gRPC service over typed resource functions | yes |
//! | front end | [`cli`] | `kjob`: arguments, commands, output; Project Planton's CLI inputs ([`cli::planton`]) | yes |
//!
//! A front end never re-implements a rule that [`core`] or [`kinds`] holds.

pub mod api;
pub mod cli;
pub mod cluster;
pub mod core;
pub mod deploy;
pub mod follow;
pub mod kinds;
pub mod logging;
pub mod manifest;
pub mod os;
pub mod provider;
pub mod schema;
pub mod state;
pub mod wait;
