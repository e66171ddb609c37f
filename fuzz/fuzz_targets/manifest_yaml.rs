//! Any text through the CLI's manifest loader (`kjob::manifest::parse`: YAML documents with
//! positions, envelope checks), then each document through its kind's pipeline with every
//! failure located back in the file, and rendering when it checks: never a panic, never a hang.
#![no_main]

use kjob::core::path::PropertyPath;
use kjob::manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let docs = match manifest::parse("fuzz.yaml", text) {
        Ok(docs) => docs,
        Err(errors) => {
            for e in errors {
                let _ = e.to_string();
            }
            return;
        }
    };
    let root = PropertyPath::root();
    for doc in docs {
        let _ = doc.title();
        let checked = doc.kind.check(&doc.value, &root, None, &[]);
        for f in &checked.failures {
            let _ = doc.locate(f).to_string();
        }
        if checked.is_ok() {
            let _ = checked.render(&Default::default()).map(|r| r.objects);
        }
    }
});
