package volume

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drover-io/drover/api"
)

// Clock is the Manager's time source: it names the timestamped
// directories of the atomic writer. Production clocks and
// client/workqueue/fakeclock satisfy it.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config configures a Manager. Start from DefaultConfig.
type Config struct {
	// Root is the directory of the pods' volumes, <RootDir>/pods: pod
	// uid's volumes are under <Root>/<uid>/volumes. Required, absolute.
	Root string
	// Getter reads the ConfigMaps and Secrets of configMap, secret and
	// projected volumes. nil means none can be read: a pod with such a
	// volume fails to set up (static pods without an API server).
	Getter Getter
	// NodeName is the node's name, the downward API's spec.nodeName for a
	// pod that does not have it set.
	NodeName string
	// NodeAllocatable, if set, returns the node's allocatable resources,
	// which downward API files report for a limit the container does not
	// set (as Kubernetes does). nil: such a file is an error.
	NodeAllocatable func() api.ResourceList
	// DisableTmpfs keeps secret and projected volumes on disk even when
	// the Manager runs as root, and fails emptyDir volumes of medium
	// Memory: for hollow nodes and tests that must not mount.
	DisableTmpfs bool
	// Clock names the atomic writer's directories. nil means the system
	// clock.
	Clock Clock
	// Logger receives the Manager's log lines. nil means discard.
	Logger *slog.Logger
	// Registerer, if set, registers the Manager's metrics
	// (drover_kubelet_volume_setups_total).
	Registerer prometheus.Registerer
}

// DefaultConfig returns a Config with Root /var/lib/drover/kubelet/pods,
// the system clock and no Getter (set one to serve configMap and secret
// volumes).
func DefaultConfig() Config {
	return Config{Root: "/var/lib/drover/kubelet/pods", Clock: systemClock{}}
}

// Validate reports the first field of c that is wrong, and why.
func (c Config) Validate() error {
	switch {
	case c.Root == "":
		return errors.New("volume: Config.Root is required: the directory of the pods' volumes, <RootDir>/pods")
	case !filepath.IsAbs(c.Root):
		return fmt.Errorf("volume: Config.Root %q must be an absolute path", c.Root)
	}
	return nil
}
