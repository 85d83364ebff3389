package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api/resource"
)

// fillValue sets every exported field reachable from v (settable) to a distinct
// non-zero value: pointers set, slices with two elements, maps with two
// entries. Values depend only on the order of fields and on *n, so two
// fills from the same *n give equal, independent values.
func fillValue(v reflect.Value, n *int) { fillValueDepth(v, n, 0) }

// maxFillValueDepth bounds recursive types.
const maxFillValueDepth = 12

var (
	fillTimeType        = reflect.TypeFor[time.Time]()
	fillQuantityType    = reflect.TypeFor[resource.Quantity]()
	fillIntOrStringType = reflect.TypeFor[IntOrString]()
	fillRawJSONType     = reflect.TypeFor[RawJSON]()
)

func fillValueDepth(v reflect.Value, n *int, depth int) {
	*n++
	switch v.Type() {
	case fillTimeType:
		v.Set(reflect.ValueOf(time.Unix(int64(1_700_000_000+*n), int64(*n)*1000).UTC()))
		return
	case fillQuantityType:
		s := fmt.Sprintf("%dm", *n)
		if *n%2 == 1 {
			s = fmt.Sprintf("%d123456789012345678901234567890", *n) // held in a big.Int
		}
		v.Set(reflect.ValueOf(resource.MustParse(s)))
		return
	case fillIntOrStringType:
		if *n%2 == 0 {
			v.Set(reflect.ValueOf(FromInt32(int32(*n))))
		} else {
			v.Set(reflect.ValueOf(FromString(fmt.Sprintf("%d%%", *n))))
		}
		return
	case fillRawJSONType:
		v.Set(reflect.ValueOf(RawJSON(fmt.Sprintf(`{"n":%d}`, *n))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n % 100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n % 100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Pointer:
		if depth > maxFillValueDepth {
			return
		}
		p := reflect.New(v.Type().Elem())
		fillValueDepth(p.Elem(), n, depth+1)
		v.Set(p)
	case reflect.Slice:
		if depth > maxFillValueDepth {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fillValueDepth(v.Index(i), n, depth+1)
		}
	case reflect.Array:
		for i := range v.Len() {
			fillValueDepth(v.Index(i), n, depth+1)
		}
	case reflect.Map:
		if depth > maxFillValueDepth {
			return
		}
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fillValueDepth(k, n, depth+1)
			fillValueDepth(e, n, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillValueDepth(v.Field(i), n, depth+1)
			}
		}
	case reflect.Interface:
		if v.NumMethod() == 0 && depth <= maxFillValueDepth {
			v.Set(reflect.ValueOf(map[string]any{fmt.Sprintf("k%d", *n): []any{"s", float64(*n)}}))
		}
	}
}

// fillEmptyValue sets every slice and map reachable from v to an empty, non-nil
// one and every pointer to a new value, itself filledBuilder the same way.
func fillEmptyValue(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if depth > maxFillValueDepth {
			return
		}
		p := reflect.New(v.Type().Elem())
		fillEmptyValue(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	case reflect.Array:
		for i := range v.Len() {
			fillEmptyValue(v.Index(i), depth+1)
		}
	case reflect.Struct:
		if v.Type() == fillTimeType || v.Type() == fillQuantityType {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillEmptyValue(v.Field(i), depth+1)
			}
		}
	}
}

