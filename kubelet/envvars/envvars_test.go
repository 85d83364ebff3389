package envvars_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/kubelet/envvars"
	"github.com/drover-io/drover/runtime"
)

// sources is an in-memory envvars.Sources, keyed by namespace/name.
type sources struct {
	configMaps map[string]*api.ConfigMap
	secrets    map[string]*api.Secret
	err        error // returned by every call when set
	calls      int
}

func (s *sources) ConfigMap(_ context.Context, ns, name string) (*api.ConfigMap, error) {
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	if cm, ok := s.configMaps[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, api.NewNotFound(api.GroupResource{Resource: "configmaps"}, name)
}

func (s *sources) Secret(_ context.Context, ns, name string) (*api.Secret, error) {
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	if sec, ok := s.secrets[ns+"/"+name]; ok {
		return sec, nil
	}
	return nil, api.NewNotFound(api.GroupResource{Resource: "secrets"}, name)
}

func newSources() *sources {
	return &sources{
		configMaps: map[string]*api.ConfigMap{
			"ns/cfg": {ObjectMeta: api.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{
				"MODE": "prod", "b-key": "2", "a.key": "1", "1bad": "x", "HOST": "db",
			}, BinaryData: map[string][]byte{"BIN": []byte("bin")}},
		},
		secrets: map[string]*api.Secret{
			"ns/creds": {ObjectMeta: api.ObjectMeta{Name: "creds", Namespace: "ns"}, Data: map[string][]byte{
				"PASSWORD": []byte("hunter2"), "USER": []byte("admin"),
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func testPod(c api.Container) *api.Pod {
	return &api.Pod{
		ObjectMeta: api.ObjectMeta{
			Name: "web", Namespace: "ns", UID: "uid-1",
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"example.com/note": "hi"},
		},
		Spec: api.PodSpec{
			NodeName: "node-1", ServiceAccountName: "sa",
			InitContainers: []api.Container{{Name: "init", Resources: api.ResourceRequirements{
				Limits: api.ResourceList{api.ResourceCPU: resource.MustParse("100m")},
			}}},
			Containers: []api.Container{c, {Name: "side", Resources: api.ResourceRequirements{
				Limits: api.ResourceList{api.ResourceMemory: resource.MustParse("64Mi")},
			}}},
		},
		Status: api.PodStatus{
			HostIP: "10.0.0.1", HostIPs: []api.HostIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}},
			PodIP: "10.1.0.5", PodIPs: []api.PodIP{{IP: "10.1.0.5"}, {IP: "fd01::5"}},
		},
	}
}

func resolve(t *testing.T, c api.Container, src envvars.Sources) []runtime.KeyValue {
	t.Helper()
	pod := testPod(c)
	env, err := envvars.Resolve(context.Background(), pod, &pod.Spec.Containers[0], src)
	require.NoError(t, err)
	return env
}

func TestResolveOrderEnvFromThenEnvWithExpansion(t *testing.T) {
	src := newSources()
	var skipped []string
	c := api.Container{
		Name: "app",
		EnvFrom: []api.EnvFromSource{
			{Prefix: "CM_", ConfigMapRef: &api.ConfigMapEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "cfg"}}},
			{SecretRef: &api.SecretEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "creds"}}},
			{ConfigMapRef: &api.ConfigMapEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "cfg"}}},
		},
		Env: []api.EnvVar{
			{Name: "URL", Value: "postgres://$(USER):$(PASSWORD)@$(HOST)/$(LATER)"},
			{Name: "LATER", Value: "db1"},
			{Name: "AGAIN", Value: "$(LATER) $$(LATER) $$$(LATER) $(NOPE) $ $(unclosed"},
			{Name: "MODE", Value: "dev-$(MODE)"}, // refers to envFrom's MODE, replaces it in place
		},
	}
	pod := testPod(c)
	env, err := envvars.ResolveWithOptions(context.Background(), pod, &pod.Spec.Containers[0], src, envvars.Options{
		Skipped: func(source, key string) { skipped = append(skipped, source+" "+key) },
	})
	require.NoError(t, err)
	assert.Equal(t, []runtime.KeyValue{
		// envFrom configmap with prefix: Data keys only, in key order.
		{Key: "CM_1bad", Value: "x"}, {Key: "CM_HOST", Value: "db"}, {Key: "CM_MODE", Value: "prod"},
		{Key: "CM_a.key", Value: "1"}, {Key: "CM_b-key", Value: "2"},
		// envFrom secret.
		{Key: "PASSWORD", Value: "hunter2"}, {Key: "USER", Value: "admin"},
		// envFrom configmap without prefix: "1bad" is not a variable name.
		{Key: "HOST", Value: "db"}, {Key: "MODE", Value: "dev-prod"}, {Key: "a.key", Value: "1"}, {Key: "b-key", Value: "2"},
		// env, in order; a reference to a later variable stays literal.
		{Key: "URL", Value: "postgres://admin:hunter2@db/$(LATER)"},
		{Key: "LATER", Value: "db1"},
		{Key: "AGAIN", Value: "db1 $(LATER) $db1 $(NOPE) $ $(unclosed"},
	}, env)
	assert.Equal(t, []string{`configmap "cfg" 1bad`}, skipped)
}

