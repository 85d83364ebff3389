package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/apiserver"
	"github.com/drover-io/drover/store/memstore"
)

// The environment of the whole run, set up once by TestMain.
var (
	// kubectlBin is the kubectl built from ./cmd/kubectl.
	kubectlBin string
	// kubeconfig is the path of a kubeconfig for the in-process server.
	kubeconfig string
	// homeDir is HOME for kubectl: its discovery cache goes there, not
	// into the user's ~/.kube.
	homeDir string
	// restConfig is the client-go configuration read from kubeconfig.
	restConfig *rest.Config
	// target is what the suite runs against: targetInProcess or targetUp.
	target string
)

// The targets of the suite, the values of DROVER_E2E_TARGET.
const (
	// targetInProcess is an API server started in this process over the
	// in-memory store, with no controllers, scheduler or node: the
	// default.
	targetInProcess = "in-process"
	// targetUp is one `drover up --runtime fake` process, built from this
	// checkout: a whole cluster, its controllers, scheduler and node
	// agent included, reached through the kubeconfig it writes.
	targetUp = "up"
)

// pollTimeout bounds every wait for the server to reach a state.
const pollTimeout = 15 * time.Second

// kubectlTimeout bounds one kubectl invocation.
const kubectlTimeout = 60 * time.Second

// Environment variables that change how the suite runs.
const (
	// envKubectl names a kubectl binary to use instead of building one
	// (for quick iteration on the tests).
	envKubectl = "DROVER_E2E_KUBECTL"
	// envServerLog set to 1 sends the API server's log to stderr (with
	// DROVER_E2E_TARGET=up: drover up's output and log, at the end).
	envServerLog = "DROVER_E2E_SERVER_LOG"
	// envTarget chooses the target: "in-process" (or unset) or "up".
	envTarget = "DROVER_E2E_TARGET"
)

// upStopTimeout bounds how long `drover up` may take to stop after SIGINT.
const upStopTimeout = 30 * time.Second

// onlyInProcess skips t when the suite runs against `drover up`: why says
// what of the in-process server the test relies on.
func onlyInProcess(t *testing.T, why string) {
	t.Helper()
	if target == targetUp {
		t.Skip("in-process server only: " + why)
	}
}

// ownDroverProcesses skips t when the suite runs against drover up: t
// starts drover processes of its own whatever the target, and the run
// against the in-process server has already run it.
func ownDroverProcesses(t *testing.T) {
	t.Helper()
	if target == targetUp {
		t.Skip("starts its own drover processes whatever the target: the run without " + envTarget + " covers it")
	}
}

// unscheduled is a spec.schedulerName that no scheduler serves: a pod that
// a test drives by hand (its binding, its status) carries it, so that with
// DROVER_E2E_TARGET=up the cluster's scheduler and node leave it alone, as
// the in-process server (with neither) does.
const unscheduled = "e2e-no-scheduler"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "drover-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	stop, err := setUp(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return code
}

// setUp builds kubectl, starts the target and finds or writes its
// kubeconfig, all in dir, and sets the variables of the environment.
func setUp(dir string) (stop func() error, err error) {
	switch t := os.Getenv(envTarget); t {
	case "", targetInProcess:
		target = targetInProcess
	case targetUp:
		target = targetUp
	default:
		return nil, fmt.Errorf("%s is %q: must be %s (the default) or %s", envTarget, t, targetInProcess, targetUp)
	}
	kubectlBin = os.Getenv(envKubectl)
	if kubectlBin == "" {
		kubectlBin = filepath.Join(dir, "kubectl")
		if err := buildKubectl(kubectlBin); err != nil {
			return nil, err
		}
	}
	homeDir = filepath.Join(dir, "home")
	if err := os.MkdirAll(homeDir, 0o755); err != nil {
		return nil, err
	}
	var url string
	if target == targetUp {
		stop, url, kubeconfig, err = startUp(dir)
		if err != nil {
			return nil, err
		}
	} else {
		var stopServer func()
		stopServer, url, err = startServer()
		if err != nil {
			return nil, err
		}
		stop = func() error { stopServer(); return nil }
		kubeconfig = filepath.Join(dir, "kubeconfig")
		if err := writeKubeconfig(kubeconfig, url); err != nil {
			_ = stop()
			return nil, err
		}
	}
	restConfig, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("read kubeconfig %s: %w", kubeconfig, err)
	}
	// The tests make bursts of requests; client-go's default limit (5/s)
	// would only make them slow.
	restConfig.QPS, restConfig.Burst = 200, 400
	// Drover serves JSON only, and client-go's typed clients send
	// protobuf unless told otherwise; TestClientDefaultContentType checks
	// what happens with the default.
	restConfig.ContentType = "application/json"
	fmt.Fprintf(os.Stderr, "e2e: target %s: API server at %s, kubeconfig %s\n", target, url, kubeconfig)
	return stop, nil
}

