//! A Pulumi YAML program resolving `valueFrom` through a team's `kubernetes://` state store:
//! one "machine" (its own HOME and state directory) deploys a KubernetesNamespace with the CLI,
//! the program (another HOME, no local state) reads it through the provider's `backend`.

use super::*;

#[test]
fn yaml_value_from_through_the_team_backend() {
    let run = Run::new("team");
    let project = run.project("yaml-value-from-team-state");
    let ns = common::unique("kjob-pteam");
    let backend_ns = common::unique("kjob-pteam-state");
    let backend = format!("kubernetes://{backend_ns}");
    let manifest = project.join("namespace.yaml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("name: kjob-analytics", &format!("name: {ns}"));
    std::fs::write(&manifest, text).unwrap();
    let kubeconfig = common::kubeconfig();
    let machine_a = run.dir.join("machine-a");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kjob"))
            .args(args)
            .args(["--backend", &backend, "--kubeconfig", &kubeconfig])
            .env("HOME", &machine_a)
            .env_remove("KJOB_STATE_DIR")
            .env_remove("KJOB_BACKEND")
            .output()
            .expect("kjob runs");
        assert!(
            out.status.success(),
            "kjob {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        common::namespace_named(&common::cluster(), &backend_ns).await;
    });
    cli(&["up", "--manifest", manifest.to_str().unwrap(), "--yes"]);

    run.stack_init(&project, "e2e");
    run.config(&project, "backend", &backend);
    run.up(&project);
    let outputs = run.outputs(&project);
    assert_eq!(outputs["namespace"], ns.as_str(), "{outputs}");
    assert_eq!(outputs["targetNamespace"], ns.as_str(), "{outputs}");
    run.destroy(&project);
    cli(&["down", "--manifest", manifest.to_str().unwrap(), "--yes"]);
    assert!(namespace_gone(&ns));
    rt.block_on(async {
        let _ = common::cluster()
            .delete(
                &common::obj(ObjectKind::Namespace, None, &backend_ns),
                None,
                None,
            )
            .await;
    });
}