func TestResolveValueFrom(t *testing.T) {
	src := newSources()
	c := api.Container{
		Name: "app",
		Env: []api.EnvVar{
			{Name: "MODE", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "cfg"}, Key: "MODE"}}},
			{Name: "PW", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "creds"}, Key: "PASSWORD"}}},
			{Name: "OPT_KEY", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "cfg"}, Key: "nope", Optional: ptr(true)}}},
			{Name: "OPT_CM", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "gone"}, Key: "k", Optional: ptr(true)}}},
			{Name: "OPT_SECRET", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "gone"}, Key: "k", Optional: ptr(true)}}},
			{Name: "OPT_SKEY", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{LocalObjectReference: api.LocalObjectReference{Name: "creds"}, Key: "nope", Optional: ptr(true)}}},
			{Name: "NOT_EXPANDED", Value: "$(OPT_KEY)"},
		},
	}
	assert.Equal(t, []runtime.KeyValue{
		{Key: "MODE", Value: "prod"}, {Key: "PW", Value: "hunter2"}, {Key: "NOT_EXPANDED", Value: "$(OPT_KEY)"},
	}, resolve(t, c, src))
}

func TestResolveFieldRef(t *testing.T) {
	var env []api.EnvVar
	paths := map[string]string{
		"metadata.name":                            "web",
		"metadata.namespace":                       "ns",
		"metadata.uid":                             "uid-1",
		"metadata.labels['app']":                   "web",
		"metadata.labels['missing']":               "",
		"metadata.annotations['example.com/note']": "hi",
		"spec.nodeName":                            "node-1",
		"spec.serviceAccountName":                  "sa",
		"status.hostIP":                            "10.0.0.1",
		"status.hostIPs":                           "10.0.0.1,fd00::1",
		"status.podIP":                             "10.1.0.5",
		"status.podIPs":                            "10.1.0.5,fd01::5",
	}
	var want []runtime.KeyValue
	i := 0
	for _, p := range []string{
		"metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels['app']", "metadata.labels['missing']",
		"metadata.annotations['example.com/note']", "spec.nodeName", "spec.serviceAccountName",
		"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
	} {
		name := fmt.Sprintf("V%d", i)
		i++
		env = append(env, api.EnvVar{Name: name, ValueFrom: &api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{FieldPath: p}}})
		want = append(want, runtime.KeyValue{Key: name, Value: paths[p]})
	}
	assert.Equal(t, want, resolve(t, api.Container{Name: "app", Env: env}, nil))
}

