//! `kjob up --parallel N` and `kjob down --parallel N` against the test bed: `up` starts
//! dependents only after what they reference is applied, `down` deletes a document only after
//! every document referencing it is gone; a failure starts nothing new, lets the documents already
//! running finish and be recorded, and the summary (and `-o json`) lists each document's result.

use crate::common;
use common::cli::{Bed, yaml_job, yaml_namespace};

use kjob::core::refs::ResourceKey;
use kjob::state::Status;

fn key(kind: &str, name: &str) -> ResourceKey {
    ResourceKey {
        kind: kind.into(),
        env: String::new(),
        name: name.into(),
    }
}

#[tokio::test]
async fn parallel_up_follows_references_and_records_every_result_when_one_fails() {
    let bed = Bed::new();
    let ns_resource = common::unique("pteam");
    let ns_name = common::unique("kjob-par");
    let missing = common::unique("kjob-missing");
    // Every Job refers to the namespace's outputs, so all start together once it is applied.
    let refers = format!(
        "  env:\n    variables:\n      NS:\n        valueFrom: {{kind: KubernetesNamespace, name: {ns_resource}, fieldPath: status.outputs.namespace}}\n"
    );
    let jobs: Vec<String> = (0..4).map(|i| common::unique(&format!("pj{i}"))).collect();
    let mut docs: Vec<String> = jobs
        .iter()
        .map(|j| {
            yaml_job(
                j,
                &format!(
                    "  namespace: {{valueFrom: {{name: {ns_resource}}}}}\n  suspend: true\n{refers}"
                ),
            )
        })
        .collect();
    // This one's namespace does not exist (and is not created): its apply fails.
    let bad = common::unique("pbad");
    docs.push(yaml_job(
        &bad,
        &format!("  namespace: {{value: {missing}}}\n  suspend: true\n{refers}"),
    ));
    docs.push(yaml_namespace(&ns_resource, &ns_name));
    let file = bed.file("all.yaml", &docs.join("---\n"));

    let up = bed.run(&[
        "up",
        "--manifest",
        &file,
        "--yes",
        "--no-wait",
        "--parallel",
        "8",
    ]);
    up.failed().says("Summary:");
    let ns_applied = up
        .stderr
        .find(&format!("applied Namespace {ns_name}"))
        .expect("the namespace is applied");
    for job in &jobs {
        let started = up
            .stderr
            .find(&format!("KubernetesJob \"{job}\":"))
            .expect("each Job starts");
        assert!(
            ns_applied < started,
            "{job} started before its namespace:\n{}",
            up.stderr
        );
        up.says(&format!("KubernetesJob \"{job}\": applied"));
    }
    up.says(&format!("KubernetesJob \"{bad}\": failed:"));
    let store = bed.store();
    for job in &jobs {
        let record = store
            .get(&key("KubernetesJob", job))
            .unwrap()
            .expect("recorded");
        assert_eq!(record.status, Status::Applied, "{job}");
    }
    let record = store
        .get(&key("KubernetesJob", &bad))
        .unwrap()
        .expect("recorded");
    assert_eq!(record.status, Status::Failed);

    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
    for job in &jobs {
        assert!(store.get(&key("KubernetesJob", job)).unwrap().is_none());
    }
}

