package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/drover-io/drover/internal/jsonx"
)

// DecodeError reports a document that could not be decoded: which document
// of the input, the object when its kind and name could be read, and what is
// wrong, field by field.
type DecodeError struct {
	// Document is the 1-based index of the document in a multi-document
	// input, or 0 for a single object.
	Document int
	// Line is the line of the input the document starts on, when known.
	Line int
	// Kind and Name identify the object, when they could be read.
	Kind, Name string
	// Fields holds one error per offending field; empty when Err is set.
	Fields ErrorList
	// Err is the error that is not about one field (invalid syntax, an
	// unknown kind).
	Err error
}

// Error returns, for example:
//
//	document 2 (line 14), Deployment "web": spec.replcas: Unknown field: did you mean "replicas"?
func (e *DecodeError) Error() string {
	var b strings.Builder
	if e.Document > 0 {
		fmt.Fprintf(&b, "document %d", e.Document)
		if e.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
	}
	if e.Kind != "" {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.Kind)
		if e.Name != "" {
			b.WriteString(" " + strconv.Quote(e.Name))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString(e.Fields.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error: Err, or the field errors.
func (e *DecodeError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return e.Fields
}

// ToStatusError turns e into the 400 BadRequest the API server answers with,
// one cause per field.
func (e *DecodeError) ToStatusError() *StatusError {
	se := NewBadRequest("%s", e.Error())
	if len(e.Fields) > 0 {
		se.Status.Details = &StatusDetails{Name: e.Name, Kind: e.Kind}
		for _, f := range e.Fields {
			se.Status.Details.Causes = append(se.Status.Details.Causes,
				StatusCause{Type: CauseType(f.Type), Message: f.Error(), Field: f.Field})
		}
	}
	return se
}

func newDecodeError(err error) *DecodeError {
	var fields ErrorList
	if errors.As(err, &fields) {
		return &DecodeError{Fields: fields}
	}
	return &DecodeError{Err: err}
}

// typeHeader is what is read from a document to choose its Go type.
type typeHeader struct {
	Kind       any `json:"kind"`
	APIVersion any `json:"apiVersion"`
	Metadata   struct {
		Name any `json:"name"`
	} `json:"metadata"`
}

func readHeader(data []byte) (gvk GroupVersionKind, name string, err error) {
	var h typeHeader
	if err := json.Unmarshal(data, &h); err != nil {
		return gvk, "", syntaxError(err)
	}
	kind, _ := h.Kind.(string)
	apiVersion, _ := h.APIVersion.(string)
	name, _ = h.Metadata.Name.(string)
	var errs ErrorList
	if kind == "" {
		errs = append(errs, Required(NewPath("kind"), "every object needs a kind, such as \"Deployment\""))
	}
	if apiVersion == "" {
		errs = append(errs, Required(NewPath("apiVersion"), "every object needs an apiVersion, such as \"apps/v1\""))
	}
	gv, gvErr := ParseGroupVersion(apiVersion)
	if gvErr != nil {
		errs = append(errs, Invalid(NewPath("apiVersion"), apiVersion, "want \"version\" or \"group/version\""))
	}
	if len(errs) > 0 {
		return gvk, name, errs
	}
	return gv.WithKind(kind), name, nil
}

// Decode decodes one object from JSON or YAML, choosing its Go type by its
// kind and apiVersion, strictly (see UnmarshalStrict). Errors are
// *DecodeError.
func (s *Scheme) Decode(data []byte) (Object, error) {
	data, err := toJSON(data)
	if err != nil {
		return nil, &DecodeError{Err: err}
	}
	return s.decodeJSON(data)
}

func (s *Scheme) decodeJSON(data []byte) (Object, error) {
	gvk, peeked := peekGVK(data)
	var name string
	if !peeked {
		var err error
		if gvk, name, err = readHeader(data); err != nil {
			de := newDecodeError(err)
			de.Name = name
			return nil, de
		}
	}
	// The name is only for errors: read it when there is one.
	nameOf := func() string {
		if peeked {
			_, name, _ = readHeader(data)
		}
		return name
	}
	k, ok := s.KindFor(gvk)
	if !ok {
		return nil, &DecodeError{Kind: gvk.Kind, Name: nameOf(), Err: &NotRegisteredError{GVK: gvk}}
	}
	obj := reflect.New(k.typ).Interface().(Object)
	if err := UnmarshalStrict(data, obj); err != nil {
		de := newDecodeError(err)
		de.Kind, de.Name = gvk.Kind, nameOf()
		return nil, de
	}
	return obj, nil
}

// DecodeInto decodes one object from JSON or YAML into obj, strictly. obj
// is reset first, so nothing of what it held survives. If the document
// names a kind or an apiVersion, it must be obj's registered one.
func (s *Scheme) DecodeInto(data []byte, obj Object) error {
	if s.decodeIntoFast(data, obj) {
		return nil
	}
	return s.decodeIntoSlow(data, obj)
}

// decodeIntoSlow is DecodeInto without its fast path: the one that says
// what is wrong.
func (s *Scheme) decodeIntoSlow(data []byte, obj Object) error {
	data, err := toJSON(data)
	if err != nil {
		return &DecodeError{Err: err}
	}
	rv := reflect.ValueOf(obj)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &DecodeError{Err: fmt.Errorf("api: DecodeInto needs a non-nil pointer, got %T", obj)}
	}
	if k, err := s.ObjectKind(obj); err == nil {
		var h struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
		}
		_ = json.Unmarshal(data, &h) // a mistyped header is reported by the strict pass
		if (h.Kind != "" && h.Kind != k.Kind) || (h.APIVersion != "" && h.APIVersion != k.GroupVersion().String()) {
			return &DecodeError{Kind: h.Kind,
				Err: fmt.Errorf("the document is kind %q, apiVersion %q, but a %s was expected", h.Kind, h.APIVersion, k.GroupVersionKind)}
		}
	}
	fresh := reflect.New(rv.Type().Elem())
	if err := UnmarshalStrict(data, fresh.Interface()); err != nil {
		de := newDecodeError(err)
		if o, ok := fresh.Interface().(Object); ok {
			de.Kind, de.Name = o.GetTypeMeta().Kind, o.GetObjectMeta().Name
		}
		return de
	}
	rv.Elem().Set(fresh.Elem())
	return nil
}

// decodeIntoFast is DecodeInto for a JSON document with nothing wrong in
// it: one strictness pass over the bytes (strictOK) and one decode, with
// no tokenizer. It reports false, having changed nothing, whenever it is
// not sure, and DecodeInto then takes the path that explains what is
// wrong.
func (s *Scheme) decodeIntoFast(data []byte, obj Object) bool {
	js := bytes.TrimLeft(data, " \t\r\n")
	if len(js) == 0 || js[0] != '{' {
		return false
	}
	rv := reflect.ValueOf(obj)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	k, err := s.ObjectKind(obj)
	if err != nil {
		return false
	}
	kind, apiVersion, ok := peekTypeMeta(js)
	if !ok || (len(kind) > 0 && string(kind) != k.Kind) ||
		(len(apiVersion) > 0 && string(apiVersion) != k.GroupVersion().String()) {
		return false
	}
	t := rv.Type().Elem()
	ok, mayBeEmpty := strictCheck(js, t)
	if !ok {
		return false
	}
	fresh := reflect.New(t)
	unmarshal := json.Unmarshal
	if jsonx.Known(t) {
		unmarshal = jsonx.ValidUnmarshal
	}
	if err := unmarshal(js, fresh.Interface()); err != nil {
		return false
	}
	if mayBeEmpty {
		dropEmpty(fresh.Elem())
	}
	rv.Elem().Set(fresh.Elem())
	return true
}

// DecodeAll decodes every object of a multi-document YAML stream ("---"
// between documents), a JSON object, or a list — a v1 List or a typed list
// such as a PodList — whose items are returned, strictly. Empty documents are skipped and not counted. It stops
// at the first document that fails, and returns its *DecodeError with the
// objects decoded so far.
func (s *Scheme) DecodeAll(data []byte) ([]Object, error) {
	var out []Object
	for i, doc := range splitYAML(data) {
		js, err := doc.toJSON()
		if err != nil {
			return out, &DecodeError{Document: i + 1, Line: doc.line, Err: err}
		}
		objs, err := s.decodeDocument(js)
		out = append(out, objs...)
		if err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				de.Document, de.Line = i+1, doc.line
			}
			return out, err
		}
	}
	return out, nil
}