func TestResolveResourceFieldRef(t *testing.T) {
	c := api.Container{
		Name: "app",
		Resources: api.ResourceRequirements{
			Limits:   api.ResourceList{api.ResourceCPU: resource.MustParse("250m"), api.ResourceMemory: resource.MustParse("1Gi")},
			Requests: api.ResourceList{api.ResourceCPU: resource.MustParse("100m")},
		},
	}
	ref := func(name, res, container, divisor string) api.EnvVar {
		sel := &api.ResourceFieldSelector{Resource: res, ContainerName: container}
		if divisor != "" {
			sel.Divisor = resource.MustParse(divisor)
		}
		return api.EnvVar{Name: name, ValueFrom: &api.EnvVarSource{ResourceFieldRef: sel}}
	}
	c.Env = []api.EnvVar{
		ref("CPU_CORES", "limits.cpu", "", ""),      // 0.25 rounds up to 1
		ref("CPU_MILLI", "limits.cpu", "", "1m"),    // 250
		ref("MEM", "limits.memory", "", ""),         // bytes
		ref("MEM_MI", "limits.memory", "", "1Mi"),   // 1024
		ref("MEM_G", "limits.memory", "", "1G"),     // 1.07 rounds up to 2
		ref("REQ_CPU", "requests.cpu", "app", "1m"), // 100
		ref("REQ_MEM", "requests.memory", "", ""),   // not set: 0
		ref("EPH", "limits.ephemeral-storage", "", "1Gi"),
		ref("SIDE_MEM", "limits.memory", "side", "1Mi"),
		ref("SIDE_CPU", "limits.cpu", "side", "1m"),
		ref("INIT_CPU", "limits.cpu", "init", "1m"),
	}
	pod := testPod(c)
	env, err := envvars.ResolveWithOptions(context.Background(), pod, &pod.Spec.Containers[0], nil, envvars.Options{
		NodeAllocatable: api.ResourceList{
			api.ResourceCPU: resource.MustParse("2"), api.ResourceMemory: resource.MustParse("8Gi"),
			api.ResourceEphemeralStorage: resource.MustParse("100Gi"),
		},
	})
	require.NoError(t, err)
	assert.Equal(t, []runtime.KeyValue{
		{Key: "CPU_CORES", Value: "1"}, {Key: "CPU_MILLI", Value: "250"},
		{Key: "MEM", Value: "1073741824"}, {Key: "MEM_MI", Value: "1024"}, {Key: "MEM_G", Value: "2"},
		{Key: "REQ_CPU", Value: "100"}, {Key: "REQ_MEM", Value: "0"},
		{Key: "EPH", Value: "100"}, // the node's allocatable: no limit set
		{Key: "SIDE_MEM", Value: "64"}, {Key: "SIDE_CPU", Value: "2000"}, {Key: "INIT_CPU", Value: "100"},
	}, env)

	// Without the node's allocatable, a missing limit is an error.
	_, err = envvars.Resolve(context.Background(), pod, &pod.Spec.Containers[0], nil)
	require.Error(t, err)
	assert.Equal(t, `container "app": env "EPH": resourceFieldRef limits.ephemeral-storage: container "app" sets no ephemeral-storage limit and the node's allocatable ephemeral-storage is not known`, err.Error())
}

