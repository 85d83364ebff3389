package funcrt

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Builtins are the programs every funcrt image has, unless one of its
// Commands takes the name: a tiny toolbox for probes, debugging and the
// conformance suite (see Commands).
//
//	exit CODE           exits with CODE
//	echo WORDS...       prints the words on one line
//	print OUT [ERR]     prints OUT on standard output and ERR on standard error
//	printenv NAME       prints the variable's value
//	pwd                 prints the working directory
//	cat PATH            prints the file, through the mounts (else the node's path)
//	sleep-forever       runs until stopped; exits 0 on SIGTERM
//	ignore-term         ignores SIGTERM (prints IgnoringTERM), runs until killed
//	use-memory BYTES    holds BYTES of memory and runs until stopped
func Builtins() map[string]Program {
	return map[string]Program{
		"exit":          builtinExit,
		"echo":          builtinEcho,
		"print":         builtinPrint,
		"printenv":      builtinPrintenv,
		"pwd":           builtinPwd,
		"cat":           builtinCat,
		"sleep-forever": builtinSleepForever,
		"ignore-term":   builtinIgnoreTerm,
		"use-memory":    builtinUseMemory,
	}
}

var builtins = Builtins()

// IgnoringTERM is what ignore-term prints once it ignores SIGTERM.
const IgnoringTERM = "ignoring TERM"

func usage(p *Process, format string, args ...any) int {
	fmt.Fprintf(p.Stderr, "%s: "+format+"\n", append([]any{p.Args[0]}, args...)...)
	return 2
}

func builtinExit(_ context.Context, p *Process) int {
	if len(p.Args) != 2 {
		return usage(p, "usage: exit CODE")
	}
	code, err := strconv.Atoi(p.Args[1])
	if err != nil || code < 0 || code > 255 {
		return usage(p, "exit code %q: must be 0 to 255", p.Args[1])
	}
	return code
}

func builtinEcho(_ context.Context, p *Process) int {
	fmt.Fprintln(p.Stdout, strings.Join(p.Args[1:], " "))
	return 0
}

func builtinPrint(_ context.Context, p *Process) int {
	if len(p.Args) < 2 || len(p.Args) > 3 {
		return usage(p, "usage: print OUT [ERR]")
	}
	fmt.Fprintln(p.Stdout, p.Args[1])
	if len(p.Args) == 3 {
		fmt.Fprintln(p.Stderr, p.Args[2])
	}
	return 0
}

func builtinPrintenv(_ context.Context, p *Process) int {
	if len(p.Args) != 2 {
		return usage(p, "usage: printenv NAME")
	}
	v, ok := p.LookupEnv(p.Args[1])
	if !ok {
		return 1
	}
	fmt.Fprintln(p.Stdout, v)
	return 0
}

func builtinPwd(_ context.Context, p *Process) int {
	fmt.Fprintln(p.Stdout, p.WorkingDir)
	return 0
}

func builtinCat(_ context.Context, p *Process) int {
	if len(p.Args) != 2 {
		return usage(p, "usage: cat PATH")
	}
	name, ok := p.HostPath(p.Args[1])
	if !ok {
		name = p.Args[1]
	}
	f, err := os.Open(name)
	if err != nil {
		return usage(p, "%v", err)
	}
	defer f.Close()
	if _, err := io.Copy(p.Stdout, f); err != nil {
		return usage(p, "%v", err)
	}
	return 0
}

func builtinSleepForever(ctx context.Context, _ *Process) int {
	<-ctx.Done()
	return 0
}

func builtinIgnoreTerm(ctx context.Context, p *Process) int {
	p.Notify() // signals now arrive on a channel nobody reads
	fmt.Fprintln(p.Stdout, IgnoringTERM)
	<-ctx.Done() // only a kill ends it
	return 137
}

func builtinUseMemory(ctx context.Context, p *Process) int {
	if len(p.Args) != 2 {
		return usage(p, "usage: use-memory BYTES")
	}
	n, err := strconv.ParseInt(p.Args[1], 10, 64)
	if err != nil || n < 0 {
		return usage(p, "bytes %q: must be a non-negative integer", p.Args[1])
	}
	buf := make([]byte, n)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 'a'
	}
	<-ctx.Done()
	return int(buf[0] - 'a') // keeps buf alive until here
}

// Commands builds the conformance suite's commands from the builtins: it
// is the runtimetest.Commands of a funcrt image (any image: every image
// has the builtins).
type Commands struct{}

// Exit is exit CODE.
func (Commands) Exit(code int) []string { return []string{"exit", strconv.Itoa(code)} }

// Echo is print OUT ERR.
func (Commands) Echo(stdout, stderr string) []string { return []string{"print", stdout, stderr} }

// EchoArgs is echo, with args as the container's args.
func (Commands) EchoArgs(args ...string) (command, argsOut []string) {
	return []string{"echo"}, args
}

// PrintEnv is printenv NAME.
func (Commands) PrintEnv(name string) []string { return []string{"printenv", name} }

// PrintWorkingDir is pwd.
func (Commands) PrintWorkingDir() []string { return []string{"pwd"} }

// Cat is cat PATH.
func (Commands) Cat(path string) []string { return []string{"cat", path} }

// SleepForever is sleep-forever.
func (Commands) SleepForever() []string { return []string{"sleep-forever"} }

// IgnoreTERM is ignore-term.
func (Commands) IgnoreTERM() []string { return []string{"ignore-term"} }

// UseMemory is use-memory BYTES.
func (Commands) UseMemory(bytes int64) []string {
	return []string{"use-memory", strconv.FormatInt(bytes, 10)}
}

// Missing is a name no image has.
func (Commands) Missing() []string { return []string{"/no/such/command"} }
