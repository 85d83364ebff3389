package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster"
)

// config is what main passes to run.
type config struct {
	// DataDir holds the state of the three members (DataDir/member-N)
	// and of the two node agents (DataDir/agent-N).
	DataDir string
	// APIAddrs are the members' API server addresses (host:port), one
	// per member.
	APIAddrs []string
	// RaftAddrs are the members' store addresses (host:port), one per
	// member. The cluster records them: a second run on DataDir must give
	// the same ones.
	RaftAddrs []string
	// Runtime is the node agents' container runtime: fake, process or
	// oci.
	Runtime string
	// Image is the Deployment's image. The fake runtime has busybox only;
	// process and oci need it in each agent's image store.
	Image string
	// Replicas is the Deployment's spec.replicas.
	Replicas int32
	// KillLeader, if set, stops the leading member once the Deployment is
	// ready, shows the API answering through the others and the new
	// leader's controllers at work, then scales the Deployment by one.
	KillLeader bool
	// Once, if set, makes run return after the walk-through instead of
	// running until ctx ends.
	Once bool
	// Logger receives the components' log lines.
	Logger *slog.Logger
	// Out receives what the program says.
	Out io.Writer
}

// The shape of the cluster and the Deployment the program creates.
const (
	members   = 3
	agents    = 2
	namespace = "default"
	name      = "web"
)

// How long each stage may take before run gives up.
const (
	startTimeout    = time.Minute
	readyTimeout    = 2 * time.Minute
	failoverTimeout = 30 * time.Second
	pollInterval    = 50 * time.Millisecond
)

