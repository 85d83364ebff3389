// Package remotecommand runs a command somewhere else and streams its
// standard input, output and error over one WebSocket, with the
// Kubernetes channel protocol that kubectl exec speaks (kubectl 1.30 and
// later use WebSockets; the older SPDY transport is not supported).
//
// # The protocol
//
// The client asks for the WebSocket subprotocol v5.channel.k8s.io or
// v4.channel.k8s.io; the server picks v5 when offered. Every message is a
// binary WebSocket message whose first byte is a channel and whose rest is
// data:
//
//	0   stdin   client → server
//	1   stdout  server → client
//	2   stderr  server → client
//	3   error   server → client: one v1 Status, once the command ended
//	4   resize  client → server (terminal size; ignored: no tty yet)
//	255 close   client → server, v5 only: the data is one byte, the channel
//	            the client will send no more on (255 0 is stdin's end of file)
//
// The Status on channel 3 is Success for an exit code 0; Failure with
// reason NonZeroExitCode and one cause {reason: ExitCode, message: "<n>"}
// for another exit code; Failure with the error's message when the command
// could not be run. The server then closes the WebSocket (close code 1000),
// which ends every stream on the client. With v4 there is no way to end
// stdin but to close the connection: a command that reads stdin to its end
// only ends over v5.
//
// Serve is the server side (the node agent); Stream the client side (the
// CLI, client.Exec). Both are in this package so that they agree.
package remotecommand

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
)

// The WebSocket subprotocols spoken, best first.
const (
	ProtocolV5 = "v5.channel.k8s.io"
	ProtocolV4 = "v4.channel.k8s.io"
)

// protocols are the subprotocols offered and accepted, best first.
var protocols = []string{ProtocolV5, ProtocolV4}

// The channels: the first byte of every message.
const (
	ChannelStdin  byte = 0
	ChannelStdout byte = 1
	ChannelStderr byte = 2
	ChannelError  byte = 3
	ChannelResize byte = 4
	// ChannelClose (v5 only) says that the channel in the next byte is
	// done: no more data will be sent on it.
	ChannelClose byte = 255
)

// The Status reason and cause type that carry a non-zero exit code on the
// error channel.
const (
	ReasonNonZeroExitCode api.StatusReason = "NonZeroExitCode"
	CauseExitCode         api.CauseType    = "ExitCode"
)

// ErrTTYNotSupported is the error of a request for a terminal.
var ErrTTYNotSupported = errors.New("tty is not supported yet")

// Options are what a remote command request asks for, from its query.
type Options struct {
	// Command is the command and its arguments: at least the command.
	Command []string
	// Stdin, Stdout and Stderr say which streams are attached; at least
	// one must be.
	Stdin, Stdout, Stderr bool
	// TTY asks for a terminal; it is refused (ErrTTYNotSupported).
	TTY bool
}

// ParseOptions reads the options of a request's query as kubectl sends
// them: command once per word, and stdin, stdout, stderr and tty as
// "true"/"1" or "false"/"0" (absent is false). Other parameters (such as
// container) are left to the caller. Its errors are *api.StatusError
// BadRequest, with a message for the user.
func ParseOptions(q url.Values) (Options, error) {
	var o Options
	o.Command = q["command"]
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"stdin", &o.Stdin}, {"stdout", &o.Stdout}, {"stderr", &o.Stderr}, {"tty", &o.TTY}} {
		vs := q[f.name]
		if len(vs) > 1 {
			return Options{}, api.NewBadRequest("the exec option %q is given %d times: give it at most once", f.name, len(vs))
		}
		if len(vs) == 0 || vs[0] == "" {
			continue
		}
		b, err := strconv.ParseBool(vs[0])
		if err != nil {
			return Options{}, api.NewBadRequest("invalid exec option %s=%q: must be true or false", f.name, vs[0])
		}
		*f.dst = b
	}
	switch {
	case len(o.Command) == 0 || o.Command[0] == "":
		return Options{}, api.NewBadRequest("you must specify at least one command for the container (the command query parameter, once per word)")
	case o.TTY:
		return Options{}, api.NewBadRequest("%s", ErrTTYNotSupported.Error())
	case !o.Stdin && !o.Stdout && !o.Stderr:
		return Options{}, api.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	return o, nil
}

