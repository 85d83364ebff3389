package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
)

// Server-side printing: kubectl get asks for
//
//	Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json
//
// and prints the Table it gets back: the columns of the kind (those of
// Kubernetes for the built-in kinds, NAME, api.Kind.PrinterColumns and AGE
// for the others) and one row per object. A watch that asks for a Table
// gets each event's object as a Table of one row (tableEvent).

// Table is a meta.k8s.io Table: the answer of a get, list or watch event
// to a client that asked for one in its Accept header.
type Table struct {
	Kind              string                  `json:"kind"`
	APIVersion        string                  `json:"apiVersion"`
	Metadata          api.ListMeta            `json:"metadata"`
	ColumnDefinitions []TableColumnDefinition `json:"columnDefinitions"`
	Rows              []TableRow              `json:"rows"`
}

// TableColumnDefinition describes a column of a Table.
type TableColumnDefinition struct {
	// Name is the heading, such as "Name" or "Nominated Node".
	Name string `json:"name"`
	// Type is an OpenAPI type: string, integer, number or boolean.
	Type string `json:"type"`
	// Format qualifies Type: "name" marks the object's name column,
	// "date" a timestamp.
	Format      string `json:"format"`
	Description string `json:"description"`
	// Priority 0 columns are always shown; kubectl shows the others only
	// with -o wide.
	Priority int32 `json:"priority"`
}

// TableRow is the row of one object: a cell per column, and the object
// itself as the client asked (includeObject).
type TableRow struct {
	Cells []any `json:"cells"`
	// Object is a PartialObjectMetadata, the whole object, or absent.
	Object any `json:"object,omitempty"`
}

// PartialObjectMetadata is an object's kind and metadata alone: the
// default object of a Table row.
type PartialObjectMetadata struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   api.ObjectMeta `json:"metadata"`
}

// The values of the includeObject query parameter.
const (
	includeNone     = "None"
	includeMetadata = "Metadata"
	includeObject   = "Object"
)

// tableOptions is how a client asked for a Table.
type tableOptions struct {
	// version is the meta.k8s.io version of the Table: v1 or v1beta1.
	version string
	// include is includeNone, includeMetadata or includeObject.
	include string
}

// negotiateTable reads an Accept header: it returns the Table version of
// the first alternative the server supports if that alternative asks for
// a Table, and ok false if it asks for plain JSON or if no alternative is
// supported (the server then answers plain JSON).
func negotiateTable(accept string) (version string, ok bool) {
	for alt := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(alt))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json", "application/*", "*/*":
		default:
			continue // protobuf, yaml, cbor: not served
		}
		as := params["as"]
		if as == "" {
			return "", false
		}
		if as == "Table" && params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1") {
			return params["v"], true
		}
		// Another Table version, or a PartialObjectMetadata: not served.
	}
	return "", false
}

// tableRequest reports whether r asks for a Table, and how. A bad
// includeObject is a 400 error.
func tableRequest(r *http.Request) (tableOptions, bool, error) {
	inc := first(r.URL.Query(), "includeObject")
	switch inc {
	case "":
		inc = includeMetadata
	case includeNone, includeMetadata, includeObject:
	default:
		return tableOptions{}, false, api.NewBadRequest("invalid includeObject %q: must be None, Metadata or Object", inc)
	}
	v, ok := negotiateTable(r.Header.Get("Accept"))
	if !ok {
		return tableOptions{}, false, nil
	}
	return tableOptions{version: v, include: inc}, true, nil
}

