package informer

import (
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"reflect"
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// InternerConfig bounds an Interner. The zero value of a field means its
// default (see DefaultInternerConfig).
type InternerConfig struct {
	// MaxStrings bounds the string table: when it holds MaxStrings/2
	// strings, it starts a new generation and forgets the strings not seen
	// since the previous one. 0 means 16384.
	MaxStrings int
	// MaxStringLen is the longest string interned, in bytes: longer ones
	// rarely repeat. 0 means 256.
	MaxStringLen int
	// MaxMaps bounds the map table the same way. 0 means 4096.
	MaxMaps int
	// MaxMapLen is the largest map shared, in entries, and MaxMapBytes the
	// most bytes of strings it may hold: larger maps are left alone (their
	// strings are still interned). 0 means 32 and 2048.
	MaxMapLen, MaxMapBytes int
}

// DefaultInternerConfig returns the bounds an informer's default interner
// uses.
func DefaultInternerConfig() InternerConfig {
	return InternerConfig{MaxStrings: 16384, MaxStringLen: 256, MaxMaps: 4096, MaxMapLen: 32, MaxMapBytes: 2048}
}

// Validate reports the first field of c that is wrong.
func (c InternerConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"MaxStrings", c.MaxStrings}, {"MaxStringLen", c.MaxStringLen}, {"MaxMaps", c.MaxMaps}, {"MaxMapLen", c.MaxMapLen}, {"MaxMapBytes", c.MaxMapBytes}} {
		if f.v < 0 {
			return fmt.Errorf("informer: InternerConfig.%s is %d: must not be negative", f.name, f.v)
		}
	}
	return nil
}

// An Interner makes the objects an informer stores share their repeated
// parts, which is most of what a cache of many similar objects holds:
// pods of one Deployment differ in little more than their name, uid,
// resourceVersion and IP. Intern replaces, in an object,
//
//   - every string (up to MaxStringLen bytes) by an equal one seen before:
//     namespaces, label keys and values, images, node names, owner
//     references, condition types, "True"...
//   - every small map (labels, annotations, selectors, resource lists...)
//     by an equal map seen before, which the objects then share;
//   - every pointer to a bool, number or string (such as
//     ownerReferences[].controller) by an equal pointer seen before.
//
// Sharing parts between objects is within the cache's contract: its
// objects are read-only ("never modify, DeepCopy first"), and a DeepCopy
// copies the shared parts like any other. An object that is modified in
// place after Intern, against that contract, may now change other objects
// too.
//
// Objects are walked with reflection, through exported fields, pointers,
// slices, arrays, maps and interfaces, so kinds of any Go type (user kinds
// too) are interned; the walk of each type is planned once and cached.
// An object must be a tree, as decoded from JSON: a pointer cycle would
// never end.
// metadata.name, uid and resourceVersion are never interned: they rarely
// repeat, and would only fill the table. The tables are bounded: each
// holds two generations, and what was not seen during a whole generation
// is forgotten, so values that stopped repeating leave the table.
//
// An Interner is safe for concurrent use; one may be shared by the
// informers of a process (Config.Interner) to share strings between kinds.
type Interner struct {
	cfg InternerConfig

	mu      sync.Mutex
	strings generations[string, string]
	maps    generations[mapKey, []reflect.Value]
	scalars generations[scalarKey, reflect.Value]
	seed    maphash.Seed
}

