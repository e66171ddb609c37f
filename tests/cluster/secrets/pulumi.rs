//! The Pulumi engine: its output and state.

use super::*;

use crate::pulumi_e2e::{Run, pulumi_bin};

#[test]
fn the_pulumi_state_and_output_never_hold_a_secret_in_clear_text() {
    let mut secrets = Secrets::new("pul", 4);
    let docker = docker_config(secrets.get(2));
    secrets.add(&docker);
    // The provider is installed into the run's PULUMI_HOME from its release archive, as in
    // every Pulumi end-to-end test; it is not on PATH.
    let pulumi_run = Run::new("secrets");
    let run = pulumi_run.dir.clone();
    let project = run.join("project");
    std::fs::create_dir_all(&project).unwrap();
    let ns = common::unique("sec-pul");
    let yaml_string = |s: &str| serde_json::to_string(s).unwrap();
    let program = |token: &str| {
        format!(
            r#"name: kjob-secrets
runtime: yaml
resources:
  ok:
    type: kjob:index:KubernetesJob
    properties:
      spec:
        namespace: {{value: {ns}}}
        createNamespace: true
        image: {{repo: busybox}}
        env:
          secrets:
            TOKEN: {{value: {s0}}}
      dockerConfigJson: {docker}
  bad:
    type: kjob:index:KubernetesJob
    properties:
      spec:
        namespace: {{value: {ns}}}
        image: {{repo: kjob.test/fail}}
        backoffLimit: 0
        env:
          secrets:
            PASSWORD: {{value: {s1}}}
    options:
      dependsOn:
        - ${{ok}}
outputs:
  jobName: ${{ok.jobName}}
"#,
            s0 = token,
            s1 = secrets.get(1),
            docker = yaml_string(&docker),
        )
    };
    std::fs::write(project.join("Pulumi.yaml"), program(secrets.get(0))).unwrap();
    let bin = pulumi_bin();
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut pulumi = |args: &[&str]| -> Output {
        let mut full = args.to_vec();
        full.extend(["--non-interactive", "--color", "never"]);
        let out = pulumi_run
            .command(bin.join("pulumi"), &project, &full)
            .env("KJOB_LOG", "debug")
            .stdin(Stdio::null())
            .output()
            .expect("run pulumi");
        eprintln!("pulumi {} -> {:?}", args.join(" "), out.status.code());
        outputs.push((args.join(" "), out.clone()));
        out
    };
    let ok = |out: &Output| assert!(out.status.success(), "{}", show(out));
    ok(&pulumi(&["stack", "init", "secrets"]));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ok(&pulumi(&["preview", "--diff"]));
        let up = pulumi(&["up", "--yes", "--skip-preview", "--diff"]);
        assert!(
            !up.status.success(),
            "the failing Job fails the update:\n{}",
            show(&up)
        );
        assert!(show(&up).contains("BackoffLimitExceeded"), "{}", show(&up));
        let export = pulumi(&["stack", "export"]);
        ok(&export);
        let deployment: Value =
            serde_json::from_slice(&export.stdout).expect("stack export is JSON");
        let resources = deployment["deployment"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let jobs: Vec<&Value> = resources.iter().filter(|r| r["type"] == TYPE).collect();
        assert_eq!(
            jobs.len(),
            2,
            "both resources are in state (the failed one as a partial failure)"
        );
        let text = export.stdout.clone();
        let ciphertexts = String::from_utf8_lossy(&text).matches("ciphertext").count();
        assert!(
            ciphertexts >= 4,
            "the secret values are stored encrypted ({ciphertexts} ciphertexts)"
        );
        ok(&pulumi(&["stack", "output", "--json"]));
        ok(&pulumi(&["refresh", "--yes", "--skip-preview"]));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let deployed = || {
            rt.block_on(async {
                secret_data(&common::cluster(), &ns, "ok-env-secrets", "TOKEN").await
            })
        };
        assert_eq!(
            deployed().as_deref(),
            Some(secrets.values[0].1.as_str()),
            "the secret was deployed"
        );
        // A new value: the diff, the in-place update (and the failed Job's re-run, failing again).
        std::fs::write(project.join("Pulumi.yaml"), program(secrets.get(3))).unwrap();
        ok(&pulumi(&["preview", "--diff"]));
        let up = pulumi(&["up", "--yes", "--skip-preview", "--diff"]);
        assert!(show(&up).contains("BackoffLimitExceeded"), "{}", show(&up));
        assert_eq!(
            deployed().as_deref(),
            Some(secrets.values[3].1.as_str()),
            "the new secret was deployed"
        );
        ok(&pulumi(&["stack", "export"]));
    }));
    let destroy = pulumi(&["destroy", "--yes", "--skip-preview"]);
    if result.is_ok() {
        ok(&destroy);
    }
    // The installed plugin (the provider's binary) is not state.
    let stored = files_under(&run, &|p| {
        p == project.join("Pulumi.yaml") || p.ends_with("pulumi-home/plugins")
    });
    let _ = pulumi(&["stack", "rm", "--yes", "--force"]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }

    let mut leaks = Vec::new();
    let mut bytes = 0;
    for (command, out) in &outputs {
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(text);
            bytes += text.len();
            leaks.extend(secrets.found_in(&text, &format!("pulumi {command} {stream}")));
        }
    }
    for (path, text) in &stored {
        leaks.extend(secrets.found_in(text, &path.display().to_string()));
    }
    eprintln!(
        "secrets/pulumi: searched {} commands' output ({bytes} bytes) and {} stored files",
        outputs.len(),
        stored.len()
    );
    if !leaks.is_empty() {
        // Keep the run's directory for inspection (the run removes it when dropped).
        std::mem::forget(pulumi_run);
    }
    assert!(
        leaks.is_empty(),
        "secret values in clear text (run kept in {}):\n{}",
        run.display(),
        leaks.join("\n")
    );
}
