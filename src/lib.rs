//! `kjob`: Project Planton's KubernetesJob as a Pulumi resource provider and a manifest CLI.
//!
//! Data flows one way, through pure modules first and IO shells last:
//!
//! | module | concern | IO |
//! |---|---|---|
//! | [`api`] | types generated from `proto/` and their descriptor pool | no |
//! | [`path`] | property paths and failures | no |
//! | [`codec`] | protobuf JSON <-> messages, strict, with paths | no |
//! | [`spec`] | proto defaults and validation | no |
//! | [`refs`] | foreign-key (`valueFrom`) resolution over lookup sources | no |
//! | [`render`] | spec -> Kubernetes objects and labels | no |
//! | [`job`] | the KubernetesJob pipeline: decode, defaults, references, validation | no |
//! | [`diff`] | old vs new inputs -> changes, update-in-place or replace | no |
//! | [`schema`] | Pulumi package schema and JSON Schema, generated from the descriptors | no |
//! | [`cluster`] | the Kubernetes client: apply, read, delete, wait | yes |
//! | [`lifecycle`] | Job state, waiting with progress, failure diagnostics | yes |
//! | [`deploy`] | apply / prune / delete sequences over the cluster client | yes |
//! | [`namespace`] | the KubernetesNamespace kind: check, render one Namespace, outputs | no |
//! | [`manifest`] | manifest files: YAML documents with positions, envelope checks, kinds | reads files |
//! | [`overrides`] | `--set path=value`, typed per proto field | no |
//! | [`state`] | the embedded state store: records, atomic writes, lock, reference source | yes (files) |
//! | [`cli`] | the `kjob` command line: validate, preview, up, down, outputs, list, get | yes |

pub mod api;
pub mod cli;
pub mod cluster;
pub mod codec;
pub mod deploy;
pub mod diff;
pub mod import;
pub mod job;
pub mod lifecycle;
pub mod logging;
pub mod manifest;
pub mod namespace;
pub mod overrides;
pub mod path;
pub mod provider;
pub mod refs;
pub mod render;
pub mod schema;
pub mod spec;
pub mod state;
