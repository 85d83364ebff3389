package e2e

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/drover-io/drover/runtime/image/imagetest"
)

// workflowTimeout bounds each wait of TestDroverUpWorkflow for the cluster
// to reach a state: pods start on a real runtime, and a rollout replaces
// three pods one by one, each waiting for its readiness probe. It is less
// than kubectlTimeout, which bounds one run of drover.
const workflowTimeout = 45 * time.Second

// The images of examples/manifests, made offline from the host's busybox.
const (
	nginxImage    = "docker.io/library/nginx:1.27"
	nginxNewImage = "docker.io/library/nginx:1.28"
	busyboxImage  = "docker.io/library/busybox:1.36"
)

// TestDroverUpWorkflow is the five-minute tour of the README, on the built
// binary with a real node agent: `drover up` on a temp data directory with
// images imported from archives (no registry, no internet), `drover apply
// -f examples/manifests/`, the rollout, the Job, logs, a deleted pod
// replaced, a new image rolled out and rolled back, and a restart of
// `drover up` that finds the workload as it was, its containers adopted.
func TestDroverUpWorkflow(t *testing.T) {
	ownDroverProcesses(t)
	rt := workflowRuntime(t)
	start := time.Now()
	tmp := t.TempDir()
	bin := buildDrover(t, tmp)
	// Runs after drover up is killed, before tmp is removed.
	t.Cleanup(func() { removeContainers(t, bin, tmp) })
	dataDir := filepath.Join(tmp, "data")
	for _, ref := range []string{nginxImage, nginxNewImage, busyboxImage} {
		archive := writeImageArchive(t, tmp, ref)
		out, err := exec.Command(bin, "image", "import", archive, "--data-dir", dataDir).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "✓ imported "+ref) {
			t.Fatalf("drover image import %s: %v\n%s", archive, err, out)
		}
	}
	apiAddr := freeLoopbackAddr(t)
	up := startDroverUp(t, bin, dataDir, apiAddr, "--runtime", rt)
	d := &droverCLI{t: t, bin: bin, kubeconfig: filepath.Join(dataDir, "kubeconfig"), dataDir: dataDir, up: up}
	t.Logf("built drover, imported 3 images and started drover up (runtime %s) in %v", rt, time.Since(start).Round(time.Millisecond))

	// 1. Apply the examples, wait for the rollout, the Job and the logs.
	out := d.must("apply", "-f", filepath.Join("..", "..", "examples", "manifests"))
	for _, want := range []string{"configmap/web-config", "secret/web-secret", "deployment.apps/web", "service/web", "job.batch/greet"} {
		if !strings.Contains(out, want) {
			t.Fatalf("drover apply -f examples/manifests/ printed no line for %s:\n%s", want, out)
		}
	}
	d.rolloutDone("apply", nginxImage)
	web := d.readyWebPods(nginxImage)
	t.Logf("3 web pods ready after %v", time.Since(start).Round(time.Millisecond))
	// kubectl, with the same kubeconfig, sees the same pods.
	want := ""
	for _, p := range web {
		want += "pod/" + p.Name + "\n"
	}
	if res := kubectlAt(t, d.kubeconfig, "", "get", "pods", "-l", "app=web", "-o", "name"); res.code != 0 || res.stdout != want {
		d.fatalf("deployment/web", "kubectl get pods -l app=web -o name: %s\nwant:\n%s", res, want)
	}
	d.jobComplete()
	if logs := d.logs(web[0].Name); !strings.Contains(logs, "nginx 1.27 (busybox httpd): serving /usr/share/nginx/html on :80") {
		d.fatalf("pod/"+web[0].Name, "drover logs %s printed no start line of nginx 1.27:\n%s", web[0].Name, logs)
	}
	if page := d.must("exec", web[0].Name, "--", "wget", "-q", "-O", "-", "http://127.0.0.1/"); !strings.Contains(page, "<h1>Hello from Drover</h1>") {
		d.fatalf("pod/"+web[0].Name, "nginx of %s does not serve the ConfigMap's index.html; wget printed:\n%s", web[0].Name, page)
	}

	// 2. Delete a web pod: the ReplicaSet replaces it.
	victim := web[1].Name
	d.must("delete", "pod", victim)
	d.poll("deployment/web", "a new pod replaces "+victim, func() error {
		pods, err := d.webPodsReady(nginxImage)
		if err != nil {
			return err
		}
		for _, p := range pods {
			if p.Name == victim {
				return fmt.Errorf("deleted pod %s is still listed", victim)
			}
		}
		return d.deploymentReady(3)
	})
	t.Logf("pod %s replaced after %v", victim, time.Since(start).Round(time.Millisecond))

	// 3. Roll out nginx:1.28 with an edited manifest, then roll back.
	manifest, err := os.ReadFile(filepath.Join("..", "..", "examples", "manifests", "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(manifest), "image: "+nginxImage) {
		t.Fatalf("examples/manifests/web.yaml has no line image: %s", nginxImage)
	}
	edited := filepath.Join(tmp, "web-1.28.yaml")
	if err := os.WriteFile(edited, []byte(strings.ReplaceAll(string(manifest), nginxImage, nginxNewImage)), 0o600); err != nil {
		t.Fatal(err)
	}
	d.must("apply", "-f", edited)
	d.rolloutDone("update", nginxNewImage)
	web = d.readyWebPods(nginxNewImage)
	if logs := d.logs(web[0].Name); !strings.Contains(logs, "nginx 1.28 (busybox httpd)") {
		d.fatalf("pod/"+web[0].Name, "drover logs %s printed no start line of nginx 1.28:\n%s", web[0].Name, logs)
	}
	t.Logf("rolled out %s after %v", nginxNewImage, time.Since(start).Round(time.Millisecond))
	d.must("rollout", "undo", "deployment/web")
	d.rolloutDone("undo", nginxImage)
	web = d.readyWebPods(nginxImage)
	t.Logf("rolled back to %s after %v", nginxImage, time.Since(start).Round(time.Millisecond))
	history := d.must("rollout", "history", "deployment/web")
	// Revision 1 (1.27) came back as revision 3: 2 (1.28) and 3 are kept.
	for _, rev := range []string{"2", "3"} {
		if !regexp.MustCompile(`(?m)^` + rev + `\s`).MatchString(history) {
			d.fatalf("deployment/web", "drover rollout history deployment/web lists no revision %s:\n%s", rev, history)
		}
	}
	if rev3 := d.must("rollout", "history", "deployment/web", "--revision=3"); !strings.Contains(rev3, nginxImage) {
		d.fatalf("deployment/web", "revision 3 (the undo) is not %s:\n%s", nginxImage, rev3)
	}

	// 4. Stop drover up with SIGINT and start it again on the same data
	// directory: the workload is there, its containers adopted, not
	// restarted: a file written in each container before the restart is
	// still there after it (a new container would have a fresh root
	// filesystem), with the same container IDs and no restart counted.
	before := containerStates(web)
	for _, p := range web {
		d.must("exec", p.Name, "--", "touch", "/tmp/before-restart")
	}
	job := d.jobComplete()
	d.stopUp(syscall.SIGINT)
	up = startDroverUp(t, bin, dataDir, apiAddr, "--runtime", rt)
	d.up = up
	restarted := time.Now()
	for _, p := range web {
		// exec goes through the new node agent, once the Node says where
		// it listens.
		d.poll("pod/"+p.Name, "drover exec in "+p.Name+" after a restart", func() error {
			res := d.run("exec", p.Name, "--", "ls", "/tmp/before-restart")
			if res.code != 0 {
				return fmt.Errorf("drover exec %s -- ls /tmp/before-restart: %s", p.Name, res)
			}
			return nil
		})
	}
	t.Logf("the containers answer exec %v after the restart", time.Since(restarted).Round(time.Millisecond))
	d.poll("deployment/web", "the workload after a restart", func() error {
		pods, err := d.webPodsReady(nginxImage)
		if err != nil {
			return err
		}
		if after := containerStates(pods); !slices.Equal(after, before) {
			return fmt.Errorf("web pods' containers were %v before the restart, are %v after", before, after)
		}
		return d.deploymentReady(3)
	})
	for _, p := range web {
		if logs := d.logs(p.Name); strings.Count(logs, "nginx 1.27 (busybox httpd): serving") != 1 {
			d.fatalf("pod/"+p.Name, "after a restart, drover logs %s does not show nginx starting once:\n%s", p.Name, logs)
		}
	}
	if again := d.jobComplete(); again.UID != job.UID || again.Status.Succeeded != 1 {
		d.fatalf("job/greet", "after a restart, Job greet is uid %s with %d succeeded, was uid %s with 1", again.UID, again.Status.Succeeded, job.UID)
	}
	d.stopUp(syscall.SIGINT)
	t.Logf("whole workflow: %v", time.Since(start).Round(time.Millisecond))
}

