package registry_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver/registry"
	"github.com/drover-io/drover/store"
)

var serviceGVK = api.CoreV1.WithKind("Service")

// allocEnv is an env with a Service registry that allocates from cidr
// and ports, and a clock the test moves.
type allocEnv struct {
	*env
	reg   *registry.Registry
	clock atomic.Int64 // unix seconds
	opts  registry.Options
}

func newAllocEnv(t *testing.T, cidr string, ports registry.PortRange) *allocEnv {
	t.Helper()
	e := &allocEnv{env: newEnv(t)}
	e.clock.Store(e.now.Unix())
	e.opts = registry.Options{
		Now:      func() time.Time { return time.Unix(e.clock.Load(), 0).UTC() },
		Services: registry.ServiceAllocation{ServiceCIDR: netip.MustParsePrefix(cidr), NodePorts: ports},
	}
	e.reg = e.registry(t, serviceGVK, e.opts)
	return e
}

func (e *allocEnv) advance(d time.Duration) { e.clock.Add(int64(d / time.Second)) }

// allocations returns the allocation keys in the store, without their
// common prefix ("serviceips/10.96.0.2", "nodeports/30000").
func (e *allocEnv) allocations(t *testing.T) []string {
	t.Helper()
	res, err := e.st.List(t.Context(), registry.AllocationsPrefix, store.ListOptions{})
	require.NoError(t, err)
	var out []string
	for _, kv := range res.KVs {
		out = append(out, strings.TrimPrefix(kv.Key, registry.AllocationsPrefix))
	}
	return out
}

func (e *allocEnv) create(t *testing.T, svc *api.Service) (*api.Service, error) {
	t.Helper()
	obj, err := e.reg.Create(t.Context(), svc, registry.CreateOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*api.Service), nil
}

func (e *allocEnv) mustCreate(t *testing.T, svc *api.Service) *api.Service {
	t.Helper()
	out, err := e.create(t, svc)
	require.NoError(t, err)
	return out
}

func (e *allocEnv) update(t *testing.T, svc *api.Service) (*api.Service, error) {
	t.Helper()
	obj, err := e.reg.Update(t.Context(), svc, registry.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*api.Service), nil
}

func service(name string, typ api.ServiceType, ports ...int32) *api.Service {
	s := &api.Service{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec:       api.ServiceSpec{Type: typ, Selector: map[string]string{"app": name}},
	}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, api.ServicePort{Name: fmt.Sprintf("p%d", p), Port: p})
	}
	return s
}

func nodePorts(s *api.Service) []int32 {
	var out []int32
	for _, p := range s.Spec.Ports {
		out = append(out, p.NodePort)
	}
	return out
}

// requireInvalidField checks a 422 with one cause on field whose message
// contains msg.
func requireInvalidField(t *testing.T, err error, field, msg string) {
	t.Helper()
	se := requireStatus(t, err, api.StatusReasonInvalid, http.StatusUnprocessableEntity)
	require.NotNil(t, se.Status.Details)
	for _, c := range se.Status.Details.Causes {
		if c.Field == field {
			require.Contains(t, c.Message, msg)
			return
		}
	}
	t.Fatalf("no cause on %s in %+v", field, se.Status.Details.Causes)
}

var defaultPorts = registry.PortRange{First: 30000, Last: 30009}