/// The results of a `-o json` run, by resource name: (result, the whole entry).
fn results(stdout: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_str(stdout).expect("one JSON document");
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["resource"]["name"].as_str().expect("a name").to_owned(),
                r.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn parallel_down_deletes_the_reference_graph_in_reverse() {
    let bed = Bed::new();
    let ns_resource = common::unique("dteam");
    let ns_name = common::unique("kjob-down");
    let first = common::unique("dfirst");
    let last = common::unique("dlast");
    let in_ns = format!("  namespace: {{valueFrom: {{name: {ns_resource}}}}}\n  suspend: true\n");
    // first -> namespace; last -> first (and the namespace): down deletes last, first, namespace.
    let refers_first = format!(
        "  env:\n    variables:\n      FIRST:\n        valueFrom: {{kind: KubernetesJob, name: {first}, fieldPath: status.outputs.jobName}}\n"
    );
    let others: Vec<String> = (0..3)
        .map(|i| common::unique(&format!("dother{i}")))
        .collect();
    let mut docs = vec![
        yaml_namespace(&ns_resource, &ns_name),
        yaml_job(&first, &in_ns),
        yaml_job(&last, &format!("{in_ns}{refers_first}")),
    ];
    docs.extend(others.iter().map(|o| yaml_job(o, &in_ns)));
    let file = bed.file("graph.yaml", &docs.join("---\n"));
    bed.run(&["up", "--manifest", &file, "--yes", "--no-wait"])
        .ok();

    let down = bed.run(&["down", "--manifest", &file, "--yes", "--parallel", "8"]);
    down.ok();
    let err = &down.stderr;
    let at = |text: &str| {
        err.find(text)
            .unwrap_or_else(|| panic!("{text:?} on stderr:\n{err}"))
    };
    // Every line is printed when it happens, from one process: the order of the lines is the
    // order of the events.
    let started = |kind: &str, name: &str| at(&format!("{kind} \"{name}\":\n"));
    let job_gone = |name: &str| at(&format!("deleted Job {ns_name}/{name}\n"));
    assert!(
        job_gone(&last) < started("KubernetesJob", &first),
        "{first} started before {last} (which references it) was gone:\n{err}"
    );
    for job in others.iter().chain([&first, &last]) {
        assert!(
            job_gone(job) < started("KubernetesNamespace", &ns_resource),
            "the namespace started before {job} (which references it) was gone:\n{err}"
        );
    }
    // Independent documents run at once: last and the others all start before any is gone.
    let first_gone = [&last]
        .into_iter()
        .chain(&others)
        .map(|j| job_gone(j))
        .min()
        .expect("some");
    for job in others.iter().chain([&last]) {
        assert!(
            started("KubernetesJob", job) < first_gone,
            "{job} did not start with the others:\n{err}"
        );
    }
    down.says(&format!("KubernetesNamespace \"{ns_resource}\": deleted"));
    assert!(
        bed.store().list().unwrap().is_empty(),
        "every record removed"
    );
}

#[tokio::test]
async fn a_failure_starts_nothing_new_but_running_documents_finish_and_every_result_is_reported() {
    let bed = Bed::new();
    let missing = common::unique("kjob-missing");
    let bad = common::unique("fbad");
    let slow = common::unique("fslow");
    let after_bad = common::unique("fafter");
    let idle: Vec<String> = (0..2)
        .map(|i| common::unique(&format!("fidle{i}")))
        .collect();
    let ns = common::namespace(&common::cluster(), "kjob-fail").await;
    let refers_bad = format!(
        "  env:\n    variables:\n      BAD:\n        valueFrom: {{kind: KubernetesJob, name: {bad}, fieldPath: status.outputs.jobName}}\n"
    );
    let mut docs = vec![
        // Its namespace does not exist: its apply fails at once.
        yaml_job(&bad, &format!("  namespace: {{value: {missing}}}\n")),
        // Runs to Complete (about a second on the test bed), started with the bad one.
        yaml_job(&slow, &format!("  namespace: {{value: {ns}}}\n")),
        yaml_job(
            &after_bad,
            &format!("  namespace: {{value: {ns}}}\n{refers_bad}"),
        ),
    ];
    docs.extend(idle.iter().map(|i| {
        yaml_job(
            i,
            &format!("  namespace: {{value: {ns}}}\n  suspend: true\n"),
        )
    }));
    let file = bed.file("fail.yaml", &docs.join("---\n"));

    let up = bed.run(&[
        "up",
        "--manifest",
        &file,
        "--yes",
        "--wait",
        "--parallel",
        "2",
        "-o",
        "json",
    ]);
    up.failed().says("Summary:");
    let results = results(&up.stdout);
    assert_eq!(results.len(), 5, "every document has a result: {results:?}");
    assert_eq!(results[&bad]["result"], "failed", "{results:?}");
    assert!(
        results[&bad]["error"]
            .as_str()
            .is_some_and(|e| e.contains(&missing)),
        "{results:?}"
    );
    assert_eq!(
        results[&slow]["result"], "applied",
        "it ran to the end: {results:?}"
    );
    assert_eq!(results[&slow]["job"], "Complete", "{results:?}");
    assert_eq!(results[&after_bad]["result"], "skipped", "{results:?}");
    assert_eq!(results[&after_bad]["because"][0]["name"], bad.as_str());
    for i in &idle {
        assert_eq!(results[i]["result"], "not-started", "{results:?}");
    }
    up.says(&format!(
        "KubernetesJob \"{after_bad}\": skipped because of KubernetesJob \"{bad}\""
    ))
    .says(&format!(
        "KubernetesJob \"{}\": not started: the run stopped after a failure",
        idle[0]
    ));
    let doc: serde_json::Value = serde_json::from_str(&up.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["exit"], up.code.unwrap());

    let store = bed.store();
    let status = |name: &str| {
        store
            .get(&key("KubernetesJob", name))
            .unwrap()
            .map(|r| r.status)
    };
    assert_eq!(status(&bad), Some(Status::Failed));
    assert_eq!(status(&slow), Some(Status::Applied));
    assert_eq!(status(&after_bad), None, "never started");
    assert_eq!(status(&idle[0]), None, "never started");

    bed.run(&["down", "--manifest", &file, "--yes", "-o", "json"])
        .ok();
}
