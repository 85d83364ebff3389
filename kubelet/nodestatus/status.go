package nodestatus

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
	"github.com/drover-io/drover/runtime"
)

// This file is the pure core of the Reporter: from what it observed of
// the node and the Node as the API server has it, the Node it should
// be, and whether the difference is worth a write. No I/O; tests call
// these functions directly.

// The standard labels the node agent owns, as in Kubernetes.
const (
	LabelHostname = "kubernetes.io/hostname"
	LabelOS       = "kubernetes.io/os"
	LabelArch     = "kubernetes.io/arch"
)

// Reasons and messages of the conditions, as Kubernetes' kubelet words
// them (tools and people grep for these).
const (
	ReasonReady              = "KubeletReady"
	ReasonNotReady           = "KubeletNotReady"
	ReasonSufficientMemory   = "KubeletHasSufficientMemory"
	ReasonInsufficientMemory = "KubeletHasInsufficientMemory"
	ReasonNoDiskPressure     = "KubeletHasNoDiskPressure"
	ReasonDiskPressure       = "KubeletHasDiskPressure"
	ReasonSufficientPID      = "KubeletHasSufficientPID"
	ReasonInsufficientPID    = "KubeletHasInsufficientPID"
	msgReady                 = "kubelet is posting ready status"
	msgSufficientMemory      = "kubelet has sufficient memory available"
	msgInsufficientMemory    = "kubelet has insufficient memory available"
	msgNoDiskPressure        = "kubelet has no disk pressure"
	msgDiskPressure          = "kubelet has disk pressure"
	msgSufficientPID         = "kubelet has sufficient PID available"
	msgInsufficientPID       = "kubelet has insufficient PID available"
	msgRuntimeDown           = "container runtime is down"
)

const resourceEphemeral = api.ResourceEphemeralStorage

// observation is what the Reporter learned of the node in one check.
// Errors of the probes are kept so that the core decides what they mean.
type observation struct {
	// runtime is the runtime's version; runtimeErr is set if it did not
	// answer.
	runtime    runtime.Version
	runtimeErr error
	// readyErr is the error of Config.ReadyFunc.
	readyErr error
	// memAvailable is the memory available, unless memErr.
	memAvailable int64
	memErr       error
	// fs is RootDir's filesystem, unless fsErr.
	fs    FilesystemStats
	fsErr error
	// procs are the process counts, unless procErr.
	procs   ProcessStats
	procErr error
	// images are status.images; nil when they could not be listed (the
	// Node keeps the ones it has).
	images []api.ContainerImage
}

// spec is the part of Config the core needs, with defaults applied.
type spec struct {
	name                string
	labels              map[string]string
	taints              []api.Taint
	reserved            api.ResourceList
	maxPods             int
	addresses           []api.NodeAddress
	port                int
	version             string
	machine             MachineInfo
	memoryPressureBytes int64
	diskPressureRatio   float64
	pidPressureRatio    float64
}

// ownLabels returns the labels the node agent sets: the standard ones
// and the configured ones (which win).
func (s *spec) ownLabels() map[string]string {
	l := map[string]string{
		LabelHostname: s.name,
		LabelOS:       s.machine.OperatingSystem,
		LabelArch:     s.machine.Architecture,
	}
	for k, v := range s.labels {
		l[k] = v
	}
	return l
}

// newNode returns the Node to create: the agent's labels and taints, and
// its status as of now.
func (s *spec) newNode(obs *observation, now time.Time) *api.Node {
	n := &api.Node{
		TypeMeta:   api.TypeMeta{Kind: "Node", APIVersion: "v1"},
		ObjectMeta: api.ObjectMeta{Name: s.name, Labels: s.ownLabels()},
		Spec:       api.NodeSpec{Taints: slices.Clone(s.taints)},
	}
	s.setStatus(n, obs, now)
	return n
}

