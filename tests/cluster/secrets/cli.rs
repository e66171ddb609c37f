//! The CLI: everything `kjob` prints or stores.

use super::*;

#[test]
fn the_cli_never_prints_or_stores_a_secret_in_clear_text() {
    let secrets = Secrets::new("cli", 6);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let ns = common::unique("sec-cli");
    let (ok, bad) = (common::unique("sec-cli-ok"), common::unique("sec-cli-bad"));
    let manifest = format!(
        "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata: {{name: {ok}}}\nspec:\n  namespace: {{value: {ns}}}\n  createNamespace: true\n  image: {{repo: busybox}}\n  env:\n    secrets:\n      TOKEN: {{value: {s0}}}\n      OTHER: {{value: {s1}}}\n---\napiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata: {{name: {bad}}}\nspec:\n  namespace: {{value: {ns}}}\n  image: {{repo: kjob.test/fail}}\n  backoffLimit: 0\n  command: [sh, -c, 'echo $PASSWORD']\n  env:\n    secrets:\n      PASSWORD: {{value: {s2}}}\n",
        s0 = secrets.get(0),
        s1 = secrets.get(1),
        s2 = secrets.get(2)
    );
    let file = dir.path().join("jobs.yaml");
    std::fs::write(&file, manifest).unwrap();
    let file = file.to_string_lossy().into_owned();
    let set = format!("{ok}:spec.env.secrets.OTHER.value={}", secrets.get(3));
    let kjob = |args: &[&str]| -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_kjob"))
            .args(args)
            .arg("--kubeconfig")
            .arg(common::kubeconfig())
            .arg("--state-dir")
            .arg(&state)
            .env("KJOB_LOG", "debug")
            .env("NO_COLOR", "1")
            .env_remove("KJOB_STATE_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("kjob runs");
        eprintln!("kjob {} -> {:?}", args.join(" "), out.status.code());
        out
    };
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut run = |args: &[&str]| {
        let out = kjob(args);
        outputs.push((args.join(" "), out.clone()));
        out
    };
    assert!(run(&["validate", "--manifest", &file]).status.success());
    // Invalid input next to secret values: every message is about a place, never the value.
    let invalid = dir.path().join("invalid.yaml");
    std::fs::write(
        &invalid,
        format!(
            "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata: {{name: {ok}}}\nspec:\n  namespace: {{value: {ns}}}\n  image: {{repo: busybox}}\n  env:\n    secrets:\n      'bad key!': {{value: {s}}}\n      BOTH: {{value: {s}, secretRef: {{name: x, key: y}}}}\n      ODD: {{value: {s}, nope: {s}}}\n      LIST: {{value: [{s}]}}\n",
            s = secrets.get(4)
        ),
    )
    .unwrap();
    let invalid = invalid.to_string_lossy().into_owned();
    assert_eq!(
        run(&["validate", "--manifest", &invalid]).status.code(),
        Some(2)
    );
    // A secret through --set that goes wrong: no document named, a misspelt field.
    let unnamed = format!("spec.env.secrets.TOKEN.value={}", secrets.get(5));
    assert_eq!(
        run(&["validate", "--manifest", &file, "--set", &unnamed])
            .status
            .code(),
        Some(2)
    );
    let misspelt = format!("{ok}:spec.env.secrets.TOKEN.valu={}", secrets.get(5));
    assert_eq!(
        run(&["preview", "--manifest", &file, "--set", &misspelt])
            .status
            .code(),
        Some(2)
    );
    assert!(run(&["preview", "--manifest", &file]).status.success());
    let up = run(&["up", "--manifest", &file, "--yes", "--timeout", "120"]);
    assert_eq!(
        up.status.code(),
        Some(1),
        "the failing Job fails the up:\n{}",
        show(&up)
    );
    assert!(
        String::from_utf8_lossy(&up.stderr).contains("BackoffLimitExceeded"),
        "{}",
        show(&up)
    );
    let deployed = |key: &str| -> Option<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            secret_data(&common::cluster(), &ns, &format!("{ok}-env-secrets"), key).await
        })
    };
    assert_eq!(
        deployed("TOKEN").as_deref(),
        Some(secrets.values[0].1.as_str()),
        "the secret was deployed"
    );
    run(&["outputs", "--manifest", &file]);
    run(&["list"]);
    run(&["get", &ok]);
    run(&["get", &bad]);
    run(&["logs", "--name", &bad]);
    // A value from --set: preview, then up (the failed Job runs, and fails, again).
    assert!(
        run(&["preview", "--manifest", &file, "--set", &set])
            .status
            .success()
    );
    let up = run(&[
        "up",
        "--manifest",
        &file,
        "--set",
        &set,
        "--yes",
        "--timeout",
        "120",
    ]);
    assert_eq!(up.status.code(), Some(1), "{}", show(&up));
    assert_eq!(
        deployed("OTHER").as_deref(),
        Some(secrets.values[3].1.as_str()),
        "the --set value was deployed"
    );
    let store = files_under(&state, &|_| false);
    let down = run(&["down", "--manifest", &file, "--yes"]);
    assert!(down.status.success(), "{}", show(&down));

    let mut leaks = Vec::new();
    let mut bytes = 0;
    for (command, out) in &outputs {
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(text);
            bytes += text.len();
            leaks.extend(secrets.found_in(&text, &format!("kjob {command} {stream}")));
        }
    }
    assert!(
        outputs
            .iter()
            .any(|(c, o)| c.starts_with("up ")
                && String::from_utf8_lossy(&o.stderr).contains("DEBUG")),
        "KJOB_LOG=debug makes the CLI verbose"
    );
    assert!(
        !store.is_empty() && store.iter().any(|(_, t)| t.contains(&ok)),
        "the state store holds records"
    );
    for (path, text) in store.iter().chain(files_under(&state, &|_| false).iter()) {
        leaks.extend(secrets.found_in(text, &path.display().to_string()));
    }
    eprintln!(
        "secrets/cli: searched {} commands' output ({bytes} bytes) and {} state files",
        outputs.len(),
        store.len()
    );
    assert!(
        leaks.is_empty(),
        "secret values in clear text:\n{}",
        leaks.join("\n")
    );
}
