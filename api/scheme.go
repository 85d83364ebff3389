package api

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/drover-io/drover/internal/names"
)

// Kind describes a registered kind: its name on the wire, its resource name
// in URLs, and the Go type that holds it. The scheme hands out copies; the
// slices in a copy are shared with the scheme and must not be modified.
type Kind struct {
	// GroupVersionKind names the kind, such as apps/v1 Deployment.
	GroupVersionKind
	// Resource is the plural, lower-case name in URLs ("deployments").
	Resource string
	// Singular is the singular, lower-case name ("deployment"); it defaults
	// to the lower-cased kind.
	Singular string
	// ShortNames are the aliases kubectl accepts ("deploy").
	ShortNames []string
	// Namespaced is true for kinds that live in a namespace.
	Namespaced bool
	// Categories group resources for kubectl ("all").
	Categories []string
	// Subresources are the subresources the kind has, such as "status" and
	// "scale".
	Subresources []string
	// PrinterColumns are the columns that kubectl get shows for the kind
	// between NAME and AGE, as a CustomResourceDefinition's
	// additionalPrinterColumns. The built-in kinds have their own columns,
	// and these are not used for them.
	PrinterColumns []PrinterColumn

	typ     reflect.Type // the struct type; *typ implements Object
	listTyp reflect.Type // the list struct type; *listTyp implements ListObject
}

// PrinterColumn is a column of kubectl get for a kind.
//
//	api.PrinterColumn{Name: "Size", Type: "integer", JSONPath: ".spec.size"}
type PrinterColumn struct {
	// Name is the column's heading ("Size"); kubectl shows it upper-cased.
	Name string
	// Type is the type of the values: "string", "integer", "number",
	// "boolean", or "date" for a timestamp, shown as an age ("5m12s").
	Type string
	// JSONPath picks the value in the object's JSON: field names and list
	// indexes, as in ".spec.size" or ".status.conditions[0].status". A
	// missing value shows as "<none>"; a list or map as its JSON.
	JSONPath string
	// Description says what the column holds.
	Description string
	// Priority 0 columns are always shown; the others only with -o wide.
	Priority int32
}

// GroupVersionResource returns the kind's resource in its group and version.
func (k Kind) GroupVersionResource() GroupVersionResource {
	return k.GroupVersion().WithResource(k.Resource)
}

// ListKind returns the kind of the kind's list ("DeploymentList").
func (k Kind) ListKind() string { return k.Kind + "List" }

// HasSubresource reports whether the kind has the named subresource.
func (k Kind) HasSubresource(name string) bool { return slices.Contains(k.Subresources, name) }

// New returns a new, empty object of the kind with its TypeMeta set.
func (k Kind) New() Object {
	obj := reflect.New(k.typ).Interface().(Object)
	obj.GetTypeMeta().SetGroupVersionKind(k.GroupVersionKind)
	return obj
}

// NewList returns a new, empty list of the kind with its TypeMeta set.
func (k Kind) NewList() ListObject {
	l := reflect.New(k.listTyp).Interface().(ListObject)
	l.GetTypeMeta().SetGroupVersionKind(k.GroupVersion().WithKind(k.ListKind()))
	return l
}

// GoType returns the struct type that holds the kind.
func (k Kind) GoType() reflect.Type { return k.typ }

// Scheme maps kinds to Go types and resources, for the built-in kinds and
// those users register. It is safe for concurrent use; registration usually
// happens at start-up, before the scheme is shared.
type Scheme struct {
	mu         sync.RWMutex
	byGVK      map[GroupVersionKind]*Kind
	byListGVK  map[GroupVersionKind]*Kind
	byGVR      map[GroupVersionResource]*Kind
	byType     map[reflect.Type]*Kind
	byListType map[reflect.Type]*Kind
	kinds      []*Kind
}

