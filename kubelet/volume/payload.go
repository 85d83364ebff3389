package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/drover-io/drover/api"
	"github.com/drover-io/drover/kubelet/envvars"
)

// defaultMode is the files' mode when a volume sets no defaultMode.
const defaultMode fs.FileMode = 0o644

// payload computes the files of a configMap, secret, projected or
// downwardAPI volume.
func (m *Manager) payload(ctx context.Context, pod *api.Pod, src *api.VolumeSource) (map[string]file, error) {
	out := map[string]file{}
	switch {
	case src.ConfigMap != nil:
		mode, err := fileMode(src.ConfigMap.DefaultMode, defaultMode, "configMap.defaultMode")
		if err != nil {
			return nil, err
		}
		err = m.configMapFiles(ctx, pod, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, mode, "configMap", out)
		return out, err
	case src.Secret != nil:
		mode, err := fileMode(src.Secret.DefaultMode, defaultMode, "secret.defaultMode")
		if err != nil {
			return nil, err
		}
		err = m.secretFiles(ctx, pod, src.Secret.SecretName, src.Secret.Items, src.Secret.Optional, mode, "secret", out)
		return out, err
	case src.DownwardAPI != nil:
		mode, err := fileMode(src.DownwardAPI.DefaultMode, defaultMode, "downwardAPI.defaultMode")
		if err != nil {
			return nil, err
		}
		err = m.downwardFiles(pod, src.DownwardAPI.Items, mode, "downwardAPI", out)
		return out, err
	case src.Projected != nil:
		mode, err := fileMode(src.Projected.DefaultMode, defaultMode, "projected.defaultMode")
		if err != nil {
			return nil, err
		}
		// Sources are projected in order; a later source's file replaces
		// an earlier one's of the same path, as in Kubernetes.
		for i, s := range src.Projected.Sources {
			field := fmt.Sprintf("projected.sources[%d]", i)
			switch {
			case s.ConfigMap != nil:
				err = m.configMapFiles(ctx, pod, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, mode, field+".configMap", out)
			case s.Secret != nil:
				err = m.secretFiles(ctx, pod, s.Secret.Name, s.Secret.Items, s.Secret.Optional, mode, field+".secret", out)
			case s.DownwardAPI != nil:
				err = m.downwardFiles(pod, s.DownwardAPI.Items, mode, field+".downwardAPI", out)
			case s.ServiceAccountToken != nil:
				err = fmt.Errorf("%s.serviceAccountToken is not supported yet: project configMap, secret or downwardAPI", field)
			default:
				err = fmt.Errorf("%s: no source set: want one of configMap, secret, downwardAPI", field)
			}
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, errors.New("no projected source set")
}

// fileMode returns *mode (permission bits, 0 to 0777) or def when nil.
func fileMode(mode *int32, def fs.FileMode, field string) (fs.FileMode, error) {
	if mode == nil {
		return def, nil
	}
	if *mode < 0 || *mode > 0o777 {
		return 0, fmt.Errorf("%s %#o (%d) is out of range: want 0 to 0777 (511 in decimal)", field, *mode, *mode)
	}
	return fs.FileMode(*mode), nil
}

// configMapFiles adds the files of ConfigMap name to out: every key of
// Data and BinaryData, or items.
func (m *Manager) configMapFiles(ctx context.Context, pod *api.Pod, name string, items []api.KeyToPath, optional *bool, mode fs.FileMode, field string, out map[string]file) error {
	if m.cfg.Getter == nil {
		return fmt.Errorf("%s: configmap %q: the node agent has no Getter to read it with", field, name)
	}
	cm, err := m.cfg.Getter.ConfigMap(ctx, pod.Namespace, name)
	if err != nil {
		if errors.Is(err, api.ErrNotFound) {
			if optional != nil && *optional {
				return nil
			}
			return &notFoundError{kind: "configmap", name: name, err: err}
		}
		return fmt.Errorf("read configmap %q: %w", name, err)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return project(data, items, optional, mode, fmt.Sprintf("configmap %q", name), field, out)
}

// secretFiles adds the files of Secret name to out.
func (m *Manager) secretFiles(ctx context.Context, pod *api.Pod, name string, items []api.KeyToPath, optional *bool, mode fs.FileMode, field string, out map[string]file) error {
	if m.cfg.Getter == nil {
		return fmt.Errorf("%s: secret %q: the node agent has no Getter to read it with", field, name)
	}
	s, err := m.cfg.Getter.Secret(ctx, pod.Namespace, name)
	if err != nil {
		if errors.Is(err, api.ErrNotFound) {
			if optional != nil && *optional {
				return nil
			}
			return &notFoundError{kind: "secret", name: name, err: err}
		}
		return fmt.Errorf("read secret %q: %w", name, err)
	}
	return project(s.Data, items, optional, mode, fmt.Sprintf("secret %q", name), field, out)
}

// project adds data's keys to out: each key as a file of its own name,
// or with items only the keys they list, at their paths and modes. An
// item's key missing from data is an error unless optional.
func project(data map[string][]byte, items []api.KeyToPath, optional *bool, mode fs.FileMode, object, field string, out map[string]file) error {
	if len(items) == 0 {
		for k, v := range data {
			if err := validatePath(k); err != nil {
				return fmt.Errorf("%s: key %w", object, err)
			}
			out[k] = file{data: v, mode: mode}
		}
		return nil
	}
	for i, it := range items {
		f := fmt.Sprintf("%s.items[%d]", field, i)
		v, ok := data[it.Key]
		if !ok {
			if optional != nil && *optional {
				continue
			}
			return fmt.Errorf("%s.key: %s has no key %q", f, object, it.Key)
		}
		if err := validatePath(it.Path); err != nil {
			return fmt.Errorf("%s.path %w", f, err)
		}
		md, err := fileMode(it.Mode, mode, f+".mode")
		if err != nil {
			return err
		}
		out[it.Path] = file{data: v, mode: md}
	}
	return nil
}

// downwardFiles adds the files of downward API items to out.
func (m *Manager) downwardFiles(pod *api.Pod, items []api.DownwardAPIVolumeFile, mode fs.FileMode, field string, out map[string]file) error {
	for i, it := range items {
		f := fmt.Sprintf("%s.items[%d]", field, i)
		if err := validatePath(it.Path); err != nil {
			return fmt.Errorf("%s.path %w", f, err)
		}
		md, err := fileMode(it.Mode, mode, f+".mode")
		if err != nil {
			return err
		}
		var v string
		switch {
		case it.FieldRef != nil:
			if av := it.FieldRef.APIVersion; av != "" && av != "v1" {
				return fmt.Errorf("%s.fieldRef.apiVersion %q is not supported: want v1", f, av)
			}
			v, err = m.fieldValue(pod, it.FieldRef.FieldPath)
			if err != nil {
				return fmt.Errorf("%s.fieldRef: %w", f, err)
			}
		case it.ResourceFieldRef != nil:
			if it.ResourceFieldRef.ContainerName == "" {
				return fmt.Errorf("%s.resourceFieldRef.containerName is required in a volume", f)
			}
			var alloc api.ResourceList
			if m.cfg.NodeAllocatable != nil {
				alloc = m.cfg.NodeAllocatable()
			}
			v, err = envvars.ResourceValue(pod, it.ResourceFieldRef.ContainerName, it.ResourceFieldRef, alloc)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		default:
			return fmt.Errorf("%s: neither fieldRef nor resourceFieldRef is set", f)
		}
		out[it.Path] = file{data: []byte(v), mode: md}
	}
	return nil
}

// fieldValue is envvars.FieldValue plus what only volumes have: all
// labels or annotations as sorted key="value" lines; and spec.nodeName
// falls back to Config.NodeName.
func (m *Manager) fieldValue(pod *api.Pod, path string) (string, error) {
	switch path {
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		if pod.Spec.NodeName == "" {
			return m.cfg.NodeName, nil
		}
	}
	return envvars.FieldValue(pod, path)
}

// formatMap prints m as Kubernetes' downward API does: one key="value"
// line per key, sorted, the value quoted as a Go string.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(m[k]))
	}
	return b.String()
}

// notFoundError says `configmap "name" not found` and matches
// api.ErrNotFound through the Getter's error it wraps.
type notFoundError struct {
	kind, name string
	err        error
}

func (e *notFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.kind, e.name) }
func (e *notFoundError) Unwrap() error { return e.err }
