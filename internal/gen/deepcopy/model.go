package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/printer"
	"go/token"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// valueTypes are types from other packages that are copied correctly by
// assignment, keyed by import path and name. A type from another package
// that is not listed here must have a DeepCopyInto method, or the generated
// code does not compile.
var valueTypes = map[string]bool{
	// A time.Time's *Location is shared and never modified.
	"time.Time":     true,
	"time.Duration": true,
	// resource.Quantity's only pointer, a *big.Int, is never modified once
	// stored; its documentation promises that assignment is a safe copy, and
	// its DeepCopyInto is exactly an assignment.
	"github.com/drover-io/drover/api/resource.Quantity": true,
}

// basicTypes are the predeclared types that are values.
var basicTypes = map[string]bool{
	"bool": true, "string": true, "byte": true, "rune": true, "uintptr": true,
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"float32": true, "float64": true, "complex64": true, "complex128": true,
}

// pkg is the parsed package: its type declarations and the deep-copy methods
// already written by hand.
type pkg struct {
	name  string
	fset  *token.FileSet
	types map[string]*named
}

// file is what resolving a type expression needs from its file.
type file struct {
	imports map[string]string // local name → import path
}

// named is a type declared in the package.
type named struct {
	name    string
	spec    *ast.TypeSpec
	file    *file
	methods map[string]bool // methods declared outside generated files

	// Filled lazily by the resolver.
	under    *goType // the underlying type, resolved
	shallow  int8    // 0 unknown, 1 yes, -1 no, 2 computing
	resolved bool
}

// typeKind says how a value of a type is deep-copied.
type typeKind int

const (
	basicKind   typeKind = iota // assignment copies it
	structKind                  // field by field; named structs through their DeepCopyInto
	methodKind                  // through its DeepCopyInto method (hand-written or from another package)
	pointerKind                 // fresh pointee
	sliceKind                   // fresh backing array
	arrayKind                   // element by element
	mapKind                     // fresh map
	badKind                     // cannot be deep-copied: interface, func, chan
)

// goType is a resolved type expression.
type goType struct {
	kind    typeKind
	src     string    // the type as written in generated code
	imports []imp     // packages src refers to
	elem    *goType   // pointer, slice, array, map value
	key     *goType   // map key
	fields  []field   // anonymous structs; named ones resolve through named.under
	named   *named    // set for types declared in the package
	args    []*goType // type arguments of a generic instance
	why     string    // badKind: what it is
}

type field struct {
	name string // "_" for blank fields
	typ  *goType
}

type imp struct{ name, path string }

// load parses the non-test Go files of dir, except skip and files this
// generator wrote, and collects their type declarations and methods.
func load(dir, skip string) (*pkg, error) {
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("read package in %s: %w", dir, err)
	}
	p := &pkg{name: bp.Name, fset: token.NewFileSet(), types: make(map[string]*named)}
	methods := make(map[string]map[string]bool)
	for _, name := range bp.GoFiles {
		if name == skip {
			continue
		}
		f, err := parser.ParseFile(p.fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		if ast.IsGenerated(f) && len(f.Comments) > 0 && strings.Contains(f.Comments[0].Text(), "internal/gen/deepcopy") {
			continue
		}
		fi := &file{imports: make(map[string]string)}
		for _, is := range f.Imports {
			ipath, _ := strconv.Unquote(is.Path.Value)
			local := path.Base(ipath)
			if is.Name != nil {
				local = is.Name.Name
			}
			fi.imports[local] = ipath
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok != token.TYPE {
					continue
				}
				for _, s := range d.Specs {
					ts := s.(*ast.TypeSpec)
					p.types[ts.Name.Name] = &named{name: ts.Name.Name, spec: ts, file: fi}
				}
			case *ast.FuncDecl:
				if d.Recv == nil || len(d.Recv.List) != 1 {
					continue
				}
				rt := d.Recv.List[0].Type
				if s, ok := rt.(*ast.StarExpr); ok {
					rt = s.X
				}
				if id, ok := rt.(*ast.Ident); ok {
					if methods[id.Name] == nil {
						methods[id.Name] = make(map[string]bool)
					}
					methods[id.Name][d.Name.Name] = true
				}
			}
		}
	}
	for name, n := range p.types {
		n.methods = methods[name]
	}
	return p, nil
}

// generic reports whether n is a generic type or an alias, for which no
// methods are generated.
func (n *named) generic() bool { return n.spec.TypeParams != nil || n.spec.Assign.IsValid() }

// exprString prints a type expression as Go source.
func (p *pkg) exprString(e ast.Expr) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, p.fset, e); err != nil {
		panic(err) // printing an expression into a buffer does not fail
	}
	return b.String()
}

