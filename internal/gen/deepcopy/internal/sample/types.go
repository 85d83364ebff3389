// Package sample holds a type of every shape the deepcopy generator handles,
// so that its output is compiled and tested. It is not used elsewhere.
package sample

//go:generate go run ../.. -dir . -out zz_deepcopy.go -roots Shapes,Tree,Nested

import (
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// Gadget is a kind: it embeds TypeMeta and ObjectMeta from package api, so
// it gets DeepCopyObject returning api.Object.
type Gadget struct {
	api.TypeMeta   `json:",inline"`
	api.ObjectMeta `json:"metadata,omitzero"`
	Spec           Shapes `json:"spec"`
}

// Shapes has a field of each shape.
type Shapes struct {
	Int          int
	PtrPtr       **string
	PtrSlice     *[]string
	PtrDeeps     *[]Deep
	PtrMap       *map[string]int
	SliceOfPtr   []*Leaf
	SliceOfSlice [][]byte
	MapOfSlices  map[string][]Leaf
	MapOfPtrs    map[string]*Deep
	MapOfStructs map[string]Deep
	MapOfMaps    map[string]map[string]int
	Array        [2]*Leaf
	ArrayOfDeep  [2]Deep
	Plain        [3]Leaf
	Names        Names
	DeepMap      DeepMap
	Deeps        Deeps
	*Leaf
	Anon struct {
		A []int
		B string
	}
	Time       time.Time
	Quantity   *resource.Quantity
	Resources  api.ResourceList
	Selector   *api.LabelSelector
	Owners     []api.OwnerReference
	Custom     Custom
	CustomPtr  *Custom
	Alias      AliasOfDeep
	Defined    DefinedDeep
	Gadgets    api.List[Gadget]
	Recursive  Tree
	Grid       Nested
	hidden     []int
	hiddenLeaf *Leaf
}

// Leaf holds only values: it is copied by assignment.
type Leaf struct {
	Name string
	N    int
}

// Deep holds a slice and a pointer.
type Deep struct {
	Tags []string
	Leaf *Leaf
}

// Names is a named slice of values.
type Names []string

// DeepMap is a named map of structs that need deep copies.
type DeepMap map[string]Deep

// Deeps is a named slice of structs that need deep copies.
type Deeps []Deep

// AliasOfDeep is another name for Deep.
type AliasOfDeep = Deep

// DefinedDeep has Deep's structure but none of its methods.
type DefinedDeep Deep

// Tree is recursive through a slice of pointers.
type Tree struct {
	Value    int
	Children []*Tree
}

// Nested needs a loop inside a loop inside a map.
type Nested [][]map[string]*Leaf

// Custom has a hand-written DeepCopyInto, which the generator calls instead
// of writing its own.
type Custom struct {
	Data []int
}

// CustomSpare is the spare capacity Custom.DeepCopyInto gives Data, so that
// tests can see it was called.
const CustomSpare = 7

// DeepCopyInto copies in into out.
func (in *Custom) DeepCopyInto(out *Custom) {
	*out = *in
	if in.Data != nil {
		out.Data = make([]int, len(in.Data), len(in.Data)+CustomSpare)
		copy(out.Data, in.Data)
	}
}