func TestServiceAllocateOnCreate(t *testing.T) {
	tests := []struct {
		name   string
		cidr   string
		svc    func() *api.Service
		check  func(t *testing.T, s *api.Service)
		allocs []string // nil: one IP key for s.Spec.ClusterIP plus one key per node port
	}{
		{"ClusterIP", "10.96.0.0/12", func() *api.Service { return service("web", "", 80) }, func(t *testing.T, s *api.Service) {
			ip := netip.MustParseAddr(s.Spec.ClusterIP)
			require.True(t, netip.MustParsePrefix("10.96.0.0/12").Contains(ip))
			require.NotEqual(t, "10.96.0.0", ip.String())
			require.NotEqual(t, "10.96.0.1", ip.String(), "reserved for the kubernetes service")
			require.Equal(t, []string{s.Spec.ClusterIP}, s.Spec.ClusterIPs)
			require.Equal(t, []api.IPFamily{api.IPv4Protocol}, s.Spec.IPFamilies)
			require.Equal(t, api.IPFamilyPolicySingleStack, *s.Spec.IPFamilyPolicy)
			require.Equal(t, []int32{0}, nodePorts(s))
		}, nil},
		{"NodePort", "10.96.0.0/12", func() *api.Service { return service("web", api.ServiceTypeNodePort, 80, 443) }, func(t *testing.T, s *api.Service) {
			require.NotEmpty(t, s.Spec.ClusterIP)
			ps := nodePorts(s)
			require.NotEqual(t, ps[0], ps[1])
			for _, p := range ps {
				require.True(t, defaultPorts.Contains(p), "node port %d", p)
			}
		}, nil},
		{"LoadBalancer", "10.96.0.0/12", func() *api.Service { return service("web", api.ServiceTypeLoadBalancer, 80) }, func(t *testing.T, s *api.Service) {
			require.NotEmpty(t, s.Spec.ClusterIP)
			require.True(t, defaultPorts.Contains(s.Spec.Ports[0].NodePort))
		}, nil},
		{"requested IP and node port", "10.96.0.0/12", func() *api.Service {
			s := service("web", api.ServiceTypeNodePort, 80)
			s.Spec.ClusterIP, s.Spec.Ports[0].NodePort = "10.96.3.4", 30005
			return s
		}, func(t *testing.T, s *api.Service) {
			require.Equal(t, "10.96.3.4", s.Spec.ClusterIP)
			require.Equal(t, []int32{30005}, nodePorts(s))
		}, []string{"nodeports/30005", "serviceips/10.96.3.4"}},
		{"requested through clusterIPs only", "10.96.0.0/12", func() *api.Service {
			s := service("web", "", 80)
			s.Spec.ClusterIPs = []string{"10.96.3.5"}
			return s
		}, func(t *testing.T, s *api.Service) {
			require.Equal(t, "10.96.3.5", s.Spec.ClusterIP)
		}, []string{"serviceips/10.96.3.5"}},
		{"the kubernetes service's reserved IP when asked for", "10.96.0.0/12", func() *api.Service {
			s := service("kubernetes", "", 443)
			s.Spec.ClusterIP = "10.96.0.1"
			return s
		}, func(t *testing.T, s *api.Service) {
			require.Equal(t, "10.96.0.1", s.Spec.ClusterIP)
		}, []string{"serviceips/10.96.0.1"}},
		{"headless", "10.96.0.0/12", func() *api.Service {
			s := service("db", "", 5432)
			s.Spec.ClusterIP = api.ClusterIPNone
			return s
		}, func(t *testing.T, s *api.Service) {
			require.Equal(t, api.ClusterIPNone, s.Spec.ClusterIP)
			require.Equal(t, []string{api.ClusterIPNone}, s.Spec.ClusterIPs)
		}, []string{}},
		{"ExternalName", "10.96.0.0/12", func() *api.Service {
			s := service("ext", api.ServiceTypeExternalName)
			s.Spec.ExternalName = "example.com"
			return s
		}, func(t *testing.T, s *api.Service) {
			require.Empty(t, s.Spec.ClusterIP)
			require.Empty(t, s.Spec.ClusterIPs)
			require.Empty(t, s.Spec.IPFamilies)
		}, []string{}},
		{"IPv6", "fd00:10:96::/112", func() *api.Service { return service("web", "", 80) }, func(t *testing.T, s *api.Service) {
			ip := netip.MustParseAddr(s.Spec.ClusterIP)
			require.True(t, netip.MustParsePrefix("fd00:10:96::/112").Contains(ip))
			require.Equal(t, []api.IPFamily{api.IPv6Protocol}, s.Spec.IPFamilies)
		}, nil},
		{"IPv6 /64", "fd00:10:96::/64", func() *api.Service { return service("web", "", 80) }, func(t *testing.T, s *api.Service) {
			require.True(t, netip.MustParsePrefix("fd00:10:96::/64").Contains(netip.MustParseAddr(s.Spec.ClusterIP)))
		}, nil},
		{"one node port for the same port over TCP and UDP", "10.96.0.0/12", func() *api.Service {
			s := service("dns", api.ServiceTypeNodePort, 53, 53)
			s.Spec.Ports[1].Name, s.Spec.Ports[1].Protocol = "dns-udp", api.ProtocolUDP
			return s
		}, func(t *testing.T, s *api.Service) {
			ps := nodePorts(s)
			require.NotZero(t, ps[0])
			require.Equal(t, ps[0], ps[1])
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAllocEnv(t, tt.cidr, defaultPorts)
			s := e.mustCreate(t, tt.svc())
			tt.check(t, s)
			want := tt.allocs
			if want == nil {
				want = []string{"serviceips/" + s.Spec.ClusterIP}
				for _, p := range nodePorts(s) {
					if p != 0 {
						want = append(want, fmt.Sprintf("nodeports/%d", p))
					}
				}
				slices.Sort(want)
				want = slices.Compact(want)
			}
			got := e.allocations(t)
			if len(want) == 0 {
				require.Empty(t, got)
			} else {
				require.Equal(t, want, got)
			}
			stored, err := e.reg.Get(t.Context(), "default", s.Name, registry.GetOptions{})
			require.NoError(t, err)
			require.Equal(t, s.Spec, stored.(*api.Service).Spec)
		})
	}
}

