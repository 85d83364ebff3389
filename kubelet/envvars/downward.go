package envvars

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/api/resource"
)

// FieldPaths are the pod fields FieldValue reads, besides one label or
// annotation as metadata.labels['key'] and metadata.annotations['key'].
var FieldPaths = []string{
	"metadata.name", "metadata.namespace", "metadata.uid",
	"spec.nodeName", "spec.serviceAccountName",
	"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
}

// FieldValue returns the value of the downward API field fieldPath of pod
// (one of FieldPaths, or metadata.labels['key'] or
// metadata.annotations['key'], "" when the key is missing). The lists
// status.hostIPs and status.podIPs are comma-separated, as in Kubernetes.
// The status fields are what pod holds: the caller sets status.podIP
// from the sandbox before it resolves a container's environment.
func FieldValue(pod *api.Pod, fieldPath string) (string, error) {
	if field, key, ok := splitSubscript(fieldPath); ok {
		switch field {
		case "metadata.labels":
			return pod.Labels[key], nil
		case "metadata.annotations":
			return pod.Annotations[key], nil
		}
		return "", fmt.Errorf("field path %q: only metadata.labels and metadata.annotations take a ['key'] subscript", fieldPath)
	}
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	case "status.hostIPs":
		ips := make([]string, len(pod.Status.HostIPs))
		for i, ip := range pod.Status.HostIPs {
			ips[i] = ip.IP
		}
		return strings.Join(ips, ","), nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.podIPs":
		ips := make([]string, len(pod.Status.PodIPs))
		for i, ip := range pod.Status.PodIPs {
			ips[i] = ip.IP
		}
		return strings.Join(ips, ","), nil
	}
	return "", fmt.Errorf("field path %q is not supported: want one of %s, metadata.labels['key'] or metadata.annotations['key']",
		fieldPath, strings.Join(FieldPaths, ", "))
}

// splitSubscript splits "metadata.labels['app']" into "metadata.labels"
// and "app".
func splitSubscript(fieldPath string) (field, key string, ok bool) {
	s, ok := strings.CutSuffix(fieldPath, "']")
	if !ok {
		return "", "", false
	}
	field, key, ok = strings.Cut(s, "['")
	if !ok || field == "" {
		return "", "", false
	}
	return field, key, true
}

// ResourceValue returns the request or limit sel names (limits.cpu,
// limits.memory, limits.ephemeral-storage, requests.cpu, ...) of pod's
// container containerName (an init container or a regular one), divided
// by sel.Divisor (default 1) and rounded up to a whole number, as
// Kubernetes reports it: a CPU limit of 250m with divisor 1m is "250",
// with divisor 1 it is "1".
//
// A limit the container does not set is the node's: nodeAllocatable's
// value of that resource, as Kubernetes substitutes; with no such value
// either, ResourceValue fails. A request the container does not set is
// "0".
func ResourceValue(pod *api.Pod, containerName string, sel *api.ResourceFieldSelector, nodeAllocatable api.ResourceList) (string, error) {
	c := findContainer(pod, containerName)
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef %s: pod %s/%s has no container %q", sel.Resource, pod.Namespace, pod.Name, containerName)
	}
	kind, name, ok := strings.Cut(sel.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") || !supportedResource(name) {
		return "", fmt.Errorf("resourceFieldRef resource %q is not supported: want limits.<r> or requests.<r> with <r> cpu, memory, ephemeral-storage or hugepages-<size>", sel.Resource)
	}
	rn := api.ResourceName(name)
	var q resource.Quantity
	if kind == "limits" {
		v, ok := c.Resources.Limits[rn]
		if !ok {
			if v, ok = nodeAllocatable[rn]; !ok {
				return "", fmt.Errorf("resourceFieldRef %s: container %q sets no %s limit and the node's allocatable %s is not known", sel.Resource, c.Name, name, name)
			}
		}
		q = v
	} else {
		q = c.Resources.Requests[rn] // missing: 0
	}
	divisor := sel.Divisor
	if divisor.IsZero() {
		divisor = resource.NewQuantity(1, resource.DecimalSI)
	}
	if divisor.Sign() < 0 {
		return "", fmt.Errorf("resourceFieldRef %s: divisor %s must be positive", sel.Resource, divisor.String())
	}
	return ceilDiv(q, divisor), nil
}

func supportedResource(name string) bool {
	switch name {
	case "cpu", "memory", "ephemeral-storage":
		return true
	}
	return strings.HasPrefix(name, "hugepages-")
}

// ceilDiv returns q/d rounded up (toward +inf) as a decimal integer,
// computed exactly.
func ceilDiv(q, d resource.Quantity) string {
	qu, qe := q.AsDecimal()
	du, de := d.AsDecimal()
	// q/d = (qu * 10^qe) / (du * 10^de) = qu * 10^(qe-de) / du
	num, den := qu, du
	if e := int64(qe) - int64(de); e >= 0 {
		num = new(big.Int).Mul(num, new(big.Int).Exp(big.NewInt(10), big.NewInt(e), nil))
	} else {
		den = new(big.Int).Mul(den, new(big.Int).Exp(big.NewInt(10), big.NewInt(-e), nil))
	}
	quo, mod := new(big.Int).DivMod(num, den, new(big.Int)) // Euclidean: mod >= 0, den > 0
	if mod.Sign() != 0 {
		quo.Add(quo, big.NewInt(1))
	}
	if quo.IsInt64() {
		return strconv.FormatInt(quo.Int64(), 10)
	}
	return quo.String()
}

func findContainer(pod *api.Pod, name string) *api.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