// buildKubectl builds ./cmd/kubectl into out, printing progress (the number
// of packages compiled so far) every few seconds: a cold build compiles
// several hundred packages and takes minutes.
func buildKubectl(out string) error {
	start := time.Now()
	ldflags, err := versionFlags()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "e2e: building kubectl (go build ./cmd/kubectl)...\n")
	cmd := exec.Command("go", "build", "-v", "-ldflags", ldflags, "-o", out, "./cmd/kubectl")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("build kubectl: %w", err)
	}
	// go build -v prints the packages it compiles, one a line, and any
	// error after them; keep the last lines for the error message.
	var tail []string
	n := 0
	last := time.Now()
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		n++
		tail = append(tail, line)
		if len(tail) > 40 {
			tail = tail[1:]
		}
		if time.Since(last) >= 10*time.Second {
			fmt.Fprintf(os.Stderr, "e2e: building kubectl: %d packages compiled (%s), %s\n",
				n, line, time.Since(start).Round(time.Second))
			last = time.Now()
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("build kubectl: %w\n%s", err, strings.Join(tail, "\n"))
	}
	fmt.Fprintf(os.Stderr, "e2e: built kubectl in %s (%d packages compiled, the others cached)\n", time.Since(start).Round(time.Second), n)
	return nil
}

// versionFlags returns the linker flags that stamp kubectl with its
// version, as Kubernetes' own build does: without them kubectl reports
// v0.0.0-master, and "kubectl version" fails to parse it. The version is
// that of k8s.io/kubectl in go.mod: module v0.X.Y is Kubernetes v1.X.Y.
func versionFlags() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "k8s.io/kubectl").Output()
	if err != nil {
		return "", fmt.Errorf("version of k8s.io/kubectl: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	var minor, patch int
	if _, err := fmt.Sscanf(mod, "v0.%d.%d", &minor, &patch); err != nil {
		return "", fmt.Errorf("version of k8s.io/kubectl: %q is not v0.<minor>.<patch>", mod)
	}
	version := fmt.Sprintf("v1.%d.%d", minor, patch)
	var flags []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+version,
			"-X", pkg+".gitMajor=1",
			"-X", pkg+".gitMinor="+strconv.Itoa(minor),
			"-X", pkg+".gitTreeState=clean")
	}
	return strings.Join(flags, " "), nil
}

// startServer starts a Drover API server over an in-memory store on a
// loopback port, over plain HTTP, and returns its URL and how to stop it.
func startServer() (stop func(), url string, err error) {
	st, err := memstore.New(memstore.Options{})
	if err != nil {
		return nil, "", err
	}
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv(envServerLog) == "1" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := apiserver.New(apiserver.Config{Store: st, Scheme: api.NewDefaultScheme(), Logger: logger})
	if err != nil {
		st.Close()
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, "", err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "e2e: serve:", err)
		}
	}()
	stop = func() {
		// Close, not Shutdown: watches never end on their own.
		_ = hs.Close()
		<-done
		st.Close()
	}
	return stop, "http://" + ln.Addr().String(), nil
}

// startUp builds the drover binary of this checkout into dir and runs one
// `drover up` with the fake runtime on a data directory under dir and a free
// loopback port, and waits until its node is Ready (the line "The cluster
// is up"). It returns the API server's URL, the kubeconfig drover up
// wrote, and how to stop it: with SIGINT, an error unless it exits 0 with
// its "stopped cleanly" line within upStopTimeout.
func startUp(dir string) (stop func() error, url, kubeconfig string, err error) {
	start := time.Now()
	bin := filepath.Join(dir, "drover")
	build := exec.Command("go", "build", "-o", bin, "./cmd/drover")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, "", "", fmt.Errorf("go build ./cmd/drover: %w\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", "", err
	}
	apiAddr := ln.Addr().String()
	_ = ln.Close()
	dataDir := filepath.Join(dir, "up")
	cmd := exec.Command(bin, "up", "--runtime", "fake", "--api-addr", apiAddr,
		"--kubelet-addr", "127.0.0.1:0", "--data-dir", dataDir)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, "", "", fmt.Errorf("start drover up: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// report is what drover up printed and, on request or failure, its
	// log.
	report := func(withLog bool) string {
		s := "--- drover up printed:\n" + out.String()
		if withLog {
			s += "--- " + filepath.Join(dataDir, "drover.log") + ":\n" + tailFile(filepath.Join(dataDir, "drover.log"), 200)
		}
		return s
	}
	kill := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	// The cluster is up once its node is Ready, which drover up says
	// after it has written the kubeconfig.
	err = pollUntil(time.Minute, func() error {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("drover up exited: %v", err)
		default:
		}
		if !strings.Contains(out.String(), "The cluster is up") {
			return errors.New("drover up has not printed \"The cluster is up\"")
		}
		return nil
	})
	if err != nil {
		kill()
		return nil, "", "", fmt.Errorf("%w\n%s", err, report(true))
	}
	fmt.Fprintf(os.Stderr, "e2e: built drover and started drover up in %s\n", time.Since(start).Round(time.Millisecond))
	stop = func() error {
		defer func() {
			if os.Getenv(envServerLog) == "1" {
				fmt.Fprintln(os.Stderr, report(true))
			}
		}()
		select {
		case err := <-exited:
			return fmt.Errorf("drover up exited while the suite ran: %v\n%s", err, report(true))
		default:
		}
		stopStart := time.Now()
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			kill()
			return fmt.Errorf("signal drover up: %w", err)
		}
		select {
		case err := <-exited:
			if err != nil {
				return fmt.Errorf("drover up exited with %v after SIGINT\n%s", err, report(true))
			}
		case <-time.After(upStopTimeout):
			kill()
			return fmt.Errorf("drover up still ran %v after SIGINT; killed\n%s", upStopTimeout, report(true))
		}
		if !strings.Contains(out.String(), "✓ stopped cleanly") {
			return fmt.Errorf("drover up exited 0 after SIGINT without its line \"✓ stopped cleanly\"\n%s", report(true))
		}
		fmt.Fprintf(os.Stderr, "e2e: drover up stopped cleanly in %s\n", time.Since(stopStart).Round(time.Millisecond))
		return nil
	}
	return stop, "http://" + apiAddr, filepath.Join(dataDir, "kubeconfig"), nil
}

