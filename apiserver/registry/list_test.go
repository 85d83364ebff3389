package registry_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/fields"
	"github.com/drover-io/drover/api/labels"
	"github.com/drover-io/drover/apiserver/registry"
)

func names(l api.ListObject) []string {
	var out []string
	for _, p := range l.(*api.PodList).Items {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

// seedPods creates pods p0..p9 in "a" (even ones labelled tier=web, those
// from p5 on bound to node n1) and q0 in "b".
func seedPods(t *testing.T, pods *registry.Registry) {
	t.Helper()
	ctx := context.Background()
	for i := range 10 {
		p := pod("a", fmt.Sprintf("p%d", i), nil)
		if i%2 == 0 {
			p.Labels = map[string]string{"tier": "web"}
		}
		if i >= 5 {
			p.Spec.NodeName = "n1"
		}
		_, err := pods.Create(ctx, p, registry.CreateOptions{})
		require.NoError(t, err)
	}
	_, err := pods.Create(ctx, pod("b", "q0", map[string]string{"tier": "web"}), registry.CreateOptions{})
	require.NoError(t, err)
}

func TestListSelectors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	seedPods(t, pods)
	web, err := labels.Parse("tier=web")
	require.NoError(t, err)
	tests := []struct {
		name string
		ns   string
		opts registry.ListOptions
		want string
	}{
		{"all", "", registry.ListOptions{}, "a/p0 a/p1 a/p2 a/p3 a/p4 a/p5 a/p6 a/p7 a/p8 a/p9 b/q0"},
		{"namespace", "b", registry.ListOptions{}, "b/q0"},
		{"labels", "", registry.ListOptions{LabelSelector: web}, "a/p0 a/p2 a/p4 a/p6 a/p8 b/q0"},
		{"node", "a", registry.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "n1")}, "a/p5 a/p6 a/p7 a/p8 a/p9"},
		{"name", "", registry.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "p3")}, "a/p3"},
		{"namespace field", "", registry.ListOptions{FieldSelector: fields.OneTermNotEqualSelector("metadata.namespace", "a")}, "b/q0"},
		{"labels and fields", "", registry.ListOptions{LabelSelector: web, FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "")}, "a/p0 a/p2 a/p4 b/q0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := pods.List(ctx, tt.ns, tt.opts)
			require.NoError(t, err)
			require.Equal(t, tt.want, strings.Join(names(l), " "))
			require.Equal(t, "PodList", l.GetTypeMeta().Kind)
			require.NotEmpty(t, l.GetListMeta().ResourceVersion)
			require.Empty(t, l.GetListMeta().Continue)
		})
	}
}

func TestListErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	nss := e.registry(t, namespaceGVK, registry.Options{})
	seedPods(t, pods)
	tests := []struct {
		name   string
		reg    *registry.Registry
		ns     string
		opts   registry.ListOptions
		reason api.StatusReason
		code   int
	}{
		{"unsupported field", pods, "", registry.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.hostname", "x")}, api.StatusReasonBadRequest, http.StatusBadRequest},
		{"pod field on namespaces", nss, "", registry.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "x")}, api.StatusReasonBadRequest, http.StatusBadRequest},
		{"namespace on cluster kind", nss, "a", registry.ListOptions{}, api.StatusReasonBadRequest, http.StatusBadRequest},
		{"bad resourceVersion", pods, "", registry.ListOptions{ResourceVersion: "-1"}, api.StatusReasonBadRequest, http.StatusBadRequest},
		{"bad match", pods, "", registry.ListOptions{ResourceVersion: "1", ResourceVersionMatch: "Newest"}, api.StatusReasonBadRequest, http.StatusBadRequest},
		{"match without version", pods, "", registry.ListOptions{ResourceVersionMatch: registry.MatchExact}, api.StatusReasonBadRequest, http.StatusBadRequest},
		{"bad continue", pods, "", registry.ListOptions{Continue: "!!!"}, api.StatusReasonBadRequest, http.StatusBadRequest},
		{"future", pods, "", registry.ListOptions{ResourceVersion: "1000"}, api.StatusReasonTimeout, http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.reg.List(ctx, tt.ns, tt.opts)
			requireStatus(t, err, tt.reason, tt.code)
		})
	}
}