func (s *Scheme) decodeDocument(js []byte) ([]Object, error) {
	gvk, _, err := readHeader(js)
	itemKind, typedList := s.ListKindFor(gvk)
	if err != nil || (gvk != CoreV1.WithKind("List") && !typedList) {
		obj, err := s.decodeJSON(js)
		if err != nil {
			return nil, err
		}
		return []Object{obj}, nil
	}
	var list struct {
		TypeMeta `json:",inline"`
		ListMeta `json:"metadata"`
		Items    []RawJSON `json:"items"`
	}
	if err := UnmarshalStrict(js, &list); err != nil {
		de := newDecodeError(err)
		de.Kind = gvk.Kind
		return nil, de
	}
	var out []Object
	for i, item := range list.Items {
		var obj Object
		var err error
		if typedList { // items of a PodList are Pods, kind or no kind
			obj = itemKind.New()
			if err = s.DecodeInto(item, obj); err == nil {
				obj.GetTypeMeta().SetGroupVersionKind(itemKind.GroupVersionKind)
			}
		} else {
			obj, err = s.decodeJSON(item)
		}
		if err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				item := NewPath("items").Index(i).String()
				for _, f := range de.Fields {
					if f.Field == "" {
						f.Field = item
					} else {
						f.Field = item + "." + f.Field
					}
				}
				if de.Err != nil {
					de.Err = fmt.Errorf("items[%d]: %w", i, de.Err)
				}
			}
			return out, err
		}
		out = append(out, obj)
	}
	return out, nil
}