// workflowRuntime is the runtime TestDroverUpWorkflow runs pods with: oci
// when root and runc or crun are present (required with
// DROVER_INTEGRATION=1). The process runtime cannot run examples/manifests:
// its pods share the node's network, and three nginx replicas cannot all
// listen on port 80, so without oci the test is skipped.
func workflowRuntime(t *testing.T) string {
	t.Helper()
	_, runc := exec.LookPath("runc")
	_, crun := exec.LookPath("crun")
	if os.Geteuid() == 0 && (runc == nil || crun == nil) {
		if imagetest.BusyboxPath() == "" {
			imagetest.Missing(t, "busybox (apt install busybox-static)")
		}
		return "oci"
	}
	imagetest.Missing(t, "root and runc (the oci runtime; with the process runtime the three nginx replicas of examples/manifests share the node's port 80)")
	return ""
}

// buildDrover builds ./cmd/drover into dir and returns its path.
func buildDrover(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "drover")
	build := exec.Command("go", "build", "-o", bin, "./cmd/drover")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/drover: %v\n%s", err, out)
	}
	return bin
}

// freeLoopbackAddr returns a loopback address with a port free just now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// busyboxApplets are the applets the images link to the host's busybox:
// sh and date for the Job, httpd for nginx, wget, touch and ls for exec.
var busyboxApplets = []string{"sh", "echo", "cat", "date", "httpd", "kill", "ls", "sleep", "touch", "wget", "env", "true"}