// mutateValue changes, in place, every value reachable from v through pointers,
// slices, maps and interfaces, and adds an entry to every map with string
// keys. Run on a copy, it changes the original too wherever the two share
// memory.
func mutateValue(v reflect.Value) {
	switch v.Type() {
	case fillTimeType:
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Hour)))
		return
	case fillQuantityType:
		q := v.Interface().(resource.Quantity)
		q.Add(resource.MustParse("1"))
		v.Set(reflect.ValueOf(q))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "~")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Pointer:
		if !v.IsNil() {
			mutateValue(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			mutateValue(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		keys := v.MapKeys()
		for _, k := range keys {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutateValue(e)
			v.SetMapIndex(k, e)
		}
		if v.Type().Key().Kind() == reflect.String {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString("added-by-mutateValue")
			v.SetMapIndex(k, reflect.Zero(v.Type().Elem()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				mutateValue(v.Field(i))
			}
		}
	case reflect.Interface:
		if !v.IsNil() {
			e := reflect.New(v.Elem().Type()).Elem()
			e.Set(v.Elem())
			mutateValue(e)
			v.Set(e)
		}
	}
}

// checkDeepCopy builds two equal values, copies one and checks that the copy
// is equal (as Go values and as JSON), and that changing everything in the
// copy leaves the original as it was.
func checkDeepCopy(t *testing.T, build func() any, deepCopy func(any) any) {
	t.Helper()
	orig, want := build(), build()
	require.True(t, reflect.DeepEqual(orig, want), "build is not deterministic")

	cp := deepCopy(orig)
	require.IsType(t, orig, cp)
	if !reflect.DeepEqual(orig, cp) {
		require.Equal(t, orig, cp, "copy differs") // for the diff
		t.Fatal("copy differs in nil-ness, which the diff does not show")
	}
	origJSON, err := json.Marshal(orig)
	require.NoError(t, err)
	cpJSON, err := json.Marshal(cp)
	require.NoError(t, err)
	assert.JSONEq(t, string(origJSON), string(cpJSON))

	mutateValue(reflect.ValueOf(cp))
	if reflect.ValueOf(cp).Kind() == reflect.Pointer || reflect.ValueOf(cp).Len() > 0 {
		require.False(t, reflect.DeepEqual(cp, want), "mutateValue changed nothing")
	}
	assert.Equal(t, want, orig, "changing the copy changed the original: they share memory")
}

// filledBuilder returns a builder of a new *T (via newObj) filledBuilder by fillValue.
func filledBuilder(newObj func() any) func() any {
	return func() any {
		obj := newObj()
		n := 0
		fillValue(reflect.ValueOf(obj).Elem(), &n)
		return obj
	}
}

// objectCopiers are the ways to deep-copy an Object.
var objectCopiers = []struct {
	name string
	copy func(Object) Object
}{
	{"generated", func(o Object) Object { return o.(interface{ DeepCopyObject() Object }).DeepCopyObject() }},
	{"DeepCopy", DeepCopy[Object]},
	{"reflection", func(o Object) Object { return copyValue(o, false) }},
	{"reflection with methods", func(o Object) Object { return copyValue(o, true) }},
}

func TestDeepCopyEveryKind(t *testing.T) {
	kinds := NewDefaultScheme().Kinds()
	require.NotEmpty(t, kinds)
	for _, k := range kinds {
		require.Implements(t, (*interface{ DeepCopyObject() Object })(nil), k.New(), "%s has no generated DeepCopyObject: run go generate ./api", k.Kind)
		for _, c := range objectCopiers {
			copyAny := func(v any) any { return c.copy(v.(Object)) }
			t.Run(k.Kind+"/"+c.name, func(t *testing.T) {
				newObj := func() any { return k.New() }
				t.Run("filled", func(t *testing.T) { checkDeepCopy(t, filledBuilder(newObj), copyAny) })
				t.Run("empty", func(t *testing.T) {
					checkDeepCopy(t, func() any { obj := k.New(); fillEmptyValue(reflect.ValueOf(obj).Elem(), 0); return obj }, copyAny)
				})
				t.Run("zero", func(t *testing.T) { checkDeepCopy(t, newObj, copyAny) })
			})
		}
	}
}

// TestDeepCopyIntoOverwrites copies into an object that already holds other
// values: nothing of them may survive.
func TestDeepCopyIntoOverwrites(t *testing.T) {
	for _, k := range NewDefaultScheme().Kinds() {
		t.Run(k.Kind, func(t *testing.T) {
			for _, src := range []Object{k.New(), filledBuilder(func() any { return k.New() })().(Object)} {
				out := k.New()
				n := 1000
				fillValue(reflect.ValueOf(out).Elem(), &n)
				reflect.ValueOf(src).MethodByName("DeepCopyInto").Call([]reflect.Value{reflect.ValueOf(out)})
				assert.True(t, reflect.DeepEqual(src, out))
			}
		})
	}
}

// TestDeepCopyRootsAndNamedTypes covers the generated types that no kind
// reaches, and the named map and slice types.
func TestDeepCopyRootsAndNamedTypes(t *testing.T) {
	for _, newValue := range []func() any{
		func() any { return new(ObjectMeta) },
		func() any { return new(ListMeta) },
		func() any { return new(LabelSelector) },
		func() any { return new(Status) },
		func() any { return new(WatchEvent) },
		func() any { return new(PodTemplateSpec) },
	} {
		name := reflect.TypeOf(newValue()).Elem().Name()
		t.Run(name, func(t *testing.T) {
			checkDeepCopy(t, filledBuilder(newValue), func(v any) any {
				return reflect.ValueOf(v).MethodByName("DeepCopy").Call(nil)[0].Interface()
			})
			checkDeepCopy(t, filledBuilder(newValue), func(v any) any { return copyValue(v, false) })
		})
	}
	t.Run("ResourceList", func(t *testing.T) {
		build := func() any {
			return ResourceList{ResourceCPU: resource.MustParse("500m"), ResourceMemory: resource.MustParse("123456789012345678901234567890Ki")}
		}
		checkDeepCopy(t, build, func(v any) any { return v.(ResourceList).DeepCopy() })
		checkDeepCopy(t, build, func(v any) any { return copyValue(v, false) })
		out := ResourceList{ResourcePods: resource.MustParse("1")}
		ResourceList(nil).DeepCopyInto(&out)
		assert.Nil(t, out)
		assert.NotNil(t, ResourceList{}.DeepCopy())
	})
	t.Run("RawJSON", func(t *testing.T) {
		build := func() any { return RawJSON(`{"a":1}`) }
		checkDeepCopy(t, build, func(v any) any { return v.(RawJSON).DeepCopy() })
		assert.Nil(t, RawJSON(nil).DeepCopy())
		assert.NotNil(t, RawJSON{}.DeepCopy())
	})
}

func TestDeepCopyNil(t *testing.T) {
	assert.Nil(t, DeepCopy[*Pod](nil))
	assert.Nil(t, DeepCopy[*copyWidget](nil))
	assert.Nil(t, DeepCopy[Object](nil))
	assert.Nil(t, (*Pod)(nil).DeepCopyObject(), "must be a nil interface, not a typed nil")
	assert.Nil(t, (*Pod)(nil).DeepCopy())
	assert.Nil(t, (*PodList)(nil).DeepCopy())
}

func TestDeepCopyKeepsNilAndEmptyApart(t *testing.T) {
	pod := &Pod{
		ObjectMeta: ObjectMeta{Labels: map[string]string{}, Finalizers: []string{}},
		Spec:       PodSpec{Containers: []Container{}, Volumes: nil, NodeSelector: nil},
	}
	for _, c := range objectCopiers {
		t.Run(c.name, func(t *testing.T) {
			cp := c.copy(pod).(*Pod)
			assert.NotNil(t, cp.Labels)
			assert.NotNil(t, cp.Finalizers)
			assert.NotNil(t, cp.Spec.Containers)
			assert.Nil(t, cp.Annotations)
			assert.Nil(t, cp.Spec.Volumes)
			assert.Nil(t, cp.Spec.NodeSelector)
			want, _ := json.Marshal(pod)
			got, _ := json.Marshal(cp)
			assert.JSONEq(t, string(want), string(got))
		})
	}
}

// TestCheckDeepCopyCatchesSharing makes sure the harness above would notice
// a copy that shares memory.
func TestCheckDeepCopyCatchesSharing(t *testing.T) {
	for _, shallow := range []func(any) any{
		func(v any) any { c := *v.(*Pod); return &c },
		func(v any) any {
			c := v.(*Pod).DeepCopy()
			c.Spec.Containers[1].Env = v.(*Pod).Spec.Containers[1].Env
			return c
		},
		func(v any) any {
			c := v.(*Pod).DeepCopy()
			c.Spec.Containers[0].Resources.Limits = v.(*Pod).Spec.Containers[0].Resources.Limits
			return c
		},
	} {
		orig, want := filledBuilder(func() any { return new(Pod) })(), filledBuilder(func() any { return new(Pod) })()
		mutateValue(reflect.ValueOf(shallow(orig)))
		assert.NotEqual(t, want, orig, "a shared part went unnoticed")
	}
}

// copyWidget is a user's kind: no generated code, so copies are reflective.
type copyWidget struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       copyWidgetSpec    `json:"spec"`
	Status     *copyWidgetStatus `json:"status,omitempty"`
}

type copyWidgetSpec struct {
	Replicas  *int32                     `json:"replicas,omitempty"`
	Tags      []string                   `json:"tags,omitempty"`
	Labels    copyWidgetLabels           `json:"labels,omitempty"`
	Ports     map[string][]int32         `json:"ports,omitempty"`
	Parts     map[string]*copyWidgetPart `json:"parts,omitempty"`
	PartList  []copyWidgetPart           `json:"partList,omitempty"`
	ByValue   map[string]copyWidgetPart  `json:"byValue,omitempty"`
	Matrix    [][]string                 `json:"matrix,omitempty"`
	Pair      [2]*string                 `json:"pair"`
	Resources ResourceList               `json:"resources,omitempty"`
	Template  PodTemplateSpec            `json:"template"`
	Extra     any                        `json:"extra,omitempty"`
	Extras    []any                      `json:"extras,omitempty"`
	When      Time                       `json:"when,omitzero"`
	Selector  *LabelSelector             `json:"selector,omitempty"`
	Tree      *copyWidgetTree            `json:"tree,omitempty"`
	Raw       RawJSON                    `json:"raw,omitempty"`
	Hook      func()                     `json:"-"`
	note      string
}

type copyWidgetLabels map[string]string

type copyWidgetPart struct {
	Name    string          `json:"name"`
	Weights []float64       `json:"weights,omitempty"`
	Opts    map[string]bool `json:"opts,omitempty"`
}

type copyWidgetTree struct {
	Name string           `json:"name"`
	Kids []copyWidgetTree `json:"kids,omitempty"`
}

type copyWidgetStatus struct {
	Conditions []NamespaceCondition `json:"conditions,omitempty"`
	Seen       map[string]Time      `json:"seen,omitempty"`
}

// embeddedPod embeds a built-in kind, and so has Pod's DeepCopyObject, which
// returns a *Pod: DeepCopy must not use it.
type embeddedPod struct {
	Pod
	Extra map[string][]string `json:"extra,omitempty"`
}

func TestDeepCopyUserKind(t *testing.T) {
	s := NewDefaultScheme()
	require.NoError(t, Register[copyWidget](s, Kind{GroupVersionKind: GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, Resource: "widgets", Namespaced: true}))
	k, ok := s.KindFor(GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"})
	require.True(t, ok)
	_, generated := k.New().(interface{ DeepCopyObject() Object })
	require.False(t, generated)

	build := filledBuilder(func() any { return k.New() })
	t.Run("DeepCopy", func(t *testing.T) {
		checkDeepCopy(t, build, func(v any) any { return DeepCopy(v.(*copyWidget)) })
	})
	for _, c := range objectCopiers[1:] {
		t.Run(c.name, func(t *testing.T) {
			checkDeepCopy(t, build, func(v any) any { return c.copy(v.(Object)) })
			checkDeepCopy(t, func() any { w := k.New(); fillEmptyValue(reflect.ValueOf(w).Elem(), 0); return w }, func(v any) any { return c.copy(v.(Object)) })
		})
	}
	t.Run("unexported fields are copied by value", func(t *testing.T) {
		w := &copyWidget{Spec: copyWidgetSpec{note: "n"}}
		assert.Equal(t, "n", DeepCopy(w).Spec.note)
	})
	t.Run("embedded kind", func(t *testing.T) {
		checkDeepCopy(t, filledBuilder(func() any { return new(embeddedPod) }), func(v any) any { return DeepCopy(v.(*embeddedPod)) })
	})
}

func TestListDeepCopy(t *testing.T) {
	t.Run("PodList", func(t *testing.T) {
		checkDeepCopy(t, filledBuilder(func() any { return new(PodList) }), func(v any) any { return v.(*PodList).DeepCopy() })
		empty := &PodList{Items: []Pod{}}
		assert.NotNil(t, empty.DeepCopy().Items)
		assert.Nil(t, (&PodList{}).DeepCopy().Items)
	})
	t.Run("List[copyWidget]", func(t *testing.T) {
		checkDeepCopy(t, filledBuilder(func() any { return new(List[copyWidget]) }), func(v any) any { return v.(*List[copyWidget]).DeepCopy() })
	})
	t.Run("field of a user's type", func(t *testing.T) {
		type holder struct{ Pods PodList }
		checkDeepCopy(t, filledBuilder(func() any { return new(holder) }), func(v any) any { return copyValue(v, true) })
	})
}

// TestReflectivePlansAreSafeForConcurrentUse copies a type no other test
// uses from many goroutines at once; run with -race.
func TestReflectivePlansAreSafeForConcurrentUse(t *testing.T) {
	type part struct {
		Names []string
		Next  *part
	}
	type gizmo struct {
		TypeMeta
		ObjectMeta
		Parts map[string][]part
	}
	build := filledBuilder(func() any { return new(gizmo) })
	orig := build().(*gizmo)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				assert.Equal(t, orig, DeepCopy(orig))
			}
		})
	}
	wg.Wait()
}

