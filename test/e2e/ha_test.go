package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// haTimeout bounds each wait of TestHAKillLeader for the cluster to reach
// a state (members joined, pods Running).
const haTimeout = time.Minute

// haFailoverBound is how soon after the leader is killed the surviving
// members must answer reads and writes, elect a leader and run the
// controllers there: a few Raft election timeouts (1 s each).
const haFailoverBound = 10 * time.Second

// haProc is a `drover server` or `drover agent` process of TestHAKillLeader.
type haProc struct {
	name   string
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{} // closed once the process has exited
	err    error         // how it exited, once exited is closed
}

// startHAProc runs bin with args. When the test ends, a process still
// running gets SIGTERM, then SIGKILL if it has not exited 15 s later.
func startHAProc(t *testing.T, name, bin string, args ...string) *haProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &haProc{name: name, cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.hasExited() {
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			t.Errorf("%s still runs 15s after SIGTERM; killing it", name)
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// hasExited reports whether the process has exited.
func (p *haProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// raftNoise matches the log lines a leader writes for each heartbeat to a
// member that is gone: many, and never the reason for a failure.
var raftNoise = regexp.MustCompile(`failed to (heartbeat|appendEntries) to`)

// tail returns the last n lines of the process's output but raftNoise.
func (p *haProc) tail(n int) string {
	var lines []string
	skipped := 0
	for l := range strings.Lines(p.out.String()) {
		if raftNoise.MatchString(l) {
			skipped++
			continue
		}
		lines = append(lines, l)
	}
	lines = lines[max(0, len(lines)-n):]
	return fmt.Sprintf("(%d lines about heartbeats to a gone member left out)\n%s", skipped, strings.Join(lines, ""))
}

// haMember is a control-plane member of TestHAKillLeader.
type haMember struct {
	name, apiAddr, raftAddr, dataDir string
	proc                             *haProc
	cs                               *kubernetes.Clientset
}

func (m *haMember) url() string { return "http://" + m.apiAddr }

// isLeaderMetric is the store's gauge, on /metrics, that says whether a
// member is the Raft leader.
var isLeaderMetric = regexp.MustCompile(`(?m)^drover_raftstore_is_leader\{member="([^"]+)"\} (\S+)$`)

// leading reports whether the member is the Raft leader, from its
// drover_raftstore_is_leader gauge.
func (m *haMember) leading(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url()+"/metrics", nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%s /metrics: %s", m.name, resp.Status)
	}
	g := isLeaderMetric.FindSubmatch(body)
	if g == nil || string(g[1]) != m.name {
		return false, fmt.Errorf("%s /metrics has no drover_raftstore_is_leader{member=%q}", m.name, m.name)
	}
	return string(g[2]) == "1", nil
}

// ready checks the member's /readyz: it answers once its store member has
// a leader and has caught up with it.
func (m *haMember) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url()+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s /readyz: %s: %s", m.name, resp.Status, body)
	}
	return nil
}

// haLeaders returns the members that say they lead, failing the test if a
// process exited.
func haLeaders(t *testing.T, ms []*haMember) ([]*haMember, error) {
	t.Helper()
	var out []*haMember
	for _, m := range ms {
		if m.proc.hasExited() {
			t.Fatalf("%s exited: %v", m.name, m.proc.err)
		}
		lead, err := m.leading(t.Context())
		if err != nil {
			return nil, err
		}
		if lead {
			out = append(out, m)
		}
	}
	return out, nil
}

// haWorkload checks that Deployment web has want replicas, all ready, and
// want pods Running and ready on node, and returns the pods' UIDs.
func haWorkload(ctx context.Context, cs *kubernetes.Clientset, node string, want int32) (map[types.UID]bool, error) {
	d, err := cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	s := d.Status
	if s.ObservedGeneration < d.Generation || s.Replicas != want || s.ReadyReplicas != want || s.UpdatedReplicas != want {
		return nil, fmt.Errorf("Deployment web: generation %d observed %d, %d replicas, %d ready, %d updated; want %d of each",
			d.Generation, s.ObservedGeneration, s.Replicas, s.ReadyReplicas, s.UpdatedReplicas, want)
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		return nil, err
	}
	uids := map[types.UID]bool{}
	var states []string
	for _, p := range pods.Items {
		states = append(states, fmt.Sprintf("%s on %q: %s ready=%v", p.Name, p.Spec.NodeName, p.Status.Phase, podReady(&p)))
		if p.Spec.NodeName == node && p.Status.Phase == corev1.PodRunning && podReady(&p) && p.DeletionTimestamp == nil {
			uids[p.UID] = true
		}
	}
	if len(pods.Items) != int(want) || len(uids) != int(want) {
		return nil, fmt.Errorf("want %d pods Running and ready on %s, have: %s", want, node, strings.Join(states, "; "))
	}
	return uids, nil
}

