package envvars_test

import (
	"context"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/kubelet/envvars"
)

func Example() {
	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.PodSpec{Containers: []api.Container{{
			Name:    "app",
			Command: []string{"serve", "--addr=$(POD_IP):$(PORT)"},
			Env: []api.EnvVar{
				{Name: "PORT", Value: "8080"},
				{Name: "POD_IP", ValueFrom: &api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				{Name: "URL", Value: "http://$(POD_IP):$(PORT)/"},
			},
		}}},
		Status: api.PodStatus{PodIP: "10.1.0.5"},
	}
	c := &pod.Spec.Containers[0]
	env, err := envvars.Resolve(context.Background(), pod, c, nil) // no configMap or secret references
	if err != nil {
		fmt.Println(err)
		return
	}
	vars := map[string]string{}
	for _, kv := range env {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
		vars[kv.Key] = kv.Value
	}
	fmt.Println(envvars.ExpandAll(c.Command, vars))
	// Output:
	// PORT=8080
	// POD_IP=10.1.0.5
	// URL=http://10.1.0.5:8080/
	// [serve --addr=10.1.0.5:8080]
}
