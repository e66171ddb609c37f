//! Pulumi YAML programs: the lifecycle, imports (from another stack, from the CLI), and
//! references between resources and through the CLI's state store.

use super::*;

/// Preview, up, update in place, replace, refresh after an out-of-band deletion, destroy: the
/// YAML example through the real engine.
#[test]
fn yaml_lifecycle_preview_up_update_replace_refresh_destroy() {
    let run = Run::new("yaml");
    let project = run.project("yaml");
    let ns = common::unique("kjob-pyaml");
    run.stack_init(&project, "e2e");
    run.config(&project, "namespace", &ns);

    // preview: the plan, and nothing in the cluster.
    let preview = run.ok(&project, &["preview"]);
    assert!(
        preview.contains(JOB_TYPE) && preview.contains("create"),
        "preview shows the Job to create:\n{preview}"
    );
    assert!(
        live(ObjectKind::Namespace, None, &ns).is_none(),
        "preview must not create the namespace"
    );
    assert!(
        job(&ns, "hello").is_none(),
        "preview must not create the Job"
    );

    // up: the Job ran, and the outputs say where.
    run.up(&project);
    let created = job(&ns, "hello").expect("up created the Job");
    assert_eq!(image_of(&created), "busybox:1.36.1");
    let outputs = run.outputs(&project);
    assert_eq!(outputs["namespace"], ns.as_str(), "outputs: {outputs}");
    assert_eq!(outputs["jobName"], "hello", "outputs: {outputs}");
    let state = run.jobs_in_state(&project);
    assert_eq!(state.len(), 1);
    assert_eq!(
        state[0]["id"],
        format!("{ns}/hello"),
        "ID is <namespace>/<job>"
    );
    assert_eq!(
        state[0]["outputs"]["jobStatus"], "Complete",
        "up waited for the Job: {}",
        state[0]["outputs"]
    );

    // update in place: parallelism changes, the Job keeps its UID.
    run.config(&project, "parallelism", "2");
    let preview = run.ok(&project, &["preview", "--diff"]);
    assert!(
        !preview.contains("replace"),
        "a parallelism change is an update, not a replace:\n{preview}"
    );
    run.up(&project);
    let updated = job(&ns, "hello").expect("the Job is still there");
    assert_eq!(
        uid(&updated),
        uid(&created),
        "parallelism is updated in place"
    );
    assert_eq!(updated["spec"]["parallelism"], 2);

    // replace: a new image means a new Job.
    run.config(&project, "imageTag", "1.37.0");
    let preview = run.ok(&project, &["preview", "--diff"]);
    assert!(
        preview.contains("replace"),
        "an image change replaces the Job:\n{preview}"
    );
    run.up(&project);
    let replaced = job(&ns, "hello").expect("the replacement Job exists");
    assert_ne!(
        uid(&replaced),
        uid(&created),
        "an image change replaces the Job"
    );
    assert_eq!(image_of(&replaced), "busybox:1.37.0");
    assert_eq!(replaced["spec"]["parallelism"], 2);

    // refresh after an out-of-band deletion (no ttlSecondsAfterFinished): the Job leaves the
    // state, and the next up creates it again.
    let (ns2, name) = (ns.clone(), "hello".to_owned());
    kube(|c| async move {
        let id = common::obj(ObjectKind::Job, Some(&ns2), &name);
        c.delete(&id, None, None).await.expect("delete the Job");
        c.wait_gone(&id, Duration::from_secs(60))
            .await
            .expect("the Job goes away");
    });
    run.ok(&project, &["refresh", "--yes", "--skip-preview"]);
    assert!(
        run.jobs_in_state(&project).is_empty(),
        "refresh drops a Job deleted out of band from the state"
    );
    run.up(&project);
    let recreated = job(&ns, "hello").expect("up recreates the Job");
    assert_ne!(uid(&recreated), uid(&replaced));
    assert_eq!(run.jobs_in_state(&project).len(), 1);

    // destroy: the Job and the namespace it created go.
    run.destroy(&project);
    assert!(job(&ns, "hello").is_none(), "destroy deletes the Job");
    assert!(
        namespace_gone(&ns),
        "destroy deletes the namespace it created"
    );
}