// NewScheme returns an empty scheme. Most programs want NewDefaultScheme.
func NewScheme() *Scheme {
	return &Scheme{
		byGVK:      make(map[GroupVersionKind]*Kind),
		byListGVK:  make(map[GroupVersionKind]*Kind),
		byGVR:      make(map[GroupVersionResource]*Kind),
		byType:     make(map[reflect.Type]*Kind),
		byListType: make(map[reflect.Type]*Kind),
	}
}

// NewDefaultScheme returns a scheme holding every built-in kind.
func NewDefaultScheme() *Scheme {
	s := NewScheme()
	if err := AddBuiltins(s); err != nil {
		panic(err) // the built-in table is static; a failure is a bug here
	}
	return s
}

// Register adds the kind whose Go type is T to s. T must be a struct that
// embeds TypeMeta and ObjectMeta; its list type is List[T]. No generated code
// is needed: deep copies of kinds without a DeepCopyObject method are made by
// reflection.
//
//	err := api.Register[Widget](scheme, api.Kind{
//		GroupVersionKind: api.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"},
//		Resource:         "widgets",
//		Namespaced:       true,
//	})
func Register[T any, PT interface {
	*T
	Object
}](s *Scheme, k Kind) error {
	return s.add(k, reflect.TypeFor[T](), reflect.TypeFor[List[T]]())
}

// MustRegister is Register that panics on error, for package initialisation.
func MustRegister[T any, PT interface {
	*T
	Object
}](s *Scheme, k Kind) {
	if err := Register[T, PT](s, k); err != nil {
		panic(err)
	}
}

func (s *Scheme) add(k Kind, typ, listTyp reflect.Type) error {
	if err := validateKind(&k, typ); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gvr := k.GroupVersionResource()
	if old, ok := s.byGVK[k.GroupVersionKind]; ok {
		return fmt.Errorf("api: register %s: kind already registered with Go type %s", k.GroupVersionKind, old.typ)
	}
	if old, ok := s.byGVR[gvr]; ok {
		return fmt.Errorf("api: register %s: resource %s already registered for kind %s", k.GroupVersionKind, gvr, old.Kind)
	}
	if old, ok := s.byType[typ]; ok {
		return fmt.Errorf("api: register %s: Go type %s already registered for %s", k.GroupVersionKind, typ, old.GroupVersionKind)
	}
	for _, other := range s.kinds {
		if other.Group != k.Group {
			continue
		}
		for _, sn := range k.ShortNames {
			if slices.Contains(other.ShortNames, sn) && other.Resource != k.Resource {
				return fmt.Errorf("api: register %s: short name %q already used by %s", k.GroupVersionKind, sn, other.Resource)
			}
		}
	}
	k.typ, k.listTyp = typ, listTyp
	k.ShortNames = slices.Clone(k.ShortNames)
	k.Categories = slices.Clone(k.Categories)
	k.Subresources = slices.Clone(k.Subresources)
	k.PrinterColumns = slices.Clone(k.PrinterColumns)
	kp := &k
	s.byGVK[k.GroupVersionKind] = kp
	s.byListGVK[k.GroupVersion().WithKind(k.ListKind())] = kp
	s.byGVR[gvr] = kp
	s.byType[typ] = kp
	s.byListType[listTyp] = kp
	s.kinds = append(s.kinds, kp)
	return nil
}

var (
	objectType     = reflect.TypeFor[Object]()
	listObjectType = reflect.TypeFor[ListObject]()
)