// tableFor returns the Table of objs, objects of kind, with one row each.
// The caller sets the Table's list metadata.
func (s *Server) tableFor(kind api.Kind, objs []api.Object, opts tableOptions) (*Table, error) {
	p := printerFor(kind)
	now := s.now() // the AGE columns' clock: Config.Registry.Now
	t := &Table{
		Kind:              "Table",
		APIVersion:        "meta.k8s.io/" + opts.version,
		ColumnDefinitions: p.columns,
		Rows:              make([]TableRow, 0, len(objs)),
	}
	for _, obj := range objs {
		cells, err := p.cells(obj, now)
		if err != nil {
			return nil, api.NewInternalError(fmt.Errorf("print %s %q: %w", kind.Kind, obj.GetObjectMeta().Name, err))
		}
		row := TableRow{Cells: cells}
		switch opts.include {
		case includeObject:
			if obj.GetTypeMeta().Kind == "" { // obj may be shared: set the kind on a copy
				obj = api.DeepCopy(obj)
				obj.GetTypeMeta().SetGroupVersionKind(kind.GroupVersionKind)
			}
			row.Object = obj
		case includeMetadata:
			row.Object = PartialObjectMetadata{
				Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/" + opts.version,
				Metadata: *obj.GetObjectMeta(),
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// tableEvent turns a watch event of kind into the same event with a Table
// of one row as its object, for a watch that asked for a Table (see
// tableRequest). BOOKMARK and ERROR events are returned unchanged.
func (s *Server) tableEvent(kind api.Kind, ev api.WatchEvent, opts tableOptions) (api.WatchEvent, error) {
	switch ev.Type {
	case api.WatchAdded, api.WatchModified, api.WatchDeleted:
	default:
		return ev, nil
	}
	obj := kind.New()
	if err := json.Unmarshal(ev.Object, obj); err != nil {
		return ev, api.NewInternalError(fmt.Errorf("decode the %s of a watch event: %w", kind.Kind, err))
	}
	t, err := s.watchTable(kind, obj, opts)
	if err != nil {
		return ev, err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return ev, api.NewInternalError(fmt.Errorf("encode the table of a watch event: %w", err))
	}
	return api.WatchEvent{Type: ev.Type, Object: data}, nil
}

// tableEventLine returns the line of a watch stream, with its newline,
// for an ADDED, MODIFIED or DELETED event of obj, an object of kind, as a
// Table of one row: what a watch that asked for a Table (tableRequest)
// writes instead of the event's shared line. Each call makes a new line:
// the AGE column depends on the time it is sent.
func (s *Server) tableEventLine(kind api.Kind, typ api.WatchEventType, obj api.Object, opts tableOptions) ([]byte, error) {
	t, err := s.watchTable(kind, obj, opts)
	if err != nil {
		return nil, err
	}
	line, err := json.Marshal(struct {
		Type   api.WatchEventType `json:"type"`
		Object *Table             `json:"object"`
	}{typ, t})
	if err != nil {
		return nil, api.NewInternalError(fmt.Errorf("encode the table of a watch event: %w", err))
	}
	return append(line, '\n'), nil
}

// watchTable is the Table of the object of a watch event: its row, and
// its resourceVersion as the Table's.
func (s *Server) watchTable(kind api.Kind, obj api.Object, opts tableOptions) (*Table, error) {
	t, err := s.tableFor(kind, []api.Object{obj}, opts)
	if err != nil {
		return nil, err
	}
	t.Metadata.ResourceVersion = obj.GetObjectMeta().ResourceVersion
	return t, nil
}

// writeTable answers a get or list with the Table of objs.
func (s *Server) writeTable(w http.ResponseWriter, kind api.Kind, objs []api.Object, meta api.ListMeta, opts tableOptions) error {
	t, err := s.tableFor(kind, objs, opts)
	if err != nil {
		return err
	}
	t.Metadata = meta
	s.writeJSON(w, http.StatusOK, t)
	return nil
}

// listItems returns the items of a list (an api.List[T]) as objects,
// pointers into the list.
func listItems(l api.ListObject) ([]api.Object, error) {
	v := reflect.ValueOf(l)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	items := v.FieldByName("Items")
	if v.Kind() != reflect.Struct || items.Kind() != reflect.Slice {
		return nil, fmt.Errorf("list %T has no Items", l)
	}
	out := make([]api.Object, items.Len())
	for i := range out {
		obj, ok := items.Index(i).Addr().Interface().(api.Object)
		if !ok {
			return nil, fmt.Errorf("the items of list %T are not objects", l)
		}
		out[i] = obj
	}
	return out, nil
}

// humanDuration formats d as kubectl's AGE column does: two units while
// they are informative ("5m12s", "3h20m", "2d4h", "3y14d"), one after
// that ("45m", "20h", "30d").
func humanDuration(d time.Duration) string {
	if d < -time.Second {
		return "<invalid>"
	}
	if d < 0 {
		return "0s"
	}
	sec := int64(d / time.Second)
	min, hours := sec/60, sec/3600
	days := hours / 24
	pair := func(a int64, ua string, b int64, ub string) string {
		if b == 0 {
			return fmt.Sprintf("%d%s", a, ua)
		}
		return fmt.Sprintf("%d%s%d%s", a, ua, b, ub)
	}
	switch {
	case sec < 120:
		return fmt.Sprintf("%ds", sec)
	case min < 10:
		return pair(min, "m", sec%60, "s")
	case min < 3*60:
		return fmt.Sprintf("%dm", min)
	case hours < 8:
		return pair(hours, "h", min%60, "m")
	case hours < 48:
		return fmt.Sprintf("%dh", hours)
	case hours < 8*24:
		return pair(days, "d", hours%24, "h")
	case days < 2*365:
		return fmt.Sprintf("%dd", days)
	case days < 8*365:
		return pair(days/365, "y", days%365, "d")
	}
	return fmt.Sprintf("%dy", days/365)
}

// age is the AGE of something created at t: "<unknown>" for a zero time.
func age(t api.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return humanDuration(now.Sub(t.Time))
}

// evalJSONPath returns the value at path (".a.b[0].c") in the JSON
// document doc, decoded with UseNumber, and whether it is there.
func evalJSONPath(doc any, path string) (any, bool) {
	cur := doc
	rest := strings.TrimPrefix(path, ".")
	for rest != "" {
		var seg string
		i := strings.IndexAny(rest, ".[")
		switch {
		case i < 0:
			seg, rest = rest, ""
		case i == 0 && rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, false
			}
			var n int
			if _, err := fmt.Sscanf(rest[1:end], "%d", &n); err != nil {
				return nil, false
			}
			l, ok := cur.([]any)
			if !ok || n < 0 || n >= len(l) {
				return nil, false
			}
			cur, rest = l[n], strings.TrimPrefix(rest[end+1:], ".")
			continue
		default:
			seg, rest = rest[:i], strings.TrimPrefix(rest[i:], ".")
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// decodeUseNumber decodes data keeping numbers exact.
func decodeUseNumber(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// printer prints the objects of one kind.
type printer struct {
	columns []TableColumnDefinition
	// cells returns an object's cells, one per column.
	cells func(obj api.Object, now time.Time) ([]any, error)
}

// Column definitions shared by the printers.
var (
	colName = TableColumnDefinition{Name: "Name", Type: "string", Format: "name",
		Description: "Name must be unique within a namespace. Cannot be updated."}
	colAge = TableColumnDefinition{Name: "Age", Type: "string",
		Description: "The time since the object was created (metadata.creationTimestamp)."}
)

func col(name, typ, desc string) TableColumnDefinition {
	return TableColumnDefinition{Name: name, Type: typ, Description: desc}
}

func wide(c TableColumnDefinition) TableColumnDefinition { c.Priority = 1; return c }

// typedPrinter adapts a printer of a Go type.
func typedPrinter[T any, PT interface {
	*T
	api.Object
}](cols []TableColumnDefinition, cells func(o PT, now time.Time) []any) printer {
	return printer{columns: cols, cells: func(obj api.Object, now time.Time) ([]any, error) {
		o, ok := obj.(PT)
		if !ok {
			return nil, fmt.Errorf("the printer of %T got a %T", PT(nil), obj)
		}
		return cells(o, now), nil
	}}
}

// printerFor returns the printer of kind: its own for a built-in kind,
// else NAME, the kind's PrinterColumns and AGE.
func printerFor(kind api.Kind) printer {
	if p, ok := builtinPrinters[kind.GroupVersionKind]; ok {
		return p
	}
	pcs := kind.PrinterColumns
	cols := []TableColumnDefinition{colName}
	for _, pc := range pcs {
		c := TableColumnDefinition{Name: pc.Name, Type: pc.Type, Description: pc.Description, Priority: pc.Priority}
		if c.Description == "" {
			c.Description = "The value at " + pc.JSONPath + "."
		}
		if pc.Type == "date" {
			c.Type, c.Format = "string", "date"
		}
		cols = append(cols, c)
	}
	cols = append(cols, colAge)
	return printer{columns: cols, cells: func(obj api.Object, now time.Time) ([]any, error) {
		m := obj.GetObjectMeta()
		cells := []any{m.Name}
		if len(pcs) > 0 {
			data, err := json.Marshal(obj)
			if err != nil {
				return nil, err
			}
			doc, err := decodeUseNumber(data)
			if err != nil {
				return nil, err
			}
			for _, pc := range pcs {
				v, _ := evalJSONPath(doc, pc.JSONPath)
				cells = append(cells, printerCell(pc.Type, v, now))
			}
		}
		return append(cells, age(m.CreationTimestamp, now)), nil
	}}
}

// printerCell formats the value v of a column of type typ: nil for a
// missing value, which kubectl shows as <none>.
func printerCell(typ string, v any, now time.Time) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if typ == "date" {
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				return humanDuration(now.Sub(t))
			}
		}
		return v
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case bool:
		return v
	}
	data, _ := json.Marshal(v)
	return string(data)
}

// noneIfEmpty is s, or "<none>" as kubectl prints an empty value.
func noneIfEmpty(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

var builtinPrinters = map[api.GroupVersionKind]printer{
	api.CoreV1.WithKind("Pod"):  typedPrinter(podColumns, podCells),
	api.CoreV1.WithKind("Node"): typedPrinter(nodeColumns, nodeCells),
	api.CoreV1.WithKind("Namespace"): typedPrinter([]TableColumnDefinition{colName,
		col("Status", "string", "The lifecycle phase of the namespace."), colAge},
		func(n *api.Namespace, now time.Time) []any {
			return []any{n.Name, string(n.Status.Phase), age(n.CreationTimestamp, now)}
		}),
	api.CoreV1.WithKind("Service"): typedPrinter(serviceColumns, serviceCells),
	api.CoreV1.WithKind("Endpoints"): typedPrinter([]TableColumnDefinition{colName,
		col("Endpoints", "string", "The ready addresses and ports of the endpoints."), colAge},
		func(e *api.Endpoints, now time.Time) []any {
			return []any{e.Name, endpointsCell(e.Subsets), age(e.CreationTimestamp, now)}
		}),
	api.CoreV1.WithKind("ConfigMap"): typedPrinter([]TableColumnDefinition{colName,
		col("Data", "integer", "The number of keys in data and binaryData."), colAge},
		func(c *api.ConfigMap, now time.Time) []any {
			return []any{c.Name, int64(len(c.Data) + len(c.BinaryData)), age(c.CreationTimestamp, now)}
		}),
	api.CoreV1.WithKind("Secret"): typedPrinter([]TableColumnDefinition{colName,
		col("Type", "string", "The type of the secret."),
		col("Data", "integer", "The number of keys in data."), colAge},
		func(s *api.Secret, now time.Time) []any {
			return []any{s.Name, string(s.Type), int64(len(s.Data)), age(s.CreationTimestamp, now)}
		}),
	api.CoreV1.WithKind("ServiceAccount"): typedPrinter([]TableColumnDefinition{colName,
		col("Secrets", "integer", "The number of secrets of the service account."), colAge},
		func(sa *api.ServiceAccount, now time.Time) []any {
			return []any{sa.Name, int64(len(sa.Secrets)), age(sa.CreationTimestamp, now)}
		}),
	api.CoreV1.WithKind("Event"):      typedPrinter(eventColumns, eventCells),
	api.AppsV1.WithKind("Deployment"): typedPrinter(deploymentColumns, deploymentCells),
	api.AppsV1.WithKind("ReplicaSet"): typedPrinter(replicaSetColumns, replicaSetCells),
	api.AppsV1.WithKind("DaemonSet"):  typedPrinter(daemonSetColumns, daemonSetCells),
	api.BatchV1.WithKind("Job"):       typedPrinter(jobColumns, jobCells),
	api.CoordinationV1.WithKind("Lease"): typedPrinter([]TableColumnDefinition{colName,
		col("Holder", "string", "The identity of the holder of the lease."), colAge},
		func(l *api.Lease, now time.Time) []any {
			holder := ""
			if l.Spec.HolderIdentity != nil {
				holder = *l.Spec.HolderIdentity
			}
			return []any{l.Name, holder, age(l.CreationTimestamp, now)}
		}),
	api.DiscoveryV1.WithKind("EndpointSlice"): typedPrinter([]TableColumnDefinition{colName,
		col("AddressType", "string", "The type of the addresses of the slice."),
		col("Ports", "string", "The ports of the slice."),
		col("Endpoints", "string", "The first addresses of the slice's endpoints."), colAge},
		func(s *api.EndpointSlice, now time.Time) []any {
			return []any{s.Name, string(s.AddressType), sliceTablePorts(s.Ports), sliceTableAddresses(s.Endpoints), age(s.CreationTimestamp, now)}
		}),
}

// sliceTablePorts renders an EndpointSlice's ports as kubectl does: the
// numbers joined by commas, "<unset>" for none and "*" for every port.
func sliceTablePorts(ports []api.EndpointSlicePort) string {
	if len(ports) == 0 {
		return "<unset>"
	}
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		if p.Port == nil {
			parts = append(parts, "*")
			continue
		}
		parts = append(parts, strconv.Itoa(int(*p.Port)))
	}
	return strings.Join(parts, ",")
}

// sliceTableAddresses renders the first three addresses of a slice's
// endpoints and how many more there are.
func sliceTableAddresses(eps []api.Endpoint) string {
	var addrs []string
	for _, e := range eps {
		addrs = append(addrs, e.Addresses...)
	}
	if len(addrs) == 0 {
		return "<unset>"
	}
	if len(addrs) > 3 {
		return strings.Join(addrs[:3], ",") + " + " + strconv.Itoa(len(addrs)-3) + " more..."
	}
	return strings.Join(addrs, ",")
}

var podColumns = []TableColumnDefinition{
	colName,
	col("Ready", "string", "The number of ready containers out of all containers."),
	col("Status", "string", "The aggregate status of the containers in the pod."),
	col("Restarts", "string", "The number of container restarts, and the time since the last one."),
	colAge,
	wide(col("IP", "string", "The IP address of the pod.")),
	wide(col("Node", "string", "The node the pod is bound to.")),
	wide(col("Nominated Node", "string", "The node the pod is nominated to run on, after a preemption.")),
	wide(col("Readiness Gates", "string", "The readiness gates that are true out of all of them.")),
}

func podCells(p *api.Pod, now time.Time) []any {
	ready, restarts := 0, int32(0)
	var lastRestart time.Time
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready && cs.State.Running != nil {
			ready++
		}
		restarts += cs.RestartCount
		if t := cs.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(lastRestart) {
			lastRestart = t.FinishedAt.Time
		}
	}
	restartCell := fmt.Sprint(restarts)
	if restarts > 0 && !lastRestart.IsZero() {
		restartCell = fmt.Sprintf("%d (%s ago)", restarts, humanDuration(now.Sub(lastRestart)))
	}
	gates := "<none>"
	if n := len(p.Spec.ReadinessGates); n > 0 {
		trueGates := 0
		for _, g := range p.Spec.ReadinessGates {
			for _, c := range p.Status.Conditions {
				if c.Type == g.ConditionType && c.Status == api.ConditionTrue {
					trueGates++
				}
			}
		}
		gates = fmt.Sprintf("%d/%d", trueGates, n)
	}
	return []any{
		p.Name,
		fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers)),
		podStatus(p),
		restartCell,
		age(p.CreationTimestamp, now),
		noneIfEmpty(p.Status.PodIP),
		noneIfEmpty(p.Spec.NodeName),
		noneIfEmpty(p.Status.NominatedNodeName),
		gates,
	}
}

// podStatus is the STATUS of a pod as kubectl shows it: the reason of the
// first failing init container ("Init:CrashLoopBackOff", "Init:1/3"), else
// of the last container that is waiting or terminated, else the phase;
// "Terminating" once it is being deleted.
func podStatus(p *api.Pod) string {
	reason := string(p.Status.Phase)
	if p.Status.Reason != "" {
		reason = p.Status.Reason
	}
	initializing := false
	for i, cs := range p.Status.InitContainerStatuses {
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			continue
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			switch {
			case t.Reason != "":
				reason = "Init:" + t.Reason
			case t.Signal != 0:
				reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + cs.State.Waiting.Reason
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(p.Spec.InitContainers))
		}
		initializing = true
		break
	}
	if !initializing {
		running := false
		for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := p.Status.ContainerStatuses[i]
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				reason = cs.State.Waiting.Reason
			case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
				reason = cs.State.Terminated.Reason
			case cs.State.Terminated != nil && cs.State.Terminated.Signal != 0:
				reason = fmt.Sprintf("Signal:%d", cs.State.Terminated.Signal)
			case cs.State.Terminated != nil:
				reason = fmt.Sprintf("ExitCode:%d", cs.State.Terminated.ExitCode)
			case cs.Ready && cs.State.Running != nil:
				running = true
			}
		}
		if reason == "Completed" && running {
			reason = string(api.PodRunning)
		}
	}
	if p.DeletionTimestamp != nil {
		reason = "Terminating"
	}
	return reason
}

