package kubelet

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/runtime"
)

// pullPolicy is c's imagePullPolicy, defaulted as the API server does.
func pullPolicy(c *api.Container) api.PullPolicy {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	ref := c.Image
	if i := strings.LastIndexByte(ref, '@'); i >= 0 {
		return api.PullIfNotPresent
	}
	last := ref[strings.LastIndexByte(ref, '/')+1:]
	if i := strings.LastIndexByte(last, ':'); i < 0 || last[i+1:] == "latest" {
		return api.PullAlways
	}
	return api.PullIfNotPresent
}

// ensureImage makes sure c's image is on the node, by c's pull policy. It
// returns the reference to make the container from, or the waiting
// state of c and when to try again.
func (k *Kubelet) ensureImage(ctx context.Context, w *podWorker, pod *api.Pod, c *api.Container) (string, *api.ContainerStateWaiting, time.Duration) {
	policy := pullPolicy(c)
	_, err := k.images.ImageStatus(ctx, c.Image)
	present := err == nil
	switch {
	case policy == api.PullNever && !present:
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		k.rec.Eventf(pod, api.EventTypeWarning, ReasonErrImageNeverPull, "%s", msg)
		return "", &api.ContainerStateWaiting{Reason: ReasonErrImageNeverPull, Message: msg}, backoffInitial
	case policy == api.PullNever, policy == api.PullIfNotPresent && present:
		return c.Image, nil, 0
	}
	now := k.now()
	if b := w.pull[c.Image]; b != nil && now.Before(b.until) {
		k.rec.Eventf(pod, api.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.Image)
		return "", &api.ContainerStateWaiting{Reason: ReasonImagePullBackOff, Message: fmt.Sprintf("Back-off pulling image %q", c.Image)}, b.until.Sub(now)
	}
	k.rec.Eventf(pod, api.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
	creds, cerr := k.pullCredentials(ctx, pod, c.Image)
	if cerr != nil {
		k.log.Warn("read imagePullSecrets", "pod", pod.Key(), "err", cerr)
	}
	_, err = k.images.PullImage(ctx, c.Image, runtime.PullOptions{Credentials: creds})
	if err != nil {
		b := w.pull[c.Image]
		delay := backoffInitial
		if b != nil {
			delay = min(b.delay*2, backoffMax)
		}
		w.pull[c.Image] = &crashState{delay: delay, until: k.now().Add(delay)}
		k.rec.Eventf(pod, api.EventTypeWarning, "Failed", "Failed to pull image %q: %v", c.Image, err)
		// Look again in a second, to show ImagePullBackOff until the
		// back-off ends.
		return "", &api.ContainerStateWaiting{Reason: ReasonErrImagePull, Message: err.Error()}, min(delay, time.Second)
	}
	delete(w.pull, c.Image)
	k.rec.Eventf(pod, api.EventTypeNormal, "Pulled", "Successfully pulled image %q in %s", c.Image, k.now().Sub(now))
	return c.Image, nil, 0
}

// pullCredentials returns the credentials of pod's imagePullSecrets that
// match image's registry.
func (k *Kubelet) pullCredentials(ctx context.Context, pod *api.Pod, image string) ([]runtime.Credential, error) {
	if len(pod.Spec.ImagePullSecrets) == 0 {
		return nil, nil
	}
	host := registryHost(image)
	var out []runtime.Credential
	var errs []error
	for _, ref := range pod.Spec.ImagePullSecrets {
		sec, err := k.envSrc.Secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("secret %s/%s: %w", pod.Namespace, ref.Name, err))
			continue
		}
		creds, err := dockerCredentials(sec, host)
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, creds...)
	}
	return out, errors.Join(errs...)
}

// registryHost is the registry of an image reference: its first path
// element if it looks like a host, else Docker Hub.
func registryHost(image string) string {
	i := strings.IndexByte(image, '/')
	if i < 0 {
		return "docker.io"
	}
	first := image[:i]
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return first
	}
	return "docker.io"
}

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// dockerCredentials returns the credentials for registry host in a
// kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg Secret.
func dockerCredentials(sec *api.Secret, host string) ([]runtime.Credential, error) {
	var auths map[string]dockerAuth
	switch sec.Type {
	case api.SecretTypeDockerConfigJSON:
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if err := json.Unmarshal(sec.Data[".dockerconfigjson"], &cfg); err != nil {
			return nil, fmt.Errorf("secret %s/%s: .dockerconfigjson: %w", sec.Namespace, sec.Name, err)
		}
		auths = cfg.Auths
	case api.SecretTypeDockercfg:
		if err := json.Unmarshal(sec.Data[".dockercfg"], &auths); err != nil {
			return nil, fmt.Errorf("secret %s/%s: .dockercfg: %w", sec.Namespace, sec.Name, err)
		}
	default:
		return nil, fmt.Errorf("secret %s/%s: type %q is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg", sec.Namespace, sec.Name, sec.Type)
	}
	var out []runtime.Credential
	for key, a := range auths {
		if normalizeRegistry(key) != normalizeRegistry(host) {
			continue
		}
		cred := runtime.Credential{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
		if a.Auth != "" && cred.Username == "" {
			if b, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
				if u, p, ok := strings.Cut(string(b), ":"); ok {
					cred.Username, cred.Password = u, p
				}
			}
		}
		out = append(out, cred)
	}
	return out, nil
}

// normalizeRegistry strips a registry key to its host ("https://index.docker.io/v1/" → "docker.io").
func normalizeRegistry(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return s
}