// run starts three control-plane members and two node agents on this
// machine, creates the Deployment, and, with KillLeader, stops the leader
// and shows the cluster carrying on. It returns when ctx ends (or after
// the walk-through, with Once), having stopped everything.
func run(ctx context.Context, cfg config) error {
	if len(cfg.APIAddrs) != members || len(cfg.RaftAddrs) != members {
		return fmt.Errorf("want %d API addresses and %d Raft addresses, one per member; have %d and %d",
			members, members, len(cfg.APIAddrs), len(cfg.RaftAddrs))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &ha{cfg: cfg, token: cluster.NewKubeletToken(), failed: make(chan error, members+agents)}
	h.say = func(format string, args ...any) {
		h.outMu.Lock()
		defer h.outMu.Unlock()
		fmt.Fprintf(cfg.Out, format+"\n", args...)
	}
	defer h.close()

	if err := h.startMembers(ctx); err != nil {
		return err
	}
	if err := h.startAgents(ctx); err != nil {
		return err
	}
	if err := h.deploy(ctx); err != nil {
		return err
	}
	if cfg.KillLeader {
		if err := h.killLeader(ctx); err != nil {
			return err
		}
	}
	if !cfg.Once {
		h.say("running until interrupted (Ctrl-C)")
		select {
		case <-ctx.Done():
			h.say("stopping")
		case err := <-h.failed:
			return err
		}
	}
	return h.close()
}

// ha is the running cluster: its members, their clients and the node
// agents.
type ha struct {
	cfg   config
	token string // the node agents' bearer token, sent by every member

	outMu sync.Mutex
	say   func(format string, args ...any)

	cps      []*cluster.ControlPlane
	clients  []*client.Client // one per member, over HTTP, one attempt per call
	stopped  [members]atomic.Bool
	replicas int32  // the Deployment's spec.replicas, as this program set it
	lastLine string // the last summary waitReady printed

	agentCancel context.CancelFunc
	wg          sync.WaitGroup
	failed      chan error // a member or node agent stopped on its own
	closing     atomic.Bool
	closeOnce   sync.Once
	closeErr    error
}

// memberName names member i (from 0): member-1, member-2, member-3.
func memberName(i int) string { return fmt.Sprintf("member-%d", i+1) }

// startMembers starts the three members at once, member-1 bootstrapping
// the cluster and the others joining it (on a second run, they all find
// their state and elect a leader), and makes a client of each.
func (h *ha) startMembers(ctx context.Context) error {
	cfg := h.cfg
	for i := range members {
		mname := memberName(i)
		mc := cluster.DefaultControlPlaneConfig(filepath.Join(cfg.DataDir, mname))
		mc.Name = mname
		mc.APIAddr, mc.RaftAddr = cfg.APIAddrs[i], cfg.RaftAddrs[i]
		if i > 0 {
			mc.Bootstrap, mc.Join = false, []string{cfg.RaftAddrs[0]}
		}
		// The API servers reach the node agents (logs, exec, top) with
		// their token; the agents' certificates are self-signed until
		// the cluster has its own CA.
		mc.Kubelet = cluster.UnverifiedKubeletConfig(h.token)
		mc.Logger = cfg.Logger.With("member", mname)
		mc.OnProgress = func(p cluster.Progress) {
			h.say("%s: %s (%v)", mname, p.Step, p.Elapsed.Round(time.Millisecond))
		}
		cp, err := cluster.NewControlPlane(mc)
		if err != nil {
			return err
		}
		h.cps = append(h.cps, cp)
	}

	sctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	errs := make([]error, members)
	var wg sync.WaitGroup
	for i, cp := range h.cps {
		wg.Go(func() {
			if err := cp.Start(sctx); err != nil {
				errs[i] = fmt.Errorf("start %s: %w", memberName(i), err)
				cancel() // the others would wait for it in vain
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, cp := range h.cps {
		h.wg.Go(func() {
			<-cp.Done()
			if !h.closing.Load() && !h.stopped[i].Load() {
				h.report(fmt.Errorf("%s stopped: %v", memberName(i), cp.Wait()))
			}
		})
	}

	for i, cp := range h.cps {
		h.say("%s: API server %s; export KUBECONFIG=%s", memberName(i), cp.URL(), cp.KubeconfigPath())
		kc, err := client.LoadKubeconfig(cp.KubeconfigPath(), "")
		if err != nil {
			return err
		}
		// One short attempt per call: each call says whether this member
		// answered, and the program polls.
		kc.Timeout = 2 * time.Second
		kc.Retry.MaxAttempts = 1
		kc.UserAgent = "examples-ha"
		c, err := client.New(kc)
		if err != nil {
			return err
		}
		h.clients = append(h.clients, c)
	}
	return nil
}

// startAgents starts the two node agents, agent-1 talking to member-2
// first and agent-2 to member-3, each going on to the next member when
// its own stops answering, and waits until both Nodes are Ready.
func (h *ha) startAgents(ctx context.Context) error {
	cfg := h.cfg
	var urls []string
	for _, cp := range h.cps {
		urls = append(urls, cp.URL())
	}
	actx, cancel := context.WithCancel(context.Background())
	h.agentCancel = cancel
	registered := make(chan string, agents)
	for j := range agents {
		aname := fmt.Sprintf("agent-%d", j+1)
		nc := cluster.DefaultNodeConfig(filepath.Join(cfg.DataDir, aname))
		nc.Name, nc.Runtime = aname, cfg.Runtime
		nc.KubeletAddr = "127.0.0.1:0" // a free port; the Node reports it
		nc.KubeletToken = h.token
		nc.Logger = cfg.Logger.With("node", aname)
		node, err := cluster.NewNode(nc)
		if err != nil {
			return err
		}
		order := append(slices.Clone(urls[j+1:]), urls[:j+1]...)
		ft, err := newFailover(order, nil)
		if err != nil {
			_ = node.Close()
			return err
		}
		c, err := client.New(client.Config{Host: order[0], Transport: ft, UserAgent: "drover-agent/" + aname})
		if err != nil {
			_ = node.Close()
			return err
		}
		h.say("%s: node agent (runtime %s) on %s, API servers %s, the first that answers",
			aname, cfg.Runtime, node.Addr(), strings.Join(order, ", "))
		h.wg.Go(func() {
			err := node.Run(actx, c, func() {
				select {
				case registered <- aname:
				default:
				}
			})
			if err != nil && actx.Err() == nil {
				h.report(fmt.Errorf("%s: %w", aname, err))
			}
		})
	}

	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	for ready := 0; ready < agents; {
		select {
		case aname := <-registered:
			h.say("%s: Node registered and Ready", aname)
			ready++
		case err := <-h.failed:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("the node agents did not register within %v (run with --log-level info to see why)", startTimeout)
		}
	}
	return nil
}

// report hands a failure to run, without blocking.
func (h *ha) report(err error) {
	select {
	case h.failed <- err:
	default:
	}
}

// deploy creates the Deployment through member-1, unless it exists from
// an earlier run, and waits until its pods are Running and ready.
func (h *ha) deploy(ctx context.Context) error {
	cfg := h.cfg
	labels := map[string]string{"app": name}
	replicas := cfg.Replicas
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: namespace, Name: name},
		Spec: api.DeploymentSpec{
			Replicas: &replicas,
			Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{
				ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec: api.PodSpec{Containers: []api.Container{{
					Name:    "web",
					Image:   cfg.Image,
					Command: []string{"sleep", "86400"},
				}}},
			},
		},
	}
	err := poll(ctx, startTimeout, func() error {
		err := h.clients[0].Create(ctx, d)
		if api.IsAlreadyExists(err) {
			h.say("deployment %s/%s exists already (from an earlier run on this data directory)", namespace, name)
			var cur api.Deployment
			if err := h.clients[0].Get(ctx, namespace, name, &cur); err != nil {
				return err
			}
			if cur.Spec.Replicas != nil {
				replicas = *cur.Spec.Replicas
			}
			return nil
		}
		if err == nil {
			h.say("deployment %s/%s created through %s: %d replicas of %s", namespace, name, memberName(0), replicas, cfg.Image)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create deployment %s/%s: %w", namespace, name, err)
	}
	h.replicas = replicas
	_, err = h.waitReady(ctx, replicas)
	return err
}

// waitReady polls, through a member that runs, until the Deployment has
// observed its spec and has want pods, all Running and ready, printing a
// line each time the picture changes. It returns the pods' UIDs.
func (h *ha) waitReady(ctx context.Context, want int32) (map[string]bool, error) {
	var uids map[string]bool
	err := poll(ctx, readyTimeout, func() error {
		c := h.live()
		var d api.Deployment
		if err := c.Get(ctx, namespace, name, &d); err != nil {
			return err
		}
		var pods api.PodList
		if err := c.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{"app": name}); err != nil {
			return err
		}
		line, ready := summary(&d, pods.Items)
		if line != h.lastLine {
			h.say("%s", line)
			h.lastLine = line
		}
		switch {
		case d.Status.ObservedGeneration < d.Generation:
			return errors.New("the deployment controller has not seen the last change")
		case d.Status.ReadyReplicas != want || d.Status.UpdatedReplicas != want || len(pods.Items) != int(want) || len(ready) != int(want):
			return fmt.Errorf("not there yet: %s", line)
		}
		uids = ready
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s did not reach %d ready pods within %v: %w", namespace, name, want, readyTimeout, err)
	}
	return uids, nil
}

// live returns the client of the first member not stopped.
func (h *ha) live() *client.Client {
	for i, c := range h.clients {
		if !h.stopped[i].Load() {
			return c
		}
	}
	return h.clients[0]
}

// killLeader stops the member that leads, measures how soon the others
// answer reads and writes and one of them runs the controllers, checks
// that the Deployment kept its pods, and scales it by one through a
// surviving member.
func (h *ha) killLeader(ctx context.Context) error {
	leader := -1
	if err := poll(ctx, failoverTimeout, func() error {
		for i, cp := range h.cps {
			if cp.Leading() {
				leader = i
				return nil
			}
		}
		return errors.New("no member runs the controllers")
	}); err != nil {
		return err
	}
	var survivors []int
	for i := range members {
		if i != leader {
			survivors = append(survivors, i)
		}
	}
	before, err := h.waitReady(ctx, h.replicas)
	if err != nil {
		return err
	}
	lname := memberName(leader)
	h.say("%s leads: it is the store's Raft leader and runs the scheduler and the controllers; stopping it", lname)
	begin := time.Now()
	h.stopped[leader].Store(true)
	if err := h.cps[leader].Close(); err != nil {
		return fmt.Errorf("stop %s: %w", lname, err)
	}
	h.say("%s stopped (%v); %d of %d members run, a majority", lname, ms(time.Since(begin)), len(survivors), members)

	for _, s := range survivors {
		err := poll(ctx, failoverTimeout, func() error {
			var d api.Deployment
			return h.clients[s].Get(ctx, namespace, name, &d)
		})
		if err != nil {
			return fmt.Errorf("%s does not answer reads %v after %s stopped: %w", memberName(s), failoverTimeout, lname, err)
		}
		h.say("%s answers reads, %v after the stop began", memberName(s), ms(time.Since(begin)))
	}
	w := survivors[0]
	err = poll(ctx, failoverTimeout, func() error {
		cm := &api.ConfigMap{
			ObjectMeta: api.ObjectMeta{Namespace: namespace, GenerateName: "ha-probe-"},
			Data:       map[string]string{"written-through": memberName(w)},
		}
		if err := h.clients[w].Create(ctx, cm); err != nil {
			return err
		}
		_ = h.clients[w].Delete(ctx, cm)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s does not answer writes %v after %s stopped: %w", memberName(w), failoverTimeout, lname, err)
	}
	h.say("%s answers writes, %v after the stop began", memberName(w), ms(time.Since(begin)))
	newLeader := -1
	err = poll(ctx, failoverTimeout, func() error {
		for _, s := range survivors {
			if h.cps[s].Leading() {
				newLeader = s
				return nil
			}
		}
		return errors.New("no surviving member runs the controllers")
	})
	if err != nil {
		return fmt.Errorf("no member took over the controllers %v after %s stopped: %w", failoverTimeout, lname, err)
	}
	h.say("%s leads now: its scheduler and controllers run, %v after the stop began", memberName(newLeader), ms(time.Since(begin)))

	after, err := h.waitReady(ctx, h.replicas)
	if err != nil {
		return err
	}
	if !maps.Equal(before, after) {
		return fmt.Errorf("deployment %s/%s: its pods changed while the leader stopped: before %v, after %v",
			namespace, name, slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
	h.say("deployment %s/%s kept its %d pods, Running and ready: none was replaced", namespace, name, h.replicas)

	s := survivors[len(survivors)-1]
	h.replicas++
	err = poll(ctx, failoverTimeout, func() error {
		_, err := h.clients[s].Scale(ctx, &api.Deployment{ObjectMeta: api.ObjectMeta{Namespace: namespace, Name: name}}, h.replicas)
		return err
	})
	if err != nil {
		return fmt.Errorf("scale deployment %s/%s through %s: %w", namespace, name, memberName(s), err)
	}
	h.say("deployment %s/%s scaled to %d through %s", namespace, name, h.replicas, memberName(s))
	if _, err := h.waitReady(ctx, h.replicas); err != nil {
		return err
	}
	h.say("the new leader's controllers and scheduler placed pod %d: the cluster carries on with %d members", h.replicas, len(survivors))
	return nil
}

// close stops the node agents, then the members. It is safe to call more
// than once and returns the first failure.
func (h *ha) close() error {
	h.closeOnce.Do(func() {
		h.closing.Store(true)
		if h.agentCancel != nil {
			h.agentCancel()
		}
		errs := make([]error, len(h.cps))
		var wg sync.WaitGroup
		for i, cp := range h.cps {
			wg.Go(func() {
				if err := cp.Close(); err != nil && !h.stopped[i].Load() {
					errs[i] = fmt.Errorf("%s: %w", memberName(i), err)
				}
			})
		}
		wg.Wait()
		h.wg.Wait()
		h.closeErr = errors.Join(errs...)
	})
	return h.closeErr
}

// summary is one line on the Deployment d and its pods, and the UIDs of
// the pods Running and ready.
func summary(d *api.Deployment, pods []api.Pod) (string, map[string]bool) {
	var b strings.Builder
	want := int32(0)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	fmt.Fprintf(&b, "deployment %s: %d/%d ready", d.Name, d.Status.ReadyReplicas, want)
	byNode := map[string]map[string]int{}
	ready := map[string]bool{}
	for _, p := range pods {
		node := p.Spec.NodeName
		if node == "" {
			node = "no node"
		}
		state := string(p.Status.Phase)
		if state == "" {
			state = string(api.PodPending)
		}
		if p.DeletionTimestamp != nil {
			state = "Terminating"
		} else if p.Status.Phase == api.PodRunning && podReady(&p) {
			state = "Running and ready"
			ready[string(p.UID)] = true
		}
		if byNode[node] == nil {
			byNode[node] = map[string]int{}
		}
		byNode[node][state]++
	}
	b.WriteString("; pods:")
	if len(pods) == 0 {
		b.WriteString(" none")
	}
	for i, node := range slices.Sorted(maps.Keys(byNode)) {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s", node)
		for _, state := range slices.Sorted(maps.Keys(byNode[node])) {
			fmt.Fprintf(&b, " %d %s", byNode[node][state], state)
		}
	}
	return b.String(), ready
}

// podReady reports whether p's Ready condition is True.
func podReady(p *api.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == api.PodReady {
			return c.Status == api.ConditionTrue
		}
	}
	return false
}

// poll calls cond every pollInterval until it returns nil, within has
// passed or ctx ends, and then returns cond's last error.
func poll(ctx context.Context, within time.Duration, cond func() error) error {
	deadline := time.Now().Add(within)
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// ms rounds d to the millisecond, for printing.
func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
