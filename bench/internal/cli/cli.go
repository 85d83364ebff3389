// Package cli holds what the bench module's commands share: finding the
// reference etcd binary and parsing their list flags.
package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// FindEtcd returns flagValue if set, else etcd from PATH, else
// /usr/bin/etcd if it exists.
func FindEtcd(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd", nil
	}
	return "", errors.New("no etcd server found in PATH or at /usr/bin/etcd: install one " +
		"(apt-get install etcd-server) or pass -etcd /path/to/etcd")
}

// ParseInts parses a comma-separated list of integers such as "1,16,64".
func ParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a comma-separated list of numbers like 1,16,64", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// WriteOut writes table to path, unless path is empty (the -out flag).
func WriteOut(path, table string) error {
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	return nil
}
