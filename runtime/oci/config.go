package oci

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"strings"

	"github.com/drover-io/drover/runtime/image"
	"github.com/drover-io/drover/runtime/logs"
)

// Config configures a Driver.
type Config struct {
	// Runtime is the OCI runtime: "runc", "crun" (looked up on PATH) or
	// an absolute path. "" means runc, or crun when there is no runc.
	Runtime string
	// Root is where the driver keeps its state (sandboxes, containers,
	// bundles, network namespaces; the image store under Root/images
	// when Images is nil). A driver made on the same Root adopts what an
	// earlier one left running. Two live drivers must not share it.
	Root string
	// StateDir is the OCI runtime's own state directory (its --root),
	// best on a tmpfs such as /run.
	StateDir string
	// CgroupParent is the cgroup, relative to each hierarchy's root,
	// under which containers' cgroups are made ("drover").
	CgroupParent string
	// Images keeps the images; nil opens an image.Store under Root/images.
	Images *image.Store
	// ShimPath is the binary re-executed as a container's monitor (see
	// RunShimIfRequested); "" means this process's executable.
	ShimPath string
	// Logs is how container log files are written and rotated.
	Logs logs.WriterConfig
	// Logger receives the driver's diagnostics; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns a working configuration for a node: state under
// /var/lib/drover/oci, runc's under /run/drover/runc, cgroups under
// "drover", logs rotated at 10 MiB keeping five files.
func DefaultConfig() Config {
	return Config{
		Root:         "/var/lib/drover/oci",
		StateDir:     "/run/drover/runc",
		CgroupParent: "drover",
		Logs:         logs.DefaultWriterConfig(),
	}
}

// Validate says which field of c is wrong.
func (c Config) Validate() error {
	if c.Root == "" || !filepath.IsAbs(c.Root) {
		return fmt.Errorf("oci: Config.Root %q: want an absolute directory", c.Root)
	}
	if c.StateDir == "" || !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("oci: Config.StateDir %q: want an absolute directory", c.StateDir)
	}
	if err := checkCgroupName(c.CgroupParent); err != nil || c.CgroupParent == "" {
		return fmt.Errorf("oci: Config.CgroupParent %q: want a relative cgroup path like \"drover\", without \"..\"", c.CgroupParent)
	}
	if c.ShimPath != "" && !filepath.IsAbs(c.ShimPath) {
		return fmt.Errorf("oci: Config.ShimPath %q: want an absolute path", c.ShimPath)
	}
	if strings.ContainsRune(c.Runtime, '/') && !filepath.IsAbs(c.Runtime) {
		return fmt.Errorf("oci: Config.Runtime %q: want \"runc\", \"crun\" or an absolute path", c.Runtime)
	}
	if err := c.Logs.Validate(); err != nil {
		return fmt.Errorf("oci: Config.Logs: %w", err)
	}
	return nil
}

// checkCgroupName accepts "" or a relative, clean cgroup path.
func checkCgroupName(p string) error {
	if p == "" {
		return nil
	}
	if path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return errors.New("not a relative cgroup path")
	}
	return nil
}
