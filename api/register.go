package api

// Groups and versions of the built-in kinds.
var (
	CoreV1         = GroupVersion{Version: "v1"}
	AppsV1         = GroupVersion{Group: "apps", Version: "v1"}
	BatchV1        = GroupVersion{Group: "batch", Version: "v1"}
	CoordinationV1 = GroupVersion{Group: "coordination.k8s.io", Version: "v1"}
	DiscoveryV1    = GroupVersion{Group: "discovery.k8s.io", Version: "v1"}
)

// AddBuiltins registers Drover's built-in kinds in s.
func AddBuiltins(s *Scheme) error {
	all := []string{"all"}
	for _, err := range []error{
		Register[Namespace](s, Kind{GroupVersionKind: CoreV1.WithKind("Namespace"), Resource: "namespaces", ShortNames: []string{"ns"}, Subresources: []string{"status", "finalize"}}),
		Register[Node](s, Kind{GroupVersionKind: CoreV1.WithKind("Node"), Resource: "nodes", ShortNames: []string{"no"}, Subresources: []string{"status"}}),
		Register[Pod](s, Kind{GroupVersionKind: CoreV1.WithKind("Pod"), Resource: "pods", ShortNames: []string{"po"}, Namespaced: true, Categories: all, Subresources: []string{"status", "binding", "log", "eviction", "exec"}}),
		Register[Service](s, Kind{GroupVersionKind: CoreV1.WithKind("Service"), Resource: "services", ShortNames: []string{"svc"}, Namespaced: true, Categories: all, Subresources: []string{"status"}}),
		Register[Endpoints](s, Kind{GroupVersionKind: CoreV1.WithKind("Endpoints"), Resource: "endpoints", Singular: "endpoints", ShortNames: []string{"ep"}, Namespaced: true}),
		Register[ConfigMap](s, Kind{GroupVersionKind: CoreV1.WithKind("ConfigMap"), Resource: "configmaps", ShortNames: []string{"cm"}, Namespaced: true}),
		Register[Secret](s, Kind{GroupVersionKind: CoreV1.WithKind("Secret"), Resource: "secrets", Namespaced: true}),
		Register[ServiceAccount](s, Kind{GroupVersionKind: CoreV1.WithKind("ServiceAccount"), Resource: "serviceaccounts", ShortNames: []string{"sa"}, Namespaced: true}),
		Register[Event](s, Kind{GroupVersionKind: CoreV1.WithKind("Event"), Resource: "events", ShortNames: []string{"ev"}, Namespaced: true}),
		Register[Deployment](s, Kind{GroupVersionKind: AppsV1.WithKind("Deployment"), Resource: "deployments", ShortNames: []string{"deploy"}, Namespaced: true, Categories: all, Subresources: []string{"status", "scale"}}),
		Register[ReplicaSet](s, Kind{GroupVersionKind: AppsV1.WithKind("ReplicaSet"), Resource: "replicasets", ShortNames: []string{"rs"}, Namespaced: true, Categories: all, Subresources: []string{"status", "scale"}}),
		Register[DaemonSet](s, Kind{GroupVersionKind: AppsV1.WithKind("DaemonSet"), Resource: "daemonsets", ShortNames: []string{"ds"}, Namespaced: true, Categories: all, Subresources: []string{"status"}}),
		Register[Job](s, Kind{GroupVersionKind: BatchV1.WithKind("Job"), Resource: "jobs", Namespaced: true, Categories: all, Subresources: []string{"status"}}),
		Register[Lease](s, Kind{GroupVersionKind: CoordinationV1.WithKind("Lease"), Resource: "leases", Namespaced: true}),
		Register[EndpointSlice](s, Kind{GroupVersionKind: DiscoveryV1.WithKind("EndpointSlice"), Resource: "endpointslices", Namespaced: true}),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
