package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestProtobufTableCompiles(t *testing.T) {
	plans, err := protoPlans()
	if err != nil {
		t.Fatal(err)
	}
	for typ, name := range protoRoots {
		if plans[name] == nil || plans[name].typ != typ {
			t.Errorf("root %s: message %q missing or of another type", typ, name)
		}
	}
	s := NewDefaultScheme()
	for _, k := range s.Kinds() {
		if !k.HasProtobuf() {
			t.Errorf("built-in kind %s has no protobuf table: run go run . in tools/protogen", k.GroupVersionKind)
		}
	}
}

// The golden files in testdata/protobuf are written by the tools/protogen
// tests with k8s.io/api: each object as protobuf and as JSON. Both must
// decode to the same object.
func TestDecodeProtobufGolden(t *testing.T) {
	s := NewDefaultScheme()
	files, err := filepath.Glob("testdata/protobuf/*.pb")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, pbFile := range files {
		name := strings.TrimSuffix(filepath.Base(pbFile), ".pb")
		t.Run(name, func(t *testing.T) {
			pb := readFile(t, pbFile)
			js := readFile(t, strings.TrimSuffix(pbFile, ".pb")+".json")
			var got, want any
			if typ, ok := bodies[name]; ok { // not a registered kind
				got, want = reflect.New(typ).Interface(), reflect.New(typ).Interface()
				if err := s.DecodeProtobufInto(pb, got); err != nil {
					t.Fatal(err)
				}
				if err := UnmarshalStrict(js, want); err != nil {
					t.Fatal(err)
				}
			} else {
				if got, err = s.DecodeProtobuf(pb); err != nil {
					t.Fatal(err)
				}
				if want, err = s.Decode(js); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("protobuf and JSON decode differently\nprotobuf: %s\nJSON:     %s", g, w)
			}
		})
	}
}

