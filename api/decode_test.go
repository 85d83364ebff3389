package api

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api/resource"
)

type testManifest struct {
	name string // the file name, such as "deployment.yaml"
	data []byte
}

// readManifests returns the manifests in testdata, in name order.
func readManifests(tb testing.TB) []testManifest {
	tb.Helper()
	var out []testManifest
	for _, pattern := range []string{"testdata/*.yaml", "testdata/*.json"} {
		paths, err := filepath.Glob(pattern)
		require.NoError(tb, err)
		for _, p := range paths {
			data, err := os.ReadFile(p)
			require.NoError(tb, err)
			out = append(out, testManifest{name: filepath.Base(p), data: data})
		}
	}
	require.NotEmpty(tb, out)
	return out
}

func readManifest(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

// decodeOneManifest decodes a single-object manifest.
func decodeOneManifest(t *testing.T, data []byte) Object {
	t.Helper()
	objs, err := NewDefaultScheme().DecodeAll(data)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	return objs[0]
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func assertQuantity(t *testing.T, want string, got resource.Quantity, msgAndArgs ...any) {
	t.Helper()
	assert.Truef(t, mustQuantity(want).Equal(got), "want %s, got %s: %v", want, got.String(), msgAndArgs)
}

func TestDecodeDeploymentManifest(t *testing.T) {
	d, ok := decodeOneManifest(t, readManifest(t, "deployment.yaml")).(*Deployment)
	require.True(t, ok, "want *Deployment")

	assert.Equal(t, TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"}, d.TypeMeta)
	assert.Equal(t, "web", d.Name)
	assert.Equal(t, "shop", d.Namespace)
	assert.Equal(t, map[string]string{"app": "web", "tier": "frontend"}, d.Labels)
	assert.Equal(t, map[string]string{"example.com/owner": "team-storefront"}, d.Annotations)
	assert.Equal(t, new(int32(3)), d.Spec.Replicas)
	assert.Equal(t, new(int32(5)), d.Spec.RevisionHistoryLimit)
	assert.Equal(t, int32(5), d.Spec.MinReadySeconds)
	assert.Equal(t, &LabelSelector{MatchLabels: map[string]string{"app": "web"}}, d.Spec.Selector)
	assert.Equal(t, DeploymentStrategy{
		Type: RollingUpdateDeploymentStrategyType,
		RollingUpdate: &RollingUpdateDeployment{
			MaxUnavailable: new(FromInt32(1)),
			MaxSurge:       new(FromString("25%")),
		},
	}, d.Spec.Strategy)

	spec := d.Spec.Template.Spec
	assert.Equal(t, map[string]string{"app": "web", "tier": "frontend"}, d.Spec.Template.Labels)
	assert.Equal(t, new(int64(45)), spec.TerminationGracePeriodSeconds)
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	assert.Equal(t, "nginx", c.Name)
	assert.Equal(t, "nginx:1.27.3", c.Image)
	assert.Equal(t, PullIfNotPresent, c.ImagePullPolicy)
	assert.Equal(t, []string{"-g", "daemon off;"}, c.Args)
	assert.Equal(t, []ContainerPort{
		{Name: "http", ContainerPort: 80, Protocol: ProtocolTCP},
		{Name: "metrics", ContainerPort: 9113},
	}, c.Ports)
	assert.Equal(t, []EnvVar{
		{Name: "POD_IP", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "GREETING", Value: "hello: world"},
	}, c.Env)
	assertQuantity(t, "250m", c.Resources.Requests[ResourceCPU])
	assertQuantity(t, "64Mi", c.Resources.Requests[ResourceMemory])
	assertQuantity(t, "1", c.Resources.Limits[ResourceCPU])
	assertQuantity(t, "128Mi", c.Resources.Limits[ResourceMemory])
	assert.Equal(t, &Probe{
		ProbeHandler:        ProbeHandler{HTTPGet: &HTTPGetAction{Path: "/healthz", Port: FromString("http")}},
		InitialDelaySeconds: 2,
		PeriodSeconds:       5,
	}, c.ReadinessProbe)
	assert.Equal(t, &Probe{
		ProbeHandler:     ProbeHandler{TCPSocket: &TCPSocketAction{Port: FromInt32(80)}},
		FailureThreshold: 6,
	}, c.LivenessProbe)
	assert.Equal(t, []VolumeMount{{Name: "config", MountPath: "/etc/nginx/conf.d", ReadOnly: true}}, c.VolumeMounts)
	assert.Equal(t, []Volume{{Name: "config", VolumeSource: VolumeSource{ConfigMap: &ConfigMapVolumeSource{
		LocalObjectReference: LocalObjectReference{Name: "web-config"},
		Items:                []KeyToPath{{Key: "default.conf", Path: "default.conf"}},
	}}}}, spec.Volumes)
}

func TestDecodeServiceManifest(t *testing.T) {
	s, ok := decodeOneManifest(t, readManifest(t, "service.yaml")).(*Service)
	require.True(t, ok, "want *Service")
	assert.Equal(t, "web", s.Name)
	assert.Equal(t, ServiceTypeClusterIP, s.Spec.Type)
	assert.Equal(t, map[string]string{"app": "web"}, s.Spec.Selector)
	assert.Equal(t, []ServicePort{
		{Name: "http", Protocol: ProtocolTCP, Port: 80, TargetPort: FromString("http")},
		{Name: "metrics", Port: 9113, TargetPort: FromInt32(9113)},
	}, s.Spec.Ports)
	assert.Empty(t, s.Spec.ClusterIP, "allocated by the API server")
}

func TestDecodeConfigMapManifest(t *testing.T) {
	cm, ok := decodeOneManifest(t, readManifest(t, "configmap.yaml")).(*ConfigMap)
	require.True(t, ok, "want *ConfigMap")
	assert.Equal(t, "web-config", cm.Name)
	assert.Equal(t, "info", cm.Data["LOG_LEVEL"])
	assert.Equal(t, `server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html;
    }
}
`, cm.Data["default.conf"])
	assert.Len(t, cm.Data, 2)
}

func TestDecodeSecretManifest(t *testing.T) {
	s, ok := decodeOneManifest(t, readManifest(t, "secret.yaml")).(*Secret)
	require.True(t, ok, "want *Secret")
	assert.Equal(t, SecretTypeOpaque, s.Type)
	assert.Equal(t, map[string][]byte{"username": []byte("admin"), "password": []byte("p@ssw0rd!")}, s.Data)
	assert.Equal(t, map[string]string{"connection": "postgres://db.shop.svc:5432/orders?sslmode=require"}, s.StringData)
}

func TestDecodeJobManifest(t *testing.T) {
	j, ok := decodeOneManifest(t, readManifest(t, "job.yaml")).(*Job)
	require.True(t, ok, "want *Job")
	assert.Equal(t, TypeMeta{Kind: "Job", APIVersion: "batch/v1"}, j.TypeMeta)
	assert.Equal(t, new(int32(1)), j.Spec.Completions)
	assert.Nil(t, j.Spec.Parallelism)
	assert.Equal(t, new(int32(4)), j.Spec.BackoffLimit)
	assert.Equal(t, new(int64(600)), j.Spec.ActiveDeadlineSeconds)
	assert.Equal(t, new(int32(3600)), j.Spec.TTLSecondsAfterFinished)
	assert.Equal(t, RestartPolicyNever, j.Spec.Template.Spec.RestartPolicy)
	require.Len(t, j.Spec.Template.Spec.Containers, 1)
	c := j.Spec.Template.Spec.Containers[0]
	assert.Equal(t, []string{"perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"}, c.Command)
	assertQuantity(t, "500m", c.Resources.Limits[ResourceCPU])
	assertQuantity(t, "256Mi", c.Resources.Limits[ResourceMemory])
}

func TestDecodePodJSONManifest(t *testing.T) {
	p, ok := decodeOneManifest(t, readManifest(t, "pod.json")).(*Pod)
	require.True(t, ok, "want *Pod")
	assert.Equal(t, "debug", p.Name)
	require.Len(t, p.Spec.Containers, 1)
	c := p.Spec.Containers[0]
	assert.True(t, c.Stdin)
	assert.True(t, c.TTY)
	assertQuantity(t, "500m", c.Resources.Limits[ResourceCPU], "a JSON number is a quantity too")
}

func TestDecodeAllMultiDocument(t *testing.T) {
	objs, err := NewDefaultScheme().DecodeAll(readManifest(t, "all.yaml"))
	require.NoError(t, err)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, reflect.TypeOf(o).Elem().Name())
	}
	assert.Equal(t, []string{"ConfigMap", "Secret", "Deployment", "Service", "Job"}, kinds)

	// Each document decodes as it does on its own.
	for i, file := range []string{"configmap.yaml", "secret.yaml", "deployment.yaml", "service.yaml", "job.yaml"} {
		assert.Equal(t, decodeOneManifest(t, readManifest(t, file)), objs[i], file)
	}
}

// TestManifestRoundTrip encodes every decoded manifest, as JSON and as YAML,
// and decodes it again: the objects must be exactly equal, and the JSON
// must be canonical (encoding the second decode gives the same bytes).
func TestManifestRoundTrip(t *testing.T) {
	scheme := NewDefaultScheme()
	for _, m := range readManifests(t) {
		t.Run(m.name, func(t *testing.T) {
			objs, err := scheme.DecodeAll(m.data)
			require.NoError(t, err)
			for _, obj := range objs {
				js, err := scheme.Encode(obj)
				require.NoError(t, err)
				again, err := scheme.Decode(js)
				require.NoError(t, err, "%s", js)
				assert.True(t, reflect.DeepEqual(obj, again), "JSON round trip:\n%#v\n%#v", obj, again)

				js2, err := scheme.Encode(again)
				require.NoError(t, err)
				assert.Equal(t, string(js), string(js2), "encoding is canonical")

				y, err := scheme.EncodeYAML(obj)
				require.NoError(t, err)
				fromYAML, err := scheme.Decode(y)
				require.NoError(t, err, "%s", y)
				assert.True(t, reflect.DeepEqual(obj, fromYAML), "YAML round trip:\n%s", y)
			}
		})
	}
}

func TestCanonicalJSON(t *testing.T) {
	scheme := NewDefaultScheme()
	in := readManifest(t, "pod.json")
	obj, err := scheme.Decode(in)
	require.NoError(t, err)
	first, err := scheme.Encode(obj)
	require.NoError(t, err)
	// The quantity 0.5 is written in its canonical form, and fields come
	// in Go struct order, whatever the input's order and spacing.
	assert.Contains(t, string(first), `"limits":{"cpu":"500m","memory":"32Mi"}`)
	assert.True(t, strings.HasPrefix(string(first), `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"debug"`), "%s", first)

	obj2, err := scheme.Decode(first)
	require.NoError(t, err)
	second, err := scheme.Encode(obj2)
	require.NoError(t, err)
	assert.Equal(t, string(first), string(second))
}

// decodeError decodes data, expecting a *DecodeError.
func decodeError(t *testing.T, scheme *Scheme, data string) *DecodeError {
	t.Helper()
	_, err := scheme.DecodeAll([]byte(data))
	require.Error(t, err)
	var de *DecodeError
	require.True(t, errors.As(err, &de), "want a *DecodeError, got %T: %v", err, err)
	return de
}

func fieldError(t *testing.T, de *DecodeError, typ ErrorType, field string) *FieldError {
	t.Helper()
	for _, f := range de.Fields {
		if f.Type == typ && f.Field == field {
			return f
		}
	}
	require.Failf(t, "missing field error", "want %s at %s in %v", typ, field, de)
	return nil
}

const deploymentHeader = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"

func TestDecodeRejectsMisspelledField(t *testing.T) {
	doc := strings.Replace(string(readManifest(t, "deployment.yaml")), "  replicas: 3", "  replcas: 3", 1)
	require.Contains(t, doc, "replcas")
	de := decodeError(t, NewDefaultScheme(), doc)

	assert.Contains(t, de.Error(), "spec.replcas")
	assert.Contains(t, de.Error(), `Deployment "web"`)
	assert.Equal(t, "Deployment", de.Kind)
	assert.Equal(t, "web", de.Name)
	f := fieldError(t, de, ErrorTypeUnknown, "spec.replcas")
	assert.Contains(t, f.Detail, `did you mean "replicas"`)
	assert.Len(t, de.Fields, 1)
}

func TestDecodeRejectsUnknownFieldsEverywhere(t *testing.T) {
	de := decodeError(t, NewDefaultScheme(), deploymentHeader+`spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
          imagePullPolicy: Always
          resource: {}
      Volumes: []
`)
	fieldError(t, de, ErrorTypeUnknown, "spec.template.spec.containers[0].resource")
	f := fieldError(t, de, ErrorTypeUnknown, "spec.template.spec.Volumes")
	assert.Contains(t, f.Detail, "case-sensitive")
}

func TestDecodeRejectsDuplicateYAMLKey(t *testing.T) {
	de := decodeError(t, NewDefaultScheme(), deploymentHeader+"spec:\n  replicas: 3\n  replicas: 4\n")
	require.Error(t, de.Err)
	assert.Contains(t, de.Error(), `"replicas"`)
	assert.Contains(t, de.Error(), "already set")
}

func TestDecodeRejectsDuplicateJSONKey(t *testing.T) {
	_, err := NewDefaultScheme().Decode([]byte(
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,"replicas":2}}`))
	var de *DecodeError
	require.True(t, errors.As(err, &de), "want a *DecodeError, got %T: %v", err, err)
	fieldError(t, de, ErrorTypeDuplicateKey, "spec.replicas")
	assert.Contains(t, err.Error(), "spec.replicas")

	// Duplicate keys in maps are caught too.
	_, err = NewDefaultScheme().Decode([]byte(
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","a":"2"}}`))
	require.True(t, errors.As(err, &de), "want a *DecodeError, got %T: %v", err, err)
	fieldError(t, de, ErrorTypeDuplicateKey, "data[a]")
}

