//! Tests of manifest loading: positions, envelopes, strictness.
use super::*;

const JOB: &str = "\
apiVersion: kubernetes.project-planton.org/v1
kind: kubernetes-job
metadata:
  name: migrate
spec:
  namespace:
    value: batch
  image:
    repo: busybox
  restart_policy: Always
  env:
    variables:
      FOO:
        value: x
  command:
    - sh
    - -c
";

#[test]
fn kinds_match_ignoring_case_dashes_and_underscores() {
    for text in [
        "KubernetesJob",
        "kubernetes-job",
        "KUBERNETES_JOB",
        "kubernetesjob",
        "Kubernetes_Job",
    ] {
        assert_eq!(Kind::parse(text), Some(Kind::KubernetesJob), "{text}");
    }
    assert_eq!(
        Kind::parse("kubernetes-namespace"),
        Some(Kind::KubernetesNamespace)
    );
    assert_eq!(Kind::parse("KubernetesJobs"), None);
    assert_eq!(Kind::parse("CronJob"), None);
}

#[test]
fn parses_documents_and_canonicalises_the_kind() {
    let text = format!(
        "{JOB}---\n---\napiVersion: {API_VERSION}\nkind: KUBERNETES_NAMESPACE\nmetadata: {{name: team}}\nspec: {{name: team}}\n"
    );
    let docs = parse("f.yaml", &text).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].kind, Kind::KubernetesJob);
    assert_eq!(docs[0].value["kind"], "KubernetesJob");
    assert_eq!(docs[0].name(), "migrate");
    assert_eq!(docs[1].kind, Kind::KubernetesNamespace);
    assert_eq!(docs[1].index, 1);
    assert_eq!(docs[1].key().to_string(), "KubernetesNamespace \"team\"");
}

#[test]
fn locates_paths_in_either_case() {
    let docs = parse("job.yaml", JOB).unwrap();
    let at = |p: PropertyPath| match docs[0].origin(&p) {
        Origin::File(p) => (p.line, p.column),
        Origin::Set(_) => panic!(),
    };
    let spec = PropertyPath::root().field("spec");
    assert_eq!(at(spec.field("restartPolicy")), (10, 19));
    assert_eq!(at(spec.field("env").field("variables").key("FOO")), (13, 7));
    assert_eq!(
        at(spec
            .field("env")
            .field("variables")
            .key("FOO")
            .field("value")),
        (14, 16)
    );
    assert_eq!(at(spec.field("command").index(1)), (17, 7));
    // A missing leaf points at its nearest parent.
    assert_eq!(at(spec.field("image").field("tag")), (8, 3));
    let failure = Failure::new(
        spec.field("restartPolicy"),
        "must be one of: OnFailure, Never; got \"Always\"",
    );
    assert_eq!(
        docs[0].locate(&failure).to_string(),
        "job.yaml:10:19: spec.restartPolicy: must be one of: OnFailure, Never; got \"Always\""
    );
}

#[test]
fn overridden_paths_point_at_the_override() {
    let mut docs = parse("job.yaml", JOB).unwrap();
    let path = PropertyPath::root().field("spec").field("parallelism");
    docs[0].record_override(path.clone(), "spec.parallelism=x");
    assert_eq!(
        docs[0].origin(&path),
        Origin::Set("spec.parallelism=x".into())
    );
    let f = docs[0].locate(&Failure::new(path, "bad"));
    assert_eq!(
        f.to_string(),
        "job.yaml: --set spec.parallelism=x: spec.parallelism: bad"
    );
}

#[test]
fn syntax_errors_have_positions() {
    let err = parse("bad.yaml", "a: 1\nb: [\n").unwrap_err();
    assert_eq!(err.len(), 1);
    assert!(
        matches!(
            err[0].origin,
            Some(Origin::File(Position { line: 2 | 3, .. }))
        ),
        "{err:?}"
    );
    assert!(err[0].to_string().starts_with("bad.yaml:"), "{}", err[0]);
    let err = parse("dup.yaml", "a: 1\na: 2\n").unwrap_err();
    assert_eq!(
        err[0].to_string(),
        "dup.yaml:2:1: invalid YAML: duplicate mapping key: a, set DuplicateKeyPolicy in Options if acceptable"
    );
}