// Encode returns obj as JSON, with its kind and apiVersion filled from the
// scheme when they are empty. obj itself is not modified.
func (s *Scheme) Encode(obj Object) ([]byte, error) {
	k, err := s.ObjectKind(obj)
	if err != nil {
		return nil, err
	}
	if tm := obj.GetTypeMeta(); tm.Kind != k.Kind || tm.APIVersion != k.GroupVersion().String() {
		cp := reflect.New(k.typ)
		cp.Elem().Set(reflect.ValueOf(obj).Elem())
		obj = cp.Interface().(Object)
		obj.GetTypeMeta().SetGroupVersionKind(k.GroupVersionKind)
	}
	return marshalJSON(obj)
}

// EncodeYAML returns obj as YAML, as Encode does for JSON, with fields in
// the order Encode writes them (kind and apiVersion first, then metadata,
// spec, status).
func (s *Scheme) EncodeYAML(obj Object) ([]byte, error) {
	js, err := s.Encode(obj)
	if err != nil {
		return nil, err
	}
	return JSONToYAML(js)
}

// JSONToYAML converts one JSON value to YAML, keeping the order of object
// keys. Strings are quoted whenever their plain form would read back as
// something else (a number, a boolean, a merge key, text with control
// characters), so the YAML decodes to exactly the JSON it came from.
func JSONToYAML(js []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	node, err := yamlNode(dec)
	if err != nil {
		return nil, syntaxError(err)
	}
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return nil, fmt.Errorf("api: encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("api: encode YAML: %w", err)
	}
	return b.Bytes(), nil
}

// yamlNode reads the next JSON value from dec as a YAML node.
func yamlNode(dec *json.Decoder) (*yamlv3.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		n := &yamlv3.Node{Kind: yamlv3.SequenceNode, Tag: "!!seq"}
		if tok == '{' {
			n.Kind, n.Tag = yamlv3.MappingNode, "!!map"
		}
		for dec.More() {
			if n.Kind == yamlv3.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, yamlString(k.(string)))
			}
			v, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		if len(n.Content) == 0 {
			n.Style = yamlv3.FlowStyle // {} and []
		}
		return n, nil
	case string:
		return yamlString(tok), nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(tok), ".eE") {
			tag = "!!float"
		}
		return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: tag, Value: string(tok)}, nil
	case bool:
		return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(tok)}, nil
	default: // nil
		return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
}

