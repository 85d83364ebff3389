package interpodaffinity

import (
	"fmt"
	"strings"
	"sync"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/labels"
)

// NamespaceLabeler is an optional interface of the framework.Handle: it
// returns the labels of a namespace (nil if it is unknown). Without it, a
// term's non-empty namespaceSelector selects no namespace (an empty one,
// {}, still selects every namespace). Called from the scheduling
// goroutine and from preemption's goroutines; it must be safe for
// concurrent use.
type NamespaceLabeler interface {
	NamespaceLabels(namespace string) labels.Set
}

// term is a compiled PodAffinityTerm of one owner pod.
type term struct {
	sel        labels.Selector
	namespaces []string // explicit namespaces (the owner's if none and no selector)
	nsAll      bool     // namespaceSelector {}: every namespace
	nsSel      *labels.Selector
	key        string
	weight     int64
	// none: the term selects no pod (nil or invalid labelSelector).
	none bool
	// exact is a label every pod the term selects has (from a key=value
	// or "key in (value)" requirement), for the label index; ok false if
	// the selector has no such requirement.
	exact   labelPair
	exactOK bool
	// sig identifies the term's meaning, to group equal terms of
	// different pods.
	sig string
}

// labelPair is one label, key and value.
type labelPair struct{ key, value string }

// matches reports whether pod is one of the pods t selects.
func (t *term) matches(pod *api.Pod, nsLabels func(string) labels.Set) bool {
	if t.none || !t.inNamespace(pod.Namespace, nsLabels) {
		return false
	}
	return t.sel.Matches(labels.Set(pod.Labels))
}

func (t *term) inNamespace(ns string, nsLabels func(string) labels.Set) bool {
	if t.nsAll {
		return true
	}
	for _, n := range t.namespaces {
		if n == ns {
			return true
		}
	}
	if t.nsSel != nil && nsLabels != nil {
		if l := nsLabels(ns); l != nil {
			return t.nsSel.Matches(l)
		}
	}
	return false
}

func compileTerm(owner *api.Pod, at *api.PodAffinityTerm, weight int32) (term, error) {
	t := term{key: at.TopologyKey, weight: int64(weight)}
	sel, err := api.LabelSelectorAsSelector(at.LabelSelector)
	t.sel = sel // Nothing on error
	t.none = at.LabelSelector == nil || err != nil
	if err != nil {
		return t, err
	}
	for _, r := range sel.Requirements() {
		if v, ok := sel.RequiresExactMatch(r.Key()); ok {
			t.exact, t.exactOK = labelPair{r.Key(), v}, true
			break
		}
	}
	if at.NamespaceSelector != nil {
		if len(at.NamespaceSelector.MatchLabels)+len(at.NamespaceSelector.MatchExpressions) == 0 {
			t.nsAll = true
		} else {
			ns, err := api.LabelSelectorAsSelector(at.NamespaceSelector)
			if err != nil {
				return t, err
			}
			t.nsSel = &ns
		}
	}
	t.namespaces = at.Namespaces
	if len(t.namespaces) == 0 && at.NamespaceSelector == nil {
		t.namespaces = []string{owner.Namespace}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%q %t %q ", t.key, t.none, sel.String())
	for _, n := range t.namespaces {
		fmt.Fprintf(&b, "%q,", n)
	}
	switch {
	case t.nsAll:
		b.WriteString(" all")
	case t.nsSel != nil:
		fmt.Fprintf(&b, " %q", t.nsSel.String())
	}
	t.sig = b.String()
	return t, nil
}

// podTerms are the compiled pod affinity terms of one pod.
type podTerms struct {
	requiredAffinity []term
	requiredAnti     []term
	preferred        []term // affinity
	preferredAnti    []term
	err              error // first compile error
	seen             uint64
}

func compilePodTerms(pod *api.Pod) *podTerms {
	pt := &podTerms{}
	a := pod.Spec.Affinity
	if a == nil {
		return pt
	}
	add := func(dst *[]term, at *api.PodAffinityTerm, w int32) {
		t, err := compileTerm(pod, at, w)
		if err != nil && pt.err == nil {
			pt.err = err
		}
		*dst = append(*dst, t)
	}
	if pa := a.PodAffinity; pa != nil {
		for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
			add(&pt.requiredAffinity, &pa.RequiredDuringSchedulingIgnoredDuringExecution[i], 1)
		}
		for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			w := &pa.PreferredDuringSchedulingIgnoredDuringExecution[i]
			add(&pt.preferred, &w.PodAffinityTerm, w.Weight)
		}
	}
	if pa := a.PodAntiAffinity; pa != nil {
		for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
			add(&pt.requiredAnti, &pa.RequiredDuringSchedulingIgnoredDuringExecution[i], 1)
		}
		for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			w := &pa.PreferredDuringSchedulingIgnoredDuringExecution[i]
			add(&pt.preferredAnti, &w.PodAffinityTerm, w.Weight)
		}
	}
	return pt
}

// matchesAll reports whether pod matches every term (false for none).
func matchesAll(terms []term, pod *api.Pod, nsLabels func(string) labels.Set) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(pod, nsLabels) {
			return false
		}
	}
	return true
}

// termCache keeps the compiled terms of existing pods between cycles
// for the paths the index does not serve (preemption's AddPod and
// RemovePod, PreScore without a snapshot), keyed by the pod object
// (snapshots never modify a pod; an updated pod is a new object).
// Entries not used for a while are dropped.
type termCache struct {
	mu    sync.Mutex
	cycle uint64
	used  int // entries used in this cycle
	pods  map[*api.Pod]*podTerms
}

// get returns the compiled terms of pod.
func (c *termCache) get(pod *api.Pod) *podTerms {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pods == nil {
		c.pods = make(map[*api.Pod]*podTerms)
	}
	pt, ok := c.pods[pod]
	if !ok {
		pt = compilePodTerms(pod)
		c.pods[pod] = pt
	}
	if pt.seen != c.cycle {
		pt.seen = c.cycle
		c.used++
	}
	return pt
}

// endCycle starts a new cycle, first dropping the entries the cycle did
// not use once they outnumber the used ones (amortized O(1) per get).
func (c *termCache) endCycle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pods) > 2*c.used+1024 {
		for p, pt := range c.pods {
			if pt.seen != c.cycle {
				delete(c.pods, p)
			}
		}
	}
	c.cycle++
	c.used = 0
}