func TestDecodeRejectsWrongType(t *testing.T) {
	de := decodeError(t, NewDefaultScheme(), deploymentHeader+"spec:\n  replicas: \"3\"\n")
	f := fieldError(t, de, ErrorTypeTypeInvalid, "spec.replicas")
	assert.Contains(t, f.Detail, "expected 32-bit integer")
	assert.Contains(t, f.Detail, `string "3"`)
	assert.Contains(t, de.Error(), "spec.replicas")

	de = decodeError(t, NewDefaultScheme(), deploymentHeader+"spec:\n  replicas: 2.5\n  paused: yes\n  template:\n    spec:\n      containers: {}\n")
	fieldError(t, de, ErrorTypeTypeInvalid, "spec.replicas")
	fieldError(t, de, ErrorTypeTypeInvalid, "spec.template.spec.containers")
	assert.Len(t, de.Fields, 2, "YAML 1.1's yes is a boolean: %v", de)
}

func TestDecodeAllNamesTheFailingDocument(t *testing.T) {
	stream := "---\n# the config\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n" + // document 1
		"---\n" +
		"# a comment-only document is not counted\n" +
		"---\n" +
		"\n" +
		"apiVersion: v1\n" + // line 11: document 2
		"kind: Service\n" +
		"metadata:\n" +
		"  name: broken\n" +
		"spec:\n" +
		"  port: 80\n"
	objs, err := NewDefaultScheme().DecodeAll([]byte(stream))
	var de *DecodeError
	require.True(t, errors.As(err, &de), "want a *DecodeError, got %T: %v", err, err)
	assert.Equal(t, 2, de.Document)
	assert.Equal(t, 11, de.Line)
	assert.Contains(t, err.Error(), "document 2 (line 11)")
	assert.Contains(t, err.Error(), `Service "broken"`)
	fieldError(t, de, ErrorTypeUnknown, "spec.port")
	require.Len(t, objs, 1, "the documents before the failing one are returned")
	assert.Equal(t, "ok", objs[0].GetObjectMeta().Name)

	// A syntax error is located the same way.
	_, err = NewDefaultScheme().DecodeAll([]byte(deploymentHeader + "---\nkind: [\n"))
	require.True(t, errors.As(err, &de), "want a *DecodeError, got %T: %v", err, err)
	assert.Equal(t, 2, de.Document)
	assert.Equal(t, 6, de.Line)
	assert.Contains(t, err.Error(), "document 2 (line 6)")
}

