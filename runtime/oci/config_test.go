package oci

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/runtime"
)

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	for _, c := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.Root = "" }, "Config.Root"},
		{func(c *Config) { c.Root = "rel" }, "Config.Root"},
		{func(c *Config) { c.StateDir = "run" }, "Config.StateDir"},
		{func(c *Config) { c.CgroupParent = "" }, "Config.CgroupParent"},
		{func(c *Config) { c.CgroupParent = "/drover" }, "Config.CgroupParent"},
		{func(c *Config) { c.CgroupParent = "../x" }, "Config.CgroupParent"},
		{func(c *Config) { c.ShimPath = "drover" }, "Config.ShimPath"},
		{func(c *Config) { c.Runtime = "bin/runc" }, "Config.Runtime"},
		{func(c *Config) { c.Logs.MaxFiles = 0 }, "Config.Logs"},
	} {
		cfg := DefaultConfig()
		c.mutate(&cfg)
		assert.ErrorContains(t, cfg.Validate(), c.want)
	}
	cfg := DefaultConfig()
	cfg.Runtime, cfg.CgroupParent = "crun", "drover/pods"
	assert.NoError(t, cfg.Validate())
}

func TestParseVersion(t *testing.T) {
	assert.Equal(t, runtime.Version{Name: "runc", Version: "1.1.5+ds1"},
		parseVersion("runc", []byte("runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n")))
	assert.Equal(t, runtime.Version{Name: "crun", Version: "1.8.1"},
		parseVersion("crun", []byte("crun version 1.8.1\ncommit: abc\n")))
	assert.Equal(t, runtime.Version{Name: "myrt", Version: "2.0"}, parseVersion("myrt", []byte("myrt 2.0\n")))
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"": 0, "SIGQUIT": 3, "quit": 3, "9": 9, "SIGRTMIN+3": 0, "SIGUSR1": 10} {
		got, err := parseSignal(in)
		if want == 0 && in != "" {
			assert.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := parseSignal("0")
	assert.Error(t, err)
	_, err = parseSignal("SIGNOPE")
	assert.ErrorContains(t, err, "not a signal name")
}

func TestSandboxFiles(t *testing.T) {
	hosts, err := hostsFile(&runtime.SandboxConfig{HostAliases: []runtime.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db", "db.local"}}}})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.1\tdb db.local\n", string(hosts))
	_, err = hostsFile(&runtime.SandboxConfig{HostAliases: []runtime.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"a\nb"}}}})
	assert.ErrorContains(t, err, "HostAliases[0]")

	resolv, err := resolvConf(&runtime.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: []string{"default.svc.cluster.local", "svc.cluster.local"}, Options: []string{"ndots:5"}})
	require.NoError(t, err)
	assert.Equal(t, "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5\n", string(resolv))
	_, err = resolvConf(&runtime.DNSConfig{Servers: []string{"1.1.1.1\nnameserver 6.6.6.6"}})
	assert.Error(t, err)
}