// NewInterner returns an empty interner bounded by cfg.
func NewInterner(cfg InternerConfig) (*Interner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	def := DefaultInternerConfig()
	for _, f := range []struct{ v, def *int }{
		{&cfg.MaxStrings, &def.MaxStrings}, {&cfg.MaxStringLen, &def.MaxStringLen}, {&cfg.MaxMaps, &def.MaxMaps},
		{&cfg.MaxMapLen, &def.MaxMapLen}, {&cfg.MaxMapBytes, &def.MaxMapBytes},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return &Interner{
		cfg:     cfg,
		strings: newGenerations[string, string](cfg.MaxStrings),
		maps:    newGenerations[mapKey, []reflect.Value](cfg.MaxMaps),
		scalars: newGenerations[scalarKey, reflect.Value](1024),
		seed:    maphash.MakeSeed(),
	}, nil
}

// Intern makes obj share its repeated parts with the objects interned
// before, in place, and returns it. obj must not be in use by anyone else
// while Intern runs. It has the type of Config.Transform.
func (in *Interner) Intern(obj api.Object) api.Object {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return obj
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	p := planOf(v.Type().Elem())
	if p.op != opNone {
		in.walk(v.Elem(), p)
	}
	return obj
}

// String returns s, or an equal string interned before.
func (in *Interner) String(s string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.str(s)
}

// Len returns the number of strings and of maps the interner holds.
func (in *Interner) Len() (strings, maps int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.strings.len(), in.maps.len()
}

// generations is a map bounded to about max entries: when the current
// generation holds max/2, it becomes the previous one, and the previous
// one is dropped. An entry found in the previous generation moves to the
// current one, so what is in use stays.
type generations[K comparable, V any] struct {
	cur, prev map[K]V
	half      int
}

func newGenerations[K comparable, V any](size int) generations[K, V] {
	half := max(size/2, 1)
	return generations[K, V]{cur: make(map[K]V), half: half}
}

func (g *generations[K, V]) get(k K) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	v, ok := g.prev[k]
	if ok {
		delete(g.prev, k)
		g.put(k, v)
	}
	return v, ok
}

func (g *generations[K, V]) put(k K, v V) {
	if len(g.cur) >= g.half {
		g.prev, g.cur = g.cur, make(map[K]V, g.half)
	}
	g.cur[k] = v
}

func (g *generations[K, V]) len() int { return len(g.cur) + len(g.prev) }

func (in *Interner) str(s string) string {
	if s == "" || len(s) > in.cfg.MaxStringLen {
		return s
	}
	if t, ok := in.strings.get(s); ok {
		return t
	}
	in.strings.put(s, s)
	return s
}

// A plan says how to walk a value of one type.
type plan struct {
	op     op
	typ    reflect.Type
	elem   *plan       // pointer, slice, array, map values
	key    *plan       // map keys
	fields []fieldPlan // struct
	done   bool        // false while the plan is being made
}

// pending reports whether p is still being made: a type that refers to
// itself, whose op is not known yet.
func (p *plan) pending() bool { return !p.done }

type fieldPlan struct {
	index int
	plan  *plan
}

type op uint8

const (
	opNone      op = iota // nothing to intern
	opString              // a string kind
	opPointer             // a pointer to something to walk
	opScalarPtr           // a pointer to a bool, number or string: shared
	opSlice
	opArray
	opMap
	opStruct
	opInterface
)

var (
	objectMetaType = reflect.TypeFor[api.ObjectMeta]()
	// uniqueFields are the ObjectMeta fields that almost never repeat
	// between objects: interning them would only fill the table.
	uniqueFields = map[string]bool{"Name": true, "UID": true, "ResourceVersion": true}
)

// plans caches the plan of each type (reflect.Type -> *plan), for every
// interner; planMu serializes their making.
var (
	plans  sync.Map
	planMu sync.Mutex
)

// planOf returns the plan of t, making it (and the plans of the types it
// holds) on first use.
func planOf(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	planMu.Lock()
	defer planMu.Unlock()
	building := make(map[reflect.Type]*plan)
	p := makePlan(t, building)
	for t, p := range building { // published only once complete
		plans.Store(t, p)
	}
	return p
}

// makePlan returns the plan of t from the cache or building, or makes it.
// The caller holds planMu.
func makePlan(t reflect.Type, building map[reflect.Type]*plan) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	if p, ok := building[t]; ok {
		return p
	}
	p := &plan{typ: t}
	building[t] = p // before recursing: types may refer to themselves
	switch t.Kind() {
	case reflect.String:
		p.op = opString
	case reflect.Pointer:
		switch e := t.Elem(); {
		case isScalar(e.Kind()):
			p.op = opScalarPtr
		default:
			if p.elem = makePlan(e, building); p.elem.op != opNone || p.elem.pending() {
				p.op = opPointer
			}
		}
	case reflect.Slice, reflect.Array:
		if p.elem = makePlan(t.Elem(), building); p.elem.op != opNone || p.elem.pending() {
			p.op = opSlice
			if t.Kind() == reflect.Array {
				p.op = opArray
			}
		}
	case reflect.Map:
		p.op = opMap
		p.key, p.elem = makePlan(t.Key(), building), makePlan(t.Elem(), building)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || (t == objectMetaType && uniqueFields[f.Name]) {
				continue
			}
			if fp := makePlan(f.Type, building); fp.op != opNone || fp.pending() {
				p.fields = append(p.fields, fieldPlan{index: i, plan: fp})
			}
		}
		if len(p.fields) > 0 {
			p.op = opStruct
		}
	case reflect.Interface:
		p.op = opInterface
	}
	p.done = true
	return p
}

