package kubelet

import (
	"context"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/kubelet/envvars"
	"github.com/drover-io/drover/kubelet/prober"
	"github.com/drover-io/drover/kubelet/volume"
	"github.com/drover-io/drover/runtime"
)

// This file wires the node agent's own implementations of its
// dependencies: probes from package kubelet/prober, the environment from
// kubelet/envvars; a *volume.Manager is a VolumeManager as it is.

var _ VolumeManager = (*volume.Manager)(nil)

// Probes returns a Config.NewProbeManager that makes a prober.Manager of
// cfg, whose OnUpdate reports to the Kubelet (cfg.OnUpdate, if set, is
// called first). The Kubelet runs it.
func Probes(cfg prober.Config) func(report func(ProbeUpdate)) (ProbeManager, error) {
	return func(report func(ProbeUpdate)) (ProbeManager, error) {
		user := cfg.OnUpdate
		cfg.OnUpdate = func(u prober.Update) {
			if user != nil {
				user(u)
			}
			report(ProbeUpdate{
				PodUID: u.PodUID, ContainerName: u.ContainerName, ContainerID: u.ContainerID,
				Kind: probeKind(u.Kind), Result: probeResult(u.Result), Message: u.Message,
			})
		}
		m, err := prober.NewManager(cfg)
		if err != nil {
			return nil, err
		}
		return proberManager{m}, nil
	}
}

func probeKind(k prober.Kind) ProbeKind {
	switch k {
	case prober.Readiness:
		return Readiness
	case prober.Startup:
		return Startup
	}
	return Liveness
}

func probeResult(r prober.Result) ProbeResult {
	switch r {
	case prober.Success:
		return ProbeSuccess
	case prober.Failure:
		return ProbeFailure
	}
	return ProbeUnknown
}

// proberManager adapts a *prober.Manager to ProbeManager.
type proberManager struct{ m *prober.Manager }

func (p proberManager) Add(pod *api.Pod, c *api.Container, id string, startedAt time.Time, t ProbeTarget) {
	p.m.Add(pod, c, id, startedAt, prober.Target{Host: t.Host, Dial: t.Dial})
}
func (p proberManager) Remove(id string)              { p.m.Remove(id) }
func (p proberManager) RemovePod(uid string)          { p.m.RemovePod(uid) }
func (p proberManager) Ready(id string) bool          { return p.m.Ready(id) }
func (p proberManager) Started(id string) bool        { return p.m.Started(id) }
func (p proberManager) Run(ctx context.Context) error { return p.m.Run(ctx) }

// ResolveEnv is envvars.Resolve as an EnvResolver: env, envFrom,
// valueFrom (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef)
// and $(VAR) expansion.
func ResolveEnv(ctx context.Context, pod *api.Pod, c *api.Container, src EnvSources) ([]runtime.KeyValue, error) {
	return envvars.Resolve(ctx, pod, c, src)
}

var _ EnvResolver = ResolveEnv
