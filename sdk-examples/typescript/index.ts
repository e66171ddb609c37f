import * as pulumi from "@pulumi/pulumi";
import * as kjob from "@project-planton/kjob";

const config = new pulumi.Config();
const targetNamespace = config.get("namespace") ?? "kjob-typescript-example";

const hello = new kjob.KubernetesJob("hello", {
    metadata: { name: "hello" },
    spec: {
        namespace: { value: targetNamespace },
        createNamespace: true,
        image: { repo: "busybox", tag: "1.36.1" },
        command: ["sh", "-c", "echo hello from kjob"],
    },
});

export const namespace = hello.namespace;
export const jobName = hello.jobName;
