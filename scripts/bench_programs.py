"""Pulumi YAML programs for scripts/bench's "compare" part (printed to stdout).

    python3 scripts/bench_programs.py kjob|pk8s N PREFIX

kjob: N KubernetesJobs through an explicit kjob provider with wait: false; each creates its
namespace, one ConfigMap, an env Secret, a ServiceAccount and a suspended Job (5 objects).
pk8s: the same 5 objects per Job as pulumi-kubernetes resources, with pulumi.com/skipAwait on each
(waiting off, like wait: false), the namespace first and the Job after the objects it uses.
"""
import json
import sys


def kjob(n, prefix):
    resources = {"kjob": {"type": "pulumi:providers:kjob", "properties": {"wait": False}}}
    for i in range(n):
        resources[f"job{i:04d}"] = {
            "type": "kjob:index:KubernetesJob",
            "options": {"provider": "${kjob}"},
            "properties": {
                "metadata": {"name": f"job-{i:04d}"},
                "spec": {
                    "namespace": {"value": f"{prefix}-{i:04d}"},
                    "createNamespace": True,
                    "image": {"repo": "busybox", "tag": "1.36"},
                    "command": ["sh", "-c", "echo done"],
                    "env": {"variables": {"INDEX": {"value": str(i)}},
                            "secrets": {"TOKEN": {"value": f"bench-{i}"}}},
                    "configMaps": {"settings": f"index={i}"},
                    "suspend": True,
                },
            },
        }
    return resources


def pk8s(n, prefix):
    skip = {"pulumi.com/skipAwait": "true"}
    resources = {"k8s": {"type": "pulumi:providers:kubernetes",
                         "properties": {"enableServerSideApply": True}}}
    for i in range(n):
        job = f"job-{i:04d}"
        ns = f"ns{i:04d}"
        opts = {"provider": "${k8s}"}
        in_ns = lambda name: {"name": name, "namespace": f"${{{ns}.metadata.name}}", "annotations": skip}
        resources[ns] = {"type": "kubernetes:core/v1:Namespace", "options": opts,
                         "properties": {"metadata": {"name": f"{prefix}-{i:04d}", "annotations": skip}}}
        resources[f"cm{i:04d}"] = {"type": "kubernetes:core/v1:ConfigMap", "options": opts,
                                   "properties": {"metadata": in_ns("settings"), "data": {"settings": f"index={i}"}}}
        resources[f"secret{i:04d}"] = {"type": "kubernetes:core/v1:Secret", "options": opts,
                                       "properties": {"metadata": in_ns(f"{job}-env-secrets"), "type": "Opaque",
                                                      "stringData": {"TOKEN": f"bench-{i}"}}}
        resources[f"sa{i:04d}"] = {"type": "kubernetes:core/v1:ServiceAccount", "options": opts,
                                   "properties": {"metadata": in_ns(job)}}
        container = {"name": "job", "image": "busybox:1.36", "command": ["sh", "-c", "echo done"],
                     "env": [{"name": "INDEX", "value": str(i)},
                             {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": f"{job}-env-secrets", "key": "TOKEN"}}}]}
        resources[f"job{i:04d}"] = {
            "type": "kubernetes:batch/v1:Job",
            "options": {"provider": "${k8s}", "dependsOn": [f"${{cm{i:04d}}}", f"${{secret{i:04d}}}", f"${{sa{i:04d}}}"]},
            "properties": {"metadata": in_ns(job), "spec": {
                "suspend": True, "backoffLimit": 6,
                "template": {"spec": {"serviceAccountName": job, "restartPolicy": "Never", "containers": [container]}}}},
        }
    return resources


def main():
    who, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    program = {"name": f"bench-{who}-{n}", "runtime": "yaml",
               "resources": (kjob if who == "kjob" else pk8s)(n, prefix)}
    # JSON is YAML: Pulumi YAML reads it as is.
    print(json.dumps(program, indent=1))


if __name__ == "__main__":
    main()