// yamlString returns a scalar node for s, double-quoted when a plain or
// block scalar would not read back as exactly s.
func yamlString(s string) *yamlv3.Node {
	n := &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: s}
	for _, r := range s {
		// Control characters, DEL, C1 controls (NEL among them, which YAML
		// reads as a line break) and non-characters need escapes.
		if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) || r == 0xfeff || r == 0xfffe || r == 0xffff || r == 0x2028 || r == 0x2029 || r == utf8.RuneError {
			n.Style = yamlv3.DoubleQuotedStyle
			break
		}
	}
	if s == "<<" || readsAsNonStringIn11(s) {
		n.Style = yamlv3.DoubleQuotedStyle
	}
	return n
}

// readsAsNonStringIn11 reports whether plain s could read back as something
// other than a string under YAML 1.1, which Kubernetes-style decoders
// (sigs.k8s.io/yaml) use: "y", "no", "on", "~", "1_000", "0b101", "1:20",
// "012". Anything that starts like a number is quoted, which is safe.
func readsAsNonStringIn11(s string) bool {
	switch s {
	case "", "~", "null", "Null", "NULL",
		"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF":
		return true
	}
	return strings.IndexByte("0123456789+-.", s[0]) >= 0
}

// toJSON returns data as JSON: JSON input as is, YAML converted, with
// duplicate YAML keys rejected.
func toJSON(data []byte) ([]byte, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		return trimmed, nil // JSON; "{kind: Pod}" is flow-style YAML
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if bytes.Equal(js, []byte("null")) {
		return nil, errors.New("the document is empty")
	}
	if len(js) == 0 || js[0] != '{' {
		return nil, fmt.Errorf("the document must be an object (a mapping of fields), not %s", truncate(string(js)))
	}
	return js, nil
}

type yamlDoc struct {
	data  []byte
	first int // 1-based line of the input that data begins at
	line  int // 1-based line of the document's first content
}

// toJSON converts the document, reporting YAML syntax errors with the line
// numbers of the whole input rather than of the document.
func (d yamlDoc) toJSON() ([]byte, error) {
	js, err := toJSON(d.data)
	if err != nil && d.first > 1 {
		// Parse again behind blank lines so the YAML parser counts lines
		// from the start of the input. Only a failing document pays.
		padded := append(bytes.Repeat([]byte("\n"), d.first-1), d.data...)
		if _, perr := toJSON(padded); perr != nil {
			err = perr
		}
	}
	return js, err
}

// splitYAML splits a YAML stream at "---" separator lines (optionally with a
// trailing comment) and drops documents holding only blanks and comments.
func splitYAML(data []byte) []yamlDoc {
	var docs []yamlDoc
	var cur bytes.Buffer
	start, line := 0, 0 // start: the line of the document's first content
	first := 1          // the line cur begins at
	flush := func() {
		if start > 0 {
			docs = append(docs, yamlDoc{data: bytes.Clone(cur.Bytes()), first: first, line: start})
		}
		cur.Reset()
		start, first = 0, line+1
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for sc.Scan() {
		line++
		l := sc.Bytes()
		if rest, ok := bytes.CutPrefix(l, []byte("---")); ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r') {
			flush()
			if t := bytes.TrimSpace(rest); len(t) == 0 || t[0] == '#' {
				continue
			}
			// "--- {kind: ...}": the next document starts on this line. Keep
			// its column by blanking out the marker.
			l = append([]byte("   "), rest...)
			first = line
		}
		if bytes.Equal(bytes.TrimRight(l, " \t\r"), []byte("...")) {
			flush()
			continue
		}
		if t := bytes.TrimSpace(l); start == 0 && len(t) > 0 && t[0] != '#' {
			start = line
		}
		cur.Write(l)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}
