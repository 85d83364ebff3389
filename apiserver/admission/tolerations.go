package admission

import (
	"context"
	"fmt"

	"github.com/drover-io/drover/api"
)

// The NoExecute taints the node lifecycle controller puts on a node whose
// agent reports Ready=False (TaintNodeNotReady) or has stopped
// heartbeating (TaintNodeUnreachable).
const (
	TaintNodeNotReady    = "node.kubernetes.io/not-ready"
	TaintNodeUnreachable = "node.kubernetes.io/unreachable"
)

// DefaultTolerationSecondsValue is how long, in seconds, the default chain
// lets a pod stay on a node that is not ready or unreachable before it is
// evicted: five minutes, as in Kubernetes.
const DefaultTolerationSecondsValue int64 = 300

// DefaultTolerationSeconds returns the mutator "DefaultTolerationSeconds":
// a Pod created without a toleration of the NoExecute taint
// node.kubernetes.io/not-ready gets one for notReadySeconds, and likewise
// node.kubernetes.io/unreachable for unreachableSeconds, so that a node
// failing briefly does not evict its pods at once. A pod that already
// tolerates a taint (a toleration with its key, or an empty key and
// operator Exists, and effect NoExecute or empty) keeps its own toleration.
// Both durations must be at least 0; it panics otherwise, as they come
// from the program, not from a request.
func DefaultTolerationSeconds(notReadySeconds, unreachableSeconds int64) Mutator {
	if notReadySeconds < 0 || unreachableSeconds < 0 {
		panic(fmt.Sprintf("admission: DefaultTolerationSeconds(%d, %d): the durations must be at least 0 seconds",
			notReadySeconds, unreachableSeconds))
	}
	return defaultTolerationSeconds{notReady: notReadySeconds, unreachable: unreachableSeconds}
}

type defaultTolerationSeconds struct {
	notReady, unreachable int64
}

func (defaultTolerationSeconds) Name() string { return "DefaultTolerationSeconds" }

func (d defaultTolerationSeconds) Admit(_ context.Context, a *Attributes) error {
	if a.Operation != Create || a.Subresource != "" {
		return nil
	}
	pod, ok := a.Object.(*api.Pod)
	if !ok {
		return nil
	}
	for _, t := range []struct {
		key     string
		seconds int64
	}{{TaintNodeNotReady, d.notReady}, {TaintNodeUnreachable, d.unreachable}} {
		if toleratesNoExecute(pod.Spec.Tolerations, t.key) {
			continue
		}
		seconds := t.seconds
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, api.Toleration{
			Key:               t.key,
			Operator:          api.TolerationOpExists,
			Effect:            api.TaintEffectNoExecute,
			TolerationSeconds: &seconds,
		})
	}
	return nil
}

// toleratesNoExecute reports whether one of ts matches the NoExecute taint
// key, whatever its value.
func toleratesNoExecute(ts []api.Toleration, key string) bool {
	for _, t := range ts {
		if t.Effect != "" && t.Effect != api.TaintEffectNoExecute {
			continue
		}
		if t.Key == key || (t.Key == "" && t.Operator == api.TolerationOpExists) {
			return true
		}
	}
	return false
}