func TestServiceAllocateConflicts(t *testing.T) {
	tests := []struct {
		name       string
		svc        func() *api.Service
		field, msg string
	}{
		{"IP taken", func() *api.Service {
			s := service("b", "", 80)
			s.Spec.ClusterIP = "10.96.0.10"
			return s
		}, "spec.clusterIP", "provided IP is already allocated"},
		{"IP out of range", func() *api.Service {
			s := service("b", "", 80)
			s.Spec.ClusterIP = "10.0.0.10"
			return s
		}, "spec.clusterIP", "provided IP is not in the valid range"},
		{"network address", func() *api.Service {
			s := service("b", "", 80)
			s.Spec.ClusterIP = "10.96.0.0"
			return s
		}, "spec.clusterIP", "provided IP is not in the valid range"},
		{"broadcast address", func() *api.Service {
			s := service("b", "", 80)
			s.Spec.ClusterIP = "10.96.0.255"
			return s
		}, "spec.clusterIP", "provided IP is not in the valid range"},
		{"node port taken", func() *api.Service {
			s := service("b", api.ServiceTypeNodePort, 80, 81)
			s.Spec.Ports[1].NodePort = 30001
			return s
		}, "spec.ports[1].nodePort", "provided port is already allocated"},
		{"node port out of range", func() *api.Service {
			s := service("b", api.ServiceTypeNodePort, 80)
			s.Spec.Ports[0].NodePort = 8080
			return s
		}, "spec.ports[0].nodePort", "provided port is not in the valid range. The range of valid ports is 30000-30009"},
		{"IPv6 on an IPv4 cluster", func() *api.Service {
			s := service("b", "", 80)
			s.Spec.IPFamilies = []api.IPFamily{api.IPv6Protocol}
			return s
		}, "spec.ipFamilies[0]", "IPv6 is not configured"},
		{"dual stack required", func() *api.Service {
			s := service("b", "", 80)
			s.Spec.IPFamilyPolicy = new(api.IPFamilyPolicyRequireDualStack)
			return s
		}, "spec.ipFamilyPolicy", "not configured for dual-stack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAllocEnv(t, "10.96.0.0/24", defaultPorts)
			a := service("a", api.ServiceTypeNodePort, 80)
			a.Spec.ClusterIP, a.Spec.Ports[0].NodePort = "10.96.0.10", 30001
			e.mustCreate(t, a)
			before := e.allocations(t)
			_, err := e.create(t, tt.svc())
			requireInvalidField(t, err, tt.field, tt.msg)
			require.Equal(t, before, e.allocations(t), "a refused create keeps nothing")
			_, err = e.reg.Get(t.Context(), "default", "b", registry.GetOptions{})
			requireStatus(t, err, api.StatusReasonNotFound, http.StatusNotFound)
		})
	}
}