func isScalar(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// walk interns what v holds; v is addressable. The caller holds in.mu.
func (in *Interner) walk(v reflect.Value, p *plan) {
	switch p.op {
	case opString:
		if s := v.String(); s != "" {
			v.SetString(in.str(s))
		}
	case opScalarPtr:
		if !v.IsNil() {
			v.Set(in.scalarPtr(v))
		}
	case opPointer:
		if !v.IsNil() {
			in.walk(v.Elem(), p.elem)
		}
	case opSlice, opArray:
		if p.elem.op == opNone {
			return
		}
		for i := range v.Len() {
			in.walk(v.Index(i), p.elem)
		}
	case opStruct:
		for _, f := range p.fields {
			if f.plan.op != opNone {
				in.walk(v.Field(f.index), f.plan)
			}
		}
	case opMap:
		if !v.IsNil() {
			v.Set(in.internMap(v, p))
		}
	case opInterface:
		if v.IsNil() {
			return
		}
		// Only what an interface points to can be changed in place; a
		// map (such as in a map[string]any) is interned as a whole.
		switch e := v.Elem(); e.Kind() {
		case reflect.Pointer:
			if !e.IsNil() {
				if ep := planOf(e.Type().Elem()); ep.op != opNone {
					in.walk(e.Elem(), ep)
				}
			}
		case reflect.Map:
			if !e.IsNil() {
				v.Set(in.internMap(e, planOf(e.Type())))
			}
		case reflect.Slice:
			if ep := planOf(e.Type()); ep.op != opNone {
				in.walk(e, ep) // slice elements are addressable
			}
		}
	}
}

// scalarKey identifies a pointed-to bool, number or string.
type scalarKey struct {
	typ  reflect.Type
	bits uint64
	str  string
}

func (in *Interner) scalarPtr(v reflect.Value) reflect.Value {
	e := v.Elem()
	k := scalarKey{typ: v.Type()}
	switch e.Kind() {
	case reflect.Bool:
		if e.Bool() {
			k.bits = 1
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		k.bits = uint64(e.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		k.bits = e.Uint()
	case reflect.Float32, reflect.Float64:
		k.bits = math.Float64bits(e.Float())
	case reflect.String:
		if len(e.String()) > in.cfg.MaxStringLen {
			return v
		}
		k.str = in.str(e.String())
		e.SetString(k.str)
	}
	if p, ok := in.scalars.get(k); ok {
		return p
	}
	in.scalars.put(k, v)
	return v
}

// mapKey identifies a candidate shared map: its type and content hash.
type mapKey struct {
	typ  reflect.Type
	hash uint64
}

// internMap returns a map equal to m that was seen before, or m itself
// with its contents interned (and remembered, if small enough). m is
// addressable or not: it is never modified when a shared map is found.
func (in *Interner) internMap(m reflect.Value, p *plan) reflect.Value {
	if m.Len() > in.cfg.MaxMapLen {
		in.internMapContents(m, p)
		return m
	}
	// Labels and annotations, the most common maps, take a shorter way
	// than reflection.
	var ss map[string]string
	if m.Type() == stringMapType {
		ss = m.Interface().(map[string]string)
	}
	var sum uint64
	if ss != nil {
		sum = in.hashStringMap(ss)
	} else {
		h := mapHasher{seed: in.seed, budget: in.cfg.MaxMapBytes}
		if sum = h.value(m, 0); h.budget < 0 {
			in.internMapContents(m, p)
			return m
		}
	}
	if sum == tooBig {
		in.internMapContents(m, p)
		return m
	}
	k := mapKey{typ: m.Type(), hash: sum}
	cands, _ := in.maps.get(k)
	for _, c := range cands {
		switch {
		case ss != nil:
			if maps.Equal(c.Interface().(map[string]string), ss) {
				return c
			}
		case m.Type() == resourceListType:
			// Requests and limits: equal quantities of one format are
			// reflect.DeepEqual (a value has one representation), and
			// compare without reflection.
			if maps.EqualFunc(c.Interface().(api.ResourceList), m.Interface().(api.ResourceList), sameQuantity) {
				return c
			}
		case reflect.DeepEqual(c.Interface(), m.Interface()):
			return c
		}
	}
	in.internMapContents(m, p)
	if len(cands) < 4 { // more would be hash collisions: keep the first ones
		in.maps.put(k, append(cands[:len(cands):len(cands)], m))
	}
	return m
}

var (
	stringMapType    = reflect.TypeFor[map[string]string]()
	resourceListType = reflect.TypeFor[api.ResourceList]()
)

// sameQuantity reports whether a and b are reflect.DeepEqual: the same
// value in the same format.
func sameQuantity(a, b resource.Quantity) bool { return a.Format == b.Format && a.Cmp(b) == 0 }

// tooBig is the hash of a map too large to share.
const tooBig = 0

// hashStringMap hashes ss as mapHasher does any map, or returns tooBig.
func (in *Interner) hashStringMap(ss map[string]string) uint64 {
	budget := in.cfg.MaxMapBytes
	sum := uint64(len(ss)) + 7
	for k, v := range ss {
		if budget -= len(k) + len(v); budget < 0 {
			return tooBig
		}
		kh := maphash.String(in.seed, k)
		sum += mix(kh ^ mix(maphash.String(in.seed, v)+kh))
	}
	if sum == tooBig {
		sum++
	}
	return sum
}

// internMapContents interns the keys and values of m in place. Storing an
// existing key again replaces the map's copy of the key too, so interned
// keys are kept.
func (in *Interner) internMapContents(m reflect.Value, p *plan) {
	if p.key.op == opNone && p.elem.op == opNone {
		return
	}
	if m.Type() == stringMapType {
		ss := m.Interface().(map[string]string)
		for k, v := range ss {
			ss[in.str(k)] = in.str(v) // stores the interned key too
		}
		return
	}
	it := m.MapRange()
	for it.Next() {
		k, e := it.Key(), it.Value()
		if p.key.op != opNone {
			nk := reflect.New(k.Type()).Elem()
			nk.Set(k)
			in.walk(nk, p.key)
			k = nk
		}
		if p.elem.op != opNone {
			ne := reflect.New(e.Type()).Elem()
			ne.Set(e)
			in.walk(ne, p.elem)
			e = ne
		}
		m.SetMapIndex(k, e)
	}
}

// mapHasher hashes a value by content, with maps hashed independently of
// their order. budget counts down the string bytes hashed; below zero the
// value is too large to share.
type mapHasher struct {
	seed   maphash.Seed
	budget int
}

func (mh *mapHasher) value(v reflect.Value, depth int) uint64 {
	if depth > 16 {
		mh.budget = -1
		return 0
	}
	switch v.Kind() {
	case reflect.String:
		mh.budget -= v.Len()
		return maphash.String(mh.seed, v.String())
	case reflect.Bool:
		if v.Bool() {
			return 1
		}
		return 2
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return mix(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return mix(v.Uint())
	case reflect.Float32, reflect.Float64:
		return mix(math.Float64bits(v.Float()))
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 3
		}
		return mix(mh.value(v.Elem(), depth+1) + 4)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return 5
		}
		sum := uint64(v.Len())
		for i := range v.Len() {
			sum = mix(sum ^ mh.value(v.Index(i), depth+1))
			if mh.budget < 0 {
				return 0
			}
		}
		return sum
	case reflect.Map:
		if v.IsNil() {
			return 6
		}
		sum := uint64(v.Len()) + 7
		it := v.MapRange()
		for it.Next() {
			kh := mh.value(it.Key(), depth+1)
			sum += mix(kh ^ mix(mh.value(it.Value(), depth+1)+kh))
			if mh.budget < 0 {
				return 0
			}
		}
		return sum
	case reflect.Struct:
		sum := uint64(v.NumField())
		for i := range v.NumField() {
			sum = mix(sum ^ mh.value(v.Field(i), depth+1))
		}
		return sum
	default: // chan, func, unsafe pointer: never equal by DeepEqual anyway
		mh.budget = -1
		return 0
	}
}

// mix is a 64-bit finalizer (from SplitMix64).
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