#[test]
fn envelope_errors() {
    let err = parse("e.yaml", "apiVersion: v1\nkind: Deployment\nspec: {}\n").unwrap_err();
    let text: Vec<String> = err.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(
        text[0]
            .starts_with("e.yaml:1:13: apiVersion: must be \"kubernetes.project-planton.org/v1\""),
        "{}",
        text[0]
    );
    assert!(
        text[1].starts_with("e.yaml:2:7: kind: unknown kind \"Deployment\""),
        "{}",
        text[1]
    );
    assert!(
        text[2].starts_with("e.yaml:1:1: metadata: is required"),
        "{}",
        text[2]
    );
    assert!(
        parse("empty.yaml", "\n---\n").unwrap_err()[0]
            .message
            .contains("no manifest")
    );
    assert!(
        parse("s.yaml", "just a string\n").unwrap_err()[0]
            .message
            .contains("must be a mapping")
    );
}

#[test]
fn scalars_keep_their_types() {
    let docs = parse("t.yaml", &format!("apiVersion: {API_VERSION}\nkind: KubernetesJob\nmetadata: {{name: a}}\nspec: {{parallelism: 3, suspend: true, tag: '3', x: 1.5, n: null}}\n")).unwrap();
    let spec = &docs[0].value["spec"];
    assert_eq!(spec["parallelism"], 3);
    assert_eq!(spec["suspend"], true);
    assert_eq!(spec["tag"], "3");
    assert_eq!(spec["x"], 1.5);
    assert!(spec["n"].is_null());
}

/// One small KubernetesJob document named `job-{i}`.
fn job_document(i: usize) -> String {
    format!(
        "apiVersion: {API_VERSION}\nkind: KubernetesJob\nmetadata:\n  name: job-{i}\nspec:\n  namespace:\n    value: batch\n  image:\n    repo: busybox\n    tag: \"1.36\"\n  command: [sh, -c, \"true\"]\n  env:\n    variables:\n      MODE:\n        value: full\n"
    )
}

#[test]
fn ten_thousand_documents_load() {
    let text: String = (0..10_000)
        .map(|i| format!("---\n{}", job_document(i)))
        .collect();
    let docs = parse("many.yaml", &text).unwrap();
    assert_eq!(docs.len(), 10_000);
    assert_eq!(docs[9_999].name(), "job-9999");
    assert_eq!(docs[9_999].index, 9_999);
}

#[test]
fn too_many_documents_are_refused_clearly() {
    let text = "---\n".repeat(MAX_DOCUMENTS + 1);
    let err = parse("storm.yaml", &text).unwrap_err();
    assert_eq!(err.len(), 1);
    assert!(
        err[0].message.contains("more than 50000 YAML documents"),
        "{}",
        err[0]
    );
}

#[test]
fn alias_bombs_are_refused_clearly() {
    // Nine levels of ten aliases each: a billion scalars once expanded.
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let prev = format!("*a{}", level - 1);
        let items = vec![prev; 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    let err = parse("bomb.yaml", &text).unwrap_err();
    assert_eq!(err.len(), 1);
    assert!(
        err[0].message.contains("YAML nodes") || err[0].message.contains("aliases"),
        "{}",
        err[0]
    );
    assert!(err[0].to_string().starts_with("bomb.yaml:"), "{}", err[0]);
    // Many aliases of one anchor trip the alias/anchor ratio.
    let text = format!("a: &a x\nb: [{}]\n", vec!["*a"; 200].join(", "));
    let err = parse("ratio.yaml", &text).unwrap_err();
    assert!(err[0].message.contains("too many aliases"), "{}", err[0]);
}

/// The 2 MiB of a tokio worker thread (the CLI parses on its 8 MiB main thread): the depth
/// guards must fire before recursion could use it up, even with a debug build's large frames.
const STACK: usize = 2 << 20;
#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    // Run on a thread with a small stack: the depth guard must fire before recursion could
    // exhaust it.
    let outcome = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(|| {
            let flow = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
            let block: String = (0..10_000)
                .map(|d| format!("{}k{d}:\n", "  ".repeat(d)))
                .collect();
            let deep_ok = format!(
                "a: {}{}\n",
                "[".repeat(MAX_DEPTH - 1),
                "]".repeat(MAX_DEPTH - 1)
            );
            (
                parse("flow.yaml", &flow).unwrap_err(),
                parse("block.yaml", &block).unwrap_err(),
                parse("ok.yaml", &deep_ok).unwrap_err(),
            )
        })
        .unwrap()
        .join()
        .expect("the reader must not overflow the stack");
    for err in [&outcome.0, &outcome.1] {
        assert_eq!(err.len(), 1);
        assert!(
            err[0].message.contains("nesting is deeper than 32 levels"),
            "{}",
            err[0]
        );
    }
    // Just under the limit parses (and then fails the envelope: no kind).
    assert!(
        !outcome.2[0].message.contains("nesting"),
        "{}",
        outcome.2[0]
    );
}
