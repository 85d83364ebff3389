package leaderelection_test

import (
	"context"
	"fmt"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/leaderelection"
	"github.com/drover-io/drover/store/memstore"
)

// A candidate leads until its context ends, then hands the lease over.
func Example() {
	st, _ := memstore.New(memstore.Options{})
	defer st.Close()
	server, _ := apiserver.New(apiserver.Config{Store: st, Scheme: api.NewDefaultScheme()})
	c, _ := client.New(client.Config{Transport: server.Transport()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "drover-system"}})

	e, err := leaderelection.New(leaderelection.Config{
		Client: c, Namespace: "drover-system", Name: "controllers", Identity: "host-1",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = e.Run(ctx, func(ctx context.Context) {
		fmt.Println("leading:", e.IsLeader(), e.Leader())
		cancel() // shut down: Run cancels ctx, waits for us, releases
		<-ctx.Done()
	})
	fmt.Println("Run:", err)

	var l api.Lease
	_ = c.Get(context.Background(), "drover-system", "controllers", &l)
	fmt.Printf("holder %q, leaseDurationSeconds %d\n", *l.Spec.HolderIdentity, *l.Spec.LeaseDurationSeconds)
	// Output:
	// leading: true host-1
	// Run: <nil>
	// holder "", leaseDurationSeconds 1
}
