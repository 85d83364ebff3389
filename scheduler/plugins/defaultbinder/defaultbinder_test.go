package defaultbinder

import (
	"context"
	"errors"
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/scheduler/framework"
)

// fakeClient records bindings; it fails with err if set.
type fakeClient struct {
	err   error
	bound map[string]string
}

func (c *fakeClient) Bind(_ context.Context, ns, name string, _ api.UID, node string) error {
	if c.err != nil {
		return c.err
	}
	c.bound[ns+"/"+name] = node
	return nil
}
func (c *fakeClient) DeletePod(context.Context, *api.Pod) error                { return nil }
func (c *fakeClient) SetNominatedNode(context.Context, *api.Pod, string) error { return nil }

// handle is a framework.Handle with only a client.
type handle struct {
	framework.Handle
	c framework.Client
}

func (h handle) Client() framework.Client { return h.c }

func TestBind(t *testing.T) {
	c := &fakeClient{bound: map[string]string{}}
	p, err := New(Args{}, handle{c: c})
	if err != nil {
		t.Fatal(err)
	}
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"}}
	if st := p.Bind(context.Background(), framework.NewCycleState(), pod, "n1"); !st.IsSuccess() {
		t.Fatal(st)
	}
	if c.bound["default/web"] != "n1" {
		t.Errorf("bindings %v", c.bound)
	}
	c.err = api.ErrConflict
	st := p.Bind(context.Background(), framework.NewCycleState(), pod, "n2")
	if st.Code() != framework.Error || !errors.Is(st.Err(), api.ErrConflict) {
		t.Errorf("failed bind: %v", st)
	}
	if _, err := New(Args{}, nil); err == nil {
		t.Error("New with a nil handle succeeded")
	}
	var none handle
	p, _ = New(Args{}, none)
	if st := p.Bind(context.Background(), framework.NewCycleState(), pod, "n1"); st.Code() != framework.Error {
		t.Errorf("bind without a client: %v", st)
	}
}
