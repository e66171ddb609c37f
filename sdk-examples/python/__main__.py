# The YAML example's program in Python: one KubernetesJob in a namespace it creates.

import pulumi
import pulumi_kjob as kjob

config = pulumi.Config()
target_namespace = config.get("namespace") or "kjob-python-example"

hello = kjob.KubernetesJob(
    "hello",
    metadata={"name": "hello"},
    spec={
        "namespace": {"value": target_namespace},
        "create_namespace": True,
        "image": {"repo": "busybox", "tag": "1.36.1"},
        "command": ["sh", "-c", "echo hello from kjob"],
    },
)

pulumi.export("namespace", hello.namespace)
pulumi.export("jobName", hello.job_name)