var nodeColumns = []TableColumnDefinition{
	colName,
	col("Status", "string", "The Ready condition of the node, and SchedulingDisabled if it is cordoned."),
	col("Roles", "string", "The roles of the node, from its node-role.kubernetes.io/<role> labels."),
	colAge,
	col("Version", "string", "The kubelet version of the node."),
	wide(col("Internal-IP", "string", "The internal IP address of the node.")),
	wide(col("External-IP", "string", "The external IP address of the node.")),
	wide(col("OS-Image", "string", "The operating system image of the node.")),
	wide(col("Kernel-Version", "string", "The kernel version of the node.")),
	wide(col("Container-Runtime", "string", "The container runtime of the node.")),
}

func nodeCells(n *api.Node, now time.Time) []any {
	status := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == api.NodeReady {
			status = "NotReady"
			if c.Status == api.ConditionTrue {
				status = "Ready"
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	var roles []string
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if r := strings.TrimPrefix(k, "node-role.kubernetes.io/"); r != "" {
				roles = append(roles, r)
			}
		case k == "kubernetes.io/role" && v != "":
			roles = append(roles, v)
		}
	}
	slices.Sort(roles)
	roles = slices.Compact(roles)
	addr := func(t api.NodeAddressType) string {
		for _, a := range n.Status.Addresses {
			if a.Type == t {
				return a.Address
			}
		}
		return "<none>"
	}
	info := n.Status.NodeInfo
	return []any{
		n.Name, status, noneIfEmpty(strings.Join(roles, ",")), age(n.CreationTimestamp, now), info.KubeletVersion,
		addr(api.NodeInternalIP), addr(api.NodeExternalIP),
		noneIfEmpty(info.OSImage), noneIfEmpty(info.KernelVersion), noneIfEmpty(info.ContainerRuntimeVersion),
	}
}

