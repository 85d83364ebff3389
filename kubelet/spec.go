package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/kubelet/internal/podlabels"
	"github.com/drover-io/drover/runtime"
)

// containerHash is the hash of c's spec kept in the ContainerHash
// annotation: a container whose spec changed is restarted.
func containerHash(c *api.Container) string {
	b, _ := json.Marshal(c)
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 16)
}

// containerConfig is the runtime's config of container c of pod.
func (k *Kubelet) containerConfig(ctx context.Context, w *podWorker, pod *api.Pod, c *api.Container, typ, image string, attempt uint32, vols map[string]string) (*runtime.ContainerConfig, error) {
	env, err := k.environment(ctx, pod, c)
	if err != nil {
		return nil, err
	}
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		vars[kv.Key] = kv.Value
	}
	cfg := &runtime.ContainerConfig{
		Name:       c.Name,
		Attempt:    attempt,
		Image:      image,
		Command:    expandAll(c.Command, vars),
		Args:       expandAll(c.Args, vars),
		Env:        env,
		WorkingDir: c.WorkingDir,
		LogPath:    c.Name + "/" + strconv.FormatUint(uint64(attempt), 10) + ".log",
		Resources:  resources(c),
		Security:   security(pod, c),
		Labels:     podlabels.Container(pod.Namespace, pod.Name, string(pod.UID), c.Name, typ),
		Annotations: map[string]string{
			podlabels.ContainerHash:          containerHash(c),
			podlabels.TerminationGracePeriod: strconv.FormatInt(int64(gracePeriod(pod, nil).Seconds()), 10),
		},
	}
	for _, m := range c.VolumeMounts {
		host, ok := vols[m.Name]
		if !ok {
			return nil, fmt.Errorf("container %q: volumeMounts %q: no volume of that name in the pod", c.Name, m.Name)
		}
		if m.SubPath != "" {
			if filepath.IsAbs(m.SubPath) || slices.Contains(strings.Split(filepath.ToSlash(m.SubPath), "/"), "..") {
				return nil, fmt.Errorf("container %q: volumeMounts %q: subPath %q must be relative, without \"..\"", c.Name, m.Name, m.SubPath)
			}
			var err error
			if host, err = subPathIn(host, m.SubPath); err != nil {
				return nil, fmt.Errorf("container %q: volumeMounts %q: subPath %q: %w", c.Name, m.Name, m.SubPath, err)
			}
		}
		cfg.Mounts = append(cfg.Mounts, runtime.Mount{HostPath: host, ContainerPath: m.MountPath, ReadOnly: m.ReadOnly || agentWritten(pod, m.Name)})
	}
	return cfg, nil
}

// agentWritten says whether pod's volume name is one whose files the
// node agent writes (configMap, secret, downwardAPI, projected): it is
// mounted read-only, as Kubernetes does, so that no container can swap
// the agent's links and directories there for ones leading elsewhere on
// the host.
func agentWritten(pod *api.Pod, name string) bool {
	for i := range pod.Spec.Volumes {
		if v := &pod.Spec.Volumes[i]; v.Name == name {
			src := &v.VolumeSource
			return src.ConfigMap != nil || src.Secret != nil || src.DownwardAPI != nil || src.Projected != nil
		}
	}
	return false
}

// subPathIn returns the path of sub (relative, without "..") in the
// volume at root, making the directories that are missing. Symbolic
// links on the way, which a container may have made in a shared volume,
// are followed only while they stay in the volume.
func subPathIn(root, sub string) (string, error) {
	base, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	cur := base
	for part := range strings.SplitSeq(filepath.ToSlash(sub), "/") {
		if part == "" || part == "." {
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(next, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", fmt.Errorf("make it: %w", err)
			}
			fi, err = os.Lstat(next)
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if next, err = filepath.EvalSymlinks(next); err != nil {
				return "", err
			}
			if rel, err := filepath.Rel(base, next); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return "", fmt.Errorf("%s is a symbolic link out of the volume", part)
			}
		}
		cur = next
	}
	return cur, nil
}