func TestPlansAreCachedPerType(t *testing.T) {
	typ := reflect.TypeFor[copyWidgetSpec]()
	assert.Same(t, planFor(typ, true), planFor(typ, true))
	assert.NotSame(t, planFor(typ, true), planFor(typ, false))
}

// copyBenchPod returns a realistic Pod: two containers with environment, ports,
// resources, probes and volume mounts, three volumes, labels, annotations,
// an owner, and a running status.
func copyBenchPod() *Pod {
	now := NewTime(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC))
	grace := int64(30)
	controller, block := true, true
	container := func(name, image string, port int32) Container {
		return Container{
			Name:  name,
			Image: image,
			Args:  []string{"--port=" + fmt.Sprint(port), "--log-level=info"},
			Ports: []ContainerPort{{Name: "http", ContainerPort: port, Protocol: ProtocolTCP}, {Name: "metrics", ContainerPort: 9090, Protocol: ProtocolTCP}},
			Env: []EnvVar{
				{Name: "MODE", Value: "production"},
				{Name: "POD_NAME", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
				{Name: "DB_PASSWORD", ValueFrom: &EnvVarSource{SecretKeyRef: &SecretKeySelector{LocalObjectReference: LocalObjectReference{Name: "db"}, Key: "password"}}},
			},
			Resources: ResourceRequirements{
				Requests: ResourceList{ResourceCPU: resource.MustParse("250m"), ResourceMemory: resource.MustParse("128Mi")},
				Limits:   ResourceList{ResourceCPU: resource.MustParse("1"), ResourceMemory: resource.MustParse("512Mi")},
			},
			VolumeMounts: []VolumeMount{{Name: "config", MountPath: "/etc/app"}, {Name: "cache", MountPath: "/cache"}},
			LivenessProbe: &Probe{
				ProbeHandler:     ProbeHandler{HTTPGet: &HTTPGetAction{Path: "/healthz", Port: FromString("http")}},
				PeriodSeconds:    10,
				FailureThreshold: 3,
			},
			ReadinessProbe: &Probe{
				ProbeHandler:  ProbeHandler{HTTPGet: &HTTPGetAction{Path: "/ready", Port: FromInt32(port)}},
				PeriodSeconds: 5,
			},
			TerminationMessagePath:   "/dev/termination-log",
			TerminationMessagePolicy: TerminationMessageReadFile,
			ImagePullPolicy:          PullIfNotPresent,
		}
	}
	status := func(name, image string) ContainerStatus {
		started := true
		return ContainerStatus{
			Name: name, Ready: true, Image: image, ImageID: "sha256:0123456789abcdef", ContainerID: "containerd://abcdef",
			State: ContainerState{Running: &ContainerStateRunning{StartedAt: now}}, Started: &started,
		}
	}
	return &Pod{
		TypeMeta: TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: ObjectMeta{
			Name: "web-7c9d8f6b5-x2x4p", GenerateName: "web-7c9d8f6b5-", Namespace: "default",
			UID: "0b6f6c2e-7f57-4b8e-a0a5-3f0f1e2d3c4b", ResourceVersion: "123456", CreationTimestamp: now,
			Labels:      map[string]string{"app": "web", "pod-template-hash": "7c9d8f6b5", "tier": "frontend"},
			Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
			OwnerReferences: []OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7c9d8f6b5", UID: "6f1b2c58-1c2d-4b7e-9d55-0d7c1c9e4a10",
				Controller: &controller, BlockOwnerDeletion: &block,
			}},
		},
		Spec: PodSpec{
			Volumes: []Volume{
				{Name: "config", VolumeSource: VolumeSource{ConfigMap: &ConfigMapVolumeSource{LocalObjectReference: LocalObjectReference{Name: "web-config"}}}},
				{Name: "cache", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{}}},
				{Name: "certs", VolumeSource: VolumeSource{Secret: &SecretVolumeSource{SecretName: "web-tls", Items: []KeyToPath{{Key: "tls.crt", Path: "tls.crt"}}}}},
			},
			Containers:                    []Container{container("web", "registry.example.com/web:1.4.2", 8080), container("sidecar", "registry.example.com/proxy:2.0.1", 15001)},
			RestartPolicy:                 RestartPolicyAlways,
			TerminationGracePeriodSeconds: &grace,
			DNSPolicy:                     DNSClusterFirst,
			ServiceAccountName:            "web",
			NodeName:                      "node-1",
			SecurityContext:               &PodSecurityContext{},
			SchedulerName:                 "default-scheduler",
			Tolerations: []Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: TolerationOpExists, Effect: TaintEffectNoExecute},
				{Key: "node.kubernetes.io/unreachable", Operator: TolerationOpExists, Effect: TaintEffectNoExecute},
			},
		},
		Status: PodStatus{
			Phase: PodRunning,
			Conditions: []PodCondition{
				{Type: PodInitialized, Status: ConditionTrue, LastTransitionTime: now},
				{Type: PodReady, Status: ConditionTrue, LastTransitionTime: now},
				{Type: ContainersReady, Status: ConditionTrue, LastTransitionTime: now},
				{Type: PodScheduled, Status: ConditionTrue, LastTransitionTime: now},
			},
			HostIP: "10.0.0.11", HostIPs: []HostIP{{IP: "10.0.0.11"}},
			PodIP: "10.244.1.23", PodIPs: []PodIP{{IP: "10.244.1.23"}},
			StartTime:         &now,
			ContainerStatuses: []ContainerStatus{status("web", "registry.example.com/web:1.4.2"), status("sidecar", "registry.example.com/proxy:2.0.1")},
			QOSClass:          PodQOSBurstable,
		},
	}
}

