// Command plantonflow is a rebuild of Project Planton's KubernetesJob Pulumi module, for kjob's
// side-by-side benchmark (scripts/bench, part "compare"). Planton's own Go module is not served by
// the Go module proxy here, so this program creates the same objects with the same pulumi-kubernetes
// Go SDK version upstream pins, and loads its stack input the way upstream's loader does.
// It is benchmark tooling: kjob neither builds nor ships it outside scripts/bench.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"sigs.k8s.io/yaml"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		input, err := loadStackInput(ctx)
		if err != nil {
			return err
		}
		if err := input.Target.Spec.validate(); err != nil {
			return err
		}
		return resources(ctx, input)
	})
}

// loadStackInput reads the stack input from the sources upstream's loader tries, in its order:
// the Pulumi config key planton-cloud:stack-input, then STACK_INPUT_YAML, then STACK_INPUT_YAML_FILE.
func loadStackInput(ctx *pulumi.Context) (*stackInput, error) {
	text := config.Get(ctx, "planton-cloud:stack-input")
	if text == "" {
		text = os.Getenv("STACK_INPUT_YAML")
	}
	if text == "" {
		if path := os.Getenv("STACK_INPUT_YAML_FILE"); path != "" {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("reading the stack input %s: %w", path, err)
			}
			text = string(data)
		}
	}
	if text == "" {
		return nil, fmt.Errorf("no stack input: set the config planton-cloud:stack-input, STACK_INPUT_YAML or STACK_INPUT_YAML_FILE")
	}
	asJSON, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("the stack input is not YAML: %w", err)
	}
	// Protobuf JSON accepts a field's JSON name and its proto name; the top-level fields are
	// renamed to one spelling here, and everything below is decoded strictly.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(asJSON, &top); err != nil {
		return nil, fmt.Errorf("the stack input is not an object: %w", err)
	}
	renamed := map[string]json.RawMessage{}
	for k, v := range top {
		switch k {
		case "provider_config":
			k = "providerConfig"
		case "kubernetes_namespace":
			k = "kubernetesNamespace"
		case "docker_config_json":
			k = "dockerConfigJson"
		}
		renamed[k] = v
	}
	normalized, _ := json.Marshal(renamed)
	dec := json.NewDecoder(bytes.NewReader(normalized))
	dec.DisallowUnknownFields()
	var input stackInput
	if err := dec.Decode(&input); err != nil {
		return nil, fmt.Errorf("decoding the stack input: %w", err)
	}
	return &input, nil
}
