package volume

import (
	"context"
	"errors"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// Getter reads the ConfigMaps and Secrets that volumes project. The
// Manager calls it from SetUp, from as many goroutines as SetUp is called
// from (one per pod). An error matching api.ErrNotFound means the object
// is missing: an optional source then counts as empty; any other error
// fails the SetUp. The returned objects are read, never modified.
// envvars.Sources is the same interface.
type Getter interface {
	ConfigMap(ctx context.Context, namespace, name string) (*api.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*api.Secret, error)
}

// GetterFuncs adapts two functions to a Getter. A nil function answers
// every name with an error matching api.ErrNotFound (a Getter of
// ConfigMaps only, in tests and static setups).
type GetterFuncs struct {
	ConfigMapFunc func(ctx context.Context, namespace, name string) (*api.ConfigMap, error)
	SecretFunc    func(ctx context.Context, namespace, name string) (*api.Secret, error)
}

// ConfigMap calls f.ConfigMapFunc.
func (f GetterFuncs) ConfigMap(ctx context.Context, namespace, name string) (*api.ConfigMap, error) {
	if f.ConfigMapFunc == nil {
		return nil, api.NewNotFound(api.GroupResource{Resource: "configmaps"}, name)
	}
	return f.ConfigMapFunc(ctx, namespace, name)
}

// Secret calls f.SecretFunc.
func (f GetterFuncs) Secret(ctx context.Context, namespace, name string) (*api.Secret, error) {
	if f.SecretFunc == nil {
		return nil, api.NewNotFound(api.GroupResource{Resource: "secrets"}, name)
	}
	return f.SecretFunc(ctx, namespace, name)
}

// ClientGetter returns a Getter that reads each object from the API
// server with c, on every call (no cache yet: a SetUp reads each source
// once). Its errors are c's: a missing object matches api.ErrNotFound.
func ClientGetter(c *client.Client) Getter {
	return clientGetter{c}
}

type clientGetter struct{ c *client.Client }

func (g clientGetter) ConfigMap(ctx context.Context, namespace, name string) (*api.ConfigMap, error) {
	if g.c == nil {
		return nil, errors.New("volume: ClientGetter has no client")
	}
	var cm api.ConfigMap
	if err := g.c.Get(ctx, namespace, name, &cm); err != nil {
		return nil, err
	}
	return &cm, nil
}

func (g clientGetter) Secret(ctx context.Context, namespace, name string) (*api.Secret, error) {
	if g.c == nil {
		return nil, errors.New("volume: ClientGetter has no client")
	}
	var s api.Secret
	if err := g.c.Get(ctx, namespace, name, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
