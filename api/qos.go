package api

// PodQOS returns the quality-of-service class of a pod with spec, from the
// CPU and memory requests and limits of its containers and init
// containers: BestEffort when none has any, Guaranteed when every one has
// CPU and memory limits and its requests (where set) equal them, and
// Burstable otherwise. The API server sets it in status.qosClass when a
// pod is created; the node agent orders evictions by it.
func PodQOS(spec *PodSpec) PodQOSClass {
	any, guaranteed := false, true
	check := func(cs []Container) {
		for i := range cs {
			req, lim := cs[i].Resources.Requests, cs[i].Resources.Limits
			for _, name := range []ResourceName{ResourceCPU, ResourceMemory} {
				r, hasReq := req[name]
				l, hasLim := lim[name]
				if (hasReq && !r.IsZero()) || (hasLim && !l.IsZero()) {
					any = true
				}
				switch {
				case !hasLim || l.IsZero():
					guaranteed = false
				case hasReq && r.Cmp(l) != 0:
					guaranteed = false
				}
			}
		}
	}
	check(spec.InitContainers)
	check(spec.Containers)
	switch {
	case !any:
		return PodQOSBestEffort
	case guaranteed:
		return PodQOSGuaranteed
	}
	return PodQOSBurstable
}
