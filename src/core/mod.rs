//! The pure core: everything here is a function over plain values. No module under `core`
//! talks to the cluster, the network, the file system or an async runtime, and none knows the
//! kinds or the front ends (`tests/pure/architecture.rs` enforces both).
//!
//! | module | what |
//! |---|---|
//! | [`backend`] | backend URLs, record Secrets (names, labels, payload), Lease holders and expiry |
//! | [`path`] | property paths and failures |
//! | [`codec`] | protobuf JSON to messages and back, strict, with paths |
//! | [`defaults`] | proto defaults from field options |
//! | [`names`] | DNS names, identifiers, quantities |
//! | [`load`] | decode, defaults and references in one step |
//! | [`refs`] | foreign-key (`valueFrom`) resolution over lookup sources |
//! | [`objects`] | Kubernetes object identities and ownership labels |
//! | [`owner`] | owner identities on objects, whose an object is, what keeps a namespace |
//! | [`secrets`] | the secret rule: paths, values, redaction, state markers |
//! | [`diff`] | input diffs and the one replace-rule table |
//! | [`drift`] | how a live object differs from what kjob applied |
//! | [`outcome`] | Job outcomes, the re-run policy, the rule for collected Jobs |
//! | [`plan`] | the deploy order of resources, what a run changes for one resource |
//! | [`record`] | what the state store holds about one deployed resource |
//! | [`servercheck`] | what a preview checked by the API server sends, and what each answer means |
//! | [`time`] | deadlines and waits from input, saturating |

pub mod backend;
pub mod codec;
pub mod defaults;
pub mod diff;
pub mod drift;
pub mod load;
pub mod names;
pub mod objects;
pub mod outcome;
pub mod owner;
pub mod path;
pub mod plan;
pub mod record;
pub mod refs;
pub mod secrets;
pub mod servercheck;
pub mod time;