func validateKind(k *Kind, typ reflect.Type) error {
	at := "api: register " + k.GroupVersionKind.String()
	if typ.Kind() != reflect.Struct || !reflect.PointerTo(typ).Implements(objectType) {
		return fmt.Errorf("%s: Go type %s must be a struct embedding api.TypeMeta and api.ObjectMeta", at, typ)
	}
	if err := checkKindShape(typ); err != nil {
		return fmt.Errorf("%s: Go type %s: %w", at, typ, err)
	}
	if k.Kind == "" || k.Version == "" {
		return fmt.Errorf("%s: Kind and Version are required", at)
	}
	if c := k.Kind[0]; c < 'A' || c > 'Z' {
		return fmt.Errorf("%s: Kind %q must be CamelCase, starting with an upper-case letter", at, k.Kind)
	}
	if k.Group != "" {
		if msgs := names.IsDNS1123Subdomain(k.Group); len(msgs) > 0 {
			return fmt.Errorf("%s: Group %q: %s", at, k.Group, strings.Join(msgs, "; "))
		}
	}
	if msgs := names.IsDNS1123Label(k.Version); len(msgs) > 0 {
		return fmt.Errorf("%s: Version %q: %s", at, k.Version, strings.Join(msgs, "; "))
	}
	if k.Resource == "" {
		return fmt.Errorf("%s: Resource (the plural name in URLs, such as %q) is required", at, strings.ToLower(k.Kind)+"s")
	}
	for _, n := range append([]string{k.Resource, k.Singular}, k.ShortNames...) {
		if n == "" {
			continue
		}
		if msgs := names.IsDNS1123Label(n); len(msgs) > 0 {
			return fmt.Errorf("%s: resource name %q: %s", at, n, strings.Join(msgs, "; "))
		}
	}
	if k.Singular == "" {
		k.Singular = strings.ToLower(k.Kind)
	}
	for _, sub := range k.Subresources {
		switch sub {
		case "status", "scale", "binding", "log", "eviction", "exec", "attach", "portforward", "proxy", "finalize", "ephemeralcontainers":
		default:
			return fmt.Errorf("%s: unknown subresource %q", at, sub)
		}
	}
	for i, c := range k.PrinterColumns {
		switch {
		case c.Name == "":
			return fmt.Errorf("%s: PrinterColumns[%d].Name is empty", at, i)
		case !slices.Contains([]string{"string", "integer", "number", "boolean", "date"}, c.Type):
			return fmt.Errorf("%s: PrinterColumns[%d].Type %q must be string, integer, number, boolean or date", at, i, c.Type)
		case !strings.HasPrefix(c.JSONPath, "."):
			return fmt.Errorf("%s: PrinterColumns[%d].JSONPath %q must start with \".\" (such as \".spec.size\")", at, i, c.JSONPath)
		case c.Priority < 0:
			return fmt.Errorf("%s: PrinterColumns[%d].Priority %d must not be negative", at, i, c.Priority)
		}
	}
	return nil
}

// KindFor returns the registered kind named gvk.
func (s *Scheme) KindFor(gvk GroupVersionKind) (Kind, bool) {
	return s.lookup(s.byGVK, gvk)
}

// ListKindFor returns the registered kind whose list kind is gvk (the kind
// Pod for v1 PodList).
func (s *Scheme) ListKindFor(gvk GroupVersionKind) (Kind, bool) {
	return s.lookup(s.byListGVK, gvk)
}

// ResourceFor returns the registered kind served at gvr.
func (s *Scheme) ResourceFor(gvr GroupVersionResource) (Kind, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k, ok := s.byGVR[gvr]; ok {
		return *k, true
	}
	return Kind{}, false
}

func (s *Scheme) lookup(m map[GroupVersionKind]*Kind, gvk GroupVersionKind) (Kind, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k, ok := m[gvk]; ok {
		return *k, true
	}
	return Kind{}, false
}

