//! `-o json|yaml` on validate, preview, up and down: one document with the documented shape
//! (version 1, plan, per-document results, outputs, the error), secrets marked; `-q`; `--color`.

use super::*;

#[test]
fn every_deploy_command_prints_one_stable_document_with_secrets_marked() {
    let bed = Bed::new();
    let secret = "s3cr3t-out-value";
    let (job, ns, file) = secret_job(&bed, "out", secret, "");

    let validate = bed.run(&["validate", "--manifest", &file, "-o", "json"]);
    validate.ok().never_says(secret);
    let doc = json_of(&validate);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["command"], "validate");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["plan"][0]["resource"]["name"], job.as_str());
    assert_eq!(doc["plan"][0]["document"], 1);
    assert!(
        doc["plan"][0]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "Job" && o["namespace"] == ns.as_str()),
        "{doc}"
    );
    assert_eq!(doc["results"][0]["result"], "valid");

    let up = bed.run(&["up", "--manifest", &file, "--yes", "-o", "json", "-q"]);
    up.ok().never_says(secret);
    assert!(
        !up.stderr.contains("applied") && !up.stderr.contains("waiting for Job"),
        "-q prints no steps: {}",
        up.stderr
    );
    let doc = json_of(&up);
    assert_eq!(doc["command"], "up");
    assert_eq!(doc["plan"][0]["state"], "new");
    let changes = doc["plan"][0]["changes"].as_array().unwrap();
    let token = changes
        .iter()
        .find(|c| c["path"] == "spec.env.secrets.TOKEN.value")
        .unwrap_or_else(|| panic!("the secret's change is listed: {doc}"));
    assert_eq!(token["new"], "[secret]");
    assert_eq!(doc["results"][0]["result"], "applied");
    assert_eq!(doc["results"][0]["job"], "Complete");
    assert_eq!(doc["outputs"][0]["outputs"]["namespace"], ns.as_str());
    assert_eq!(doc["outputs"][0]["outputs"]["jobName"], job.as_str());

    // preview as YAML: nothing to do.
    let preview = bed.run(&["preview", "--manifest", &file, "-o", "yaml"]);
    preview.ok().never_says(secret);
    let doc: Value = serde_saphyr::from_str(&preview.stdout).expect("one YAML document");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["plan"][0]["skip"], true, "{doc}");
    assert_eq!(doc["plan"][0]["state"], "deployed");

    // A failing Job: the document still comes, with the error and the failed result.
    let failing = bed.file(
        "fail.yaml",
        &job_doc(&job, &ns, "kjob.test/fail", "  backoffLimit: 0\n"),
    );
    let failed = bed.run(&["up", "--manifest", &failing, "--yes", "-o", "json"]);
    failed.exit(1);
    let doc = json_of(&failed);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["exit"], 1);
    assert_eq!(doc["results"][0]["result"], "failed");
    assert_eq!(doc["results"][0]["job"], "Failed");
    assert_eq!(
        doc["plan"][0]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "Job")
            .unwrap()["action"],
        "replace",
        "{doc}"
    );

    let down = bed.run(&["down", "--manifest", &file, "--yes", "-o", "json"]);
    down.ok();
    let doc = json_of(&down);
    assert_eq!(doc["command"], "down");
    assert_eq!(doc["results"][0]["result"], "deleted");
    assert!(
        doc["plan"][0]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["action"] == "delete"),
        "{doc}"
    );
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let bed = Bed::new();
    let file = bed.file("job.yaml", &job_doc("colour", "kjob-colour", "busybox", ""));
    // The test bed's runs set NO_COLOR and pipe standard output.
    let auto = bed.run(&["preview", "--manifest", &file]);
    auto.ok();
    assert!(!auto.stdout.contains('\x1b'), "no colour into a pipe");
    let always = bed.run(&["preview", "--manifest", &file, "--color", "always"]);
    always.ok();
    assert!(always.stdout.contains("\x1b[32m"), "{}", always.stdout);
    let never = bed.run(&["preview", "--manifest", &file, "--color=never"]);
    assert!(!never.stdout.contains('\x1b'));
}
