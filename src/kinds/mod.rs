//! The resource kinds kjob deploys, each behind the same interface.

pub mod job;
pub mod namespace;