func TestResolveErrors(t *testing.T) {
	cmRef := func(name, key string) *api.EnvVarSource {
		return &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{LocalObjectReference: api.LocalObjectReference{Name: name}, Key: key}}
	}
	boom := errors.New("connection refused")
	for _, tc := range []struct {
		name   string
		c      api.Container
		src    *sources
		want   string
		isNotF bool
	}{{
		name: "missing key",
		c:    api.Container{Name: "app", Env: []api.EnvVar{{Name: "X", ValueFrom: cmRef("cfg", "nope")}}},
		want: `container "app": env "X": configMapKeyRef: configmap "cfg" has no key "nope"`,
	}, {
		name: "binaryData is not env",
		c:    api.Container{Name: "app", Env: []api.EnvVar{{Name: "X", ValueFrom: cmRef("cfg", "BIN")}}},
		want: `container "app": env "X": configMapKeyRef: configmap "cfg" has no key "BIN"`,
	}, {
		name:   "missing configmap",
		c:      api.Container{Name: "app", Env: []api.EnvVar{{Name: "X", ValueFrom: cmRef("gone", "k")}}},
		want:   `container "app": env "X": configMapKeyRef: configmap "gone" not found`,
		isNotF: true,
	}, {
		name: "missing secret key",
		c: api.Container{Name: "app", Env: []api.EnvVar{{Name: "S", ValueFrom: &api.EnvVarSource{SecretKeyRef: &api.SecretKeySelector{
			LocalObjectReference: api.LocalObjectReference{Name: "creds"}, Key: "TOKEN"}}}}},
		want: `container "app": env "S": secretKeyRef: secret "creds" has no key "TOKEN"`,
	}, {
		name: "missing envFrom secret",
		c: api.Container{Name: "app", EnvFrom: []api.EnvFromSource{{SecretRef: &api.SecretEnvSource{
			LocalObjectReference: api.LocalObjectReference{Name: "gone"}}}}},
		want:   `container "app": envFrom[0]: secret "gone" not found`,
		isNotF: true,
	}, {
		name: "unsupported field",
		c: api.Container{Name: "app", Env: []api.EnvVar{{Name: "F", ValueFrom: &api.EnvVarSource{FieldRef: &api.ObjectFieldSelector{
			FieldPath: "spec.hostname"}}}}},
		want: `container "app": env "F": fieldRef: field path "spec.hostname" is not supported: want one of metadata.name, metadata.namespace, metadata.uid, spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP, status.podIPs, metadata.labels['key'] or metadata.annotations['key']`,
	}, {
		name: "unknown container",
		c: api.Container{Name: "app", Env: []api.EnvVar{{Name: "R", ValueFrom: &api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{
			ContainerName: "nope", Resource: "limits.cpu"}}}}},
		want: `container "app": env "R": resourceFieldRef limits.cpu: pod ns/web has no container "nope"`,
	}, {
		name: "unsupported resource",
		c: api.Container{Name: "app", Env: []api.EnvVar{{Name: "R", ValueFrom: &api.EnvVarSource{ResourceFieldRef: &api.ResourceFieldSelector{
			Resource: "limits.gpu"}}}}},
		want: `container "app": env "R": resourceFieldRef resource "limits.gpu" is not supported: want limits.<r> or requests.<r> with <r> cpu, memory, ephemeral-storage or hugepages-<size>`,
	}, {
		name: "sources fail",
		c:    api.Container{Name: "app", Env: []api.EnvVar{{Name: "X", ValueFrom: cmRef("cfg", "MODE")}}},
		src:  &sources{err: boom},
		want: `container "app": env "X": configMapKeyRef: read configmap "cfg": connection refused`,
	}, {
		name: "optional does not hide other errors",
		c: api.Container{Name: "app", Env: []api.EnvVar{{Name: "X", ValueFrom: &api.EnvVarSource{ConfigMapKeyRef: &api.ConfigMapKeySelector{
			LocalObjectReference: api.LocalObjectReference{Name: "cfg"}, Key: "MODE", Optional: ptr(true)}}}}},
		src:  &sources{err: boom},
		want: `container "app": env "X": configMapKeyRef: read configmap "cfg": connection refused`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if src == nil {
				src = newSources()
			}
			pod := testPod(tc.c)
			_, err := envvars.Resolve(context.Background(), pod, &pod.Spec.Containers[0], src)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.Equal(t, tc.isNotF, errors.Is(err, api.ErrNotFound))
		})
	}
}

func TestResolveOptionalEnvFrom(t *testing.T) {
	c := api.Container{Name: "app",
		EnvFrom: []api.EnvFromSource{
			{ConfigMapRef: &api.ConfigMapEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
			{SecretRef: &api.SecretEnvSource{LocalObjectReference: api.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
		},
		Env: []api.EnvVar{{Name: "A", Value: "1"}},
	}
	assert.Equal(t, []runtime.KeyValue{{Key: "A", Value: "1"}}, resolve(t, c, newSources()))
}

func TestResolveLiteralOnlyNeedsNoSources(t *testing.T) {
	c := api.Container{Name: "app", Env: []api.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "$(A)2"}}}
	assert.Equal(t, []runtime.KeyValue{{Key: "A", Value: "1"}, {Key: "B", Value: "12"}}, resolve(t, c, nil))
}
