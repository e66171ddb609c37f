# scripts/bench-compare.sh — part "compare" of scripts/bench, sourced by it (uses its WORK, SIZES,
# TARGET, SCALE_TIMEOUT, log, load, timed, KUBECONFIG). Two comparisons, each measured in one run:
#
#  1. `pulumi up` / `pulumi destroy` of N KubernetesJobs with kjob's provider, beside a Pulumi YAML
#     program of the same objects as pulumi-kubernetes resources (5 per Job: Namespace, ConfigMap,
#     Secret, ServiceAccount, suspended Job), for N in BENCH_COMPARE_SIZES (default: SIZES). Waiting
#     is off on both sides (kjob: provider config wait: false; pulumi-kubernetes: the
#     pulumi.com/skipAwait annotation on every object, as upstream documents). From
#     BENCH_COMPARE_SKIP_CHECKPOINTS_FROM Jobs on (default 1000) both sides run with
#     PULUMI_SKIP_CHECKPOINTS=true: by default the engine rewrites the whole state file after every
#     step, which grows with the square of the resources (5,000 on the pulumi-kubernetes side).
#  2. Project Planton's flow on one manifest beside `kjob up --manifest`: bench/planton-flow is a Go
#     Pulumi program that creates what Planton's KubernetesJob module creates, with the
#     pulumi-kubernetes Go SDK version upstream pins; it is run as Planton's CLI runs it (`pulumi up
#     --stack S --yes --skip-preview` in the module directory, the stack input in a file named by
#     STACK_INPUT_YAML_FILE). Round 0 is cold (an empty GOCACHE: the first build); the others are
#     warm. A third variant (BENCH_PLANTON_BINARY=1) runs the program as a prebuilt binary (runtime
#     option `binary`), as Planton's CLI does with a released module; it is off by default because
#     the Go language host scripts/pulumi-build makes here ignores that option and runs `go build`
#     ("Failed to find go files"), measured on 2026-12-02. Both sides wait for the Job to complete
#     (kjob's default; pulumi-kubernetes' Job await). BENCH_PLANTON_ROUNDS (default 5).
#
# Writes $WORK/compare.json.

compare_main() {
  local sizes=${BENCH_COMPARE_SIZES:-$SIZES} rounds=${BENCH_PLANTON_ROUNDS:-5}
  local skip_from=${BENCH_COMPARE_SKIP_CHECKPOINTS_FROM:-1000}
  local pk8s_dir pulumi_dir
  export TIMED_OUT=$WORK/compare.jsonl
  : >"$TIMED_OUT"
  pulumi_dir=${KJOB_PULUMI_BIN:-$(scripts/pulumi-build --print-dir)}
  [[ -x $pulumi_dir/pulumi ]] || pulumi_dir=$(scripts/pulumi-build | tail -n1)
  log "compare: scripts/pulumi-kubernetes-build (cached after the first ~20 min build)"
  pk8s_dir=$(scripts/pulumi-kubernetes-build | tail -n1)
  compare_wrappers "$pk8s_dir"
  export PATH=$pulumi_dir:$WORK/compare-bin:$PATH PULUMI_HOME=$WORK/compare-pulumi-home \
    PULUMI_BACKEND_URL=file://$WORK/compare-state PULUMI_CONFIG_PASSPHRASE=kjob-bench \
    PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
    PULUMI_DISABLE_REGISTRY_RESOLVE=true
  unset PULUMI_ACCESS_TOKEN PULUMI_STACK
  mkdir -p "$PULUMI_HOME" "$WORK/compare-state"
  local P=(--non-interactive --color never --yes --skip-preview) n who
  for n in $sizes; do
    local engine=()
    ((n >= skip_from)) && engine=(env PULUMI_SKIP_CHECKPOINTS=true)
    for who in kjob pk8s; do
      local proj=$WORK/compare-$who-$n
      mkdir -p "$proj"
      python3 scripts/bench_programs.py "$who" "$n" "cmp$$-$who-$n" >"$proj/Pulumi.yaml"
      (cd "$proj" && pulumi stack init bench --non-interactive >/dev/null)
    done
    # Interleaved: up, up, destroy, destroy.
    for who in kjob pk8s; do
      log "compare: pulumi up, $n KubernetesJob(s) as $who"
      (cd "$WORK/compare-$who-$n" && timed "compare-$who-up-$n" "${engine[@]}" pulumi up "${P[@]}") || true
    done
    for who in kjob pk8s; do
      log "compare: pulumi destroy, $n KubernetesJob(s) as $who"
      (cd "$WORK/compare-$who-$n" && timed "compare-$who-destroy-$n" "${engine[@]}" pulumi destroy "${P[@]}") || true
      (cd "$WORK/compare-$who-$n" && pulumi stack rm --yes --force --non-interactive >/dev/null 2>&1) || true
    done
  done
  compare_planton "$rounds"
  python3 - "$WORK" "$sizes" "$rounds" "$(head -n1 "$pk8s_dir/VERSIONS" 2>/dev/null)" "$skip_from" <<'PY'
import json, os, sys
work, sizes, rounds, pk8s, skip_from = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
rows = [json.loads(l) for l in open(os.path.join(work, "compare.jsonl")) if l.strip()]
json.dump({"sizes": [int(s) for s in sizes], "planton_rounds": rounds, "pulumi_kubernetes": pk8s,
           "skip_checkpoints_from": skip_from, "runs": rows}, open(os.path.join(work, "compare.json"), "w"), indent=1)
PY
  unset TIMED_OUT
}

