package verbs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/client"
)

// ExitCodeError is the error of a command that ran and exited non-zero
// (exec): the binary exits with Code.
type ExitCodeError struct {
	Code int
}

// Error says how the command ended, as kubectl does.
func (e *ExitCodeError) Error() string {
	return fmt.Sprintf("command terminated with exit code %d", e.Code)
}

// ExitCode is the code the binary exits with.
func (e *ExitCodeError) ExitCode() int { return e.Code }

type execOpts struct {
	conn
	container string
	stdin     bool
	tty       bool
}

func newExec() *cobra.Command {
	o := &execOpts{}
	cmd := &cobra.Command{
		Use:   "exec [pod/]NAME [-c CONTAINER] [-i] -- COMMAND [ARGS...]",
		Short: "Run a command in a container of a pod",
		Long: "Run a command in a running container of a pod, with its output here and, with -i,\n" +
			"this terminal's input sent to it. The command's exit code is drover's.\n" +
			"-c names the container; it may be left out for a pod with one container, or\n" +
			"whose kubectl.kubernetes.io/default-container annotation names one.",
		Example: "  drover exec web-5d9c7-x2x8z -- ls /usr/share/nginx/html\n" +
			"  drover exec pod/two -c sidecar -- cat /etc/hosts\n" +
			"  echo hello | drover exec -i web-5d9c7-x2x8z -- cat",
		Args: cobra.MinimumNArgs(1),
		RunE: o.run,
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.container, "container", "c", "", "the container (default the pod's only or default container)")
	f.BoolVarP(&o.stdin, "stdin", "i", false, "send this terminal's input to the command")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a terminal (not supported yet)")
	return cmd
}

func (o *execOpts) run(cmd *cobra.Command, args []string) error {
	dash := cmd.ArgsLenAtDash()
	switch {
	case dash < 0 && len(args) > 1:
		return fmt.Errorf("give the command after --: drover exec %s -- %s", args[0], strings.Join(args[1:], " "))
	case dash < 0 || dash == len(args):
		return errors.New("give the command to run after --: such as `drover exec POD -- ls /`")
	case dash != 1:
		return fmt.Errorf("exec takes one pod before --, not %d: %s", dash, strings.Join(args[:dash], " "))
	}
	if o.tty {
		return errors.New("tty is not supported yet: leave out -t (use -i to send input)")
	}
	s, err := o.connect(cmd)
	if err != nil {
		return err
	}
	name, err := podArg(s.scheme, args[0], "exec runs in pods")
	if err != nil {
		return err
	}
	opts := client.ExecOptions{Container: o.container, Command: args[dash:], Stdout: s.out, Stderr: s.errw}
	if o.stdin {
		opts.Stdin = cmd.InOrStdin()
	}
	code, err := s.c.Exec(ctx(cmd), s.namespace, name, opts)
	if err != nil {
		return err // the server's message says what is wrong: the pod, the container, its state
	}
	if code != 0 {
		return &ExitCodeError{Code: code}
	}
	return nil
}