func TestDecodeRejectsUnknownKind(t *testing.T) {
	de := decodeError(t, NewDefaultScheme(), "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n")
	assert.Contains(t, de.Error(), `"Widget"`)
	assert.Contains(t, de.Error(), "example.com/v1")
	var nr *NotRegisteredError
	require.True(t, errors.As(de, &nr))
	assert.Equal(t, GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, nr.GVK)

	// A known kind in the wrong group is unknown too.
	de = decodeError(t, NewDefaultScheme(), "apiVersion: v1\nkind: Deployment\nmetadata:\n  name: w\n")
	assert.True(t, errors.As(de, &nr))
}

func TestDecodeRequiresKindAndAPIVersion(t *testing.T) {
	de := decodeError(t, NewDefaultScheme(), "metadata:\n  name: w\n")
	fieldError(t, de, ErrorTypeRequired, "kind")
	fieldError(t, de, ErrorTypeRequired, "apiVersion")
	assert.Equal(t, "w", de.Name)

	de = decodeError(t, NewDefaultScheme(), "kind: ConfigMap\nmetadata:\n  name: w\n")
	fieldError(t, de, ErrorTypeRequired, "apiVersion")
	assert.Len(t, de.Fields, 1)

	de = decodeError(t, NewDefaultScheme(), "apiVersion: apps/v1\n")
	fieldError(t, de, ErrorTypeRequired, "kind")
	assert.Len(t, de.Fields, 1)

	de = decodeError(t, NewDefaultScheme(), "apiVersion: a/b/c\nkind: Deployment\n")
	fieldError(t, de, ErrorTypeInvalid, "apiVersion")
}

