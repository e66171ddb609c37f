package main

import (
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// jobSpecArgs builds the Job as upstream's module does: one container "job-container", env
// HOSTNAME and K8S_POD_ID from the downward API, then the literal variables and the secrets by
// sorted name, each optional Job field only when set (and, for counts, above zero).
func jobSpecArgs(s *jobSpec, name string, labels pulumi.StringMap, envSecret, pullSecret string, pull bool) *batchv1.JobSpecArgs {
	envVars := corev1.EnvVarArray{
		corev1.EnvVarArgs{Name: pulumi.String("HOSTNAME"), ValueFrom: &corev1.EnvVarSourceArgs{
			FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String("status.podIP")}}},
		corev1.EnvVarArgs{Name: pulumi.String("K8S_POD_ID"), ValueFrom: &corev1.EnvVarSourceArgs{
			FieldRef: &corev1.ObjectFieldSelectorArgs{ApiVersion: pulumi.String("v1"), FieldPath: pulumi.String("metadata.name")}}},
	}
	if s.Env != nil {
		for _, k := range sortedKeys(s.Env.Variables) {
			if v := s.Env.Variables[k].Value; v != "" {
				envVars = append(envVars, corev1.EnvVarArgs{Name: pulumi.String(k), Value: pulumi.String(v)})
			}
		}
		for _, k := range sortedKeys(s.Env.Secrets) {
			v := s.Env.Secrets[k]
			ref := &corev1.SecretKeySelectorArgs{}
			switch {
			case v.SecretRef != nil:
				ref.Name, ref.Key = pulumi.String(v.SecretRef.Name), pulumi.String(v.SecretRef.Key)
			case v.Value != "":
				ref.Name, ref.Key = pulumi.String(envSecret), pulumi.String(k)
			default:
				continue
			}
			envVars = append(envVars, corev1.EnvVarArgs{Name: pulumi.String(k), ValueFrom: &corev1.EnvVarSourceArgs{SecretKeyRef: ref}})
		}
	}

	container := corev1.ContainerArgs{Name: pulumi.String("job-container"), Env: envVars}
	if s.Image != nil {
		container.Image = pulumi.String(s.Image.Repo + ":" + s.Image.Tag)
	}
	if r := s.Resources; r != nil {
		container.Resources = &corev1.ResourceRequirementsArgs{Limits: cpuMemoryMap(r.Limits), Requests: cpuMemoryMap(r.Requests)}
	}
	if len(s.Command) > 0 {
		container.Command = pulumi.ToStringArray(s.Command)
	}
	if len(s.Args) > 0 {
		container.Args = pulumi.ToStringArray(s.Args)
	}
	mounts, volumes := volumesOf(s.VolumeMounts)
	container.VolumeMounts = mounts

	pod := &corev1.PodSpecArgs{Containers: corev1.ContainerArray{container}, Volumes: volumes}
	if s.RestartPolicy != nil {
		pod.RestartPolicy = pulumi.String(*s.RestartPolicy)
	}
	if pull {
		pod.ImagePullSecrets = corev1.LocalObjectReferenceArray{corev1.LocalObjectReferenceArgs{Name: pulumi.String(pullSecret)}}
	}
	spec := &batchv1.JobSpecArgs{Template: corev1.PodTemplateSpecArgs{
		Metadata: &metav1.ObjectMetaArgs{Labels: labels}, Spec: pod}}
	if s.Parallelism != nil && *s.Parallelism > 0 {
		spec.Parallelism = pulumi.Int(int(*s.Parallelism))
	}
	if s.Completions != nil && *s.Completions > 0 {
		spec.Completions = pulumi.Int(int(*s.Completions))
	}
	if s.BackoffLimit != nil {
		spec.BackoffLimit = pulumi.Int(int(*s.BackoffLimit))
	}
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds > 0 {
		spec.ActiveDeadlineSeconds = pulumi.Int(int(*s.ActiveDeadlineSeconds))
	}
	if s.TTLSecondsAfterFinished != nil && *s.TTLSecondsAfterFinished > 0 {
		spec.TtlSecondsAfterFinished = pulumi.Int(int(*s.TTLSecondsAfterFinished))
	}
	if s.CompletionMode != nil && *s.CompletionMode != "" {
		spec.CompletionMode = pulumi.String(*s.CompletionMode)
	}
	if s.Suspend != nil {
		spec.Suspend = pulumi.Bool(*s.Suspend)
	}
	return spec
}

func cpuMemoryMap(c *cpuMemory) pulumi.StringMap {
	m := pulumi.StringMap{}
	if c != nil {
		if c.CPU != "" {
			m["cpu"] = pulumi.String(c.CPU)
		}
		if c.Memory != "" {
			m["memory"] = pulumi.String(c.Memory)
		}
	}
	return m
}

// volumesOf turns each mount into a VolumeMount and a Volume of the same name, with its first
// source set.
func volumesOf(in []volumeMount) (corev1.VolumeMountArray, corev1.VolumeArray) {
	var mounts corev1.VolumeMountArray
	var volumes corev1.VolumeArray
	for _, m := range in {
		mount := corev1.VolumeMountArgs{Name: pulumi.String(m.Name), MountPath: pulumi.String(m.MountPath), ReadOnly: pulumi.Bool(m.ReadOnly)}
		if m.SubPath != "" {
			mount.SubPath = pulumi.String(m.SubPath)
		}
		mounts = append(mounts, mount)
		v := corev1.VolumeArgs{Name: pulumi.String(m.Name)}
		switch {
		case m.ConfigMap != nil:
			v.ConfigMap = &corev1.ConfigMapVolumeSourceArgs{Name: pulumi.String(m.ConfigMap.Name), Items: itemsOf(m.ConfigMap), DefaultMode: modeOf(m.ConfigMap)}
		case m.Secret != nil:
			v.Secret = &corev1.SecretVolumeSourceArgs{SecretName: pulumi.String(m.Secret.Name), Items: itemsOf(m.Secret), DefaultMode: modeOf(m.Secret)}
		case m.HostPath != nil:
			h := &corev1.HostPathVolumeSourceArgs{Path: pulumi.String(m.HostPath.Path)}
			if m.HostPath.Type != "" {
				h.Type = pulumi.String(m.HostPath.Type)
			}
			v.HostPath = h
		case m.EmptyDir != nil:
			e := &corev1.EmptyDirVolumeSourceArgs{}
			if m.EmptyDir.Medium != "" {
				e.Medium = pulumi.String(m.EmptyDir.Medium)
			}
			if m.EmptyDir.SizeLimit != "" {
				e.SizeLimit = pulumi.String(m.EmptyDir.SizeLimit)
			}
			v.EmptyDir = e
		case m.Pvc != nil:
			v.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSourceArgs{ClaimName: pulumi.String(m.Pvc.ClaimName), ReadOnly: pulumi.Bool(m.Pvc.ReadOnly)}
		}
		volumes = append(volumes, v)
	}
	return mounts, volumes
}

func itemsOf(s *keyedSource) corev1.KeyToPathArray {
	if s.Key == "" {
		return nil
	}
	path := s.Path
	if path == "" {
		path = s.Key
	}
	return corev1.KeyToPathArray{corev1.KeyToPathArgs{Key: pulumi.String(s.Key), Path: pulumi.String(path)}}
}

func modeOf(s *keyedSource) pulumi.IntPtrInput {
	if s.DefaultMode > 0 {
		return pulumi.IntPtr(int(s.DefaultMode))
	}
	return nil
}