func TestServiceAllocateDryRun(t *testing.T) {
	e := newAllocEnv(t, "10.96.0.0/24", defaultPorts)
	obj, err := e.reg.Create(t.Context(), service("web", api.ServiceTypeNodePort, 80, 81), registry.CreateOptions{DryRun: true})
	require.NoError(t, err)
	s := obj.(*api.Service)
	require.NotEmpty(t, s.Spec.ClusterIP, "a dry run shows the IP it would get")
	require.NotEqual(t, s.Spec.Ports[0].NodePort, s.Spec.Ports[1].NodePort)
	require.Empty(t, e.allocations(t))

	taken := service("a", "", 80)
	taken.Spec.ClusterIP = "10.96.0.10"
	e.mustCreate(t, taken)
	clash := service("b", "", 80)
	clash.Spec.ClusterIP = "10.96.0.10"
	_, err = e.reg.Create(t.Context(), clash, registry.CreateOptions{DryRun: true})
	requireInvalidField(t, err, "spec.clusterIP", "already allocated")

	// An update in a dry run allocates nothing either.
	up := taken.DeepCopy()
	up.Spec.Type = api.ServiceTypeNodePort
	obj, err = e.reg.Update(t.Context(), up, registry.UpdateOptions{DryRun: true})
	require.NoError(t, err)
	require.NotZero(t, obj.(*api.Service).Spec.Ports[0].NodePort)
	require.Equal(t, []string{"serviceips/10.96.0.10"}, e.allocations(t))
}

func TestServiceAllocateExhaustion(t *testing.T) {
	// A /29 has 8 addresses: the network (.0), the kubernetes service's
	// (.1), the broadcast (.7), and 5 to allocate.
	e := newAllocEnv(t, "10.96.0.0/29", registry.PortRange{First: 30000, Last: 30002})
	var ips []string
	for i := range 5 {
		ips = append(ips, e.mustCreate(t, service(fmt.Sprintf("s%d", i), "", 80)).Spec.ClusterIP)
	}
	slices.Sort(ips)
	require.Equal(t, []string{"10.96.0.2", "10.96.0.3", "10.96.0.4", "10.96.0.5", "10.96.0.6"}, ips)
	_, err := e.create(t, service("s5", "", 80))
	se := requireStatus(t, err, api.StatusReasonServiceUnavailable, http.StatusServiceUnavailable)
	require.Contains(t, se.Error(), "range is full")
	require.Contains(t, se.Error(), "spec.clusterIP")

	// The node ports run out too; the IP taken for the refused Service is
	// given back.
	e2 := newAllocEnv(t, "10.96.0.0/24", registry.PortRange{First: 30000, Last: 30002})
	e2.mustCreate(t, service("a", api.ServiceTypeNodePort, 80, 81))
	e2.mustCreate(t, service("b", api.ServiceTypeNodePort, 80))
	before := e2.allocations(t)
	_, err = e2.create(t, service("c", api.ServiceTypeNodePort, 80))
	se = requireStatus(t, err, api.StatusReasonServiceUnavailable, http.StatusServiceUnavailable)
	require.Contains(t, se.Error(), "spec.ports[0].nodePort")
	require.Contains(t, se.Error(), "range is full")
	require.Equal(t, before, e2.allocations(t))
}