func TestListPaging(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	seedPods(t, pods)
	web, err := labels.Parse("tier=web")
	require.NoError(t, err)

	// Limit counts matching items; pages are read at the first page's
	// revision even while writes happen.
	var got []string
	opts := registry.ListOptions{LabelSelector: web, Limit: 2}
	var rv string
	for page := 0; ; page++ {
		l, err := pods.List(ctx, "", opts)
		require.NoError(t, err)
		require.LessOrEqual(t, len(names(l)), 2)
		if rv == "" {
			rv = l.GetListMeta().ResourceVersion
		}
		require.Equal(t, rv, l.GetListMeta().ResourceVersion)
		got = append(got, names(l)...)
		// A write between pages is not seen.
		_, err = pods.Create(ctx, pod("a", fmt.Sprintf("p%d-new", page), map[string]string{"tier": "web"}), registry.CreateOptions{})
		require.NoError(t, err)
		if l.GetListMeta().Continue == "" {
			break
		}
		opts.Continue = l.GetListMeta().Continue
	}
	require.Equal(t, "a/p0 a/p2 a/p4 a/p6 a/p8 b/q0", strings.Join(got, " "))

	// Exact reads at an old revision.
	l, err := pods.List(ctx, "", registry.ListOptions{LabelSelector: web, ResourceVersion: rv, ResourceVersionMatch: registry.MatchExact})
	require.NoError(t, err)
	require.Len(t, names(l), 6)
	l, err = pods.List(ctx, "", registry.ListOptions{LabelSelector: web, ResourceVersion: rv})
	require.NoError(t, err)
	require.Greater(t, len(names(l)), 6, "NotOlderThan reads the latest state")

	// An exact limit leaves no continue token.
	l, err = pods.List(ctx, "b", registry.ListOptions{Limit: 1})
	require.NoError(t, err)
	require.Empty(t, l.GetListMeta().Continue)
}

func TestListCompacted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pods := e.registry(t, podGVK, registry.Options{})
	seedPods(t, pods)
	l, err := pods.List(ctx, "a", registry.ListOptions{Limit: 3})
	require.NoError(t, err)
	tok := l.GetListMeta().Continue
	require.NotEmpty(t, tok)
	rv := l.GetListMeta().ResourceVersion
	_, err = pods.Create(ctx, pod("a", "later", nil), registry.CreateOptions{})
	require.NoError(t, err)
	rev, err := e.st.Revision(ctx)
	require.NoError(t, err)
	require.NoError(t, e.st.Compact(ctx, rev))

	_, err = pods.List(ctx, "a", registry.ListOptions{Limit: 3, Continue: tok})
	requireStatus(t, err, api.StatusReasonExpired, http.StatusGone)
	_, err = pods.List(ctx, "a", registry.ListOptions{ResourceVersion: rv, ResourceVersionMatch: registry.MatchExact})
	requireStatus(t, err, api.StatusReasonExpired, http.StatusGone)
	// A token of another namespace's list is refused.
	_, err = pods.List(ctx, "b", registry.ListOptions{Continue: tok})
	requireStatus(t, err, api.StatusReasonBadRequest, http.StatusBadRequest)
}

func TestListUserFields(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	widgets := e.registry(t, widgetGVK, registry.Options{Fields: map[api.GroupVersionKind]registry.FieldsFunc{
		widgetGVK: func(o api.Object) fields.Set { return fields.Set{"spec.size": fmt.Sprint(o.(*Widget).Spec.Size)} },
	}})
	for i := range 3 {
		_, err := widgets.Create(ctx, &Widget{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("w%d", i)}, Spec: WidgetSpec{Size: int32(i)}}, registry.CreateOptions{})
		require.NoError(t, err)
	}
	l, err := widgets.List(ctx, "default", registry.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.size", "2")})
	require.NoError(t, err)
	items := l.(*api.List[Widget]).Items
	require.Len(t, items, 1)
	require.Equal(t, "w2", items[0].Name)
	require.NotEmpty(t, items[0].ResourceVersion)
}