var serviceColumns = []TableColumnDefinition{
	colName,
	col("Type", "string", "The type of the service."),
	col("Cluster-IP", "string", "The cluster IP address of the service."),
	col("External-IP", "string", "The external addresses of the service."),
	col("Port(s)", "string", "The ports of the service."),
	colAge,
	wide(col("Selector", "string", "The label selector of the pods behind the service.")),
}

func serviceCells(s *api.Service, now time.Time) []any {
	external := strings.Join(s.Spec.ExternalIPs, ",")
	switch s.Spec.Type {
	case api.ServiceTypeLoadBalancer:
		var ips []string
		for _, in := range s.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				ips = append(ips, in.IP)
			} else if in.Hostname != "" {
				ips = append(ips, in.Hostname)
			}
		}
		ips = append(ips, s.Spec.ExternalIPs...)
		external = strings.Join(ips, ",")
		if external == "" {
			external = "<pending>"
		}
	case api.ServiceTypeExternalName:
		external = s.Spec.ExternalName
	}
	ports := make([]string, 0, len(s.Spec.Ports))
	for _, p := range s.Spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = api.ProtocolTCP
		}
		if p.NodePort != 0 {
			ports = append(ports, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, proto))
		} else {
			ports = append(ports, fmt.Sprintf("%d/%s", p.Port, proto))
		}
	}
	return []any{
		s.Name, string(s.Spec.Type), noneIfEmpty(s.Spec.ClusterIP), noneIfEmpty(external),
		noneIfEmpty(strings.Join(ports, ",")), age(s.CreationTimestamp, now), mapSelector(s.Spec.Selector),
	}
}