func TestDecodeList(t *testing.T) {
	list := `apiVersion: v1
kind: List
metadata: {}
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: one
  - apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: two
    spec:
      replicas: 2
`
	objs, err := NewDefaultScheme().DecodeAll([]byte(list))
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.IsType(t, &ConfigMap{}, objs[0])
	assert.Equal(t, "one", objs[0].GetObjectMeta().Name)
	d, ok := objs[1].(*Deployment)
	require.True(t, ok)
	assert.Equal(t, new(int32(2)), d.Spec.Replicas)

	// A bad item is named by its index.
	bad := strings.Replace(list, "replicas: 2", "replicas: two", 1)
	objs, err = NewDefaultScheme().DecodeAll([]byte(bad))
	var de *DecodeError
	require.True(t, errors.As(err, &de), "want a *DecodeError, got %T: %v", err, err)
	fieldError(t, de, ErrorTypeTypeInvalid, "items[1].spec.replicas")
	assert.Len(t, objs, 1)
}

// strictUserKind is a user kind registered in the tests below.
type strictUserKind struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
	Spec       strictKindSpec `json:"spec,omitzero"`
}

type strictKindSpec struct {
	Size     string            `json:"size,omitempty"`
	Replicas *int32            `json:"replicas,omitempty"`
	Limits   ResourceList      `json:"limits,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
}

func TestDecodeUserKindStrictly(t *testing.T) {
	scheme := NewDefaultScheme()
	require.NoError(t, Register[strictUserKind](scheme, Kind{
		GroupVersionKind: GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Gizmo"},
		Resource:         "gizmos",
		Namespaced:       true,
	}))

	objs, err := scheme.DecodeAll([]byte(`apiVersion: example.com/v1
kind: Gizmo
metadata:
  name: g
spec:
  size: large
  replicas: 2
  limits:
    cpu: 1500m
`))
	require.NoError(t, err)
	require.Len(t, objs, 1)
	g, ok := objs[0].(*strictUserKind)
	require.True(t, ok, "want *strictUserKind, got %T", objs[0])
	assert.Equal(t, "large", g.Spec.Size)
	assert.Equal(t, new(int32(2)), g.Spec.Replicas)
	assertQuantity(t, "1.5", g.Spec.Limits[ResourceCPU])

	de := decodeError(t, scheme, "apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: g\nspec:\n  sise: large\n  replicas: \"2\"\n  tags: {a: 1}\n")
	f := fieldError(t, de, ErrorTypeUnknown, "spec.sise")
	assert.Contains(t, f.Detail, `did you mean "size"`)
	fieldError(t, de, ErrorTypeTypeInvalid, "spec.replicas")
	fieldError(t, de, ErrorTypeTypeInvalid, "spec.tags[a]")
	assert.Equal(t, "Gizmo", de.Kind)
}

func TestDecodeSkipsEmptyDocuments(t *testing.T) {
	objs, err := NewDefaultScheme().DecodeAll([]byte("---\n---\n# nothing\n...\n"))
	require.NoError(t, err)
	assert.Empty(t, objs)

	// A document that is there but empty of fields is not an object.
	_, err = NewDefaultScheme().DecodeAll([]byte("---\n[]\n"))
	assert.Error(t, err)
}

func TestManifestsAreCRLFSafe(t *testing.T) {
	data := readManifest(t, "all.yaml")
	crlf := bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
	scheme := NewDefaultScheme()
	want, err := scheme.DecodeAll(data)
	require.NoError(t, err)
	got, err := scheme.DecodeAll(crlf)
	require.NoError(t, err)
	assert.Equal(t, len(want), len(got))
	assert.True(t, slices.EqualFunc(want, got, func(a, b Object) bool { return reflect.DeepEqual(a, b) }))
}

// TestDecodeAllContentAfterDocumentStart covers a "---" line that also
// holds the start of the next document, which YAML allows.
func TestDecodeAllContentAfterDocumentStart(t *testing.T) {

	objs, err := NewDefaultScheme().DecodeAll([]byte(
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n--- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"))
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, "b", objs[1].GetObjectMeta().Name)
}

// TestDecodeAllTypedList covers a list as the API returns it: a PodList
// whose items carry no kind or apiVersion of their own.
func TestDecodeAllTypedList(t *testing.T) {
	objs, err := NewDefaultScheme().DecodeAll([]byte(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},
		"items":[{"metadata":{"name":"a","namespace":"default"},"spec":{"containers":[{"name":"c","image":"busybox"}]}},
		         {"metadata":{"name":"b","namespace":"default"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}]}`))
	require.NoError(t, err)
	require.Len(t, objs, 2)
	for i, name := range []string{"a", "b"} {
		pod, ok := objs[i].(*Pod)
		require.True(t, ok, "item %d is %T", i, objs[i])
		assert.Equal(t, name, pod.Name)
		assert.Equal(t, "Pod", pod.Kind)
		assert.Equal(t, "v1", pod.APIVersion)
	}

	_, err = NewDefaultScheme().DecodeAll([]byte(`{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"a"},"spec":{"replcas":1}}]}`))
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	require.NotEmpty(t, de.Fields)
	assert.Equal(t, "items[0].spec.replcas", de.Fields[0].Field)
}