// nginxEntrypoint stands in for nginx: busybox httpd serving nginx's
// document root on port 80, stopping at once on SIGTERM (as nginx does; a
// process 1 without a handler would ignore it for the whole grace period).
const nginxEntrypoint = `#!/bin/sh
echo "nginx %s (busybox httpd): serving /usr/share/nginx/html on :80"
httpd -f -vv -p 80 -h /usr/share/nginx/html &
trap 'kill $!; exit 0' TERM
wait
`

// writeImageArchive writes an image tagged ref as `docker save` does, in
// dir, and returns the archive's path. An nginx ref gets an image whose
// entrypoint serves HTTP on port 80 and prints the tag's version; any
// other ref a plain busybox image.
func writeImageArchive(t *testing.T, dir, ref string) string {
	t.Helper()
	bb := imagetest.BusyboxPath()
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	entries := []imagetest.Entry{
		imagetest.Dir("bin/"), imagetest.Dir("etc/"),
		{Header: tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}},
		imagetest.File("bin/busybox", string(data), true),
		imagetest.File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", false),
		imagetest.File("etc/group", "root:x:0:\nnogroup:x:65534:\n", false),
	}
	for _, a := range busyboxApplets {
		entries = append(entries, imagetest.Symlink("bin/"+a, "busybox"))
	}
	cfg := v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, WorkingDir: "/"}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(tag.RepositoryStr(), "/nginx") {
		entries = append(entries,
			imagetest.Dir("usr/"), imagetest.Dir("usr/share/"), imagetest.Dir("usr/share/nginx/"), imagetest.Dir("usr/share/nginx/html/"),
			imagetest.File("usr/share/nginx/html/index.html", "<h1>Welcome to nginx!</h1>\n", false),
			imagetest.File("docker-entrypoint.sh", fmt.Sprintf(nginxEntrypoint, tag.TagStr()), true))
		cfg.Entrypoint, cfg.Cmd = []string{"/docker-entrypoint.sh"}, nil
		cfg.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	}
	img := imagetest.Image(t, cfg, imagetest.Layer(t, entries...))
	path := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(ref)+".tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// droverCLI runs the drover binary's client verbs against the cluster of
// a `drover up`.
type droverCLI struct {
	t          *testing.T
	bin        string
	kubeconfig string
	dataDir    string
	up         *droverUp
}