// mapSelector formats a map of labels as a selector: "a=b,c=d", sorted.
func mapSelector(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return noneIfEmpty(strings.Join(parts, ","))
}

// labelSelector formats a LabelSelector as kubectl does: "app=web,tier
// in (a,b)", requirements sorted by key.
func labelSelector(s *api.LabelSelector) string {
	if s == nil {
		return "<none>"
	}
	type req struct{ key, text string }
	var reqs []req
	for k, v := range s.MatchLabels {
		reqs = append(reqs, req{k, k + "=" + v})
	}
	for _, e := range s.MatchExpressions {
		vals := slices.Sorted(slices.Values(e.Values))
		switch e.Operator {
		case api.LabelSelectorOpIn:
			reqs = append(reqs, req{e.Key, e.Key + " in (" + strings.Join(vals, ",") + ")"})
		case api.LabelSelectorOpNotIn:
			reqs = append(reqs, req{e.Key, e.Key + " notin (" + strings.Join(vals, ",") + ")"})
		case api.LabelSelectorOpExists:
			reqs = append(reqs, req{e.Key, e.Key})
		case api.LabelSelectorOpDoesNotExist:
			reqs = append(reqs, req{e.Key, "!" + e.Key})
		}
	}
	slices.SortStableFunc(reqs, func(a, b req) int { return strings.Compare(a.key, b.key) })
	texts := make([]string, len(reqs))
	for i, r := range reqs {
		texts[i] = r.text
	}
	return noneIfEmpty(strings.Join(texts, ","))
}

