"""The "compare" part of BENCHMARKS.md (imported by scripts/bench_report.py): `pulumi up` of N
KubernetesJobs with kjob beside the same objects as pulumi-kubernetes resources, and Project
Planton's flow on one manifest beside `kjob up --manifest`."""
import statistics

PK = "pulumi-kubernetes"


def _runs(R):
    c = R.get("compare", {})
    return c, {r["label"]: r for r in c.get("runs", [])}


def _ok(runs, label):
    return runs.get(label, {}).get("rc") == 0


def _planton(runs, prefix):
    walls = [r["wall_s"] for label, r in sorted(runs.items()) if label.startswith(prefix) and r["rc"] == 0]
    return walls


def _skips(c, n):
    """Whether size n ran with PULUMI_SKIP_CHECKPOINTS=true on both sides."""
    return c.get("skip_checkpoints_from") is not None and n >= c["skip_checkpoints_from"]


def _median(xs):
    return statistics.median(xs) if xs else None


def _spread(xs):
    if len(xs) < 2:
        return "n/a"
    return f"{100 * statistics.pstdev(xs) / statistics.mean(xs):.0f}%"


def headline(R, f, ratio):
    """(label, ratio, notes) rows."""
    c, runs = _runs(R)
    rows = []
    sizes = [n for n in c.get("sizes", []) if _ok(runs, f"compare-kjob-up-{n}") and _ok(runs, f"compare-pk8s-up-{n}")]
    if sizes:
        n = max(sizes)
        for verb in ("up", "destroy"):
            a, b = runs.get(f"compare-kjob-{verb}-{n}"), runs.get(f"compare-pk8s-{verb}-{n}")
            if a and b and a["rc"] == 0 and b["rc"] == 0:
                engine = " (both with PULUMI_SKIP_CHECKPOINTS)" if _skips(c, n) else ""
                rows.append((f"`pulumi {verb}` of {n} KubernetesJobs{engine}: kjob / {PK} (5 resources per Job)",
                             ratio(a["wall_s"], b["wall_s"]),
                             f"{f(a['wall_s'])} s vs {f(b['wall_s'])} s" + ("; target: ≤ 0.33×" if verb == "up" else
                                                                          "; kjob waits for deletion, see below")))
    k = _median(_planton(runs, "planton-kjob-"))
    for prefix, what in (("planton-warm-", "warm: the Go program rebuilt from a warm cache"),
                         ("planton-binary-", "the program prebuilt, as Planton's released modules run"),
                         ("planton-cold-", "cold: the first build")):
        p = _median(_planton(runs, prefix))
        if k is not None and p is not None:
            target = "; target: ≤ 0.05×" if prefix == "planton-warm-" else ""
            rows.append((f"one manifest: `kjob up --manifest` / Planton's flow ({what})", ratio(k, p),
                         f"{f(k)} s vs {f(p)} s (medians){target}"))
    return rows


