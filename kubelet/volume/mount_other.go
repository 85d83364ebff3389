//go:build !linux

package volume

import (
	"errors"
	"os"
)

var errNoMount = errors.New("tmpfs mounts need Linux")

func mountTmpfs(dir string, mode os.FileMode, size int64) error { return errNoMount }
func unmount(dir string) error                                  { return errNoMount }
func isMountPoint(dir string) (bool, error)                     { return false, nil }
func mountsUnder(dir string) ([]string, error)                  { return nil, nil }