func writeKubeconfig(path, server string) error {
	const tmpl = `apiVersion: v1
kind: Config
clusters:
- name: drover
  cluster:
    server: %s
users:
- name: drover
  user: {}
contexts:
- name: drover
  context:
    cluster: drover
    user: drover
current-context: drover
`
	return os.WriteFile(path, fmt.Appendf(nil, tmpl, server), 0o600)
}

// clientset returns a client-go clientset for the server.
func clientset(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs
}

var (
	nonName = regexp.MustCompile(`[^a-z0-9]+`)
	// namespaces counts the namespaces made, to keep their names unique
	// when tests run more than once (go test -count).
	namespaces atomic.Int64
)

// newNamespace creates a namespace named after the test, so that every test
// works on its own objects, and returns its name.
func newNamespace(t *testing.T) string {
	t.Helper()
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 50 {
		name = strings.TrimRight(name[:50], "-")
	}
	name = fmt.Sprintf("e2e-%s-%d", name, namespaces.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := clientset(t).CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// result is what one kubectl run printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit code %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// kubectlEnv is the environment of kubectl: this process's, with the
// kubeconfig and HOME of the suite.
func kubectlEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "KUBECONFIG" || k == "HOME" || k == "KUBECACHEDIR" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "KUBECONFIG="+kubeconfig, "HOME="+homeDir)
}

// kubectl runs kubectl with args and returns what it printed; the test
// fails if it cannot be run at all, not if it exits non-zero.
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return kubectlStdin(t, "", args...)
}

// kubectlStdin is kubectl with stdin.
func kubectlStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, args...)
	cmd.Env = kubectlEnv()
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
	if ctx.Err() != nil {
		t.Fatalf("kubectl %s: did not finish within %v\n%s", strings.Join(args, " "), kubectlTimeout, res)
	}
	t.Logf("kubectl %s: exit code %d", strings.Join(args, " "), res.code)
	return res
}

// mustKubectl runs kubectl and fails the test unless it exits 0.
func mustKubectl(t *testing.T, args ...string) result {
	t.Helper()
	res := kubectl(t, args...)
	if res.code != 0 {
		t.Fatalf("kubectl %s failed: %s", strings.Join(args, " "), res)
	}
	return res
}

// background is a kubectl left running (kubectl get -w), whose stdout is
// read line by line.
type background struct {
	lines  chan string
	stderr *bytes.Buffer
}

// startKubectl starts kubectl with args; it is killed when the test ends.
func startKubectl(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, kubectlBin, args...)
	cmd.Env = kubectlEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &background{lines: make(chan string, 100), stderr: new(bytes.Buffer)}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start kubectl %s: %v", strings.Join(args, " "), err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(b.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case b.lines <- sc.Text():
			case <-ctx.Done():
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = cmd.Wait()
	})
	return b
}

// expectLine reads lines until one matches re, and fails the test if none
// does within pollTimeout or the output ends. It returns the line.
func (b *background) expectLine(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	timer := time.NewTimer(pollTimeout)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case line, ok := <-b.lines:
			if !ok {
				t.Fatalf("kubectl output ended before a line matching %q; read:\n%s\nstderr:\n%s",
					re, strings.Join(seen, "\n"), b.stderr)
			}
			seen = append(seen, line)
			if rx.MatchString(line) {
				return line
			}
		case <-timer.C:
			t.Fatalf("no line matching %q within %v; read:\n%s", re, pollTimeout, strings.Join(seen, "\n"))
		}
	}
}

// eventually polls cond until it returns true, and fails the test with the
// last message cond gave if that does not happen within pollTimeout.
func eventually(t *testing.T, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	var msg string
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, pollTimeout, true,
		func(ctx context.Context) (bool, error) {
			var ok bool
			ok, msg = cond(ctx)
			return ok, nil
		})
	if err != nil {
		t.Fatalf("condition not met within %v: %s", pollTimeout, msg)
	}
}

// testdata returns the path of a file under testdata.
func testdata(name string) string { return filepath.Join("testdata", name) }