// containersAndImages returns the CONTAINERS and IMAGES cells of a pod
// template.
func containersAndImages(spec api.PodSpec) (string, string) {
	names := make([]string, len(spec.Containers))
	images := make([]string, len(spec.Containers))
	for i, c := range spec.Containers {
		names[i], images[i] = c.Name, c.Image
	}
	return strings.Join(names, ","), strings.Join(images, ",")
}

// templateColumns are the wide columns of the kinds with a pod template.
var templateColumns = []TableColumnDefinition{
	wide(col("Containers", "string", "The names of the containers of the pod template.")),
	wide(col("Images", "string", "The images of the containers of the pod template.")),
	wide(col("Selector", "string", "The label selector of the pods.")),
}

func desiredReplicas(r *int32) int64 {
	if r == nil {
		return 1
	}
	return int64(*r)
}

var deploymentColumns = slices.Concat([]TableColumnDefinition{
	colName,
	col("Ready", "string", "The number of ready replicas out of the desired ones."),
	col("Up-to-date", "integer", "The number of replicas that run the current pod template."),
	col("Available", "integer", "The number of available replicas (ready for at least minReadySeconds)."),
	colAge,
}, templateColumns)

func deploymentCells(d *api.Deployment, now time.Time) []any {
	cs, is := containersAndImages(d.Spec.Template.Spec)
	return []any{
		d.Name, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, desiredReplicas(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas), age(d.CreationTimestamp, now),
		cs, is, labelSelector(d.Spec.Selector),
	}
}

