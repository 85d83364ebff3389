package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// droverUp is a running `drover up`.
type droverUp struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan error
}

// startDroverUp runs `drover up` on dataDir and apiAddr and waits until its
// kubeconfig exists and its API server answers /readyz. The node agent runs
// on runtime/fake with its HTTPS API on any free loopback port (the default
// :10250 may be taken); flags in extra come last, so they override these
// (--runtime oci).
func startDroverUp(t *testing.T, bin, dataDir, apiAddr string, extra ...string) *droverUp {
	t.Helper()
	args := append([]string{"up", "--data-dir", dataDir, "--api-addr", apiAddr,
		"--runtime", "fake", "--kubelet-addr", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(bin, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	up := &droverUp{cmd: cmd, out: out, exited: make(chan error, 1)}
	go func() { up.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-up.exited
		}
	})
	kubeconfig := filepath.Join(dataDir, "kubeconfig")
	err := pollUntil(pollTimeout, func() error {
		select {
		case err := <-up.exited:
			up.exited <- err
			return fmt.Errorf("drover up exited: %v", err)
		default:
		}
		if _, err := os.Stat(kubeconfig); err != nil {
			return err
		}
		resp, err := http.Get("http://" + apiAddr + "/readyz")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("drover up is not ready: %v\n%s", err, out)
	}
	return up
}

// stop sends SIGTERM and checks that drover up exits 0 with its final line.
func (up *droverUp) stop(t *testing.T) {
	t.Helper()
	if err := up.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-up.exited:
		if err != nil {
			t.Fatalf("drover up exited with %v after SIGTERM:\n%s", err, up.out)
		}
	case <-time.After(pollTimeout):
		t.Fatalf("drover up still runs %v after SIGTERM:\n%s", pollTimeout, up.out)
	}
	if !strings.Contains(up.out.String(), "✓ stopped cleanly") {
		t.Fatalf("drover up printed no final line:\n%s", up.out)
	}
}

// pollUntil calls cond until it returns nil or within has passed, and
// returns cond's last error then.
func pollUntil(within time.Duration, cond func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// kubectlAt runs kubectl against the kubeconfig at path.
func kubectlAt(t *testing.T, kubeconfigPath, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, args...)
	var env []string
	for _, kv := range kubectlEnv() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "KUBECONFIG="+kubeconfigPath)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return res
}

const upDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
`

// TestDroverUp builds the drover binary, runs `drover up` on a temp data
// directory, applies a Deployment with kubectl and sees its ReplicaSet,
// stops it with SIGTERM, and finds the Deployment again after a restart.
func TestDroverUp(t *testing.T) {
	ownDroverProcesses(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "drover")
	build := exec.Command("go", "build", "-o", bin, "./cmd/drover")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/drover: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := ln.Addr().String()
	_ = ln.Close()
	dataDir := filepath.Join(tmp, "data")
	kc := filepath.Join(dataDir, "kubeconfig")

	up := startDroverUp(t, bin, dataDir, apiAddr)
	if !strings.Contains(up.out.String(), "export KUBECONFIG="+kc) {
		// The export line follows the controllers' start, just after
		// /readyz answers.
		if err := pollUntil(pollTimeout, func() error {
			if !strings.Contains(up.out.String(), "export KUBECONFIG="+kc) {
				return errors.New("no export KUBECONFIG line")
			}
			return nil
		}); err != nil {
			t.Fatalf("%v:\n%s", err, up.out)
		}
	}
	if res := kubectlAt(t, kc, upDeployment, "apply", "-f", "-"); res.code != 0 {
		t.Fatalf("kubectl apply: %s", res)
	}
	var last result
	if err := pollUntil(pollTimeout, func() error {
		last = kubectlAt(t, kc, "", "get", "replicasets", "-n", "default", "-l", "app=web", "-o", "name")
		if last.code != 0 || !strings.HasPrefix(last.stdout, "replicaset.apps/web-") {
			return errors.New("no ReplicaSet for Deployment web")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v: %s", err, last)
	}
	up.stop(t)

	up = startDroverUp(t, bin, dataDir, apiAddr)
	if res := kubectlAt(t, kc, "", "get", "deployment", "web", "-n", "default", "-o", "name"); res.code != 0 || res.stdout != "deployment.apps/web\n" {
		t.Fatalf("after a restart, kubectl get deployment web: %s", res)
	}
	up.stop(t)
}
