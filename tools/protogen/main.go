// Command protogen writes api/zz_protobuf.go, the table that lets Drover
// decode request bodies in the Kubernetes protobuf encoding: for every Go
// type reachable from the built-in kinds and DeleteOptions, the protobuf
// number and wire kind of each field, matched by JSON name against the
// corresponding k8s.io/api type's struct tags. Run it from tools/protogen:
//
//	go run .
//
// It prints the fields that only Drover or only Kubernetes has. The
// generator imports the api package, so api must build: if an edit to the
// api types leaves the old table naming a field that no longer exists, the
// table is still compiled lazily and api builds; only a removed Go type
// breaks it, and then an empty table (protoRoots and protoMessages as
// empty maps) bootstraps a fresh run.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("out", "../../api/zz_protobuf.go", "the file to write")
	quiet := flag.Bool("q", false, "do not print the report of unmatched fields")
	flag.Parse()
	src, report, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "protogen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "protogen:", err)
		os.Exit(1)
	}
	if !*quiet {
		for _, r := range report {
			fmt.Println(r)
		}
	}
}
