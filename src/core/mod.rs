//! The pure core: everything here is a function over plain values. No module under `core`
//! talks to the cluster, the network, the file system or an async runtime (a test enforces it).

pub mod codec;
pub mod defaults;
pub mod diff;
pub mod load;
pub mod names;
pub mod objects;
pub mod outcome;
pub mod path;
pub mod plan;
pub mod record;
pub mod refs;
pub mod secrets;