// reconcileMeta makes the existing Node n carry the agent's labels (its
// own keys only: other labels are the users') and its configured taints
// (added when missing by key and effect; the users' taints, and
// unschedulable, are left alone), as Kubernetes' kubelet does when it
// finds its Node already registered. It reports whether n changed.
func (s *spec) reconcileMeta(n *api.Node) bool {
	changed := false
	for k, v := range s.ownLabels() {
		if cur, ok := n.Labels[k]; !ok || cur != v {
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels[k] = v
			changed = true
		}
	}
	for _, t := range s.taints {
		if !slices.ContainsFunc(n.Spec.Taints, func(h api.Taint) bool { return h.Key == t.Key && h.Effect == t.Effect }) {
			n.Spec.Taints = append(n.Spec.Taints, t)
			changed = true
		}
	}
	return changed
}

// setStatus sets n's status to what obs says as of now: capacity,
// allocatable, conditions, addresses, endpoints, node info and images.
// Conditions keep their lastTransitionTime unless their status changes;
// their lastHeartbeatTime is now. Conditions the agent does not own
// (NetworkUnavailable, set by others) are kept.
func (s *spec) setStatus(n *api.Node, obs *observation, now time.Time) {
	st := &n.Status
	capacity := api.ResourceList{
		api.ResourceCPU:    resource.NewQuantity(int64(s.machine.NumCPU), resource.DecimalSI),
		api.ResourceMemory: resource.NewQuantity(s.machine.MemoryBytes, resource.BinarySI),
		api.ResourcePods:   resource.NewQuantity(int64(s.maxPods), resource.DecimalSI),
	}
	if obs.fsErr == nil && obs.fs.Capacity > 0 {
		capacity[resourceEphemeral] = resource.NewQuantity(obs.fs.Capacity, resource.BinarySI)
	} else if q, ok := st.Capacity[resourceEphemeral]; ok {
		capacity[resourceEphemeral] = q // keep what was measured before
	}
	st.Capacity = capacity
	st.Allocatable = allocatable(capacity, s.reserved)
	st.Phase = api.NodeRunning
	st.Addresses = slices.Clone(s.addresses)
	st.DaemonEndpoints = api.NodeDaemonEndpoints{KubeletEndpoint: api.DaemonEndpoint{Port: int32(s.port)}}
	rv := ""
	if obs.runtimeErr == nil && obs.runtime.Name != "" {
		rv = obs.runtime.String()
	} else {
		rv = st.NodeInfo.ContainerRuntimeVersion // keep the last known
	}
	st.NodeInfo = api.NodeSystemInfo{
		MachineID:               s.machine.MachineID,
		SystemUUID:              s.machine.SystemUUID,
		BootID:                  s.machine.BootID,
		KernelVersion:           s.machine.KernelVersion,
		OSImage:                 s.machine.OSImage,
		ContainerRuntimeVersion: rv,
		KubeletVersion:          s.version,
		OperatingSystem:         s.machine.OperatingSystem,
		Architecture:            s.machine.Architecture,
	}
	if obs.images != nil {
		st.Images = obs.images
		if len(st.Images) == 0 {
			st.Images = nil
		}
	}

	t := api.NewTime(now)
	// Kubernetes' order: the pressures, then Ready.
	mem := obs.memErr == nil && obs.memAvailable < s.memoryPressureBytes
	setCondition(st, api.NodeMemoryPressure, mem, t,
		ReasonInsufficientMemory, msgInsufficientMemory, ReasonSufficientMemory, msgSufficientMemory)
	disk := obs.fsErr == nil && obs.fs.Capacity > 0 && float64(obs.fs.Available) < s.diskPressureRatio*float64(obs.fs.Capacity)
	setCondition(st, api.NodeDiskPressure, disk, t,
		ReasonDiskPressure, msgDiskPressure, ReasonNoDiskPressure, msgNoDiskPressure)
	pid := obs.procErr == nil && obs.procs.Max > 0 && float64(obs.procs.Running) > s.pidPressureRatio*float64(obs.procs.Max)
	setCondition(st, api.NodePIDPressure, pid, t,
		ReasonInsufficientPID, msgInsufficientPID, ReasonSufficientPID, msgSufficientPID)
	notReady := ""
	switch {
	case obs.runtimeErr != nil:
		notReady = fmt.Sprintf("%s: %v", msgRuntimeDown, obs.runtimeErr)
	case obs.readyErr != nil:
		notReady = obs.readyErr.Error()
	}
	setCondition(st, api.NodeReady, notReady == "", t, ReasonReady, msgReady, ReasonNotReady, notReady)
}