// Query returns the query that ParseOptions reads back as o.
func (o Options) Query() url.Values {
	q := url.Values{}
	for _, c := range o.Command {
		q.Add("command", c)
	}
	set := func(k string, b bool) {
		if b {
			q.Set(k, "true")
		}
	}
	set("stdin", o.Stdin)
	set("stdout", o.Stdout)
	set("stderr", o.Stderr)
	set("tty", o.TTY)
	return q
}

// frame is one message of the protocol.
type frame struct {
	channel byte
	data    []byte
}

// parseFrame splits a binary message into its channel and data. An empty
// message is an error; a close message (v5) must carry exactly the one
// byte of the channel it closes.
func parseFrame(msg []byte, proto string) (frame, error) {
	if len(msg) == 0 {
		return frame{}, errors.New("remotecommand: empty message: every message starts with its channel")
	}
	f := frame{channel: msg[0], data: msg[1:]}
	if f.channel == ChannelClose {
		if proto != ProtocolV5 {
			return frame{}, fmt.Errorf("remotecommand: close message (channel 255) on %s: only %s has it", proto, ProtocolV5)
		}
		if len(f.data) != 1 {
			return frame{}, fmt.Errorf("remotecommand: close message with %d bytes after channel 255: must be exactly 1, the channel closed", len(f.data))
		}
	}
	return f, nil
}

// exitStatus returns the Status the server sends on the error channel for
// a command that ended with code, or could not be run (err).
func exitStatus(command []string, code int, err error) api.Status {
	st := api.Status{TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: "v1"}}
	switch {
	case err != nil:
		st.Status = api.StatusFailure
		st.Reason = api.StatusReasonInternalError
		st.Code = http.StatusInternalServerError
		st.Message = err.Error()
	case code != 0:
		st.Status = api.StatusFailure
		st.Reason = ReasonNonZeroExitCode
		st.Message = fmt.Sprintf("command terminated with non-zero exit code: command %q exited with code %d", strings.Join(command, " "), code)
		st.Details = &api.StatusDetails{Causes: []api.StatusCause{{Type: CauseExitCode, Message: strconv.Itoa(code)}}}
	default:
		st.Status = api.StatusSuccess
	}
	return st
}

// decodeExitStatus reads the error channel's Status: the exit code, or
// the error of a command that could not be run (a *api.StatusError).
func decodeExitStatus(data []byte) (int, error) {
	var st api.Status
	if err := json.Unmarshal(data, &st); err != nil {
		return 0, fmt.Errorf("remotecommand: the error channel holds no v1 Status (%q): %w", truncate(data), err)
	}
	switch st.Status {
	case api.StatusSuccess:
		return 0, nil
	case api.StatusFailure:
	default:
		return 0, fmt.Errorf("remotecommand: the error channel's Status has status %q: must be Success or Failure", st.Status)
	}
	if st.Reason == ReasonNonZeroExitCode {
		if st.Details == nil {
			return 0, errors.New("remotecommand: the error channel's NonZeroExitCode Status has no details.causes")
		}
		for _, c := range st.Details.Causes {
			if c.Type != CauseExitCode {
				continue
			}
			n, err := strconv.Atoi(c.Message)
			if err != nil || n == 0 {
				return 0, fmt.Errorf("remotecommand: the error channel's exit code %q is not a non-zero integer", c.Message)
			}
			return n, nil
		}
		return 0, errors.New("remotecommand: the error channel's NonZeroExitCode Status has no ExitCode cause")
	}
	if st.Message == "" {
		st.Message = "the remote command failed with no message (reason " + string(st.Reason) + ")"
	}
	return 0, &api.StatusError{Status: st}
}

// truncate shortens data for an error message.
func truncate(data []byte) string {
	const max = 200
	if len(data) > max {
		return string(data[:max]) + "..."
	}
	return string(data)
}