func TestServiceReleaseOnDelete(t *testing.T) {
	// One IP (/30: .2) and one node port.
	e := newAllocEnv(t, "10.96.0.0/30", registry.PortRange{First: 30000, Last: 30000})
	a := e.mustCreate(t, service("a", api.ServiceTypeNodePort, 80))
	require.Equal(t, "10.96.0.2", a.Spec.ClusterIP)
	require.Equal(t, []int32{30000}, nodePorts(a))
	_, err := e.create(t, service("b", "", 80))
	requireStatus(t, err, api.StatusReasonServiceUnavailable, http.StatusServiceUnavailable)

	_, err = e.reg.Delete(t.Context(), "default", "a", registry.DeleteOptions{DryRun: true})
	require.NoError(t, err)
	require.Len(t, e.allocations(t), 2, "a dry-run delete frees nothing")

	_, err = e.reg.Delete(t.Context(), "default", "a", registry.DeleteOptions{})
	require.NoError(t, err)
	require.Empty(t, e.allocations(t))
	b := e.mustCreate(t, service("b", api.ServiceTypeNodePort, 80))
	require.Equal(t, "10.96.0.2", b.Spec.ClusterIP)
	require.Equal(t, []int32{30000}, nodePorts(b))

	// A Service held by a finalizer frees its addresses when the update
	// that removes the finalizer removes it.
	_, err = e.reg.Delete(t.Context(), "default", "b", registry.DeleteOptions{})
	require.NoError(t, err)
	c := service("c", "", 80)
	c.Finalizers = []string{"example.com/hold"}
	c = e.mustCreate(t, c)
	_, err = e.reg.Delete(t.Context(), "default", "c", registry.DeleteOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"serviceips/10.96.0.2"}, e.allocations(t), "held by its finalizer")
	obj, err := e.reg.Get(t.Context(), "default", "c", registry.GetOptions{})
	require.NoError(t, err)
	c = obj.(*api.Service)
	c.Finalizers = nil
	_, err = e.update(t, c)
	require.NoError(t, err)
	require.Empty(t, e.allocations(t))
}

