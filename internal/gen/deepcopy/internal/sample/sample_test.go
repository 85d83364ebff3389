package sample

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// newGadget returns a Gadget with every field set, slices and maps with two
// entries; two calls return equal, independent values.
func newGadget() *Gadget {
	g := &Gadget{}
	n := 0
	fill(reflect.ValueOf(g).Elem(), &n, 0)
	g.Spec.hidden = []int{1, 2}
	g.Spec.hiddenLeaf = &Leaf{Name: "hidden"}
	g.Spec.Recursive.Children[0].Children = []*Tree{{Value: 7}}
	return g
}

func fill(v reflect.Value, n *int, depth int) {
	*n++
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Unix(int64(1e9+*n), 0).UTC()))
		return
	case reflect.TypeFor[resource.Quantity]():
		v.Set(reflect.ValueOf(resource.MustParse(fmt.Sprintf("%d123456789012345678901234567890", *n))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint8:
		v.SetUint(uint64(*n % 200))
	case reflect.Pointer:
		if depth > 6 {
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), n, depth+1)
		v.Set(p)
	case reflect.Slice:
		if depth > 6 {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), n, depth+1)
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), n, depth+1)
		}
	case reflect.Map:
		if depth > 6 {
			return
		}
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, n, depth+1)
			fill(e, n, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n, depth+1)
			}
		}
	}
}

// mutate changes every value reachable from v in place.
func mutate(v reflect.Value) {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Hour)))
		return
	case reflect.TypeFor[resource.Quantity]():
		v.Set(reflect.ValueOf(resource.MustParse("42")))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "~")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint8:
		v.SetUint(v.Uint() + 1)
	case reflect.Pointer:
		if !v.IsNil() {
			mutate(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			mutate(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutate(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				mutate(v.Field(i))
			}
		}
	}
}

func TestGeneratedCopyIsDeep(t *testing.T) {
	orig, want := newGadget(), newGadget()
	require.Equal(t, want, orig)

	cp := orig.DeepCopy()
	assert.True(t, reflect.DeepEqual(orig, cp))
	assert.Equal(t, len(orig.Spec.Custom.Data)+CustomSpare, cap(cp.Spec.Custom.Data), "hand-written Custom.DeepCopyInto was not called")
	assert.Equal(t, len(orig.Spec.CustomPtr.Data)+CustomSpare, cap(cp.Spec.CustomPtr.Data), "hand-written Custom.DeepCopyInto was not called")

	mutate(reflect.ValueOf(cp).Elem())
	cp.Spec.hidden[0]++
	cp.Spec.hiddenLeaf.N++
	require.NotEqual(t, want, cp, "mutate changed nothing")
	assert.Equal(t, want, orig, "changing the copy changed the original")
}

func TestDeepCopyObject(t *testing.T) {
	orig := newGadget()
	obj := orig.DeepCopyObject()
	require.IsType(t, &Gadget{}, obj)
	assert.Equal(t, orig, obj)
	assert.Nil(t, (*Gadget)(nil).DeepCopyObject())
	assert.Equal(t, orig, api.DeepCopy(orig))
}

func TestNilAndEmptyArePreserved(t *testing.T) {
	empty := &Shapes{
		PtrSlice: new([]string{}), PtrMap: new(map[string]int{}),
		SliceOfPtr: []*Leaf{nil}, SliceOfSlice: [][]byte{nil, {}},
		MapOfSlices: map[string][]Leaf{"nil": nil, "empty": {}}, MapOfPtrs: map[string]*Deep{"nil": nil},
		MapOfMaps: map[string]map[string]int{"nil": nil, "empty": {}},
		Names:     Names{}, DeepMap: DeepMap{}, Deeps: Deeps{}, Grid: Nested{nil, {nil, {}}},
		Resources: api.ResourceList{}, hidden: []int{},
	}
	for name, s := range map[string]*Shapes{"zero": {}, "empty": empty} {
		t.Run(name, func(t *testing.T) {
			cp := s.DeepCopy()
			assert.True(t, reflect.DeepEqual(s, cp), "nil and empty must stay apart")
			a, err := json.Marshal(s)
			require.NoError(t, err)
			b, err := json.Marshal(cp)
			require.NoError(t, err)
			assert.JSONEq(t, string(a), string(b))
		})
	}
}

func TestNamedMapAndSliceDeepCopyIntoOverwrite(t *testing.T) {
	out := Nested{{{"a": {Name: "old"}}}}
	Nested(nil).DeepCopyInto(&out)
	assert.Nil(t, out)
	dm := DeepMap{"old": {}}
	DeepMap{}.DeepCopyInto(&dm)
	assert.Equal(t, DeepMap{}, dm)
	assert.Nil(t, Deeps(nil).DeepCopy())
	assert.Nil(t, (*Shapes)(nil).DeepCopy())
}