// environment resolves c's environment through Config.ResolveEnv, or
// takes its literal values.
func (k *Kubelet) environment(ctx context.Context, pod *api.Pod, c *api.Container) ([]runtime.KeyValue, error) {
	if k.cfg.ResolveEnv != nil {
		p := *pod
		p.Status.HostIP = k.nodeIP()
		if p.Status.HostIP != "" {
			p.Status.HostIPs = []api.HostIP{{IP: p.Status.HostIP}}
		}
		if ip := k.podIP(pod, nil); ip != "" {
			p.Status.PodIP = ip
			p.Status.PodIPs = []api.PodIP{{IP: ip}}
		}
		return k.cfg.ResolveEnv(ctx, &p, c, k.envSrc)
	}
	vars := make(map[string]string, len(c.Env))
	var out []runtime.KeyValue
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			return nil, fmt.Errorf("container %q: env %q: valueFrom needs an environment resolver, and none is configured", c.Name, e.Name)
		}
		v := expand(e.Value, vars)
		vars[e.Name] = v
		out = append(out, runtime.KeyValue{Key: e.Name, Value: v})
	}
	if len(c.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %q: envFrom needs an environment resolver, and none is configured", c.Name)
	}
	return out, nil
}

func expandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, vars)
	}
	return out
}

// expand replaces $(VAR) in s by vars[VAR]; a reference to an unknown
// variable is left as it is, and $$ is a literal $.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// resources are c's CPU shares and quota and memory limit.
func resources(c *api.Container) runtime.Resources {
	var r runtime.Resources
	req, ok := c.Resources.Requests[api.ResourceCPU]
	if !ok {
		req, ok = c.Resources.Limits[api.ResourceCPU]
	}
	r.CPUShares = 2
	if ok {
		r.CPUShares = max(uint64(max(req.MilliValue(), 0))*1024/1000, 2)
	}
	if lim, ok := c.Resources.Limits[api.ResourceCPU]; ok && !lim.IsZero() {
		r.CPUPeriod = 100000
		r.CPUQuota = max(lim.MilliValue()*100, 1000)
	}
	if lim, ok := c.Resources.Limits[api.ResourceMemory]; ok {
		r.MemoryLimit = lim.Value()
	}
	return r
}

// security is c's security config, the pod's settings under its own.
func security(pod *api.Pod, c *api.Container) runtime.SecurityConfig {
	var s runtime.SecurityConfig
	if psc := pod.Spec.SecurityContext; psc != nil {
		s.UID, s.GID = psc.RunAsUser, psc.RunAsGroup
		s.SupplementalGroups = append(s.SupplementalGroups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			s.SupplementalGroups = append(s.SupplementalGroups, *psc.FSGroup)
		}
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			s.UID = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			s.GID = sc.RunAsGroup
		}
		s.Privileged = sc.Privileged != nil && *sc.Privileged
		s.ReadOnlyRootFilesystem = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
		s.AllowPrivilegeEscalation = sc.AllowPrivilegeEscalation
		if caps := sc.Capabilities; caps != nil {
			for _, a := range caps.Add {
				s.AddCapabilities = append(s.AddCapabilities, strings.TrimPrefix(string(a), "CAP_"))
			}
			for _, d := range caps.Drop {
				s.DropCapabilities = append(s.DropCapabilities, strings.TrimPrefix(string(d), "CAP_"))
			}
		}
	}
	return s
}

// dirVolumes is the built-in VolumeManager used without one: hostPath
// volumes are their path, every other volume an empty directory.
type dirVolumes struct{ root string }

func (d *dirVolumes) SetUp(_ context.Context, pod *api.Pod) (map[string]string, error) {
	out := make(map[string]string, len(pod.Spec.Volumes))
	for _, v := range pod.Spec.Volumes {
		if v.HostPath != nil {
			out[v.Name] = v.HostPath.Path
			continue
		}
		dir := filepath.Join(d.root, "pods", string(pod.UID), "volumes", "empty-dir", v.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		out[v.Name] = dir
	}
	return out, nil
}

func (d *dirVolumes) TearDown(_ context.Context, podUID string) error {
	if podUID == "" {
		return nil
	}
	return os.RemoveAll(filepath.Join(d.root, "pods", podUID))
}

// clientSources reads ConfigMaps and Secrets through the client.
type clientSources struct {
	c interface {
		Get(ctx context.Context, namespace, name string, obj api.Object) error
	}
}

func (s clientSources) ConfigMap(ctx context.Context, namespace, name string) (*api.ConfigMap, error) {
	var cm api.ConfigMap
	if err := s.c.Get(ctx, namespace, name, &cm); err != nil {
		return nil, err
	}
	return &cm, nil
}

func (s clientSources) Secret(ctx context.Context, namespace, name string) (*api.Secret, error) {
	var sec api.Secret
	if err := s.c.Get(ctx, namespace, name, &sec); err != nil {
		return nil, err
	}
	return &sec, nil
}
