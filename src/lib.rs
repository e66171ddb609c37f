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
//! | [`cluster`] | the Kubernetes client: apply, read, delete, wait | yes |
//! | [`lifecycle`] | Job state, waiting with progress, failure diagnostics | yes |
//! | [`deploy`] | apply / prune / delete sequences over the cluster client | yes |

pub mod api;
pub mod cluster;
pub mod codec;
pub mod deploy;
pub mod path;
pub mod spec;
pub mod diff;
pub mod job;
pub mod lifecycle;
pub mod refs;
pub mod render;
pub mod import;
pub mod logging;
pub mod provider;
