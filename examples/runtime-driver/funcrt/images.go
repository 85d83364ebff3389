package funcrt

import (
	"context"
	"fmt"
	"strings"

	"github.com/drover-io/drover/runtime"
)

// imageSize is the Size of every funcrt image: there are no layers, the
// code is in the agent's binary; a nominal byte keeps image accounting
// (which expects a positive size) honest about it being next to nothing.
const imageSize = 1

// PullImage "pulls" a registered image: it resolves ref in the registry
// and records it as stored. Nothing is fetched and credentials are
// ignored. A reference no program registered is an error matching
// runtime.ErrImageNotFound that lists what is registered.
func (d *Driver) PullImage(_ context.Context, ref string, opts runtime.PullOptions) (*runtime.Image, error) {
	e, ok := d.registry.lookup(ref)
	if !ok {
		return nil, fmt.Errorf("funcrt: pull %q: not registered in this program (registered: %s); funcrt images are Go programs registered with funcrt.Register, never fetched from a registry: %w",
			ref, orNone(d.registry.names()), runtime.ErrImageNotFound)
	}
	if opts.Progress != nil {
		opts.Progress(runtime.PullProgress{Done: imageSize, Total: imageSize})
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images[e.id] = e
	s.refs[e.ref] = e.id
	s.refs[digestRef(e)] = e.id
	if !strings.Contains(ref, "@") {
		s.refs[ref] = e.id // as given ("busybox" as well as "busybox:latest")
	}
	return imageOf(e), nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func digestRef(e *registered) string { return e.repo + "@" + e.id }

func imageOf(e *registered) *runtime.Image {
	return &runtime.Image{
		ID: e.id, RepoTags: []string{e.ref}, RepoDigests: []string{digestRef(e)}, Size: imageSize,
		Config: runtime.ImageConfig{Entrypoint: []string{MainName}, Env: e.img.Env, WorkingDir: e.img.WorkingDir},
	}
}

// imageLocked finds a pulled image by reference or ID.
func (s *State) imageLocked(ref string) (*registered, bool) {
	if e, ok := s.images[ref]; ok {
		return e, true
	}
	if id, ok := s.refs[ref]; ok {
		return s.images[id], true
	}
	if norm, _, err := normalize(ref); err == nil && !strings.Contains(ref, "@") {
		if id, ok := s.refs[norm]; ok {
			return s.images[id], true
		}
	}
	return nil, false
}

// ImageStatus returns a pulled image.
func (d *Driver) ImageStatus(_ context.Context, ref string) (*runtime.Image, error) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	e, ok := d.s.imageLocked(ref)
	if !ok {
		return nil, fmt.Errorf("funcrt: image %q is not pulled: %w", ref, runtime.ErrImageNotFound)
	}
	return imageOf(e), nil
}

// ListImages returns the pulled images.
func (d *Driver) ListImages(context.Context) ([]*runtime.Image, error) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	out := make([]*runtime.Image, 0, len(d.s.images))
	for _, e := range d.s.images {
		out = append(out, imageOf(e))
	}
	return out, nil
}

// RemoveImage forgets a pulled image (the registry keeps it: it can be
// pulled again). An image a container was made from is in use until the
// container is removed.
func (d *Driver) RemoveImage(_ context.Context, ref string) error {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.imageLocked(ref)
	if !ok {
		return nil
	}
	for _, c := range s.containers {
		if c.image.id == e.id {
			return fmt.Errorf("funcrt: remove image %q: container %s (%s) uses it: %w", ref, c.status.ID, c.status.Name, runtime.ErrImageInUse)
		}
	}
	delete(s.images, e.id)
	for r, id := range s.refs {
		if id == e.id {
			delete(s.refs, r)
		}
	}
	return nil
}