def section(R, w, f, ratio):
    c, runs = _runs(R)
    if not runs:
        return
    w(f"## Side by side: kjob beside {PK} and Project Planton's flow")
    w("")
    w(f"{PK}: `{c.get('pulumi_kubernetes', 'unknown')}`, built by `scripts/pulumi-kubernetes-build`.")
    w("")
    sizes = c.get("sizes", [])
    if sizes:
        w(f"### `pulumi up` / `pulumi destroy`: N KubernetesJobs with kjob, or the same objects with {PK}")
        w("")
        w("Each Job: its Namespace, a ConfigMap, an env Secret, a ServiceAccount and a suspended Job. kjob: one "
          f"`kjob:index:KubernetesJob` per Job through an explicit provider with `wait: false`. {PK}: 5 resources per Job "
          "through an explicit provider with server-side apply, `pulumi.com/skipAwait: \"true\"` on each, the Job "
          "`dependsOn` the other three. Same Pulumi CLI, YAML programs, local file backend; interleaved (kjob up, "
          f"{PK} up, kjob destroy, {PK} destroy) per size.")
        w("")
        w("| command | Jobs | kjob s | {0} s | kjob / {0} | largest RSS in the tree, MiB (kjob / {0}) | provider peak RSS, MiB (kjob / {0}) |".format(PK))
        w("|---|---|---|---|---|---|---|")
        for verb in ("up", "destroy"):
            for n in sizes:
                a, b = runs.get(f"compare-kjob-{verb}-{n}"), runs.get(f"compare-pk8s-{verb}-{n}")
                if not a or not b:
                    continue
                state = lambda r: f(r["wall_s"]) if r["rc"] == 0 else f"failed (exit {r['rc']})"  # noqa: E731
                w(f"| `pulumi {verb}` | {n}{' ¹' if _skips(c, n) else ''} | {state(a)} | {state(b)} | "
                  f"{f(ratio(a['wall_s'], b['wall_s'])) if a['rc'] == 0 and b['rc'] == 0 else 'n/a'} | "
                  f"{f(a['tree_max_rss_mib'])} / {f(b['tree_max_rss_mib'])} | "
                  f"{f(a.get('provider_peak_rss_mib'))} / {f(b.get('provider_peak_rss_mib'))} |")
        w("")
        if any(_skips(c, n) for n in sizes):
            scale = {r["label"]: r for r in R.get("scale", {}).get("runs", []) if r.get("rc") == 0}
            big = max((int(label.rsplit("-", 1)[1]) for label in scale if label.startswith("pulumi-up-")), default=None)
            seen = (f" (the scale part below: `pulumi up` of {big} KubernetesJobs {f(scale[f'pulumi-up-{big}']['wall_s'])} s "
                    f"with the default, `kjob up` of the same Jobs {f(scale[f'kjob-up-{big}']['wall_s'])} s)"
                    if big and f"kjob-up-{big}" in scale else "")
            w(f"¹ Both sides with `PULUMI_SKIP_CHECKPOINTS=true`. With the engine's default it writes the whole state "
              f"file after every step, a cost that grows with the square of the resources in the stack{seen}; "
              f"{PK}'s side has five times kjob's resources, so this size measures the providers and the engine "
              "without that rewrite, the same setting on both sides.")
            w("")
        w("`pulumi destroy` is not like for like: kjob's Delete returns once every object is gone, the Namespace "
          "included (the namespace controller takes a few seconds to empty and finalize one), while "
          f"`pulumi.com/skipAwait: \"true\"` also makes {PK} return from each delete without waiting for it "
          "(pulumi/pulumi-kubernetes#3154 proposes limiting it to readiness). Without the annotation "
          f"{PK} deletes with foreground propagation and waits for each object to be gone.")
        w("")
    k = _planton(runs, "planton-kjob-")
    if k:
        w("### One manifest: `kjob up --manifest` beside Project Planton's flow")
        w("")
        w("`examples/job.yaml` (Namespace, ConfigMap, env Secret, Job; kjob adds a ServiceAccount), renamed per round. "
          "Planton's flow: `bench/planton-flow`, a Go Pulumi program that creates what Planton's KubernetesJob module "
          f"creates with the {PK} Go SDK version upstream pins (v4.18.4), run as Planton's CLI runs it: `pulumi up "
          "--stack <stack> --yes --skip-preview` in the module directory, the stack input (the manifest with defaults, "
          "as Planton's CLI writes it) in the file named by `STACK_INPUT_YAML_FILE`. Both wait for the Job to complete. "
          "Round 0 of the Go program is cold (an empty GOCACHE, so the program and both SDKs are compiled); later "
          "rounds are warm (the language host still runs `go build`, from cache). When present, the prebuilt variant "
          "(`BENCH_PLANTON_BINARY=1`) is the same program built once beforehand and named by the runtime option `binary`, "
          "as Planton runs its released modules.")
        w("")
        w("| variant | rounds | median s | CV | kjob / this |")
        w("|---|---|---|---|---|")
        km = _median(k)
        for prefix, label in (("planton-kjob-", "`kjob up --manifest` (waits)"), ("planton-cold-", "Planton flow, cold"),
                              ("planton-warm-", "Planton flow, warm"), ("planton-binary-", "Planton flow, prebuilt binary")):
            xs = _planton(runs, prefix)
            if xs:
                w(f"| {label} | {len(xs)} | {f(_median(xs))} | {_spread(xs)} | {f(ratio(km, _median(xs)))} |")
        w("")
    if c.get("finding"):
        w(c["finding"])
        w("")
    fails = [r for label, r in sorted(runs.items()) if r["rc"] != 0]
    for r in fails:
        w(f"`{r['label']}` failed (exit {r['rc']}); the end of its output:")
        w("")
        w("```")
        w(r.get("error_tail", "").strip()[-1200:])
        w("```")
        w("")
