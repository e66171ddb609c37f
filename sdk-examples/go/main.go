// The YAML example's program in Go: one KubernetesJob in a namespace it creates.
package main

import (
	"github.com/project-planton/kjob/sdk/go/kjob"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		namespace := config.Get(ctx, "namespace")
		if namespace == "" {
			namespace = "kjob-go-example"
		}
		hello, err := kjob.NewKubernetesJob(ctx, "hello", &kjob.KubernetesJobArgs{
			Metadata: &kjob.CloudResourceMetadataArgs{Name: pulumi.String("hello")},
			Spec: &kjob.KubernetesJobSpecArgs{
				Namespace:       &kjob.StringValueOrRefArgs{Value: pulumi.String(namespace)},
				CreateNamespace: pulumi.Bool(true),
				Image:           &kjob.ContainerImageArgs{Repo: pulumi.String("busybox"), Tag: pulumi.String("1.36.1")},
				Command:         pulumi.StringArray{pulumi.String("sh"), pulumi.String("-c"), pulumi.String("echo hello from kjob")},
			},
		})
		if err != nil {
			return err
		}
		ctx.Export("namespace", hello.Namespace)
		ctx.Export("jobName", hello.JobName)
		return nil
	})
}