# Wrappers on PATH that record each provider's PID for the /proc sampler of `timed`.
compare_wrappers() {
  mkdir -p "$WORK/compare-bin"
  local name target
  for name in kjob kubernetes; do
    if [[ $name == kjob ]]; then target=$TARGET/release/pulumi-resource-kjob; else target=$1/pulumi-resource-kubernetes; fi
    printf '#!/usr/bin/env bash\necho $$ >>"%s/provider.pids"\nexec "%s" "$@"\n' "$WORK" "$target" \
      >"$WORK/compare-bin/pulumi-resource-$name"
    chmod +x "$WORK/compare-bin/pulumi-resource-$name"
  done
}

# Planton's flow beside `kjob up --manifest`, on examples/job.yaml renamed per round.
compare_planton() {
  local rounds=$1 k mod bin_mod manifest input ns
  mod=$WORK/planton-module; bin_mod=$WORK/planton-module-binary
  mkdir -p "$mod" "$bin_mod" "$WORK/gocache-warm"
  cp bench/planton-flow/*.go bench/planton-flow/go.mod bench/planton-flow/go.sum bench/planton-flow/Pulumi.yaml "$mod/"
  # Modules are downloaded beforehand (untimed): cold means compiling, not fetching.
  (cd "$mod" && go mod download)
  # The prebuilt variant: built once, untimed, as Planton's release binaries are.
  (cd "$mod" && GOCACHE=$WORK/gocache-warm go build -o "$bin_mod/plantonflow" .)
  printf 'name: project-planton-kubernetes-job\nruntime:\n  name: go\n  options:\n    binary: ./plantonflow\n' >"$bin_mod/Pulumi.yaml"
  # One project name (upstream's), so one stack per variant.
  (cd "$mod" && pulumi stack init build --non-interactive >/dev/null)
  (cd "$bin_mod" && pulumi stack init binary --non-interactive >/dev/null)
  local K=("$TARGET/release/kjob" --state-dir "$WORK/compare-kjob-state" --kubeconfig "$KUBECONFIG")
  local P=(--non-interactive --color never --yes --skip-preview)
  for ((k = 0; k < rounds; k++)); do
    for who in kjob planton ${BENCH_PLANTON_BINARY:+planton-binary}; do
      ns=cmp$$-$who-$k
      manifest=$WORK/planton-$who-$k.yaml
      sed -e "s/name: hello-migrate/name: pf-$k/" -e "s/value: kjob-example/value: $ns/" examples/job.yaml >"$manifest"
      case $who in
        kjob)
          timed "planton-kjob-$k" "${K[@]}" up --manifest "$manifest" --yes || true
          "${K[@]}" down --manifest "$manifest" --yes >/dev/null 2>&1 || true ;;
        planton*)
          input=$WORK/stack-input-$who-$k.yaml
          "${K[@]}" load-manifest "$manifest" -o json \
            | python3 -c 'import json,sys; m=json.load(sys.stdin); m["spec"]["env"]["secrets"]["DB_PASSWORD"]={"value":"example-only-password"}; print(json.dumps({"target": m}))' >"$input"
          local dir=$mod stack=build cache=$WORK/gocache-warm label=planton-warm-$k
          [[ $who == planton-binary ]] && { dir=$bin_mod; stack=binary; label=planton-binary-$k; }
          [[ $who == planton && $k == 0 ]] && { cache=$WORK/gocache-cold; label=planton-cold-0; }
          (cd "$dir" && GOCACHE=$cache STACK_INPUT_YAML_FILE=$input timed "$label" pulumi up --stack "$stack" "${P[@]}") || true
          (cd "$dir" && STACK_INPUT_YAML_FILE=$input GOCACHE=$WORK/gocache-warm pulumi destroy --stack "$stack" "${P[@]}" >/dev/null 2>&1) || true ;;
      esac
    done
  done
}

compare_main