/// `pulumi import` of a Job another stack created: the ID is `<namespace>/<job>`, and the
/// imported state has the Job's inputs and outputs.
#[test]
fn yaml_import_a_job_from_another_stack() {
    let run = Run::new("import");
    let owner = run.project("yaml");
    let ns = common::unique("kjob-pimport");
    run.stack_init(&owner, "owner");
    run.config(&owner, "namespace", &ns);
    run.up(&owner);
    let created = job(&ns, "hello").expect("the owner stack created the Job");

    // A second stack of the same program on the same namespace is refused, naming the owner,
    // and its destroy leaves the first stack's Job alone.
    run.ok(&owner, &["stack", "init", "intruder"]);
    run.config(&owner, "namespace", &ns);
    let refused = run.pulumi(&owner, &["up", "--yes", "--skip-preview"]);
    let said = show(&refused);
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("already exists and belongs to KubernetesJob \"hello\"")
            && said.contains("/owner"),
        "the error names the owner stack:\n{said}"
    );
    run.ok(&owner, &["destroy", "--yes", "--skip-preview"]);
    run.ok(&owner, &["stack", "rm", "--yes"]);
    run.ok(&owner, &["stack", "select", "owner"]);
    assert_eq!(
        uid(&job(&ns, "hello").expect("the owner's Job stays")),
        uid(&created)
    );

    // An empty YAML project imports it.
    let importer = run.dir.join("importer");
    std::fs::create_dir_all(&importer).unwrap();
    std::fs::write(
        importer.join("Pulumi.yaml"),
        "name: kjob-import\nruntime: yaml\nresources: {}\n",
    )
    .unwrap();
    run.stack_init(&importer, "importer");
    let id = format!("{ns}/hello");
    let generated = importer.join("imported.yaml");
    run.ok(
        &importer,
        &[
            "import",
            JOB_TYPE,
            "adopted",
            &id,
            "--yes",
            "--protect=false",
            "--out",
            generated.to_str().unwrap(),
        ],
    );
    let state = run.jobs_in_state(&importer);
    assert_eq!(state.len(), 1, "the import is in the state");
    let imported = &state[0];
    assert_eq!(imported["id"], id.as_str());
    assert_eq!(imported["outputs"]["namespace"], ns.as_str());
    assert_eq!(imported["outputs"]["jobName"], "hello");
    assert_eq!(imported["outputs"]["jobStatus"], "Complete");
    assert_eq!(
        imported["inputs"]["spec"]["image"]["repo"], "busybox",
        "inputs rebuilt from the live Job: {}",
        imported["inputs"]
    );
    assert_eq!(imported["inputs"]["spec"]["image"]["tag"], "1.36.1");
    let code = std::fs::read_to_string(&generated).expect("import wrote the program text");
    assert!(
        code.contains(JOB_TYPE) || code.contains("KubernetesJob"),
        "generated code names the type:\n{code}"
    );
    assert_eq!(
        uid(&job(&ns, "hello").expect("import changes nothing")),
        uid(&created)
    );
    // The generated program is the imported resource: previewing it changes nothing.
    std::fs::write(
        importer.join("Pulumi.yaml"),
        format!("name: kjob-import\nruntime: yaml\n{code}"),
    )
    .unwrap();
    run.ok(&importer, &["preview", "--expect-no-changes"]);

    // Let the owner delete it; the importer forgets it without touching the cluster.
    run.ok(&importer, &["stack", "rm", "--yes", "--force"]);
    run.stacks.borrow_mut().retain(|p| p != &importer);
    run.destroy(&owner);
    assert!(job(&ns, "hello").is_none());
}

