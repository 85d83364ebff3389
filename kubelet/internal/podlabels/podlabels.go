// Package podlabels names the labels and annotations the node agent puts
// on the sandboxes and containers it makes, so that every part of the
// node agent (pod workers, the HTTPS API, adoption after a restart) finds
// a pod's sandbox and containers in the runtime without asking each
// other.
package podlabels

// Labels on every sandbox and container the node agent makes.
const (
	// PodName, PodNamespace and PodUID identify the pod.
	PodName      = "drover.io/pod-name"
	PodNamespace = "drover.io/pod-namespace"
	PodUID       = "drover.io/pod-uid"
	// ContainerName is the container's name in the pod spec (containers
	// only; init containers included).
	ContainerName = "drover.io/container-name"
	// ContainerType is "init" or "regular" (containers only).
	ContainerType = "drover.io/container-type"
	// ManagedBy is "drover-kubelet" on everything the node agent made;
	// sandboxes without it are not the node agent's and are left alone.
	ManagedBy = "drover.io/managed-by"
)

// ManagedByValue is the value of the ManagedBy label.
const ManagedByValue = "drover-kubelet"

// Container types, the values of ContainerType.
const (
	TypeInit    = "init"
	TypeRegular = "regular"
)

// Annotations on containers, which the node agent reads back after a
// restart.
const (
	// ContainerHash is a hash of the container's spec: a container whose
	// spec changed is restarted.
	ContainerHash = "drover.io/container-hash"
	// TerminationGracePeriod is the pod's grace period in seconds when
	// the container was made.
	TerminationGracePeriod = "drover.io/termination-grace-period"
)

// Sandbox returns the labels of pod's sandbox.
func Sandbox(namespace, name, uid string) map[string]string {
	return map[string]string{
		PodName:      name,
		PodNamespace: namespace,
		PodUID:       uid,
		ManagedBy:    ManagedByValue,
	}
}

// Container returns the labels of a container of pod's.
func Container(namespace, name, uid, container, typ string) map[string]string {
	l := Sandbox(namespace, name, uid)
	l[ContainerName] = container
	l[ContainerType] = typ
	return l
}