// setCondition sets the condition typ of st to True (with reasonTrue and
// msgTrue) if on, else False: its heartbeat is now, and its transition
// time too if its status changes or it is new.
func setCondition(st *api.NodeStatus, typ api.NodeConditionType, on bool, now api.Time, reasonTrue, msgTrue, reasonFalse, msgFalse string) {
	c := api.NodeCondition{Type: typ, Status: api.ConditionFalse, Reason: reasonFalse, Message: msgFalse, LastHeartbeatTime: now, LastTransitionTime: now}
	if on {
		c.Status, c.Reason, c.Message = api.ConditionTrue, reasonTrue, msgTrue
	}
	i := slices.IndexFunc(st.Conditions, func(x api.NodeCondition) bool { return x.Type == typ })
	if i < 0 {
		st.Conditions = append(st.Conditions, c)
		return
	}
	if st.Conditions[i].Status == c.Status && !st.Conditions[i].LastTransitionTime.IsZero() {
		c.LastTransitionTime = st.Conditions[i].LastTransitionTime
	}
	st.Conditions[i] = c
}

// allocatable returns capacity minus reserved, each at least 0.
func allocatable(capacity, reserved api.ResourceList) api.ResourceList {
	out := make(api.ResourceList, len(capacity))
	for k, q := range capacity {
		if r, ok := reserved[k]; ok {
			q.Sub(r)
			if q.Sign() < 0 {
				q = resource.NewQuantity(0, resource.DecimalSI)
			}
		}
		out[k] = q
	}
	return out
}

// statusEqual reports whether a and b agree on everything but the
// conditions' heartbeat times: whether a write would change anything.
func statusEqual(a, b *api.NodeStatus) bool {
	return bytes.Equal(statusKey(a), statusKey(b))
}

// statusKey is the JSON of st without heartbeat times.
func statusKey(st *api.NodeStatus) []byte {
	c := *st
	c.Conditions = slices.Clone(st.Conditions)
	for i := range c.Conditions {
		c.Conditions[i].LastHeartbeatTime = api.Time{}
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return nil // cannot happen: a NodeStatus always encodes
	}
	return b
}

// nodeImages returns status.images for imgs: the MaxImages largest, each
// named by its digests and tags, as in Kubernetes.
func nodeImages(imgs []*runtime.Image) []api.ContainerImage {
	imgs = slices.Clone(imgs)
	slices.SortStableFunc(imgs, func(a, b *runtime.Image) int {
		return cmp.Or(cmp.Compare(b.Size, a.Size), cmp.Compare(a.ID, b.ID))
	})
	out := make([]api.ContainerImage, 0, min(len(imgs), MaxImages))
	for _, img := range imgs {
		if len(out) == MaxImages {
			break
		}
		names := append(slices.Clone(img.RepoDigests), img.RepoTags...)
		if len(names) == 0 {
			names = []string{img.ID}
		}
		out = append(out, api.ContainerImage{Names: names, SizeBytes: img.Size})
	}
	return out
}

// readyCondition returns the Ready condition of n, or nil.
func readyCondition(n *api.Node) *api.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == api.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// isReady reports whether n's Ready condition is True.
func isReady(n *api.Node) bool {
	c := readyCondition(n)
	return c != nil && c.Status == api.ConditionTrue
}
