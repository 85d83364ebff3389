package raftstore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/raftstore"
)

// The embedded single member: a one-member cluster in a data directory.
func Example() {
	dir, err := os.MkdirTemp("", "drover-store-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := raftstore.Open(ctx, raftstore.DefaultConfig(dir))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	rev, err := s.Create(ctx, "/registry/configmaps/default/demo", []byte(`{"data":{}}`))
	if err != nil {
		log.Fatal(err)
	}
	kv, err := s.Get(ctx, "/registry/configmaps/default/demo", store.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rev, kv.ModRevision, string(kv.Value))
	// Output: 1 1 {"data":{}}
}
