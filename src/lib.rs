//! `kjob`: Project Planton's KubernetesJob as a Pulumi resource provider and a manifest CLI.

pub mod api;
pub mod cli;
pub mod cluster;
pub mod core;
pub mod deploy;
pub mod kinds;
pub mod logging;
pub mod manifest;
pub mod provider;
pub mod schema;
pub mod state;
pub mod wait;
