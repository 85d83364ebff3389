package leaderelection_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/client/leaderelection"
)

func TestValidate(t *testing.T) {
	c, err := client.New(client.Config{Host: "https://127.0.0.1:6443"})
	require.NoError(t, err)
	valid := func() leaderelection.Config {
		return leaderelection.Config{Client: c, Namespace: "kube-system", Name: "drover-controllers", Identity: "host-1_a1b2"}
	}
	for _, tc := range []struct {
		name string
		mod  func(*leaderelection.Config)
		want string // in the error; "" for valid
	}{
		{"defaults", func(*leaderelection.Config) {}, ""},
		{"custom durations", func(c *leaderelection.Config) {
			c.LeaseDuration, c.RenewDeadline, c.RetryPeriod = 60*time.Second, 40*time.Second, 5*time.Second
		}, ""},
		{"no client", func(c *leaderelection.Config) { c.Client = nil }, "Config.Client is nil"},
		{"no namespace", func(c *leaderelection.Config) { c.Namespace = "" }, "Config.Namespace is empty"},
		{"bad namespace", func(c *leaderelection.Config) { c.Namespace = "Kube_System" }, `Config.Namespace "Kube_System"`},
		{"no name", func(c *leaderelection.Config) { c.Name = "" }, "Config.Name is empty"},
		{"bad name", func(c *leaderelection.Config) { c.Name = "a/b" }, `Config.Name "a/b"`},
		{"no identity", func(c *leaderelection.Config) { c.Identity = "" }, "Config.Identity is empty"},
		{"negative lease duration", func(c *leaderelection.Config) { c.LeaseDuration = -time.Second }, "Config.LeaseDuration is -1s"},
		{"negative renew deadline", func(c *leaderelection.Config) { c.RenewDeadline = -time.Second }, "Config.RenewDeadline is -1s"},
		{"negative retry period", func(c *leaderelection.Config) { c.RetryPeriod = -time.Second }, "Config.RetryPeriod is -1s"},
		{"lease duration under a second", func(c *leaderelection.Config) {
			c.LeaseDuration, c.RenewDeadline, c.RetryPeriod = 500*time.Millisecond, 300*time.Millisecond, 100*time.Millisecond
		}, "Config.LeaseDuration is 500ms: must be at least 1s"},
		{"renew deadline not under lease duration", func(c *leaderelection.Config) { c.RenewDeadline = 15 * time.Second },
			"Config.RenewDeadline (15s) must be less than Config.LeaseDuration (15s)"},
		{"renew deadline over the default lease duration", func(c *leaderelection.Config) { c.RenewDeadline = 20 * time.Second },
			"Config.RenewDeadline (20s) must be less than Config.LeaseDuration (15s)"},
		{"renew deadline within a jittered retry", func(c *leaderelection.Config) { c.RetryPeriod = 9 * time.Second },
			"Config.RenewDeadline (10s) must be more than Config.RetryPeriod·1.2 (10.8s)"},
		{"renew deadline at exactly a jittered retry", func(c *leaderelection.Config) {
			c.RenewDeadline, c.RetryPeriod = 12*time.Second, 10*time.Second
		}, "Config.RenewDeadline (12s) must be more than Config.RetryPeriod·1.2 (12s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.mod(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				_, err = leaderelection.New(cfg)
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			_, err = leaderelection.New(cfg)
			require.ErrorContains(t, err, tc.want, "New validates")
		})
	}
}
