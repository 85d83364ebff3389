package verbs

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/client"
)

// errMetricsNotReady is kubectl top's message when the metrics API
// answers but has nothing yet (the node agents have not been sampled, or
// do not answer).
var errMetricsNotReady = errors.New("metrics not available yet")

// errNoMetricsAPI is the error when the server does not serve
// metrics.k8s.io (kubectl says "Metrics API not available").
var errNoMetricsAPI = errors.New("the metrics API (metrics.k8s.io) is not available on this server: top needs a Drover API server, or metrics-server on Kubernetes")

type topOpts struct {
	conn
	selector string
	sortBy   string
	noHeader bool
}

func newTop() *cobra.Command {
	o := &topOpts{}
	cmd := &cobra.Command{
		Use:   "top SUBCOMMAND",
		Short: "Show the CPU and memory use of nodes or pods",
		Long: "Show the CPU and memory use of nodes or pods, as the metrics API (metrics.k8s.io)\n" +
			"reports it from the node agents: CPU in millicores, memory (the working set) in MiB.",
	}
	o.addFlags(cmd)
	f := cmd.PersistentFlags()
	f.StringVarP(&o.selector, "selector", "l", "", "only the objects with these labels, such as app=web")
	f.StringVar(&o.sortBy, "sort-by", "", "sort by cpu or memory, the largest first")
	f.BoolVar(&o.noHeader, "no-headers", false, "leave out the header line")
	cmd.AddCommand(newTopNodes(o), newTopPods(o))
	return cmd
}

func newTopNodes(o *topOpts) *cobra.Command {
	return &cobra.Command{
		Use:     "node [NAME]",
		Aliases: []string{"nodes", "no"},
		Short:   "Show the CPU and memory use of nodes",
		Long: "Show the CPU and memory use of nodes, and their share of the nodes' allocatable\n" +
			"CPU and memory. A node whose agent did not answer shows <unknown>.",
		Example: "  drover top nodes\n  drover top node n1\n  drover top nodes -l zone=a --sort-by=memory",
		Args:    cobra.MaximumNArgs(1),
		RunE:    o.runNodes,
	}
}

type topPodOpts struct {
	*topOpts
	allNamespaces bool
	containers    bool
}

func newTopPods(parent *topOpts) *cobra.Command {
	o := &topPodOpts{topOpts: parent}
	cmd := &cobra.Command{
		Use:     "pod [NAME]",
		Aliases: []string{"pods", "po"},
		Short:   "Show the CPU and memory use of pods",
		Long:    "Show the CPU and memory use of pods, summed over their containers, or of each\ncontainer with --containers.",
		Example: "  drover top pods\n  drover top pods -A --sort-by=cpu\n  drover top pod web-5d9c7-x2x8z --containers",
		Args:    cobra.MaximumNArgs(1),
		RunE:    o.run,
	}
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "across all namespaces")
	cmd.Flags().BoolVar(&o.containers, "containers", false, "one line per container")
	return cmd
}

// checkSort validates --sort-by.
func (o *topOpts) checkSort() error {
	switch o.sortBy {
	case "", "cpu", "memory":
		return nil
	}
	return fmt.Errorf("--sort-by %q: use cpu or memory", o.sortBy)
}

func (o *topOpts) runNodes(cmd *cobra.Command, args []string) error {
	if err := o.checkSort(); err != nil {
		return err
	}
	if len(args) == 1 && o.selector != "" {
		return errors.New("give a node name or --selector, not both")
	}
	sel, err := parseSelector(o.selector)
	if err != nil {
		return err
	}
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	c := ctx(cmd)
	nodeKind := api.Kind{Resource: "nodes"}
	var (
		metrics []client.NodeMetrics
		nodes   []api.Node
	)
	if len(args) == 1 {
		var n api.Node
		if err := s.c.Get(c, "", args[0], &n); err != nil {
			return wrapGetErr(err, nodeKind, args[0])
		}
		nodes = []api.Node{n}
		m, err := s.c.NodeMetrics(c, args[0])
		switch {
		case api.IsNotFound(err):
			return errMetricsNotReady
		case err != nil:
			return err
		}
		metrics = []client.NodeMetrics{*m}
	} else {
		l, err := s.c.ListNodeMetrics(c, client.ListOptions{LabelSelector: sel})
		if err != nil {
			return metricsListErr(err)
		}
		if len(l.Items) == 0 {
			return errMetricsNotReady
		}
		metrics = l.Items
		var nl api.NodeList
		if err := s.c.List(c, &nl, client.ListOptions{LabelSelector: sel}); err != nil {
			return err
		}
		nodes = nl.Items
	}
	printNodeMetrics(s.out, metrics, nodes, o.sortBy, o.noHeader)
	return nil
}

// metricsListErr turns the 404 of a metrics list into errNoMetricsAPI.
func metricsListErr(err error) error {
	if api.IsNotFound(err) {
		return errNoMetricsAPI
	}
	return err
}

