package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/store/memstore"
)

// TestKubectlTop runs kubectl top nodes and kubectl top pods against an
// API server whose node n1 has a fake node agent serving GET
// /stats/summary over TLS: kubectl finds metrics.k8s.io in discovery,
// reads NodeMetrics and PodMetrics, and divides by the nodes'
// allocatable.
//
// Against drover up (DROVER_E2E_TARGET=up) it runs kubectlTopUp instead.
func TestKubectlTop(t *testing.T) {
	if target == targetUp {
		kubectlTopUp(t)
		return
	}
	var (
		mu sync.Mutex
		n  int
	)
	agent := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * 10 * time.Second).Format(time.RFC3339)
		n++
		mu.Unlock()
		ctr := func(name string, nanoCores, ws uint64) string {
			return fmt.Sprintf(`{"name":%q,"cpu":{"time":%q,"usageNanoCores":%d},"memory":{"time":%q,"workingSetBytes":%d}}`, name, at, nanoCores, at, ws)
		}
		fmt.Fprintf(w, `{"node":{"nodeName":"n1","cpu":{"time":%q,"usageNanoCores":500000000},"memory":{"time":%q,"workingSetBytes":%d}},"pods":[`+
			`{"podRef":{"namespace":"default","name":"web"},"containers":[%s,%s]}]}`,
			at, at, 1<<30, ctr("app", 100e6, 64<<20), ctr("sidecar", 5e6, 16<<20))
	}))
	defer agent.Close()

	st, err := memstore.New(memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := apiserver.New(apiserver.Config{Store: st, Scheme: api.NewDefaultScheme(), Logger: slog.New(slog.DiscardHandler),
		Kubelet: apiserver.KubeletConfig{Transport: agent.Client().Transport}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := writeKubeconfig(kc, hs.URL); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Host: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	u, _ := url.Parse(agent.URL)
	port, _ := strconv.Atoi(u.Port())
	if err := c.Create(ctx, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}}); err != nil {
		t.Fatal(err)
	}
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}
	if err := c.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []api.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	node.Status.Capacity = api.ResourceList{api.ResourceCPU: resource.MustParse("4"), api.ResourceMemory: resource.MustParse("8Gi")}
	node.Status.Allocatable = api.ResourceList{api.ResourceCPU: resource.MustParse("4"), api.ResourceMemory: resource.MustParse("8Gi")}
	if err := c.UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: api.PodSpec{NodeName: "n1", Containers: []api.Container{{Name: "app", Image: "busybox"}, {Name: "sidecar", Image: "busybox"}}}}
	if err := c.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}

	check := func(res result, re string) {
		t.Helper()
		if res.code != 0 {
			t.Fatalf("%s", res)
		}
		wantMatch(t, res.stdout, re)
	}
	check(kubectlAt(t, kc, "", "api-resources", "--api-group=metrics.k8s.io"), `(?m)^nodes\s+metrics.k8s.io/v1beta1\s+false\s+NodeMetrics$`)
	check(kubectlAt(t, kc, "", "api-resources", "--api-group=metrics.k8s.io"), `(?m)^pods\s+metrics.k8s.io/v1beta1\s+true\s+PodMetrics$`)
	// 500m of 4 cores, 1Gi of 8Gi.
	check(kubectlAt(t, kc, "", "top", "nodes"), `(?m)^n1\s+500m\s+12%\s+1024Mi\s+12%\s*$`)
	check(kubectlAt(t, kc, "", "top", "node", "n1"), `(?m)^n1\s+500m\s+12%\s+1024Mi\s+12%\s*$`)
	check(kubectlAt(t, kc, "", "top", "pods"), `(?m)^web\s+105m\s+80Mi\s*$`)
	check(kubectlAt(t, kc, "", "top", "pods", "-l", "app=web", "--containers"), `(?m)^web\s+sidecar\s+5m\s+16Mi\s*$`)
	check(kubectlAt(t, kc, "", "top", "pod", "web", "-n", "default"), `(?m)^web\s+105m\s+80Mi\s*$`)
}

// kubectlTopUp is TestKubectlTop against drover up: a pod web of two
// containers runs on the node's fake runtime, which reports 10m of CPU and
// 1 MiB of memory for each (its defaults); kubectl top reads them through
// metrics.k8s.io from the real node agent's /stats/summary. The agent
// reports a CPU rate from its second sample on: the first tries may find
// no metrics yet.
func kubectlTopUp(t *testing.T) {
	ns := newNamespace(t)
	cs := clientset(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "infinity"}},
			{Name: "sidecar", Image: "busybox:1.36", Command: []string{"sleep", "infinity"}},
		}},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func(ctx context.Context) (bool, string) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return podReady(p), fmt.Sprintf("pod web is %s, not Ready: %+v", p.Status.Phase, p.Status.Conditions)
	})
	nodes, err := cs.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 1 {
		t.Fatalf("list nodes: %v, %v; want drover up's one node", nodes, err)
	}
	node := nodes.Items[0].Name

	check := func(args []string, re string) {
		t.Helper()
		var last result
		eventually(t, func(context.Context) (bool, string) {
			last = kubectl(t, args...)
			return last.code == 0 && regexp.MustCompile(re).MatchString(last.stdout),
				fmt.Sprintf("kubectl %s: %s\nwant stdout matching %q", strings.Join(args, " "), last, re)
		})
	}
	check([]string{"api-resources", "--api-group=metrics.k8s.io"}, `(?m)^pods\s+metrics.k8s.io/v1beta1\s+true\s+PodMetrics$`)
	// The node's usage is the host's: any numbers.
	check([]string{"top", "nodes"}, `(?m)^`+regexp.QuoteMeta(node)+`\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%\s*$`)
	check([]string{"top", "pods", "-n", ns}, `(?m)^web\s+(19|20|21)m\s+2Mi\s*$`)
	check([]string{"top", "pods", "-n", ns, "-l", "app=web", "--containers"}, `(?m)^web\s+sidecar\s+(9|10|11)m\s+1Mi\s*$`)
}