// TestDecodeIntoResetsAndChecksKind: DecodeInto leaves nothing of the old
// object behind and refuses a document of another kind even without an
// apiVersion.
func TestDecodeIntoResetsAndChecksKind(t *testing.T) {
	s := NewDefaultScheme()
	pod := &Pod{ObjectMeta: ObjectMeta{Namespace: "old", Labels: map[string]string{"stale": "1"}}}
	require.NoError(t, s.DecodeInto([]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","labels":{"b":"2"}}}`), pod))
	assert.Equal(t, map[string]string{"b": "2"}, pod.Labels)
	assert.Empty(t, pod.Namespace)

	err := s.DecodeInto([]byte(`{"kind":"Deployment","metadata":{"name":"x"}}`), &Pod{})
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	assert.Contains(t, de.Error(), `"Deployment"`)
}

// TestDecodeManyUnknownKeysIsLinear guards against quadratic duplicate
// detection: 50,000 unknown keys in one object would take minutes if every
// key were compared with every other.
func TestDecodeManyUnknownKeysIsLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c"}`)
	for i := range 50000 {
		fmt.Fprintf(&b, `,"k%d":1`, i)
	}
	b.WriteString("}")
	_, err := NewDefaultScheme().Decode([]byte(b.String()))
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	assert.Len(t, de.Fields, maxStrictErrors, "errors are capped")
}

// TestRegisterRejectsBadShapes: a kind whose Go type would not have the
// Kubernetes wire shape is refused at registration, naming the problem.
func TestRegisterRejectsBadShapes(t *testing.T) {
	type pointerMeta struct {
		TypeMeta    `json:",inline"`
		*ObjectMeta `json:"metadata,omitempty"`
	}
	type flatMeta struct {
		TypeMeta `json:",inline"`
		ObjectMeta
	}
	type stealsKind struct {
		TypeMeta   `json:",inline"`
		ObjectMeta `json:"metadata,omitzero"`
		MyKind     string `json:"kind"`
	}
	k := Kind{GroupVersionKind: GroupVersionKind{Group: "example.com", Version: "v1", Kind: "W"}, Resource: "ws"}
	s := NewScheme()
	assert.ErrorContains(t, Register[pointerMeta](s, k), "by value")
	assert.ErrorContains(t, Register[flatMeta](s, k), `"metadata`)
	assert.ErrorContains(t, Register[stealsKind](s, k), "MyKind")
}

// TestReadmeFlow runs the README's snippet on a manifest without a
// namespace: decode, default the namespace, default, validate.
func TestReadmeFlow(t *testing.T) {
	data, err := os.ReadFile("testdata/nginx-deployment.yaml")
	require.NoError(t, err)
	scheme := NewDefaultScheme()
	objs, err := scheme.DecodeAll(data)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	for _, obj := range objs {
		assert.True(t, scheme.SetDefaultNamespace(obj, "default"))
		Default(obj)
		require.Empty(t, scheme.Validate(obj))
	}
	d := objs[0].(*Deployment)
	assert.Equal(t, "default", d.Namespace)
	assert.Equal(t, int32(3), *d.Spec.Replicas)
	assert.Equal(t, PullIfNotPresent, d.Spec.Template.Spec.Containers[0].ImagePullPolicy)
	assert.Equal(t, "25%", d.Spec.Strategy.RollingUpdate.MaxSurge.String())

	ns := &Namespace{ObjectMeta: ObjectMeta{Name: "x"}}
	assert.False(t, scheme.SetDefaultNamespace(ns, "default"), "cluster-scoped kinds get no namespace")
	assert.Empty(t, ns.Namespace)
}