var replicaSetColumns = slices.Concat([]TableColumnDefinition{
	colName,
	col("Desired", "integer", "The number of desired replicas."),
	col("Current", "integer", "The number of replicas."),
	col("Ready", "integer", "The number of ready replicas."),
	colAge,
}, templateColumns)

func replicaSetCells(rs *api.ReplicaSet, now time.Time) []any {
	cs, is := containersAndImages(rs.Spec.Template.Spec)
	return []any{
		rs.Name, desiredReplicas(rs.Spec.Replicas), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas),
		age(rs.CreationTimestamp, now), cs, is, labelSelector(rs.Spec.Selector),
	}
}

var daemonSetColumns = slices.Concat([]TableColumnDefinition{
	colName,
	col("Desired", "integer", "The number of nodes that should run the daemon pod."),
	col("Current", "integer", "The number of nodes that run the daemon pod."),
	col("Ready", "integer", "The number of nodes whose daemon pod is ready."),
	col("Up-to-date", "integer", "The number of nodes that run the current pod template."),
	col("Available", "integer", "The number of nodes whose daemon pod is available."),
	col("Node Selector", "string", "The node selector of the pod template."),
	colAge,
}, templateColumns)

func daemonSetCells(ds *api.DaemonSet, now time.Time) []any {
	cs, is := containersAndImages(ds.Spec.Template.Spec)
	st := ds.Status
	return []any{
		ds.Name, int64(st.DesiredNumberScheduled), int64(st.CurrentNumberScheduled), int64(st.NumberReady),
		int64(st.UpdatedNumberScheduled), int64(st.NumberAvailable), mapSelector(ds.Spec.Template.Spec.NodeSelector),
		age(ds.CreationTimestamp, now), cs, is, labelSelector(ds.Spec.Selector),
	}
}