func TestServiceAllocateOnUpdate(t *testing.T) {
	tests := []struct {
		name string
		// from is created, then change is applied to what was stored and
		// the result updated.
		from   func() *api.Service
		change func(s *api.Service)
		check  func(t *testing.T, old, s *api.Service)
		err    string // the field of a 422
	}{
		{"ClusterIP to NodePort allocates node ports", func() *api.Service { return service("web", "", 80, 81) },
			func(s *api.Service) { s.Spec.Type = api.ServiceTypeNodePort },
			func(t *testing.T, old, s *api.Service) {
				require.Equal(t, old.Spec.ClusterIP, s.Spec.ClusterIP)
				require.NotContains(t, nodePorts(s), int32(0))
			}, ""},
		{"NodePort to ClusterIP releases them", func() *api.Service { return service("web", api.ServiceTypeNodePort, 80) },
			func(s *api.Service) { s.Spec.Type = api.ServiceTypeClusterIP },
			func(t *testing.T, old, s *api.Service) {
				require.Equal(t, []int32{0}, nodePorts(s))
				require.Empty(t, s.Spec.ExternalTrafficPolicy)
			}, ""},
		{"a port added gets one, a port removed frees its", func() *api.Service { return service("web", api.ServiceTypeNodePort, 80, 81) },
			func(s *api.Service) {
				s.Spec.Ports = []api.ServicePort{s.Spec.Ports[1], {Name: "p82", Port: 82}}
			},
			func(t *testing.T, old, s *api.Service) {
				require.Equal(t, old.Spec.Ports[1].NodePort, s.Spec.Ports[0].NodePort)
				require.NotZero(t, s.Spec.Ports[1].NodePort)
				require.NotEqual(t, old.Spec.Ports[1].NodePort, s.Spec.Ports[1].NodePort)
			}, ""},
		{"what the client leaves out is kept", func() *api.Service { return service("web", api.ServiceTypeNodePort, 80) },
			func(s *api.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.IPFamilies, s.Spec.IPFamilyPolicy = "", nil, nil, nil
				s.Spec.Ports[0].NodePort = 0
				s.Labels = map[string]string{"changed": "yes"}
			},
			func(t *testing.T, old, s *api.Service) {
				require.Equal(t, old.Spec, s.Spec)
			}, ""},
		{"a requested node port on update", func() *api.Service { return service("web", api.ServiceTypeNodePort, 80) },
			func(s *api.Service) { s.Spec.Ports[0].NodePort = 30009 },
			func(t *testing.T, old, s *api.Service) { require.Equal(t, []int32{30009}, nodePorts(s)) }, ""},
		{"a taken node port on update", func() *api.Service { return service("web", api.ServiceTypeNodePort, 80) },
			func(s *api.Service) { s.Spec.Ports[0].NodePort = 30008 },
			nil, "spec.ports[0].nodePort"},
		{"clusterIP is immutable", func() *api.Service { return service("web", "", 80) },
			func(s *api.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.77", []string{"10.96.0.77"} },
			nil, "spec.clusterIPs[0]"},
		{"to ExternalName releases the IP", func() *api.Service { return service("web", "", 80) },
			func(s *api.Service) { s.Spec.Type, s.Spec.ExternalName = api.ServiceTypeExternalName, "example.com" },
			func(t *testing.T, old, s *api.Service) {
				require.Empty(t, s.Spec.ClusterIP)
				require.Empty(t, s.Spec.ClusterIPs)
			}, ""},
		{"from ExternalName allocates an IP", func() *api.Service {
			s := service("web", api.ServiceTypeExternalName, 80)
			s.Spec.ExternalName = "example.com"
			return s
		},
			func(s *api.Service) { s.Spec.Type, s.Spec.ExternalName = api.ServiceTypeClusterIP, "" },
			func(t *testing.T, old, s *api.Service) {
				require.NotEmpty(t, s.Spec.ClusterIP)
				require.Equal(t, []string{s.Spec.ClusterIP}, s.Spec.ClusterIPs)
			}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAllocEnv(t, "10.96.0.0/24", defaultPorts)
			other := service("other", api.ServiceTypeNodePort, 80)
			other.Spec.Ports[0].NodePort = 30008
			other = e.mustCreate(t, other)
			old := e.mustCreate(t, tt.from())
			before := e.allocations(t)
			in := old.DeepCopy()
			tt.change(in)
			s, err := e.update(t, in)
			if tt.err != "" {
				requireInvalidField(t, err, tt.err, "")
				require.Equal(t, before, e.allocations(t))
				return
			}
			require.NoError(t, err)
			tt.check(t, old, s)
			want := []string{"nodeports/30008"}
			for _, k := range []string{s.Spec.ClusterIP} {
				if k != "" {
					want = append(want, "serviceips/"+k)
				}
			}
			for _, p := range nodePorts(s) {
				if p != 0 {
					want = append(want, fmt.Sprintf("nodeports/%d", p))
				}
			}
			want = append(want, "serviceips/"+other.Spec.ClusterIP)
			slices.Sort(want)
			got := e.allocations(t)
			require.Equal(t, slices.Compact(want), got, "exactly what the services refer to")
		})
	}
}