// run runs drover with args and returns what it printed; the test fails if
// it cannot be run or does not finish within kubectlTimeout.
func (d *droverCLI) run(args ...string) result {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.t.Context(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+d.kubeconfig)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		d.t.Fatalf("drover %s: did not finish within %v\n%s", strings.Join(args, " "), kubectlTimeout, res)
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		d.t.Fatalf("drover %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// must runs drover and returns its standard output; the test fails with
// the cluster's state unless it exits 0.
func (d *droverCLI) must(args ...string) string {
	d.t.Helper()
	res := d.run(args...)
	if res.code != 0 {
		d.fatalf("", "drover %s: %s", strings.Join(args, " "), res)
	}
	return res.stdout
}

// fatalf fails the test with its message followed by the state of the
// cluster: the pods, the description of object (TYPE/NAME, if not "")
// and the end of drover up's log and output.
func (d *droverCLI) fatalf(object, format string, args ...any) {
	d.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, format, args...)
	fmt.Fprintf(&b, "\n--- drover get pods -o wide:\n%s", d.run("get", "pods", "-o", "wide"))
	if object != "" {
		fmt.Fprintf(&b, "\n--- drover describe %s:\n%s", object, d.run("describe", object))
	}
	fmt.Fprintf(&b, "\n--- drover up's output:\n%s", d.up.out)
	fmt.Fprintf(&b, "\n--- the end of %s:\n%s", filepath.Join(d.dataDir, "drover.log"), tailFile(filepath.Join(d.dataDir, "drover.log"), 80))
	d.t.Fatal(b.String())
}

// poll waits, within workflowTimeout, for cond to return nil, and fails
// the test with the state of object if it does not.
func (d *droverCLI) poll(object, what string, cond func() error) {
	d.t.Helper()
	if err := pollUntil(workflowTimeout, cond); err != nil {
		d.fatalf(object, "%s: not within %v: %v", what, workflowTimeout, err)
	}
}

// rolloutDone runs drover rollout status until the rollout of Deployment
// web is done, and checks that the Deployment's template runs image.
func (d *droverCLI) rolloutDone(what, image string) {
	d.t.Helper()
	res := d.run("rollout", "status", "deployment/web", "--timeout", workflowTimeout.String())
	if res.code != 0 || !strings.Contains(res.stdout, `deployment "web" successfully rolled out`) {
		d.fatalf("deployment/web", "rollout after %s: drover rollout status deployment/web: %s", what, res)
	}
	var dep appsv1.Deployment
	d.getJSON(&dep, "deployment/web")
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != image {
		d.fatalf("deployment/web", "after %s, Deployment web runs %s, want %s", what, got, image)
	}
}

// getJSON runs drover get args -o json into v.
func (d *droverCLI) getJSON(v any, args ...string) {
	d.t.Helper()
	out := d.must(append(append([]string{"get"}, args...), "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		d.fatalf("", "drover get %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// readyWebPods waits for exactly three web pods, all running image,
// Running and Ready, and returns them.
func (d *droverCLI) readyWebPods(image string) []corev1.Pod {
	d.t.Helper()
	var pods []corev1.Pod
	d.poll("deployment/web", "3 ready web pods of "+image, func() error {
		var err error
		pods, err = d.webPodsReady(image)
		return err
	})
	return pods
}

// webPodsReady returns the web pods if there are exactly three, none
// terminating, all of image, Running and Ready with a running container.
func (d *droverCLI) webPodsReady(image string) ([]corev1.Pod, error) {
	d.t.Helper()
	var list corev1.PodList
	d.getJSON(&list, "pods", "-l", "app=web")
	var pods []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			pods = append(pods, p)
		}
	}
	if len(pods) != 3 {
		return nil, fmt.Errorf("%d web pods not terminating, want 3", len(pods))
	}
	for _, p := range pods {
		switch {
		case p.Spec.Containers[0].Image != image:
			return nil, fmt.Errorf("pod %s runs %s, want %s", p.Name, p.Spec.Containers[0].Image, image)
		case p.Status.Phase != corev1.PodRunning:
			return nil, fmt.Errorf("pod %s is %s, want Running", p.Name, p.Status.Phase)
		case !podReady(&p):
			return nil, fmt.Errorf("pod %s is not Ready: %+v", p.Name, p.Status.Conditions)
		case len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil || p.Status.ContainerStatuses[0].ContainerID == "":
			return nil, fmt.Errorf("pod %s has no running container with an ID: %+v", p.Name, p.Status.ContainerStatuses)
		}
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// deploymentReady says why Deployment web does not have want ready,
// updated and available replicas out of want, or returns nil.
func (d *droverCLI) deploymentReady(want int32) error {
	d.t.Helper()
	var dep appsv1.Deployment
	d.getJSON(&dep, "deployment/web")
	s := dep.Status
	if s.Replicas != want || s.ReadyReplicas != want || s.UpdatedReplicas != want || s.AvailableReplicas != want {
		return fmt.Errorf("Deployment web has %d replicas, %d ready, %d updated, %d available; want %d of each",
			s.Replicas, s.ReadyReplicas, s.UpdatedReplicas, s.AvailableReplicas, want)
	}
	return nil
}

// jobComplete waits until Job greet is Complete, as drover get jobs shows
// it, with its pod's log printed, and returns the Job.
func (d *droverCLI) jobComplete() batchv1.Job {
	d.t.Helper()
	var job batchv1.Job
	d.poll("job/greet", "Job greet complete", func() error {
		d.getJSON(&job, "job/greet")
		for _, c := range job.Status.Conditions {
			if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue && job.Status.Succeeded == 1 {
				return nil
			}
		}
		return fmt.Errorf("Job greet: %d succeeded, %d failed, conditions %+v", job.Status.Succeeded, job.Status.Failed, job.Status.Conditions)
	})
	if table := d.must("get", "jobs"); !regexp.MustCompile(`(?m)^greet\s+\S*\s*1/1\s`).MatchString(table) {
		d.fatalf("job/greet", "drover get jobs does not show greet with 1/1 completions:\n%s", table)
	}
	var list corev1.PodList
	d.getJSON(&list, "pods", "-l", "batch.kubernetes.io/job-name=greet")
	if len(list.Items) != 1 || list.Items[0].Status.Phase != corev1.PodSucceeded {
		d.fatalf("job/greet", "Job greet has %d pods, want 1 Succeeded", len(list.Items))
	}
	if logs := d.logs(list.Items[0].Name); !strings.HasPrefix(logs, "Hello from Drover at ") {
		d.fatalf("pod/"+list.Items[0].Name, "drover logs of Job greet's pod printed %q, want Hello from Drover at <date>", logs)
	}
	return job
}

// logs returns drover logs of pod.
func (d *droverCLI) logs(pod string) string {
	d.t.Helper()
	return d.must("logs", pod)
}

// stopUp stops drover up with sig and checks that it exits 0 with its
// final line.
func (d *droverCLI) stopUp(sig os.Signal) {
	d.t.Helper()
	up := d.up
	if err := up.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
	select {
	case err := <-up.exited:
		up.exited <- err
		if err != nil {
			d.t.Fatalf("drover up exited with %v after %v:\n%s", err, sig, up.out)
		}
	case <-time.After(workflowTimeout):
		d.t.Fatalf("drover up still runs %v after %v:\n%s", workflowTimeout, sig, up.out)
	}
	if !strings.Contains(up.out.String(), "✓ stopped cleanly") {
		d.t.Fatalf("drover up printed no final line after %v:\n%s", sig, up.out)
	}
}

// containerStates lists "pod container-ID restarts=N" for pods, to compare
// them across a restart of the node agent.
func containerStates(pods []corev1.Pod) []string {
	var s []string
	for _, p := range pods {
		for _, c := range p.Status.ContainerStatuses {
			s = append(s, fmt.Sprintf("%s %s restarts=%d", p.Name, c.ContainerID, c.RestartCount))
		}
	}
	return s
}

// tailFile returns the last n lines of the file at path, or why it
// cannot.
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// removeContainers removes what the node agent leaves behind under dir, as
// it does on purpose (a restarted agent adopts its containers): runc's
// containers whose bundle is under dir (with their processes), the
// runtime's shims (processes of bin), and the mounts under dir, so that
// the temporary directory can be removed.
func removeContainers(t *testing.T, bin, dir string) {
	t.Helper()
	roots, _ := filepath.Glob("/run/drover/*/runc")
	for _, root := range roots {
		out, err := exec.Command("runc", "--root", root, "list", "--format", "json").Output()
		if err != nil {
			continue
		}
		var containers []struct {
			ID     string `json:"id"`
			Bundle string `json:"bundle"`
		}
		if err := json.Unmarshal(out, &containers); err != nil {
			t.Logf("runc --root %s list: %v", root, err)
			continue
		}
		ours := false
		for _, c := range containers {
			if strings.HasPrefix(c.Bundle, dir+string(filepath.Separator)) {
				ours = true
				if out, err := exec.Command("runc", "--root", root, "delete", "--force", c.ID).CombinedOutput(); err != nil {
					t.Logf("runc delete --force %s: %v: %s", c.ID, err, out)
				}
			}
		}
		if ours { // the node's runc state directory, if now empty
			_ = os.Remove(root)
			_ = os.Remove(filepath.Dir(root))
		}
	}
	// The shims end when their container does; kill those that do not.
	if err := pollUntil(5*time.Second, func() error {
		if pids := processesOf(bin); len(pids) > 0 {
			return fmt.Errorf("processes of %s still run: %v", bin, pids)
		}
		return nil
	}); err != nil {
		for _, pid := range processesOf(bin) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	// Unmount the deepest first.
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+string(filepath.Separator)) {
			mounts = append(mounts, f[4])
		}
	}
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			t.Logf("unmount %s: %v", m, err)
		}
	}
}

// processesOf returns the IDs of the processes that run the executable bin.
func processesOf(bin string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			pids = append(pids, pid)
		}
	}
	return pids
}