// copyBenchDeployment returns a realistic Deployment whose template is
// copyBenchPod's spec.
func copyBenchDeployment() *Deployment {
	pod := copyBenchPod()
	replicas, history, deadline := int32(3), int32(10), int32(600)
	surge, unavailable := FromString("25%"), FromString("25%")
	now := pod.CreationTimestamp
	return &Deployment{
		TypeMeta: TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: ObjectMeta{
			Name: "web", Namespace: "default", UID: "9a8b7c6d-1c2d-4b7e-9d55-0d7c1c9e4a10", ResourceVersion: "123400",
			Generation: 4, CreationTimestamp: now,
			Labels:      map[string]string{"app": "web", "tier": "frontend"},
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "4"},
		},
		Spec: DeploymentSpec{
			Replicas: &replicas,
			Selector: &LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: PodTemplateSpec{
				ObjectMeta: ObjectMeta{Labels: map[string]string{"app": "web", "tier": "frontend"}, Annotations: map[string]string{"prometheus.io/scrape": "true"}},
				Spec:       pod.Spec,
			},
			Strategy:                DeploymentStrategy{Type: RollingUpdateDeploymentStrategyType, RollingUpdate: &RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
			RevisionHistoryLimit:    &history,
			ProgressDeadlineSeconds: &deadline,
		},
		Status: DeploymentStatus{
			ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
			Conditions: []DeploymentCondition{
				{Type: DeploymentAvailable, Status: ConditionTrue, LastUpdateTime: now, LastTransitionTime: now, Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability."},
				{Type: DeploymentProgressing, Status: ConditionTrue, LastUpdateTime: now, LastTransitionTime: now, Reason: "NewReplicaSetAvailable", Message: `ReplicaSet "web-7c9d8f6b5" has successfully progressed.`},
			},
		},
	}
}

func TestBenchObjectsCopy(t *testing.T) {
	for _, obj := range []Object{copyBenchPod(), copyBenchDeployment()} {
		for _, c := range objectCopiers {
			assert.Equal(t, obj, c.copy(obj), c.name)
		}
	}
}

func benchmarkDeepCopy[T any, PT interface {
	*T
	Object
	DeepCopyObject() Object
}](b *testing.B, obj PT) {
	var sink Object
	b.Run("generated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = obj.DeepCopyObject()
		}
	})
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		copyValue(obj, false) // build the plan outside the timing
		for b.Loop() {
			sink = copyValue(obj, false)
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, err := json.Marshal(obj)
			if err != nil {
				b.Fatal(err)
			}
			out := PT(new(T))
			if err := json.Unmarshal(data, out); err != nil {
				b.Fatal(err)
			}
			sink = out
		}
	})
	_ = sink
}

func BenchmarkDeepCopyPod(b *testing.B) { benchmarkDeepCopy(b, copyBenchPod()) }

func BenchmarkDeepCopyDeployment(b *testing.B) { benchmarkDeepCopy(b, copyBenchDeployment()) }