// ObjectKind returns the registered kind of obj's Go type, whatever obj's
// TypeMeta says.
func (s *Scheme) ObjectKind(obj Object) (Kind, error) {
	t := reflect.TypeOf(obj)
	if t == nil || t.Kind() != reflect.Pointer {
		return Kind{}, fmt.Errorf("api: %T is not a pointer to a registered kind", obj)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byType[t.Elem()]
	if !ok {
		return Kind{}, fmt.Errorf("api: Go type %s is not registered in the scheme", t.Elem())
	}
	return *k, nil
}

// ListKind returns the registered kind whose list type is list's Go type.
func (s *Scheme) ListKind(list ListObject) (Kind, error) {
	t := reflect.TypeOf(list)
	if t == nil || t.Kind() != reflect.Pointer {
		return Kind{}, fmt.Errorf("api: %T is not a pointer to a registered list", list)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byListType[t.Elem()]
	if !ok {
		return Kind{}, fmt.Errorf("api: Go type %s is not a registered list type", t.Elem())
	}
	return *k, nil
}

// Kinds returns every registered kind, ordered by group, version and kind.
func (s *Scheme) Kinds() []Kind {
	s.mu.RLock()
	out := make([]Kind, len(s.kinds))
	for i, k := range s.kinds {
		out[i] = *k
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Kind) int {
		return strings.Compare(a.Group+"\x00"+a.Version+"\x00"+a.Kind, b.Group+"\x00"+b.Version+"\x00"+b.Kind)
	})
	return out
}

// New returns a new, empty object of the kind gvk with its TypeMeta set.
func (s *Scheme) New(gvk GroupVersionKind) (Object, error) {
	k, ok := s.KindFor(gvk)
	if !ok {
		return nil, &NotRegisteredError{GVK: gvk}
	}
	return k.New(), nil
}

// SetTypeMeta fills obj's kind and apiVersion from its Go type, so that an
// object built in Go encodes the way it would arrive from the API.
func (s *Scheme) SetTypeMeta(obj Object) error {
	k, err := s.ObjectKind(obj)
	if err != nil {
		return err
	}
	obj.GetTypeMeta().SetGroupVersionKind(k.GroupVersionKind)
	return nil
}

// NotRegisteredError reports a kind that the scheme does not know.
type NotRegisteredError struct {
	GVK GroupVersionKind
}

func (e *NotRegisteredError) Error() string {
	if e.GVK.Kind == "" {
		return "api: object has no kind"
	}
	return fmt.Sprintf("api: no kind %q is registered for version %q", e.GVK.Kind, e.GVK.GroupVersion())
}

// checkKindShape makes sure a kind's struct has the wire shape every client
// expects: kind and apiVersion at the top (TypeMeta embedded inline, by
// value) and the metadata under "metadata" (ObjectMeta embedded by value),
// with no other field claiming those names.
func checkKindShape(typ reflect.Type) error {
	var typeMeta, objectMeta bool
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && f.Type == reflect.TypeFor[TypeMeta]():
			if name != "" {
				return fmt.Errorf("embedded api.TypeMeta must be inline (tag `json:\",inline\"`), not named %q", name)
			}
			typeMeta = true
		case f.Anonymous && f.Type == reflect.TypeFor[ObjectMeta]():
			if name != "metadata" {
				return fmt.Errorf("embedded api.ObjectMeta must have the tag `json:\"metadata,omitzero\"`")
			}
			objectMeta = true
		case f.Anonymous && (f.Type == reflect.TypeFor[*TypeMeta]() || f.Type == reflect.TypeFor[*ObjectMeta]()):
			return fmt.Errorf("embed %s by value, not as a pointer", f.Type.Elem())
		case name == "kind" || name == "apiVersion" || name == "metadata":
			return fmt.Errorf("field %s uses the JSON name %q, which belongs to the object's type and metadata", f.Name, name)
		}
	}
	if !typeMeta || !objectMeta {
		return errors.New("must embed api.TypeMeta (inline) and api.ObjectMeta (as \"metadata\") by value")
	}
	return nil
}

// SetDefaultNamespace sets obj's namespace to ns if obj is of a namespaced
// kind and has none, as kubectl does with the namespace of its context and
// the API server with the one in the request path. It reports whether it
// changed obj; objects of kinds the scheme does not know are left alone.
func (s *Scheme) SetDefaultNamespace(obj Object, ns string) bool {
	k, err := s.ObjectKind(obj)
	if err != nil || !k.Namespaced || obj.GetObjectMeta().Namespace != "" {
		return false
	}
	obj.GetObjectMeta().Namespace = ns
	return true
}
