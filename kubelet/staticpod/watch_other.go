//go:build !linux

package staticpod

import "errors"

// dirWatch is not available off Linux: a Source polls only.
type dirWatch struct{ C <-chan struct{} }

func watchDir(string) (*dirWatch, error) {
	return nil, errors.New("watching a directory needs Linux (inotify)")
}

func (*dirWatch) Dead() bool { return true }
func (*dirWatch) Stop()      {}
