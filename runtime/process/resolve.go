package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// errNotExecutable is a command found but not a regular executable file.
var errNotExecutable = errors.New("not an executable file")

// maxSymlinks bounds the symlinks followed resolving one path, as
// Linux's ELOOP does.
const maxSymlinks = 40

// resolveIn returns the host path of the container path p inside the
// root filesystem root, following symlinks as if root were "/": an
// absolute target starts again at root, and ".." never leaves it. The
// path need not exist past its last component.
func resolveIn(root, p string) (string, error) {
	rest := splitPath(p)
	cur := "" // resolved so far, relative to root, "" or "/a/b"
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			if cur == "/" || cur == "." {
				cur = ""
			}
			continue
		}
		next := cur + "/" + c
		fi, err := os.Lstat(root + next)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && len(rest) == 0 {
				return root + next, nil
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(root + next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = ""
		}
		rest = append(splitPath(target), rest...)
	}
	if cur == "" {
		return root, nil
	}
	return root + cur, nil
}

func splitPath(p string) []string { return strings.Split(p, "/") }

// executable says whether the host file p is a regular file that some
// user may execute.
func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return errNotExecutable
	}
	return nil
}

// envValue returns the value of key in env ("KEY=value" entries; the
// last wins).
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// containerPath is the PATH searched in a root filesystem whose image
// sets none.
const containerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath finds argv0 for a process of spec whose working directory in
// the container is dir: in the root filesystem (on the container's PATH
// when argv0 has no slash), then, unless chrooted, on the host (the
// host's PATH). It returns the path execve is given: a host path, or a
// path inside the root with a chroot.
func lookPath(argv0, dir string, spec execSpec) (string, error) {
	if argv0 == "" {
		return "", errors.New("empty command")
	}
	var candidates []string
	if strings.Contains(argv0, "/") {
		p := argv0
		if !path.IsAbs(p) {
			p = path.Join(dir, p)
		}
		candidates = append(candidates, p)
	} else {
		search := containerPath
		if v := envValue(spec.Env, "PATH"); v != "" {
			search = v
		}
		for _, d := range filepath.SplitList(search) {
			if path.IsAbs(d) {
				candidates = append(candidates, path.Join(d, argv0))
			}
		}
	}
	var firstErr error
	for _, c := range candidates {
		hp, err := resolveIn(spec.RootFS, c)
		if err == nil {
			err = executable(hp)
		}
		if err == nil {
			if spec.Chroot != "" {
				return strings.TrimPrefix(hp, spec.RootFS), nil
			}
			return hp, nil
		}
		if firstErr == nil && reportable(err, argv0) {
			firstErr = fmt.Errorf("%s in the root filesystem: %w", c, err)
		}
	}
	if spec.Chroot == "" {
		var host []string
		switch {
		case path.IsAbs(argv0):
			host = []string{argv0}
		case !strings.Contains(argv0, "/"):
			for _, d := range filepath.SplitList(spec.HostPath) {
				if path.IsAbs(d) {
					host = append(host, filepath.Join(d, argv0))
				}
			}
		}
		for _, h := range host {
			err := executable(h)
			if err == nil {
				return h, nil
			}
			if firstErr == nil && reportable(err, argv0) {
				firstErr = fmt.Errorf("%s on the node: %w", h, err)
			}
		}
	}
	if firstErr != nil {
		return "", firstErr
	}
	where := "in the root filesystem"
	if spec.Chroot == "" {
		where += " nor on the node"
	}
	if strings.Contains(argv0, "/") {
		return "", fmt.Errorf("%s: no such file %s", argv0, where)
	}
	return "", fmt.Errorf("%s: not found on PATH %s", argv0, where)
}

// reportable says whether err, met looking for argv0, is the answer
// rather than a reason to look further: a file found but not
// executable, or any error but a missing file for a path with a slash.
// A PATH directory that cannot be searched is skipped, as a shell does.
func reportable(err error, argv0 string) bool {
	if errors.Is(err, errNotExecutable) {
		return true
	}
	return strings.Contains(argv0, "/") && !errors.Is(err, fs.ErrNotExist)
}
