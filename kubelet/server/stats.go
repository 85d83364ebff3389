package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/kubelet/internal/podlabels"
	"github.com/drover-io/drover/runtime"
)

// Summary is the answer of GET /stats/summary, in the shape of the
// Kubernetes Summary API (stats/v1alpha1) for the fields Drover measures:
// what `drover top` and metrics collectors decode.
type Summary struct {
	Node NodeStats  `json:"node"`
	Pods []PodStats `json:"pods"`
}

// NodeStats is the node's usage, from /proc.
type NodeStats struct {
	NodeName string       `json:"nodeName"`
	CPU      *CPUStats    `json:"cpu,omitempty"`
	Memory   *MemoryStats `json:"memory,omitempty"`
}

// PodStats is a pod's usage: the sums of its running containers'.
type PodStats struct {
	PodRef     PodReference     `json:"podRef"`
	StartTime  time.Time        `json:"startTime,omitzero"`
	Containers []ContainerStats `json:"containers"`
	CPU        *CPUStats        `json:"cpu,omitempty"`
	Memory     *MemoryStats     `json:"memory,omitempty"`
}

// PodReference names a pod.
type PodReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

// ContainerStats is a running container's usage.
type ContainerStats struct {
	Name      string       `json:"name"`
	StartTime time.Time    `json:"startTime,omitzero"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
}

// CPUStats is CPU usage at Time.
type CPUStats struct {
	Time time.Time `json:"time"`
	// UsageNanoCores is the average rate of use since the previous
	// sample of the same node or container, in billionths of a core;
	// absent on the first sample.
	UsageNanoCores *uint64 `json:"usageNanoCores,omitempty"`
	// UsageCoreNanoSeconds is the CPU time used, in all cores, since the
	// container started (for the node: since boot).
	UsageCoreNanoSeconds *uint64 `json:"usageCoreNanoSeconds,omitempty"`
}

// MemoryStats is memory usage at Time, in bytes.
type MemoryStats struct {
	Time time.Time `json:"time"`
	// AvailableBytes is what remains for new work (node: MemAvailable).
	AvailableBytes *uint64 `json:"availableBytes,omitempty"`
	// UsageBytes is all memory in use, page cache included.
	UsageBytes *uint64 `json:"usageBytes,omitempty"`
	// WorkingSetBytes is what cannot be reclaimed under pressure: what
	// evictions and the OOM killer look at.
	WorkingSetBytes *uint64 `json:"workingSetBytes,omitempty"`
}

// cpuSample is a previous CPU reading, for usageNanoCores.
type cpuSample struct {
	t     time.Time
	total uint64
}

// sampler keeps the last CPU sample of the node and of each container.
type sampler struct {
	mu   sync.Mutex
	last map[string]cpuSample // "" is the node; else a container ID
}

// rate records a sample of key and returns the rate of use since the
// previous one, or nil when there is none (or time did not move).
func (s *sampler) rate(key string, t time.Time, total uint64) *uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]cpuSample{}
	}
	prev, ok := s.last[key]
	s.last[key] = cpuSample{t, total}
	if !ok || !t.After(prev.t) || total < prev.total {
		return nil
	}
	d := uint64(t.Sub(prev.t))
	// (total-prev) ns of CPU over d ns of time, in nanocores: ×1e9.
	nc := uint64(float64(total-prev.total) / float64(d) * 1e9)
	return &nc
}

// forget drops the samples of containers not in keep.
func (s *sampler) forget(keep map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.last {
		if k != "" && !keep[k] {
			delete(s.last, k)
		}
	}
}

// serveStatsSummary serves GET /stats/summary.
func (s *Server) serveStatsSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.summary(r)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, sum)
}

// summary measures the node and its pods' running containers.
func (s *Server) summary(r *http.Request) (*Summary, error) {
	ctx := r.Context()
	now := s.clock.Now()
	sum := &Summary{Node: NodeStats{NodeName: s.cfg.NodeName}, Pods: []PodStats{}}
	node, err := readNodeUsage(s.cfg.ProcDir)
	if err != nil {
		// The pods are still worth reporting.
		s.log.Warn("cannot read the node's usage", "dir", s.cfg.ProcDir, "err", err)
	} else {
		cpu := node.cpuNanoseconds
		sum.Node.CPU = &CPUStats{Time: now, UsageCoreNanoSeconds: &cpu, UsageNanoCores: s.samples.rate("", now, cpu)}
		sum.Node.Memory = &MemoryStats{Time: now, AvailableBytes: ptr(node.available), UsageBytes: ptr(node.usage), WorkingSetBytes: ptr(node.workingSet)}
	}
	pods, err := s.allPods(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range pods {
		ps := PodStats{PodRef: PodReference{Name: p.name, Namespace: p.namespace, UID: p.uid}, StartTime: p.newest().CreatedAt, Containers: []ContainerStats{}}
		var cpuTotal, nanoCores, usage, workingSet uint64
		measured, allRates := false, true
		for _, c := range p.containers {
			if c.State != runtime.ContainerRunning || c.SandboxID != p.newest().ID {
				continue
			}
			cs := ContainerStats{Name: c.Labels[podlabels.ContainerName], StartTime: c.StartedAt}
			if s.stats != nil {
				st, err := s.stats.ContainerStats(ctx, c.ID)
				switch {
				case errors.Is(err, runtime.ErrNotRunning) || errors.Is(err, runtime.ErrNotFound):
					continue // ended since it was listed
				case err != nil:
					s.log.Warn("cannot measure a container", "pod", p.namespace+"/"+p.name, "container", cs.Name, "err", err)
				default:
					seen[c.ID] = true
					rate := s.samples.rate(c.ID, st.Timestamp, st.CPUUsageNanoseconds)
					cs.CPU = &CPUStats{Time: st.Timestamp, UsageCoreNanoSeconds: ptr(st.CPUUsageNanoseconds), UsageNanoCores: rate}
					cs.Memory = &MemoryStats{Time: st.Timestamp, UsageBytes: ptr(st.MemoryUsageBytes), WorkingSetBytes: ptr(st.MemoryWorkingSetBytes)}
					measured = true
					cpuTotal += st.CPUUsageNanoseconds
					usage += st.MemoryUsageBytes
					workingSet += st.MemoryWorkingSetBytes
					if rate != nil {
						nanoCores += *rate
					} else {
						allRates = false
					}
				}
			}
			ps.Containers = append(ps.Containers, cs)
		}
		if measured {
			ps.CPU = &CPUStats{Time: now, UsageCoreNanoSeconds: ptr(cpuTotal)}
			if allRates {
				ps.CPU.UsageNanoCores = ptr(nanoCores)
			}
			ps.Memory = &MemoryStats{Time: now, UsageBytes: ptr(usage), WorkingSetBytes: ptr(workingSet)}
		}
		sum.Pods = append(sum.Pods, ps)
	}
	s.samples.forget(seen)
	return sum, nil
}

func ptr[T any](v T) *T { return &v }

// nodeUsage is the node's usage as /proc tells it.
type nodeUsage struct {
	cpuNanoseconds               uint64 // busy CPU time since boot, all cores
	available, usage, workingSet uint64 // bytes
}

// userHZ is the unit of the times in /proc/stat (USER_HZ, 100 on every
// Linux architecture Go runs on).
const userHZ = 100

// readNodeUsage reads dir/stat and dir/meminfo.
func readNodeUsage(dir string) (nodeUsage, error) {
	var u nodeUsage
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return u, fmt.Errorf("read the node's CPU time: %w", err)
	}
	if u.cpuNanoseconds, err = parseProcStat(stat); err != nil {
		return u, fmt.Errorf("%s: %w", filepath.Join(dir, "stat"), err)
	}
	meminfo, err := os.ReadFile(filepath.Join(dir, "meminfo"))
	if err != nil {
		return u, fmt.Errorf("read the node's memory: %w", err)
	}
	if u.available, u.usage, u.workingSet, err = parseMeminfo(meminfo); err != nil {
		return u, fmt.Errorf("%s: %w", filepath.Join(dir, "meminfo"), err)
	}
	return u, nil
}

// parseProcStat returns the busy CPU time of the "cpu" line of
// /proc/stat, in nanoseconds: every field but idle and iowait (guest
// time is counted in user time already).
func parseProcStat(data []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 5 {
			return 0, fmt.Errorf("the cpu line has %d fields: want at least user, nice, system and idle", len(f)-1)
		}
		var busy uint64
		for i, v := range f[1:] {
			if i >= 8 { // guest and guest_nice are in user and nice
				break
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("the cpu line's field %d is %q: not a number", i+1, v)
			}
			if i == 3 || i == 4 { // idle, iowait
				continue
			}
			busy += n
		}
		return busy * (uint64(time.Second) / userHZ), nil
	}
	return 0, errors.New(`no "cpu" line`)
}

// parseMeminfo returns the available, used and working-set memory from
// /proc/meminfo: usage is MemTotal - MemFree, the working set usage
// minus the inactive file cache (which can be reclaimed), available
// MemAvailable.
func parseMeminfo(data []byte) (available, usage, workingSet uint64, err error) {
	vals := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		vals[k] = n
	}
	for _, k := range []string{"MemTotal", "MemFree", "MemAvailable"} {
		if _, ok := vals[k]; !ok {
			return 0, 0, 0, fmt.Errorf("no %s line", k)
		}
	}
	usage = vals["MemTotal"] - min(vals["MemFree"], vals["MemTotal"])
	workingSet = usage - min(vals["Inactive(file)"], usage)
	return vals["MemAvailable"], usage, workingSet, nil
}