// importsOf lists the packages that the type expression e, written in f,
// refers to.
func (p *pkg) importsOf(e ast.Expr, f *file) ([]imp, error) {
	var out []imp
	var err error
	ast.Inspect(e, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok {
			ipath, found := f.imports[id.Name]
			if !found {
				err = fmt.Errorf("type %s: package %s is not imported", p.exprString(sel), id.Name)
				return false
			}
			out = append(out, imp{id.Name, ipath})
		}
		return false
	})
	return out, err
}

// resolve turns a type expression written in file f into a goType.
func (p *pkg) resolve(e ast.Expr, f *file) (*goType, error) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return p.resolve(e.X, f)
	case *ast.Ident:
		if n, ok := p.types[e.Name]; ok {
			if n.spec.Assign.IsValid() && n.spec.TypeParams == nil {
				t, err := p.resolve(n.spec.Type, n.file) // an alias: the type it names
				if err != nil {
					return nil, err
				}
				c := *t
				c.src, c.imports = n.name, nil
				return &c, nil
			}
			return p.ref(n)
		}
		if basicTypes[e.Name] {
			return &goType{kind: basicKind, src: e.Name}, nil
		}
		if e.Name == "any" || e.Name == "error" {
			return &goType{kind: badKind, src: e.Name, why: "an interface"}, nil
		}
		return nil, fmt.Errorf("unknown type %s", e.Name)
	case *ast.SelectorExpr:
		imps, err := p.importsOf(e, f)
		if err != nil {
			return nil, err
		}
		t := &goType{kind: methodKind, src: p.exprString(e), imports: imps}
		if valueTypes[imps[0].path+"."+e.Sel.Name] {
			t.kind = basicKind
		}
		return t, nil
	case *ast.StarExpr:
		elem, err := p.resolve(e.X, f)
		if err != nil {
			return nil, err
		}
		return &goType{kind: pointerKind, src: "*" + elem.src, imports: elem.imports, elem: elem}, nil
	case *ast.ArrayType:
		elem, err := p.resolve(e.Elt, f)
		if err != nil {
			return nil, err
		}
		if e.Len == nil {
			return &goType{kind: sliceKind, src: "[]" + elem.src, imports: elem.imports, elem: elem}, nil
		}
		return &goType{kind: arrayKind, src: "[" + p.exprString(e.Len) + "]" + elem.src, imports: elem.imports, elem: elem}, nil
	case *ast.MapType:
		key, err := p.resolve(e.Key, f)
		if err != nil {
			return nil, err
		}
		elem, err := p.resolve(e.Value, f)
		if err != nil {
			return nil, err
		}
		return &goType{
			kind: mapKind, src: "map[" + key.src + "]" + elem.src,
			imports: append(append([]imp(nil), key.imports...), elem.imports...), key: key, elem: elem,
		}, nil
	case *ast.StructType:
		t := &goType{kind: structKind, src: p.exprString(e)}
		for _, fl := range e.Fields.List {
			ft, err := p.resolve(fl.Type, f)
			if err != nil {
				return nil, err
			}
			t.imports = append(t.imports, ft.imports...)
			for _, name := range fieldNames(fl) {
				t.fields = append(t.fields, field{name, ft})
			}
		}
		return t, nil
	case *ast.IndexExpr, *ast.IndexListExpr:
		imps, err := p.importsOf(e, f)
		if err != nil {
			return nil, err
		}
		t := &goType{kind: methodKind, src: p.exprString(e), imports: imps}
		var idx []ast.Expr
		if ie, ok := e.(*ast.IndexExpr); ok {
			idx = []ast.Expr{ie.Index}
		} else {
			idx = e.(*ast.IndexListExpr).Indices
		}
		for _, a := range idx {
			at, err := p.resolve(a, f)
			if err != nil {
				return nil, err
			}
			t.args = append(t.args, at)
		}
		return t, nil
	case *ast.InterfaceType:
		return &goType{kind: badKind, src: p.exprString(e), why: "an interface"}, nil
	case *ast.FuncType:
		return &goType{kind: badKind, src: p.exprString(e), why: "a func"}, nil
	case *ast.ChanType:
		return &goType{kind: badKind, src: p.exprString(e), why: "a chan"}, nil
	}
	return nil, fmt.Errorf("unsupported type expression %s", p.exprString(e))
}

