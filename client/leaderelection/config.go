package leaderelection

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/client"
)

// Defaults of Config, Kubernetes' defaults.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// JitterFactor is how much longer than RetryPeriod a candidate that is not
// the leader may wait between tries: a random wait in
// [RetryPeriod, RetryPeriod·(1+JitterFactor)], so candidates started
// together do not stay in step.
const JitterFactor = 1.2

// Clock is where an Elector gets the time from: when it renews and
// retries, when the renew deadline passes, and how long it has seen the
// lease unchanged. Tests inject
// [github.com/drover-io/drover/client/workqueue/fakeclock.Clock] and move
// time instead of sleeping; workqueue.RealClock also fits. Now and
// AfterFunc are called from Run's goroutine; the clock must call the
// functions given to AfterFunc without holding a lock that Now or
// AfterFunc take.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f, once, when d has elapsed, and returns a function
	// that cancels the call and reports whether it did, as
	// time.Timer.Stop does.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Config configures an Elector. Client, Namespace, Name and Identity are
// required; zero durations take the defaults.
type Config struct {
	// Client reads and writes the Lease.
	Client *client.Client
	// Namespace and Name name the Lease. Every candidate for one role uses
	// the same; the namespace must exist.
	Namespace, Name string
	// Identity names this candidate in the lease's holderIdentity. It must
	// be unique among the candidates (a host name plus a random suffix):
	// a candidate takes a lease that names it at once.
	Identity string
	// LeaseDuration is how long the others wait, from when they saw the
	// lease last change, before they take it from a leader that stopped
	// renewing. It is written to leaseDurationSeconds, rounded up to whole
	// seconds. 0 means DefaultLeaseDuration.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps leading without a
	// successful renewal. It must be less than LeaseDuration. 0 means
	// DefaultRenewDeadline.
	RenewDeadline time.Duration
	// RetryPeriod is the wait between the leader's renewals and between
	// the tries of the others (plus jitter). RenewDeadline must be more
	// than RetryPeriod·JitterFactor. 0 means DefaultRetryPeriod.
	RetryPeriod time.Duration
	// Clock gives the time. nil means the system clock.
	Clock Clock
	// Logger receives a line when this candidate becomes or stops being
	// the leader, and when it fails to reach the lease. nil means discard.
	Logger *slog.Logger
	// Registerer, if set, receives the metrics
	// drover_leader_election_is_leader{name} (1 while this candidate
	// leads) and drover_leader_election_transitions_total{name,event}
	// (event "acquired", "lost" or "released"), name being
	// "namespace/name" of the lease. Electors for different leases may
	// share a Registerer.
	Registerer prometheus.Registerer
}

// withDefaults returns c with the zero durations replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = DefaultRenewDeadline
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first field of c that is wrong, and why. Zero
// durations are checked as their defaults.
func (c Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("leaderelection: Config.Client is nil: a client is required")
	case c.Namespace == "":
		return errors.New("leaderelection: Config.Namespace is empty: the namespace of the Lease is required")
	case c.Name == "":
		return errors.New("leaderelection: Config.Name is empty: the name of the Lease is required")
	case c.Identity == "":
		return errors.New("leaderelection: Config.Identity is empty: a name unique to this candidate is required")
	}
	if errs := api.NameIsDNSLabel(c.Namespace, false); len(errs) > 0 {
		return fmt.Errorf("leaderelection: Config.Namespace %q is not a namespace name: %s", c.Namespace, errs[0])
	}
	if errs := api.NameIsDNSSubdomain(c.Name, false); len(errs) > 0 {
		return fmt.Errorf("leaderelection: Config.Name %q is not a Lease name: %s", c.Name, errs[0])
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"LeaseDuration", c.LeaseDuration}, {"RenewDeadline", c.RenewDeadline}, {"RetryPeriod", c.RetryPeriod}} {
		if f.d < 0 {
			return fmt.Errorf("leaderelection: Config.%s is %v: must be positive, or 0 for the default", f.name, f.d)
		}
	}
	d := c.withDefaults()
	switch {
	case d.LeaseDuration < time.Second:
		return fmt.Errorf("leaderelection: Config.LeaseDuration is %v: must be at least 1s (leaseDurationSeconds is whole seconds)", d.LeaseDuration)
	case d.LeaseDuration > time.Duration(1<<31-1)*time.Second:
		return fmt.Errorf("leaderelection: Config.LeaseDuration is %v: leaseDurationSeconds cannot hold it", d.LeaseDuration)
	case d.RenewDeadline >= d.LeaseDuration:
		return fmt.Errorf("leaderelection: Config.RenewDeadline (%v) must be less than Config.LeaseDuration (%v): "+
			"the leader must stop before the others may take over", d.RenewDeadline, d.LeaseDuration)
	case float64(d.RenewDeadline) <= JitterFactor*float64(d.RetryPeriod):
		return fmt.Errorf("leaderelection: Config.RenewDeadline (%v) must be more than Config.RetryPeriod·%v (%v): "+
			"the leader must get more than one try to renew", d.RenewDeadline, JitterFactor,
			time.Duration(JitterFactor*float64(d.RetryPeriod)))
	}
	return nil
}
