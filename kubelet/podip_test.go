package kubelet

import (
	"testing"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/runtime"
)

// TestPodIP: the node's address for host-network pods and sandboxes
// without a network namespace; none yet for a namespace of the pod's own
// (no pod network); and, once the sandbox is stopped or gone, the address
// reported before — a finished pod keeps its IP, as in Kubernetes, rather
// than turning into the node's.
func TestPodIP(t *testing.T) {
	k := &Kubelet{cfg: Config{NodeIP: "192.0.2.7"}}
	ready := func(netns string) *runtime.SandboxStatus {
		return &runtime.SandboxStatus{State: runtime.SandboxReady, NetNSPath: netns}
	}
	stopped := &runtime.SandboxStatus{State: runtime.SandboxNotReady}
	pod := func(host bool, reported string) *api.Pod {
		return &api.Pod{Spec: api.PodSpec{HostNetwork: host}, Status: api.PodStatus{PodIP: reported}}
	}
	for _, tc := range []struct {
		name string
		pod  *api.Pod
		sb   *runtime.SandboxStatus
		want string
	}{
		{"host network", pod(true, ""), ready("/var/run/netns/x"), "192.0.2.7"},
		{"host network, sandbox gone", pod(true, ""), nil, "192.0.2.7"},
		{"no namespace of its own", pod(false, ""), ready(""), "192.0.2.7"},
		{"a namespace of its own", pod(false, ""), ready("/var/run/netns/x"), ""},
		{"finished: stopped sandbox keeps no IP", pod(false, ""), stopped, ""},
		{"finished: stopped sandbox keeps the node's", pod(false, "192.0.2.7"), stopped, "192.0.2.7"},
		{"finished: sandbox removed", pod(false, "10.0.0.5"), nil, "10.0.0.5"},
	} {
		if got := k.podIP(tc.pod, tc.sb); got != tc.want {
			t.Errorf("%s: podIP = %q, want %q", tc.name, got, tc.want)
		}
	}
}
