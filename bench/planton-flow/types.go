package main

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// stackInput mirrors KubernetesJobStackInput.
type stackInput struct {
	Target              manifest        `json:"target"`
	ProviderConfig      *providerConfig `json:"providerConfig,omitempty"`
	KubernetesNamespace string          `json:"kubernetesNamespace,omitempty"`
	DockerConfigJSON    string          `json:"dockerConfigJson,omitempty"`
}

type providerConfig struct {
	Provider         string          `json:"provider,omitempty"`
	GcpGke           json.RawMessage `json:"gcpGke,omitempty"`
	AwsEks           json.RawMessage `json:"awsEks,omitempty"`
	AzureAks         json.RawMessage `json:"azureAks,omitempty"`
	DigitalOceanDoks *struct {
		KubeConfig string `json:"kubeConfig,omitempty"`
	} `json:"digitalOceanDoks,omitempty"`
}

type manifest struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   metadata        `json:"metadata"`
	Spec       jobSpec         `json:"spec"`
	Status     json.RawMessage `json:"status,omitempty"`
}

type metadata struct {
	Name          string            `json:"name"`
	Slug          string            `json:"slug,omitempty"`
	ID            string            `json:"id,omitempty"`
	Org           string            `json:"org,omitempty"`
	Env           string            `json:"env,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	Tags          []string          `json:"tags,omitempty"`
	Relationships json.RawMessage   `json:"relationships,omitempty"`
	Group         string            `json:"group,omitempty"`
	Version       json.RawMessage   `json:"version,omitempty"`
}

type jobSpec struct {
	TargetCluster           json.RawMessage     `json:"targetCluster,omitempty"`
	Namespace               valueOrRef          `json:"namespace"`
	CreateNamespace         bool                `json:"createNamespace,omitempty"`
	Image                   *image              `json:"image,omitempty"`
	Resources               *containerResources `json:"resources,omitempty"`
	Env                     *env                `json:"env,omitempty"`
	Parallelism             *uint32             `json:"parallelism,omitempty"`
	Completions             *uint32             `json:"completions,omitempty"`
	BackoffLimit            *uint32             `json:"backoffLimit,omitempty"`
	ActiveDeadlineSeconds   *uint64Text         `json:"activeDeadlineSeconds,omitempty"`
	TTLSecondsAfterFinished *uint32             `json:"ttlSecondsAfterFinished,omitempty"`
	CompletionMode          *string             `json:"completionMode,omitempty"`
	RestartPolicy           *string             `json:"restartPolicy,omitempty"`
	Command                 []string            `json:"command,omitempty"`
	Args                    []string            `json:"args,omitempty"`
	ConfigMaps              map[string]string   `json:"configMaps,omitempty"`
	VolumeMounts            []volumeMount       `json:"volumeMounts,omitempty"`
	Suspend                 *bool               `json:"suspend,omitempty"`
}

// uint64Text is a uint64 as Protobuf JSON writes it (a string) or as YAML users write it (a number).
type uint64Text uint64

func (u *uint64Text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an unsigned integer: %s", b)
	}
	*u = uint64Text(v)
	return nil
}

type valueOrRef struct {
	Value     string          `json:"value,omitempty"`
	ValueFrom json.RawMessage `json:"valueFrom,omitempty"`
}

type image struct {
	Repo           string `json:"repo,omitempty"`
	Tag            string `json:"tag,omitempty"`
	PullSecretName string `json:"pullSecretName,omitempty"`
}

type cpuMemory struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

type containerResources struct {
	Limits   *cpuMemory `json:"limits,omitempty"`
	Requests *cpuMemory `json:"requests,omitempty"`
}

type env struct {
	Variables map[string]valueOrRef     `json:"variables,omitempty"`
	Secrets   map[string]sensitiveValue `json:"secrets,omitempty"`
}

type sensitiveValue struct {
	Value     string `json:"value,omitempty"`
	SecretRef *struct {
		Namespace string `json:"namespace,omitempty"`
		Name      string `json:"name,omitempty"`
		Key       string `json:"key,omitempty"`
	} `json:"secretRef,omitempty"`
}

type keyedSource struct {
	Name        string `json:"name,omitempty"`
	Key         string `json:"key,omitempty"`
	Path        string `json:"path,omitempty"`
	DefaultMode int32  `json:"defaultMode,omitempty"`
}

type volumeMount struct {
	Name      string       `json:"name"`
	MountPath string       `json:"mountPath"`
	ReadOnly  bool         `json:"readOnly,omitempty"`
	SubPath   string       `json:"subPath,omitempty"`
	ConfigMap *keyedSource `json:"configMap,omitempty"`
	Secret    *keyedSource `json:"secret,omitempty"`
	HostPath  *struct {
		Path string `json:"path,omitempty"`
		Type string `json:"type,omitempty"`
	} `json:"hostPath,omitempty"`
	EmptyDir *struct {
		Medium    string `json:"medium,omitempty"`
		SizeLimit string `json:"sizeLimit,omitempty"`
	} `json:"emptyDir,omitempty"`
	Pvc *struct {
		ClaimName string `json:"claimName,omitempty"`
		ReadOnly  bool   `json:"readOnly,omitempty"`
	} `json:"pvc,omitempty"`
}

// validate applies the spec's validation rules that upstream's loader checks (protovalidate on the
// spec): a namespace is required, and the two enumerated strings take only their listed values.
func (s *jobSpec) validate() error {
	if s.Namespace.Value == "" && len(s.Namespace.ValueFrom) == 0 {
		return fmt.Errorf("spec.namespace: value is required")
	}
	if s.CompletionMode != nil && *s.CompletionMode != "NonIndexed" && *s.CompletionMode != "Indexed" {
		return fmt.Errorf("spec.completion_mode: value must be in list [NonIndexed, Indexed]")
	}
	if s.RestartPolicy != nil && *s.RestartPolicy != "OnFailure" && *s.RestartPolicy != "Never" {
		return fmt.Errorf("spec.restart_policy: value must be in list [OnFailure, Never]")
	}
	return nil
}