// TestHAKillLeader runs a highly available control plane of three `drover
// server` processes and one `drover agent`, kills the leading member with
// SIGKILL, and checks that the two others keep answering reads and writes
// within haFailoverBound, that the scheduler and the controllers move to
// the new leader (a scale-up gets its pod scheduled and Running) and that
// the workload stays as declared (the same pods, Running and ready).
//
// The agent runs `--runtime fake`: its pods are simulated (nothing is
// pulled or started), which is enough here, where the point is the
// control plane's failover, and runs anywhere (CI has no internet).
//
// `drover agent` talks to the one API server of --server: killing that
// member would cut the agent off until it is restarted with another
// (agents need a load balancer in front of the members, or a DNS name
// with their addresses). So the agent talks to a member that does not
// lead, and the test kills the leader.
func TestHAKillLeader(t *testing.T) {
	ownDroverProcesses(t)
	tmp := t.TempDir()
	bin := buildDrover(t, tmp)
	const token = "ha-e2e-kubelet-token"
	var procs []*haProc
	// Registered first, so it runs last: after the processes stopped,
	// with their last words.
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				t.Logf("--- %s, the end of its output:\n%s", p.name, p.tail(60))
			}
		}
	})

	members := make([]*haMember, 3)
	for i := range members {
		m := &haMember{
			name:     fmt.Sprintf("cp-%d", i+1),
			apiAddr:  freeLoopbackAddr(t),
			raftAddr: freeLoopbackAddr(t),
		}
		m.dataDir = filepath.Join(tmp, m.name)
		rc := &rest.Config{
			Host:    m.url(),
			QPS:     200,
			Burst:   400,
			Timeout: 3 * time.Second, // one attempt may hang while there is no leader
		}
		rc.ContentType = "application/json" // Drover serves JSON only
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		m.cs = cs
		members[i] = m
	}
	begin := time.Now()
	for i, m := range members {
		args := []string{"server", "--name", m.name, "--data-dir", m.dataDir,
			"--api-addr", m.apiAddr, "--raft-addr", m.raftAddr, "--kubelet-token", token}
		if i == 0 {
			args = append(args, "--bootstrap")
		} else {
			args = append(args, "--join", members[0].raftAddr)
		}
		m.proc = startHAProc(t, m.name, bin, args...)
		procs = append(procs, m.proc)
	}

	// All three are members (a member prints "serves the API" once it has
	// joined), all ready, and one leads.
	var leader *haMember
	err := pollUntil(haTimeout, func() error {
		for _, m := range members {
			if !strings.Contains(m.proc.out.String(), "Member "+m.name+" serves the API") {
				return fmt.Errorf("%s has not joined yet", m.name)
			}
			if err := m.ready(t.Context()); err != nil {
				return err
			}
		}
		ls, err := haLeaders(t, members)
		if err != nil {
			return err
		}
		if len(ls) != 1 {
			return fmt.Errorf("%d members say they lead, want 1", len(ls))
		}
		leader = ls[0]
		return nil
	})
	if err != nil {
		t.Fatalf("the three members did not form a cluster within %v: %v", haTimeout, err)
	}
	t.Logf("three members joined and ready in %v; %s leads", time.Since(begin).Round(time.Millisecond), leader.name)

	// The agent talks to a member that does not lead.
	var agentMember *haMember
	for _, m := range members {
		if m != leader {
			agentMember = m
			break
		}
	}
	const node = "node-1"
	agent := startHAProc(t, "agent "+node, bin, "agent", "--server", agentMember.url(),
		"--data-dir", filepath.Join(tmp, node), "--name", node, "--runtime", "fake",
		"--kubelet-addr", freeLoopbackAddr(t), "--kubelet-token", token)
	procs = append(procs, agent)
	err = pollUntil(haTimeout, func() error {
		if agent.hasExited() {
			t.Fatalf("the agent exited: %v", agent.err)
		}
		n, err := members[0].cs.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("Node %s is not Ready", node)
	})
	if err != nil {
		t.Fatalf("the agent's Node is not Ready within %v: %v", haTimeout, err)
	}

	// The Deployment, through member A (cp-1).
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "busybox", Command: []string{"sleep", "86400"},
				}}},
			},
		},
	}
	err = pollUntil(haTimeout, func() error {
		_, err := members[0].cs.AppsV1().Deployments("default").Create(t.Context(), dep, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) { // an earlier attempt timed out after it was committed
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("create Deployment web through %s: %v", members[0].name, err)
	}
	var before map[types.UID]bool
	err = pollUntil(haTimeout, func() (err error) {
		before, err = haWorkload(t.Context(), members[0].cs, node, replicas)
		return err
	})
	if err != nil {
		t.Fatalf("Deployment web is not ready within %v: %v", haTimeout, err)
	}

	// Kill the leader, as it is now.
	ls, err := haLeaders(t, members)
	if err != nil || len(ls) != 1 {
		t.Fatalf("the leaders now: %v (err %v), want one", ls, err)
	}
	leader = ls[0]
	if leader == agentMember {
		t.Fatalf("leadership moved to %s, the member the agent talks to: killing it would cut the agent off (drover agent takes one --server)", leader.name)
	}
	var survivors []*haMember
	for _, m := range members {
		if m != leader {
			survivors = append(survivors, m)
		}
	}
	// How many times each has started the scheduler (on each start of a
	// term): the new leader starts it once more.
	started := map[*haMember]int{}
	for _, m := range survivors {
		started[m] = strings.Count(m.proc.out.String(), "✓ scheduler started")
	}
	if err := leader.proc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-leader.proc.exited
	t.Logf("killed %s, the leader, with SIGKILL", leader.name)

	// Reads and writes through each survivor, and a new leader.
	since := map[string]time.Duration{}
	measure := func(what string, cond func() error) {
		t.Helper()
		if err := pollUntil(haTimeout, cond); err != nil {
			t.Fatalf("%s: not within %v of the kill: %v", what, haTimeout, err)
		}
		since[what] = time.Since(killed)
	}
	for _, s := range survivors {
		measure("read through "+s.name, func() error {
			_, err := s.cs.AppsV1().Deployments("default").Get(t.Context(), "web", metav1.GetOptions{})
			return err
		})
		measure("write through "+s.name, func() error {
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "ha-probe-", Namespace: "default"},
				Data:       map[string]string{"through": s.name},
			}
			_, err := s.cs.CoreV1().ConfigMaps("default").Create(t.Context(), cm, metav1.CreateOptions{})
			return err
		})
	}
	var newLeader *haMember
	measure("new Raft leader", func() error {
		ls, err := haLeaders(t, survivors)
		if err != nil {
			return err
		}
		if len(ls) != 1 {
			return fmt.Errorf("%d surviving members say they lead", len(ls))
		}
		newLeader = ls[0]
		return nil
	})
	measure("scheduler and controllers on the new leader", func() error {
		out := newLeader.proc.out.String()
		if strings.Count(out, "✓ scheduler started") <= started[newLeader] || !strings.Contains(out, "✓ controllers started") {
			return fmt.Errorf("%s has not started the scheduler and the controllers", newLeader.name)
		}
		return nil
	})
	var report []string
	for _, what := range slices.Sorted(maps.Keys(since)) {
		report = append(report, fmt.Sprintf("%s %v", what, since[what].Round(time.Millisecond)))
		if since[what] > haFailoverBound {
			t.Errorf("%s came %v after the kill, want within %v", what, since[what].Round(time.Millisecond), haFailoverBound)
		}
	}
	t.Logf("failover after SIGKILL of %s (new leader %s), time from the kill: %s", leader.name, newLeader.name, strings.Join(report, "; "))

	// The workload stays as declared: the same pods, Running and ready.
	after, err := haWorkload(t.Context(), agentMember.cs, node, replicas)
	if err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	if !maps.Equal(before, after) {
		t.Fatalf("the pods changed with the kill: before %v, after %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}

	// The new leader's controllers and scheduler work: scale to 4 through
	// a survivor, and the 4th pod is scheduled and Running.
	scaleVia := survivors[len(survivors)-1]
	err = pollUntil(haTimeout, func() error {
		_, err := scaleVia.cs.AppsV1().Deployments("default").Patch(t.Context(), "web", types.MergePatchType,
			[]byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("scale Deployment web to 4 through %s: %v", scaleVia.name, err)
	}
	scaled := time.Now()
	var four map[types.UID]bool
	err = pollUntil(haTimeout, func() (err error) {
		four, err = haWorkload(t.Context(), survivors[0].cs, node, 4)
		return err
	})
	if err != nil {
		t.Fatalf("after scaling to 4 through %s: %v", scaleVia.name, err)
	}
	for uid := range before {
		if !four[uid] {
			t.Errorf("pod %s went away with the scale-up", uid)
		}
	}
	t.Logf("scaled to 4 through %s: the 4th pod Running and ready %v later", scaleVia.name, time.Since(scaled).Round(time.Millisecond))
	if errs := haMemberErrors(survivors); errs != nil {
		t.Error(errs)
	}
}

// haMemberErrors returns an error naming every member that exited.
func haMemberErrors(ms []*haMember) error {
	var errs []error
	for _, m := range ms {
		if m.proc.hasExited() {
			errs = append(errs, fmt.Errorf("%s exited: %v", m.name, m.proc.err))
		}
	}
	return errors.Join(errs...)
}