func (o *topPodOpts) run(cmd *cobra.Command, args []string) error {
	if err := o.checkSort(); err != nil {
		return err
	}
	if len(args) == 1 && o.selector != "" {
		return errors.New("give a pod name or --selector, not both")
	}
	if len(args) == 1 && o.allNamespaces {
		return errors.New("a pod name is in one namespace: give -n NAMESPACE rather than -A")
	}
	sel, err := parseSelector(o.selector)
	if err != nil {
		return err
	}
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	c := ctx(cmd)
	ns := s.namespace
	if o.allNamespaces {
		ns = ""
	}
	var metrics []client.PodMetrics
	if len(args) == 1 {
		m, err := s.c.PodMetrics(c, ns, args[0])
		switch {
		case api.IsNotFound(err):
			var p api.Pod
			if err := s.c.Get(c, ns, args[0], &p); err != nil {
				return wrapGetErr(err, api.Kind{Resource: "pods"}, args[0])
			}
			return errMetricsNotReady
		case err != nil:
			return err
		}
		metrics = []client.PodMetrics{*m}
	} else {
		l, err := s.c.ListPodMetrics(c, client.ListOptions{Namespace: ns, LabelSelector: sel})
		if err != nil {
			return metricsListErr(err)
		}
		if len(l.Items) == 0 {
			// kubectl's words: no pods at all, or pods not measured yet.
			var pods api.PodList
			if err := s.c.List(c, &pods, client.ListOptions{Namespace: ns, LabelSelector: sel, Limit: 1}); err != nil {
				return err
			}
			if len(pods.Items) > 0 {
				return errMetricsNotReady
			}
			if ns == "" {
				fmt.Fprintln(s.errw, "No resources found")
			} else {
				fmt.Fprintf(s.errw, "No resources found in %s namespace.\n", ns)
			}
			return nil
		}
		metrics = l.Items
	}
	printPodMetrics(s.out, metrics, o.allNamespaces, o.containers, o.sortBy, o.noHeader)
	return nil
}

// cpuCell is CPU in millicores, as kubectl top prints it: "250m".
func cpuCell(q resource.Quantity) string { return fmt.Sprintf("%dm", q.MilliValue()) }

// memoryCell is memory in MiB, rounded down, as kubectl top: "128Mi".
func memoryCell(q resource.Quantity) string { return fmt.Sprintf("%dMi", q.Value()/(1<<20)) }

// percentCell is use as a whole percentage of total, "<unknown>" when
// total is zero.
func percentCell(use, total int64) string {
	if total <= 0 {
		return "<unknown>"
	}
	return fmt.Sprintf("%d%%", use*100/total)
}

// sortByUsage sorts items by the usage of res, the largest first; the
// order is kept among equals.
func sortByUsage[T any](items []T, by string, usage func(*T) api.ResourceList) {
	if by == "" {
		return
	}
	res := api.ResourceCPU
	if by == "memory" {
		res = api.ResourceMemory
	}
	slices.SortStableFunc(items, func(a, b T) int {
		qa, qb := usage(&a)[res], usage(&b)[res]
		return qb.Cmp(qa)
	})
}

// printNodeMetrics prints the table of kubectl top nodes: the nodes
// measured, then those listed without metrics as <unknown>.
func printNodeMetrics(w io.Writer, metrics []client.NodeMetrics, nodes []api.Node, sortBy string, noHeader bool) {
	byName := make(map[string]*api.Node, len(nodes))
	for i := range nodes {
		byName[nodes[i].Name] = &nodes[i]
	}
	metrics = slices.Clone(metrics)
	sortByUsage(metrics, sortBy, func(m *client.NodeMetrics) api.ResourceList { return m.Usage })
	tw := tabwriter.NewWriter(w, 10, 4, 3, ' ', 0)
	if !noHeader {
		fmt.Fprintln(tw, "NAME\tCPU(cores)\tCPU%\tMEMORY(bytes)\tMEMORY%")
	}
	seen := map[string]bool{}
	for _, m := range metrics {
		seen[m.Name] = true
		cpu, mem := m.Usage[api.ResourceCPU], m.Usage[api.ResourceMemory]
		var alloc api.ResourceList
		if n := byName[m.Name]; n != nil {
			alloc = n.Status.Allocatable
		}
		acpu, amem := alloc[api.ResourceCPU], alloc[api.ResourceMemory]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, cpuCell(cpu), percentCell(cpu.MilliValue(), acpu.MilliValue()),
			memoryCell(mem), percentCell(mem.Value(), amem.Value()))
	}
	for i := range nodes {
		if !seen[nodes[i].Name] {
			fmt.Fprintf(tw, "%s\t<unknown>\t<unknown>\t<unknown>\t<unknown>\n", nodes[i].Name)
		}
	}
	_ = tw.Flush()
}

// printPodMetrics prints the table of kubectl top pods: a line per pod
// (its containers summed), or per container.
func printPodMetrics(w io.Writer, metrics []client.PodMetrics, withNS, containers bool, sortBy string, noHeader bool) {
	metrics = slices.Clone(metrics)
	sortByUsage(metrics, sortBy, func(m *client.PodMetrics) api.ResourceList { return m.Usage() })
	tw := tabwriter.NewWriter(w, 10, 4, 3, ' ', 0)
	if !noHeader {
		var h []string
		if withNS {
			h = append(h, "NAMESPACE")
		}
		if containers {
			h = append(h, "POD")
		}
		fmt.Fprintln(tw, strings.Join(append(h, "NAME", "CPU(cores)", "MEMORY(bytes)"), "\t"))
	}
	for i := range metrics {
		m := &metrics[i]
		var prefix string
		if withNS {
			prefix = m.Namespace + "\t"
		}
		if !containers {
			u := m.Usage()
			fmt.Fprintf(tw, "%s%s\t%s\t%s\n", prefix, m.Name, cpuCell(u[api.ResourceCPU]), memoryCell(u[api.ResourceMemory]))
			continue
		}
		cs := slices.Clone(m.Containers)
		sortByUsage(cs, sortBy, func(c *client.ContainerMetrics) api.ResourceList { return c.Usage })
		for _, c := range cs {
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", prefix, m.Name, c.Name, cpuCell(c.Usage[api.ResourceCPU]), memoryCell(c.Usage[api.ResourceMemory]))
		}
	}
	_ = tw.Flush()
}
