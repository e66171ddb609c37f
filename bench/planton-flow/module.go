package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// resources creates what upstream's module creates, in its order: the provider, the namespace
// (only with createNamespace), the env Secret (only with a direct secret value), the image-pull
// Secret (only with a docker config), one ConfigMap per spec.configMaps entry, and the Job; it
// exports namespace and job_name.
func resources(ctx *pulumi.Context, in *stackInput) error {
	spec := in.Target.Spec
	name := in.Target.Metadata.Name
	namespace := spec.Namespace.Value
	labels := plantonLabels(&in.Target.Metadata)
	envSecretName := name + "-env-secrets"
	pullSecretName := name + "-image-pull-secret"

	provider, err := kubernetesProvider(ctx, in.ProviderConfig)
	if err != nil {
		return err
	}
	opt := pulumi.Provider(provider)
	meta := func(objectName string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(objectName), Namespace: pulumi.String(namespace), Labels: labels}
	}

	if spec.CreateNamespace {
		if _, err := corev1.NewNamespace(ctx, namespace, &corev1.NamespaceArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(namespace), Labels: labels},
		}, opt); err != nil {
			return fmt.Errorf("namespace: %w", err)
		}
	}

	direct := pulumi.StringMap{}
	if spec.Env != nil {
		for _, k := range sortedKeys(spec.Env.Secrets) {
			if v := spec.Env.Secrets[k]; v.SecretRef == nil && v.Value != "" {
				direct[k] = pulumi.String(v.Value)
			}
		}
	}
	if len(direct) > 0 {
		if _, err := corev1.NewSecret(ctx, envSecretName, &corev1.SecretArgs{
			Metadata: meta(envSecretName), Type: pulumi.String("Opaque"), StringData: direct,
		}, opt); err != nil {
			return fmt.Errorf("env secret: %w", err)
		}
	}

	if in.DockerConfigJSON != "" {
		if _, err := corev1.NewSecret(ctx, pullSecretName, &corev1.SecretArgs{
			Metadata:   meta(pullSecretName),
			Type:       pulumi.String("kubernetes.io/dockerconfigjson"),
			StringData: pulumi.StringMap{".dockerconfigjson": pulumi.String(in.DockerConfigJSON)},
		}, opt); err != nil {
			return fmt.Errorf("image pull secret: %w", err)
		}
	}

	for _, cm := range sortedKeys(spec.ConfigMaps) {
		if _, err := corev1.NewConfigMap(ctx, cm, &corev1.ConfigMapArgs{
			Metadata: meta(cm), Data: pulumi.StringMap{cm: pulumi.String(spec.ConfigMaps[cm])},
		}, opt); err != nil {
			return fmt.Errorf("config map %s: %w", cm, err)
		}
	}

	if _, err := batchv1.NewJob(ctx, name, &batchv1.JobArgs{
		Metadata: meta(name),
		Spec:     jobSpecArgs(&spec, name, labels, envSecretName, pullSecretName, in.DockerConfigJSON != ""),
	}, opt); err != nil {
		return fmt.Errorf("job: %w", err)
	}

	ctx.Export("namespace", pulumi.String(namespace))
	ctx.Export("job_name", pulumi.String(name))
	return nil
}

// kubernetesProvider is the explicit provider upstream's module makes: server-side apply on, the
// ambient kubeconfig (context from KUBE_CTX) when no provider config is given, or a DigitalOcean
// kubeconfig as given.
func kubernetesProvider(ctx *pulumi.Context, cfg *providerConfig) (*kubernetes.Provider, error) {
	args := &kubernetes.ProviderArgs{EnableServerSideApply: pulumi.BoolPtr(true)}
	switch {
	case cfg == nil:
		if c := os.Getenv("KUBE_CTX"); c != "" {
			args.Context = pulumi.StringPtr(c)
		}
	case cfg.DigitalOceanDoks != nil:
		args.Kubeconfig = pulumi.StringPtr(cfg.DigitalOceanDoks.KubeConfig)
	default:
		return nil, fmt.Errorf("provider config %q is not supported by this rebuild", cfg.Provider)
	}
	return kubernetes.NewProvider(ctx, "kubernetes", args)
}

// plantonLabels are the planton.ai/* labels upstream puts on every object and on the pod template.
func plantonLabels(m *metadata) pulumi.StringMap {
	l := pulumi.StringMap{
		"planton.ai/resource": pulumi.String("true"),
		"planton.ai/name":     pulumi.String(m.Name),
		"planton.ai/kind":     pulumi.String("KubernetesJob"),
	}
	for key, v := range map[string]string{"planton.ai/id": m.ID, "planton.ai/organization": m.Org, "planton.ai/environment": m.Env} {
		if v != "" {
			l[key] = pulumi.String(v)
		}
	}
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