var jobColumns = slices.Concat([]TableColumnDefinition{
	colName,
	col("Status", "string", "The status of the job: Running, Complete, Failed or Suspended."),
	col("Completions", "string", "The number of succeeded pods out of the desired completions."),
	col("Duration", "string", "How long the job ran, or has been running."),
	colAge,
}, templateColumns)

func jobCells(j *api.Job, now time.Time) []any {
	status := "Running"
	for _, c := range j.Status.Conditions {
		if c.Status != api.ConditionTrue {
			continue
		}
		switch c.Type {
		case api.JobComplete, api.JobFailed, api.JobSuspended:
			status = string(c.Type)
		}
	}
	var completions string
	switch {
	case j.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	default:
		completions = fmt.Sprintf("%d/1", j.Status.Succeeded)
	}
	duration := ""
	if st := j.Status.StartTime; st != nil {
		end := now
		if ct := j.Status.CompletionTime; ct != nil {
			end = ct.Time
		}
		duration = humanDuration(end.Sub(st.Time))
	}
	cs, is := containersAndImages(j.Spec.Template.Spec)
	return []any{j.Name, status, completions, duration, age(j.CreationTimestamp, now), cs, is, labelSelector(j.Spec.Selector)}
}

var eventColumns = []TableColumnDefinition{
	col("Last Seen", "string", "The time since the event was last seen."),
	col("Type", "string", "The type of the event: Normal or Warning."),
	col("Reason", "string", "Why the event happened, in CamelCase."),
	col("Object", "string", "The object the event is about."),
	col("Message", "string", "What happened, for a human."),
	wide(col("Subobject", "string", "The part of the object the event is about.")),
	wide(col("Source", "string", "The component that reported the event.")),
	wide(col("First Seen", "string", "The time since the event was first seen.")),
	wide(col("Count", "integer", "How many times the event happened.")),
	wide(TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: colName.Description}),
}

func eventCells(e *api.Event, now time.Time) []any {
	first, last := e.FirstTimestamp, e.LastTimestamp
	if last.IsZero() {
		last = api.Time{Time: e.EventTime.Time}
	}
	if last.IsZero() {
		last = e.CreationTimestamp
	}
	if first.IsZero() {
		first = last
	}
	count := e.Count
	if e.Series != nil {
		count = e.Series.Count
	}
	lastSeen := age(last, now)
	if count > 1 {
		lastSeen = fmt.Sprintf("%s (x%d over %s)", lastSeen, count, age(first, now))
	}
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	if e.Source.Host != "" {
		source += ", " + e.Source.Host
	}
	object := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
	return []any{
		lastSeen, string(e.Type), e.Reason, object, strings.TrimSpace(e.Message),
		e.InvolvedObject.FieldPath, source, age(first, now), int64(count), e.Name,
	}
}

// endpointsCell lists the ready ip:port pairs of endpoints: three at most,
// then how many more.
func endpointsCell(subsets []api.EndpointSubset) string {
	var list []string
	total := 0
	for _, ss := range subsets {
		for _, a := range ss.Addresses {
			if len(ss.Ports) == 0 {
				total++
				if len(list) < 3 {
					list = append(list, a.IP)
				}
				continue
			}
			for _, p := range ss.Ports {
				total++
				if len(list) < 3 {
					list = append(list, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
				}
			}
		}
	}
	s := strings.Join(list, ",")
	if total > len(list) {
		s += fmt.Sprintf(" + %d more...", total-len(list))
	}
	return noneIfEmpty(s)
}
