package runtimetest

import (
	"fmt"
	"strings"
)

// Commands build the argv the driver under test runs for each behaviour
// the suite needs. Shell builds them for a busybox-like image; a driver
// whose image differs provides its own.
type Commands interface {
	// Exit exits at once with code.
	Exit(code int) []string
	// Echo prints stdout to standard output and stderr to standard
	// error, a line each, and exits 0.
	Echo(stdout, stderr string) []string
	// EchoArgs returns a command and args (ContainerConfig.Command and
	// Args) that print the args on one line, separated by spaces.
	EchoArgs(args ...string) (command, argsOut []string)
	// PrintEnv prints the environment variable name and exits 0.
	PrintEnv(name string) []string
	// PrintWorkingDir prints the working directory and exits 0.
	PrintWorkingDir() []string
	// Cat prints the file at path and exits 0.
	Cat(path string) []string
	// SleepForever runs until it is stopped, and exits at once on
	// SIGTERM.
	SleepForever() []string
	// IgnoreTERM runs until it is killed: it ignores SIGTERM, and once it
	// does, prints IgnoringTERM on stdout (a stop sent earlier could
	// still end it).
	IgnoreTERM() []string
	// UseMemory allocates bytes of memory and then runs on.
	UseMemory(bytes int64) []string
	// Missing is a command that does not exist in the image.
	Missing() []string
}

// Shell builds POSIX shell commands, for an image with a busybox-like sh.
// Its zero value uses "sh".
type Shell struct {
	// Path is the shell; "" means "sh".
	Path string
}

var _ Commands = Shell{}

func (s Shell) sh(script string) []string {
	p := s.Path
	if p == "" {
		p = "sh"
	}
	return []string{p, "-c", script}
}

// quote quotes a word for sh.
func quote(w string) string {
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// Exit is sh -c 'exit N'.
func (s Shell) Exit(code int) []string { return s.sh(fmt.Sprintf("exit %d", code)) }

// Echo is sh -c 'echo OUT; echo ERR >&2'.
func (s Shell) Echo(stdout, stderr string) []string {
	return s.sh(fmt.Sprintf("echo %s; echo %s >&2", quote(stdout), quote(stderr)))
}

// EchoArgs is sh -c 'echo "$@"' sh ARGS...
func (s Shell) EchoArgs(args ...string) (command, argsOut []string) {
	return append(s.sh(`echo "$@"`), "sh"), args
}

// PrintEnv is sh -c 'echo "$NAME"'.
func (s Shell) PrintEnv(name string) []string { return s.sh(`echo "$` + name + `"`) }

// PrintWorkingDir is sh -c pwd.
func (s Shell) PrintWorkingDir() []string { return s.sh("pwd") }

// Cat is cat PATH.
func (s Shell) Cat(path string) []string { return []string{"cat", path} }

// SleepForever traps TERM to exit; "sleep & wait" lets the trap run at
// once (a shell defers traps while a foreground child runs).
func (s Shell) SleepForever() []string { return s.sh("trap 'exit 0' TERM; sleep 1000000 & wait") }

// IgnoringTERM is what IgnoreTERM prints once TERM is ignored.
const IgnoringTERM = "ignoring TERM"

// IgnoreTERM ignores TERM, and so does its sleeping child.
func (s Shell) IgnoreTERM() []string {
	return s.sh("trap '' TERM; echo " + IgnoringTERM + "; sleep 1000000 & wait")
}

// UseMemory has the shell itself (the container's first process, which
// a memory cgroup's OOM kill must hit) hold bytes in a variable.
func (s Shell) UseMemory(bytes int64) []string {
	return s.sh(fmt.Sprintf(`x=$(head -c %d /dev/zero | tr '\000' a); sleep 1000000 & wait`, bytes))
}

// Missing is /no/such/command.
func (s Shell) Missing() []string { return []string{"/no/such/command"} }
