//go:build !linux

package kubelet

import (
	"context"
	"fmt"
	"net"

	"github.com/drover-io/drover/runtime"
)

// dialInNetNS needs Linux network namespaces.
func dialInNetNS(ctx context.Context, path, network, addr string) (net.Conn, error) {
	return nil, fmt.Errorf("dial in network namespace %s: %w", path, runtime.ErrUnsupported)
}
