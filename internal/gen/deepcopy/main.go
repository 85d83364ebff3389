// Command deepcopy generates deep-copy methods for the types of one Go
// package, without loading its dependencies: it reads the package's source
// with go/parser and nothing else, so it runs even while the package does not
// compile.
//
//	go run ./internal/gen/deepcopy -dir ./api -out zz_deepcopy.go
//
// It generates for every kind (a struct embedding both TypeMeta and
// ObjectMeta), every type named with -roots, and every type declared in the
// package that they reach through fields, elements and type arguments:
//
//   - func (in *T) DeepCopyInto(out *T) for structs and arrays, and
//     func (in T) DeepCopyInto(out *T) for named maps and slices: *out
//     becomes a copy of in that shares no pointer, slice or map with it.
//     Nil stays nil and empty stays empty, so both encode alike.
//   - DeepCopy, which returns a new copy (nil for nil).
//   - func (in *T) DeepCopyObject() Object for kinds.
//
// A method the package already declares by hand is not generated, and a type
// with a hand-written DeepCopyInto is copied through it. Types from other
// packages are copied through their DeepCopyInto, except the few known to be
// plain values (time.Time, resource.Quantity; see valueTypes). Map keys are
// copied as they are. A field that cannot be deep-copied without knowing its
// dynamic type (an interface, func or chan) is an error naming the field.
//
// Copies allocate once per pointer, slice and map that must be fresh, and
// never for values: a struct is first assigned whole, then only its shared
// parts are replaced; slices and maps of values use slices.Clone and
// maps.Clone.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultRoots are the types of package api that are generated although no
// kind reaches them.
const defaultRoots = "ObjectMeta,ListMeta,LabelSelector,Status,WatchEvent"

func main() {
	dir := flag.String("dir", ".", "directory of the package")
	out := flag.String("out", "zz_deepcopy.go", "output file name, in -dir")
	roots := flag.String("roots", defaultRoots, "comma-separated types to generate for besides the kinds")
	flag.Parse()
	if err := run(config{Dir: *dir, Out: *out, Roots: splitList(*roots)}); err != nil {
		fmt.Fprintln(os.Stderr, "deepcopy:", err)
		os.Exit(1)
	}
}

// run generates and writes the file, leaving it untouched when it is
// already up to date.
func run(cfg config) error {
	src, err := generate(cfg)
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.Dir, cfg.Out)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, src) {
		return nil
	}
	return os.WriteFile(path, src, 0o644)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
