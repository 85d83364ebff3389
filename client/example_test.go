package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/store/memstore"
)

// exampleServer starts an API server in the process and returns a client
// of it over the in-process transport. Over the network it would be
// client.New(client.Config{Host: ..., BearerToken: ...}) or
// client.KubeconfigFromEnv("").
func exampleServer() (*client.Client, func()) {
	st, err := memstore.New(memstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := apiserver.New(apiserver.Config{Store: st, Scheme: api.NewDefaultScheme()})
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(client.Config{Transport: srv.Transport()})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Create(context.Background(), &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}}); err != nil {
		log.Fatal(err)
	}
	return c, func() { _ = st.Close() }
}

// The typed client: Resource[T] gives methods that take and return *T.
func ExampleResource() {
	c, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	cms := client.Resource[api.ConfigMap](c)
	created, err := cms.Create(ctx, &api.ConfigMap{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "settings", Labels: map[string]string{"app": "web"}},
		Data:       map[string]string{"color": "blue"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", created.Name, "uid set:", created.UID != "")

	patched, err := cms.Patch(ctx, "default", "settings", client.MergePatch, []byte(`{"data":{"color":"green"}}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("color:", patched.Data["color"])

	list, err := cms.List(ctx, client.InNamespace("default"), client.MatchingLabels{"app": "web"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listed:", len(list.Items))

	if err := cms.Delete(ctx, "default", "settings"); err != nil {
		log.Fatal(err)
	}
	_, err = cms.Get(ctx, "default", "settings")
	fmt.Println("not found:", errors.Is(err, api.ErrNotFound))
	// Output:
	// created settings uid set: true
	// color: green
	// listed: 1
	// not found: true
}

// The untyped client fills the objects it is given, whatever their kind;
// updates are compare-and-swap, and RetryOnConflict retries them on a fresh
// copy.
func ExampleRetryOnConflict() {
	c, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "counter"}, Data: map[string]string{"n": "0"}}
	if err := c.Create(ctx, cm); err != nil {
		log.Fatal(err)
	}
	stale := *cm
	cm.Data = map[string]string{"n": "1"}
	if err := c.Update(ctx, cm); err != nil {
		log.Fatal(err)
	}
	fmt.Println("stale update conflicts:", errors.Is(c.Update(ctx, &stale), api.ErrConflict))

	err := client.RetryOnConflict(ctx, client.DefaultRetry, func() error {
		var fresh api.ConfigMap
		if err := c.Get(ctx, "default", "counter", &fresh); err != nil {
			return err
		}
		fresh.Data["n"] = "2"
		return c.Update(ctx, &fresh)
	})
	fmt.Println("retried update:", err)
	// Output:
	// stale update conflicts: true
	// retried update: <nil>
}

// Watch from the resourceVersion of a list, as informers do, so nothing
// after the list is missed.
func ExampleClient_Watch() {
	c, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	var list api.ConfigMapList
	if err := c.List(ctx, &list, client.InNamespace("default")); err != nil {
		log.Fatal(err)
	}
	w, err := c.Watch(ctx, &api.ConfigMapList{}, client.ListOptions{Namespace: "default", ResourceVersion: list.ResourceVersion})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Stop()

	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "watched"}}
	if err := c.Create(ctx, cm); err != nil {
		log.Fatal(err)
	}
	if err := c.Delete(ctx, cm); err != nil {
		log.Fatal(err)
	}
	for range 2 {
		ev := <-w.Events()
		if ev.Type == api.WatchError {
			log.Fatal(ev.Err) // api.IsGone(ev.Err): list again
		}
		fmt.Println(ev.Type, ev.Object.(*api.ConfigMap).Name)
	}
	// Output:
	// ADDED watched
	// DELETED watched
}