// bodies are the golden files that are not registered kinds, by name.
var bodies = map[string]reflect.Type{
	"deleteoptions": reflect.TypeFor[DeleteOptions](),
	"scale":         reflect.TypeFor[Scale](),
	"binding":       reflect.TypeFor[Binding](),
	"eviction":      reflect.TypeFor[Eviction](),
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pb builds protobuf wire data for tests.
type pb []byte

func (b pb) varint(x uint64) pb {
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

func (b pb) tag(num, wt int) pb { return b.varint(uint64(num)<<3 | uint64(wt)) }

func (b pb) int(num int, x int64) pb { return b.tag(num, wireVarint).varint(uint64(x)) }

func (b pb) str(num int, s string) pb { return b.tag(num, wireLen).varint(uint64(len(s))).raw(s) }

func (b pb) msg(num int, m pb) pb { return b.str(num, string(m)) }

func (b pb) raw(s string) pb { return append(b, s...) }

func envelopeOf(apiVersion, kind string, raw pb) []byte {
	env := pb(nil).msg(1, pb(nil).str(1, apiVersion).str(2, kind)).msg(2, raw)
	return append([]byte("k8s\x00"), env...)
}

func TestDecodeProtobufWire(t *testing.T) {
	s := NewDefaultScheme()
	meta := pb(nil).str(1, "c1").str(3, "t1")

	t.Run("zero Kubernetes-only fields are accepted", func(t *testing.T) {
		// selfLink "" and managedFields-free metadata, as client-go sends.
		m := append(pb(nil), meta...).str(4, "")
		obj, err := s.DecodeProtobuf(envelopeOf("v1", "ConfigMap", pb(nil).msg(1, m)))
		if err != nil {
			t.Fatal(err)
		}
		if cm := obj.(*ConfigMap); cm.Name != "c1" || cm.Namespace != "t1" || cm.Kind != "ConfigMap" || cm.APIVersion != "v1" {
			t.Fatalf("got %+v", cm)
		}
	})
	t.Run("packed repeated varints", func(t *testing.T) {
		packed := pb(nil).varint(4000).varint(5000)
		podSC := pb(nil).msg(4, packed).int(4, 6000)
		raw := pb(nil).msg(1, meta).msg(2, pb(nil).msg(14, podSC))
		obj, err := s.DecodeProtobuf(envelopeOf("v1", "Pod", raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := obj.(*Pod).Spec.SecurityContext.SupplementalGroups; !reflect.DeepEqual(got, []int64{4000, 5000, 6000}) {
			t.Fatalf("supplementalGroups = %v", got)
		}
	})
	t.Run("negative int32", func(t *testing.T) {
		raw := pb(nil).msg(1, meta).msg(2, pb(nil).int(25, -7))
		obj, err := s.DecodeProtobuf(envelopeOf("v1", "Pod", raw))
		if err != nil {
			t.Fatal(err)
		}
		if p := obj.(*Pod).Spec.Priority; p == nil || *p != -7 {
			t.Fatalf("priority = %v", p)
		}
	})

	for _, tc := range []struct {
		name string
		data []byte
		want string // in the error
	}{
		{"no magic", []byte("{}"), `must start with the 4 bytes "k8s\x00"`},
		{"unknown field", envelopeOf("v1", "ConfigMap", pb(nil).msg(1, meta).int(99, 1)),
			"unknown field number 99 (wire type varint) in message k8s.io.api.core.v1.ConfigMap"},
		{"unknown nested field", envelopeOf("v1", "ConfigMap", pb(nil).msg(1, append(pb(nil), meta...).int(40, 1))),
			"metadata: Unknown field: unknown field number 40 (wire type varint) in message k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
		{"Kubernetes-only field set", envelopeOf("v1", "ConfigMap", pb(nil).msg(1, append(pb(nil), meta...).str(4, "/api/x"))),
			"metadata.selfLink: Unknown field: field number 4 of message k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta is not supported by Drover"},
		{"wrong wire type", envelopeOf("v1", "ConfigMap", pb(nil).msg(1, pb(nil).int(1, 5))),
			"metadata.name: Invalid type: field number 1 of message k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta has wire type varint, want length-delimited"},
		{"truncated", envelopeOf("v1", "ConfigMap", pb(nil).msg(1, meta))[:20], "malformed protobuf envelope"},
		{"truncated object", envelopeOf("v1", "ConfigMap", pb(nil).tag(1, wireLen).varint(50).raw("ab")), "unexpected end of data"},
		{"no kind", envelopeOf("v1", "", nil), "must name the kind and apiVersion"},
		{"unregistered", envelopeOf("v1", "Gadget", nil), "Gadget"},
		{"bad bool", envelopeOf("v1", "ConfigMap", pb(nil).int(4, 2)), "immutable: Invalid value: 2: a bool must be 0 or 1"},
		{"int32 overflow", envelopeOf("v1", "Pod", pb(nil).msg(2, pb(nil).int(25, 1<<40))), "spec.priority: Invalid value"},
		{"bad quantity", envelopeOf("v1", "Pod", pb(nil).msg(2, pb(nil).msg(32, pb(nil).str(1, "cpu").msg(2, pb(nil).str(1, "lots"))))),
			"spec.overhead[cpu]: Invalid value"},
		{"bad intorstring", envelopeOf("v1", "Service", pb(nil).msg(2, pb(nil).msg(1, pb(nil).msg(4, pb(nil).int(1, 2))))),
			"spec.ports[0].targetPort: Invalid value: 2: type must be 0 (int) or 1 (string)"},
		{"bad time", envelopeOf("v1", "ConfigMap", pb(nil).msg(1, pb(nil).msg(8, pb(nil).int(1, 1<<50)))),
			"metadata.creationTimestamp: Invalid value"},
		{"invalid UTF-8", envelopeOf("v1", "ConfigMap", pb(nil).msg(1, pb(nil).str(1, "\xff"))), "metadata.name: Invalid value: a string must be valid UTF-8"},
		{"content encoding", append(envelopeOf("v1", "ConfigMap", nil), pb(nil).str(3, "gzip")...), `unsupported protobuf contentEncoding "gzip"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.DecodeProtobuf(tc.data)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *DecodeError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

type Gizmo struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitzero"`
}

func TestDecodeProtobufUserKind(t *testing.T) {
	s := NewDefaultScheme()
	k := Kind{GroupVersionKind: GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Gizmo"}, Resource: "gizmos", Namespaced: true}
	if err := Register[Gizmo](s, k); err != nil {
		t.Fatal(err)
	}
	k, _ = s.KindFor(k.GroupVersionKind)
	if k.HasProtobuf() {
		t.Fatal("a user's kind has no protobuf encoding")
	}
	_, err := s.DecodeProtobuf(envelopeOf("example.com/v1", "Gizmo", nil))
	if !errors.Is(err, ErrNoProtobuf) {
		t.Fatalf("err = %v, want ErrNoProtobuf", err)
	}
}

func TestDecodeProtobufInto(t *testing.T) {
	s := NewDefaultScheme()
	cm := &ConfigMap{Data: map[string]string{"stale": "x"}}
	if err := s.DecodeProtobufInto(envelopeOf("v1", "ConfigMap", pb(nil).msg(1, pb(nil).str(1, "c1"))), cm); err != nil {
		t.Fatal(err)
	}
	if cm.Name != "c1" || cm.Data != nil {
		t.Fatalf("DecodeProtobufInto did not reset the object: %+v", cm)
	}
	if err := s.DecodeProtobufInto(envelopeOf("v1", "Secret", nil), cm); err == nil || !strings.Contains(err.Error(), "but a v1, Kind=ConfigMap was expected") {
		t.Fatalf("err = %v, want a kind mismatch", err)
	}
	var do DeleteOptions
	if err := s.DecodeProtobufInto(envelopeOf("v1", "Pod", nil), &do); err == nil {
		t.Fatal("a Pod decoded as DeleteOptions")
	}
	if err := s.DecodeProtobufInto(envelopeOf("v1", "DeleteOptions", pb(nil).int(1, 5)), &do); err != nil {
		t.Fatal(err)
	}
	if do.GracePeriodSeconds == nil || *do.GracePeriodSeconds != 5 || do.Kind != "DeleteOptions" {
		t.Fatalf("got %+v", do)
	}
}

func FuzzDecodeProtobuf(f *testing.F) {
	files, _ := filepath.Glob("testdata/protobuf/*.pb")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(envelopeOf("v1", "ConfigMap", pb(nil).msg(1, pb(nil).str(1, "c1"))))
	s := NewDefaultScheme()
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := s.DecodeProtobuf(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
		} else if _, err := s.Encode(obj); err != nil {
			t.Fatalf("decoded object does not encode: %v", err)
		}
		var do DeleteOptions
		_ = s.DecodeProtobufInto(data, &do)
		if bytes.HasPrefix(data, []byte("k8s\x00")) {
			_ = s.DecodeProtobufInto(data, &Pod{})
		}
	})
}
