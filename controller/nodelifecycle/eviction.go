package nodelifecycle

import (
	"time"

	"github.com/drover-io/drover/api"
)

// This file is the pure core of the NoExecute taint manager: when a pod on
// a tainted node must go.

// tolerates reports whether toleration t matches taint.
func tolerates(t *api.Toleration, taint *api.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key == "" {
		return t.Operator == api.TolerationOpExists
	}
	if t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case api.TolerationOpExists:
		return true
	case api.TolerationOpEqual, "":
		return t.Value == taint.Value
	}
	return false
}

// evictionTime returns when a pod with tolerations ts must be evicted from
// a node with taints: for each NoExecute taint, the time it has been on the
// node since (since(taint)) plus the shortest tolerationSeconds among the
// pod's tolerations that match it (as Kubernetes; a matching toleration
// without tolerationSeconds counts only when no matching one has them, and
// negative seconds count as 0); a taint no toleration matches means at
// since(taint), that is at once. The earliest over the taints wins. ok is
// false when the pod tolerates every NoExecute taint forever, or there are
// none.
func evictionTime(ts []api.Toleration, taints []api.Taint, since func(*api.Taint) time.Time) (at time.Time, ok bool) {
	for i := range taints {
		taint := &taints[i]
		if taint.Effect != api.TaintEffectNoExecute {
			continue
		}
		matched, forever := false, true
		var shortest int64
		for j := range ts {
			if !tolerates(&ts[j], taint) {
				continue
			}
			matched = true
			if s := ts[j].TolerationSeconds; s != nil {
				if forever || *s < shortest {
					shortest = *s
				}
				forever = false
			}
		}
		if matched && forever {
			continue
		}
		t := since(taint)
		if matched && shortest > 0 {
			t = t.Add(time.Duration(shortest) * time.Second)
		}
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	return at, ok
}
