//! What the `kjob state` commands print.

use crate::state::Record;

/// A store opened through the moves `state migrate` made.
pub fn store_moved(from: &[String], to: &str) {
    eprintln!(
        "note: the state store moved ({} -> {to}): using {to}",
        from.join(" -> ")
    );
}

/// A lock's holder, or none.
pub fn holder(url: &str, holder: Option<&str>) {
    match holder {
        Some(h) => println!("{url} is locked by {h}"),
        None => println!("{url} is not locked"),
    }
}

/// What `state unlock` released.
pub fn unlocked(url: &str, holder: Option<&str>) {
    match holder {
        Some(h) => println!("Released the lock of {url}, held by {h}"),
        None => println!("{url} was not locked: nothing to release"),
    }
}

/// What `state rm` forgot.
pub fn forgotten(record: &Record, url: &str) {
    println!(
        "Removed the record of {} from {url} (its Kubernetes objects were left as they are)",
        record.key()
    );
}

/// What `state migrate` did.
pub fn migrated(count: usize, from: &str, to: &str, source_kept: bool) {
    println!("Copied and verified {count} record(s) from {from} to {to}; runs now use {to}");
    if source_kept {
        println!("The source is kept as it was (pass --delete-source to remove its records)");
    } else {
        println!("The source's records were removed");
    }
}
