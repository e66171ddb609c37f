//! Any `--set` arguments (one a line, after a first byte that picks the manifest they apply to:
//! either example, a minimal Job, a minimal KubernetesNamespace) through the CLI's parsing
//! (`overrides::parse`) and applying (`cli::plan::apply_sets`: document targets, typed values,
//! map entries, list indexes, oneofs), then each document through its kind's pipeline with
//! every failure located back in the file or the override, and rendering when it checks:
//! never a panic, never a hang.
#![no_main]

use kjob::core::path::PropertyPath;
use kjob::manifest::{self, overrides};
use libfuzzer_sys::fuzz_target;

const MANIFESTS: [&str; 4] = [
    include_str!("../../examples/job.yaml"),
    include_str!("../../examples/namespace-and-job.yaml"),
    "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata: {name: j}\nspec:\n  namespace: {value: ns}\n  image: {repo: busybox}\n",
    "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesNamespace\nmetadata: {name: team}\nspec: {name: team-ns}\n",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(docs) = manifest::parse("fuzz.yaml", MANIFESTS[usize::from(pick) % MANIFESTS.len()])
    else {
        return;
    };
    let mut sets = Vec::new();
    for line in text.lines() {
        match overrides::parse(line) {
            Ok(set) => {
                let _ = set.shown_value();
                sets.push(set);
            }
            Err(e) => drop(e),
        }
    }
    let docs = match kjob::cli::plan::apply_sets("fuzz.yaml", docs, &sets) {
        Ok(docs) => docs,
        Err(e) => {
            let _ = (e.details, e.message);
            return;
        }
    };
    let root = PropertyPath::root();
    for doc in docs {
        let checked = doc.kind.check(&doc.value, &root, None, &[]);
        for f in &checked.failures {
            let _ = doc.locate(f).to_string();
        }
        if checked.is_ok() {
            let _ = checked.render(&Default::default()).map(|r| r.objects);
        }
    }
});