func TestServiceRepairAllocations(t *testing.T) {
	e := newAllocEnv(t, "10.96.0.0/24", defaultPorts)
	ctx := t.Context()
	kept := e.mustCreate(t, service("kept", api.ServiceTypeNodePort, 80))
	// A crash after the allocations, before the Service write: here the
	// Service is written, then removed behind the registry's back.
	leaked := e.mustCreate(t, service("leaked", api.ServiceTypeNodePort, 80))
	_, _, err := e.st.Delete(ctx, registry.KeyPrefix(e.reg.Kind())+"default/leaked", 0)
	require.NoError(t, err)
	require.Len(t, e.allocations(t), 4)

	res, err := e.reg.RepairAllocations(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Freed, "younger than the grace period: maybe a create in flight")

	e.advance(registry.DefaultRepairGrace + time.Second)
	res, err = e.reg.RepairAllocations(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{
		registry.AllocationsPrefix + "serviceips/" + leaked.Spec.ClusterIP,
		registry.AllocationsPrefix + fmt.Sprintf("nodeports/%d", leaked.Spec.Ports[0].NodePort),
	}, res.Freed)
	require.ElementsMatch(t, []string{
		"serviceips/" + kept.Spec.ClusterIP, fmt.Sprintf("nodeports/%d", kept.Spec.Ports[0].NodePort),
	}, e.allocations(t))

	// A Service written without allocation (before it was turned on) gets
	// its in-range addresses recorded, so they are not handed out again.
	plain := e.registry(t, serviceGVK, registry.Options{})
	legacy := service("legacy", api.ServiceTypeNodePort, 80)
	legacyPort := 30000 + (kept.Spec.Ports[0].NodePort-30000+1)%10 // not kept's
	legacyIP := "10.96.0.200"
	if kept.Spec.ClusterIP == legacyIP {
		legacyIP = "10.96.0.201"
	}
	legacy.Spec.ClusterIP, legacy.Spec.Ports[0].NodePort = legacyIP, legacyPort
	_, err = plain.Create(ctx, legacy, registry.CreateOptions{})
	require.NoError(t, err)
	res, err = e.reg.RepairAllocations(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Freed)
	require.Equal(t, []string{
		registry.AllocationsPrefix + fmt.Sprintf("nodeports/%d", legacyPort), registry.AllocationsPrefix + "serviceips/" + legacyIP,
	}, res.Restored)
	clash := service("clash", "", 80)
	clash.Spec.ClusterIP = legacyIP
	_, err = e.create(t, clash)
	requireInvalidField(t, err, "spec.clusterIP", "already allocated")

	// Nothing left to do.
	e.advance(registry.DefaultRepairGrace + time.Second)
	res, err = e.reg.RepairAllocations(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Freed)
	require.Empty(t, res.Restored)
}

// TestServiceAllocateTwoServers creates Services concurrently through two
// registries (two API servers) over one store, in a range barely larger
// than what they need, so that they collide.
func TestServiceAllocateTwoServers(t *testing.T) {
	e := newAllocEnv(t, "10.96.0.0/26", defaultPorts) // 61 addresses
	other := e.registry(t, serviceGVK, e.opts)
	regs := []*registry.Registry{e.reg, other}
	const n = 50
	ips := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			obj, err := regs[i%2].Create(context.Background(), service(fmt.Sprintf("s%d", i), "", 80), registry.CreateOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			ips[i] = obj.(*api.Service).Spec.ClusterIP
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "service s%d", i)
	}
	distinct := slices.Clone(ips)
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	require.Len(t, distinct, n, "every Service has its own IP")
	require.Len(t, e.allocations(t), n)
}

func TestServiceAllocationOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		a    registry.ServiceAllocation
		err  string
	}{
		{"not a network address", registry.ServiceAllocation{ServiceCIDR: netip.MustParsePrefix("10.96.0.5/12")}, "network address"},
		{"too small", registry.ServiceAllocation{ServiceCIDR: netip.MustParsePrefix("10.96.0.0/31")}, "at least 2 host bits"},
		{"bad ports", registry.ServiceAllocation{ServiceCIDR: netip.MustParsePrefix("10.96.0.0/12"), NodePorts: registry.PortRange{First: 40000, Last: 30000}}, "port range"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, _ := api.NewDefaultScheme().KindFor(serviceGVK)
			_, err := registry.New(newEnv(t).st, api.NewDefaultScheme(), k, registry.Options{Services: tt.a})
			require.ErrorContains(t, err, tt.err)
		})
	}
	pr, err := registry.ParsePortRange("30000-32767")
	require.NoError(t, err)
	require.Equal(t, registry.DefaultNodePortRange, pr)
	for _, bad := range []string{"", "30000-", "x-y", "0-10", "20-10", "1-70000"} {
		_, err := registry.ParsePortRange(bad)
		require.Error(t, err, "%q", bad)
	}
}