/// `pulumi import` of a Job the kjob CLI deployed (`kjob up`): same ID form, same inputs.
#[test]
fn yaml_import_a_job_the_cli_deployed() {
    let run = Run::new("cliimport");
    let ns = common::unique("kjob-pcli");
    let manifest = run.dir.join("job.yaml");
    let document = common::manifest(
        "migrate",
        &ns,
        serde_json::json!({"createNamespace": true, "parallelism": 1}),
    );
    std::fs::write(&manifest, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    let state_dir = run.dir.join("kjob-state");
    let kubeconfig = common::kubeconfig();
    let cli = |verb: &str| {
        let args = [
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--kubeconfig",
            kubeconfig.as_str(),
            verb,
            "--manifest",
            manifest.to_str().unwrap(),
            "--yes",
        ];
        run.run(env!("CARGO_BIN_EXE_kjob"), &run.dir, &args, &[]);
    };
    cli("up");
    let created = job(&ns, "migrate").expect("kjob up created the Job");

    let importer = run.dir.join("importer");
    std::fs::create_dir_all(&importer).unwrap();
    std::fs::write(
        importer.join("Pulumi.yaml"),
        "name: kjob-cli-import\nruntime: yaml\nresources: {}\n",
    )
    .unwrap();
    run.stack_init(&importer, "importer");
    let generated = importer.join("imported.yaml");
    run.ok(
        &importer,
        &[
            "import",
            JOB_TYPE,
            "migrate",
            &format!("{ns}/migrate"),
            "--yes",
            "--protect=false",
            "--out",
            generated.to_str().unwrap(),
        ],
    );
    let state = run.jobs_in_state(&importer);
    assert_eq!(state.len(), 1);
    assert_eq!(state[0]["outputs"]["jobName"], "migrate");
    assert_eq!(state[0]["outputs"]["namespace"], ns.as_str());
    assert_eq!(
        state[0]["inputs"]["spec"]["command"],
        serde_json::json!(["true"]),
        "inputs: {}",
        state[0]["inputs"]
    );
    assert_eq!(state[0]["inputs"]["spec"]["image"]["tag"], "1.36");
    let code = std::fs::read_to_string(&generated).expect("import wrote the program text");
    std::fs::write(
        importer.join("Pulumi.yaml"),
        format!("name: kjob-cli-import\nruntime: yaml\n{code}"),
    )
    .unwrap();
    run.ok(&importer, &["preview", "--expect-no-changes"]);
    assert_eq!(
        uid(&job(&ns, "migrate").expect("still there")),
        uid(&created)
    );

    // The CLI keeps ownership: the importer forgets the Job, the CLI deletes it.
    run.ok(&importer, &["stack", "rm", "--yes", "--force"]);
    run.stacks.borrow_mut().retain(|p| p != &importer);
    cli("down");
    assert!(job(&ns, "migrate").is_none());
    assert!(namespace_gone(&ns));
}

/// The second Job's namespace is the first Job's `namespace` output.
#[test]
fn yaml_namespace_from_another_resource_output() {
    let run = Run::new("chain");
    let project = run.project("yaml-namespace-from-output");
    let ns = common::unique("kjob-pchain");
    run.stack_init(&project, "e2e");
    run.config(&project, "namespace", &ns);
    run.up(&project);
    let outputs = run.outputs(&project);
    assert_eq!(outputs["namespace"], ns.as_str(), "outputs: {outputs}");
    assert_eq!(outputs["jobName"], "report");
    assert_eq!(outputs["setupJob"], "setup");
    let setup = job(&ns, "setup").expect("first Job");
    let report = job(&ns, "report").expect("second Job, in the first one's namespace");
    let started = |j: &Value| {
        j["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        started(&report) >= started(&setup),
        "the dependent Job is created after the first"
    );
    run.destroy(&project);
    assert!(job(&ns, "report").is_none() && job(&ns, "setup").is_none());
    assert!(namespace_gone(&ns));
}

/// An env variable (and the namespace) from `valueFrom`, resolved through the kjob CLI's state
/// store: `kjob up` deploys a KubernetesNamespace, the program's provider has `stateDir`.
#[test]
fn yaml_value_from_through_the_cli_state_store() {
    let run = Run::new("state");
    let project = run.project("yaml-value-from-state");
    let ns = common::unique("kjob-pstate");
    let state_dir = run.dir.join("kjob-state");
    let manifest = project.join("namespace.yaml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("name: kjob-analytics", &format!("name: {ns}"));
    std::fs::write(&manifest, text).unwrap();
    let kjob = env!("CARGO_BIN_EXE_kjob");
    let kubeconfig = common::kubeconfig();
    let cli = |args: &[&str]| {
        let mut full = vec![
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--kubeconfig",
            kubeconfig.as_str(),
        ];
        full.extend(args);
        run.run(kjob, &project, &full, &[]);
    };
    cli(&["up", "--manifest", manifest.to_str().unwrap(), "--yes"]);
    assert!(
        live(ObjectKind::Namespace, None, &ns).is_some(),
        "kjob up created the namespace"
    );

    run.stack_init(&project, "e2e");
    run.config(&project, "stateDir", state_dir.to_str().unwrap());
    run.up(&project);
    let outputs = run.outputs(&project);
    assert_eq!(
        outputs["namespace"],
        ns.as_str(),
        "spec.namespace valueFrom resolved: {outputs}"
    );
    assert_eq!(
        outputs["targetNamespace"],
        ns.as_str(),
        "env valueFrom resolved to status.outputs.namespace: {outputs}"
    );
    let report = job(&ns, "report").expect("the Job runs in the namespace from the state store");
    let env = &report["spec"]["template"]["spec"]["containers"][0]["env"];
    let target = env
        .as_array()
        .and_then(|e| e.iter().find(|v| v["name"] == "TARGET_NAMESPACE"))
        .expect("TARGET_NAMESPACE is set");
    assert_eq!(target["value"], ns.as_str());

    run.destroy(&project);
    assert!(job(&ns, "report").is_none());
    cli(&["down", "--manifest", manifest.to_str().unwrap(), "--yes"]);
    assert!(namespace_gone(&ns));
}