// fieldNames returns the names a field list entry declares; an embedded
// field is named after its type.
func fieldNames(fl *ast.Field) []string {
	if len(fl.Names) > 0 {
		out := make([]string, len(fl.Names))
		for i, n := range fl.Names {
			out[i] = n.Name
		}
		return out
	}
	e := fl.Type
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.SelectorExpr:
			return []string{x.Sel.Name}
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return []string{x.Name}
		default:
			return []string{"_"}
		}
	}
}

// ref returns the goType of a reference to n. Its kind comes from the shape
// of n's declaration; the parts (elements, fields) are in n.under, resolved
// on demand so that recursive types terminate.
func (p *pkg) ref(n *named) (*goType, error) {
	t := &goType{src: n.name, named: n}
	if n.spec.TypeParams != nil {
		return nil, fmt.Errorf("generic type %s used without type arguments", n.name)
	}
	if n.methods["DeepCopyInto"] {
		t.kind = methodKind
		return t, nil
	}
	e := n.spec.Type
	seen := map[string]bool{n.name: true}
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
			continue
		case *ast.Ident:
			if m, ok := p.types[x.Name]; ok && !seen[x.Name] {
				// type A B: A has B's structure but not its methods.
				seen[x.Name] = true
				e = m.spec.Type
				continue
			}
			if basicTypes[x.Name] {
				t.kind = basicKind
			} else {
				t.kind, t.why = badKind, "an interface"
			}
		case *ast.SelectorExpr:
			u, err := p.resolve(x, n.file)
			if err != nil {
				return nil, err
			}
			if u.kind == basicKind {
				t.kind = basicKind
			} else {
				t.kind, t.why = badKind, "defined on "+u.src+" from another package, whose DeepCopyInto it does not inherit"
			}
		case *ast.StructType:
			t.kind = structKind
		case *ast.StarExpr:
			t.kind = pointerKind
		case *ast.ArrayType:
			t.kind = sliceKind
			if x.Len != nil {
				t.kind = arrayKind
			}
		case *ast.MapType:
			t.kind = mapKind
		case *ast.InterfaceType:
			t.kind, t.why = badKind, "an interface"
		case *ast.FuncType:
			t.kind, t.why = badKind, "a func"
		case *ast.ChanType:
			t.kind, t.why = badKind, "a chan"
		default:
			t.kind, t.why = badKind, "of an unsupported kind"
		}
		return t, nil
	}
}

// underOf returns the resolved underlying type of n.
func (p *pkg) underOf(n *named) (*goType, error) {
	if n.resolved {
		return n.under, nil
	}
	e, f := n.spec.Type, n.file
	seen := map[string]bool{n.name: true}
	for {
		id, ok := e.(*ast.Ident)
		if !ok {
			break
		}
		m, ok := p.types[id.Name]
		if !ok || seen[id.Name] || m.spec.Assign.IsValid() {
			break
		}
		seen[id.Name] = true
		e, f = m.spec.Type, m.file
	}
	u, err := p.resolve(e, f)
	if err != nil {
		return nil, fmt.Errorf("type %s: %w", n.name, err)
	}
	n.under, n.resolved = u, true
	return u, nil
}

// elemOf returns the element type of a pointer, slice, array or map t.
func (p *pkg) elemOf(t *goType) (*goType, error) {
	if t.named == nil {
		return t.elem, nil
	}
	u, err := p.underOf(t.named)
	if err != nil {
		return nil, err
	}
	return u.elem, nil
}

// fieldsOf returns the fields of a struct t.
func (p *pkg) fieldsOf(t *goType) ([]field, error) {
	if t.named == nil {
		return t.fields, nil
	}
	u, err := p.underOf(t.named)
	if err != nil {
		return nil, err
	}
	return u.fields, nil
}

// shallow reports whether assignment deep-copies a value of type t: it
// holds no pointer, slice, map or interface that it would share.
func (p *pkg) shallow(t *goType) (bool, error) {
	switch t.kind {
	case basicKind:
		return true, nil
	case arrayKind:
		elem, err := p.elemOf(t)
		if err != nil {
			return false, err
		}
		return p.shallow(elem)
	case structKind:
		if n := t.named; n != nil {
			switch n.shallow {
			case 1:
				return true, nil
			case -1, 2: // 2: a cycle, which only a pointer, slice or map can close
				return false, nil
			}
			n.shallow = 2
		}
		fields, err := p.fieldsOf(t)
		if err != nil {
			return false, err
		}
		ok := true
		for _, f := range fields {
			s, err := p.shallow(f.typ)
			if err != nil {
				return false, err
			}
			if !s {
				ok = false
				break
			}
		}
		if n := t.named; n != nil {
			n.shallow = -1
			if ok {
				n.shallow = 1
			}
		}
		return ok, nil
	}
	return false, nil
}
