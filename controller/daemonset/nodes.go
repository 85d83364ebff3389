package daemonset

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"slices"
	"strconv"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/controller/internal/ctrlutil"
)

// RevisionHashLabel is the label of a daemon pod that holds the
// TemplateHash of the template it was made from.
const RevisionHashLabel = "controller-revision-hash"

// nodeNameField is the node field a matchFields requirement names.
const nodeNameField = "metadata.name"

// The taints whose tolerations every daemon pod gets.
const (
	TaintNodeNotReady           = "node.kubernetes.io/not-ready"
	TaintNodeUnreachable        = "node.kubernetes.io/unreachable"
	TaintNodeDiskPressure       = "node.kubernetes.io/disk-pressure"
	TaintNodeMemoryPressure     = "node.kubernetes.io/memory-pressure"
	TaintNodePIDPressure        = "node.kubernetes.io/pid-pressure"
	TaintNodeUnschedulable      = "node.kubernetes.io/unschedulable"
	taintNodeNetworkUnavailable = "node.kubernetes.io/network-unavailable"
)

// standardTolerations returns the tolerations Kubernetes adds to every
// daemon pod (and, for a pod on the host network, network-unavailable).
func standardTolerations(hostNetwork bool) []api.Toleration {
	ts := []api.Toleration{
		{Key: TaintNodeNotReady, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoExecute},
		{Key: TaintNodeUnreachable, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoExecute},
		{Key: TaintNodeDiskPressure, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoSchedule},
		{Key: TaintNodeMemoryPressure, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoSchedule},
		{Key: TaintNodePIDPressure, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoSchedule},
		{Key: TaintNodeUnschedulable, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoSchedule},
	}
	if hostNetwork {
		ts = append(ts, api.Toleration{Key: taintNodeNetworkUnavailable, Operator: api.TolerationOpExists, Effect: api.TaintEffectNoSchedule})
	}
	return ts
}

// withStandardTolerations returns ts plus each standard toleration that is
// not in it already.
func withStandardTolerations(ts []api.Toleration, hostNetwork bool) []api.Toleration {
	out := slices.Clone(ts)
	for _, s := range standardTolerations(hostNetwork) {
		if !slices.ContainsFunc(out, func(t api.Toleration) bool {
			return t.Key == s.Key && t.Effect == s.Effect && t.Operator == s.Operator && t.TolerationSeconds == nil
		}) {
			out = append(out, s)
		}
	}
	return out
}

// tolerates reports whether t tolerates taint.
func tolerates(t *api.Toleration, taint *api.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	switch t.Operator {
	case api.TolerationOpExists:
		return t.Key == "" || t.Key == taint.Key
	case "", api.TolerationOpEqual:
		return t.Key == taint.Key && t.Value == taint.Value
	}
	return false
}

// placement says whether a DaemonSet's pod belongs on a node.
type placement struct {
	// shouldRun: a pod should be created there if there is none.
	shouldRun bool
	// shouldContinue: a pod already there may stay.
	shouldContinue bool
}

// place decides whether the pod of template t belongs on node.
func place(t *api.PodTemplateSpec, node *api.Node) placement {
	if node.DeletionTimestamp != nil || !matchesNode(&t.Spec, node) {
		return placement{}
	}
	tols := withStandardTolerations(t.Spec.Tolerations, t.Spec.HostNetwork)
	pl := placement{shouldRun: true, shouldContinue: true}
	for i := range node.Spec.Taints {
		taint := &node.Spec.Taints[i]
		if taint.Effect != api.TaintEffectNoSchedule && taint.Effect != api.TaintEffectNoExecute {
			continue
		}
		if slices.ContainsFunc(tols, func(t api.Toleration) bool { return tolerates(&t, taint) }) {
			continue
		}
		pl.shouldRun = false
		if taint.Effect == api.TaintEffectNoExecute {
			return placement{}
		}
	}
	return pl
}

// matchesNode reports whether node matches spec's nodeSelector and
// required node affinity.
func matchesNode(spec *api.PodSpec, node *api.Node) bool {
	for k, v := range spec.NodeSelector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	for i := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if termMatches(&a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[i], node) {
			return true
		}
	}
	return false
}

// termMatches reports whether node meets every requirement of term; an
// empty term matches no node.
func termMatches(term *api.NodeSelectorTerm, node *api.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, r := range term.MatchExpressions {
		v, ok := node.Labels[r.Key]
		if !requirementMatches(r, v, ok) {
			return false
		}
	}
	for _, r := range term.MatchFields {
		if r.Key != nodeNameField || !requirementMatches(r, node.Name, true) {
			return false
		}
	}
	return true
}

func requirementMatches(r api.NodeSelectorRequirement, v string, ok bool) bool {
	switch r.Operator {
	case api.NodeSelectorOpIn:
		return ok && slices.Contains(r.Values, v)
	case api.NodeSelectorOpNotIn:
		return !ok || !slices.Contains(r.Values, v)
	case api.NodeSelectorOpExists:
		return ok
	case api.NodeSelectorOpDoesNotExist:
		return !ok
	case api.NodeSelectorOpGt, api.NodeSelectorOpLt:
		if !ok || len(r.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(v, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == api.NodeSelectorOpGt {
			return have > want
		}
		return have < want
	}
	return false
}

// podNode returns the node a daemon pod is on or pinned to: its
// spec.nodeName, or else the node its required affinity names with
// metadata.name In; "" if neither.
func podNode(p *api.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, r := range term.MatchFields {
			if r.Key == nodeNameField && r.Operator == api.NodeSelectorOpIn && len(r.Values) == 1 {
				return r.Values[0]
			}
		}
	}
	return ""
}

// pinToNode sets spec's required node affinity to the one term
// metadata.name In [node], replacing the template's required terms (the
// controller checked them against node already) and keeping the rest.
func pinToNode(spec *api.PodSpec, node string) {
	if spec.Affinity == nil {
		spec.Affinity = &api.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &api.NodeAffinity{}
	}
	spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &api.NodeSelector{
		NodeSelectorTerms: []api.NodeSelectorTerm{{
			MatchFields: []api.NodeSelectorRequirement{{Key: nodeNameField, Operator: api.NodeSelectorOpIn, Values: []string{node}}},
		}},
	}
}

// safeAlphabet holds the characters of a hash: no vowels (no words) and
// no look-alikes, as Kubernetes' generated names.
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// TemplateHash returns the revision of template t: FNV-32a over its JSON
// encoding (map keys sorted) and collisionCount when set, in the safe
// alphabet.
func TemplateHash(t *api.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	data, err := json.Marshal(t)
	if err != nil {
		data = []byte(err.Error())
	}
	h.Write(data)
	if collisionCount != nil {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(*collisionCount))
		h.Write(b[:])
	}
	digits := strconv.FormatUint(uint64(h.Sum32()), 10)
	out := make([]byte, len(digits))
	for i := range len(digits) {
		out[i] = safeAlphabet[int(digits[i]-'0')*3%len(safeAlphabet)]
	}
	return string(out)
}

// newPod returns the daemon pod of ds for node, with the template's hash.
func newPod(ds *api.DaemonSet, node, hash string) *api.Pod {
	pod := ctrlutil.PodFromTemplate(&ds.Spec.Template, ds, gvk)
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[RevisionHashLabel] = hash
	pod.Spec.Tolerations = withStandardTolerations(pod.Spec.Tolerations, pod.Spec.HostNetwork)
	pinToNode(&pod.Spec, node)
	return pod
}
