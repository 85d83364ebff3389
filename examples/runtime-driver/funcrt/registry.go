package funcrt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Image is a function image: the programs a container made from it can
// run. A container whose command is empty runs Main; otherwise its
// command's first word names one of Commands or a builtin (see Builtins),
// as a busybox image's applets. Exec runs the same names.
type Image struct {
	// Main is the image's program (its entrypoint, named "main"). Required.
	Main Program
	// Commands are further programs by name, for the container's command
	// or for Exec (a readiness check, a debugging dump). They shadow the
	// builtins of the same name.
	Commands map[string]Program
	// Env is the image's environment ("KEY=value"), under the container's.
	Env []string
	// WorkingDir is the image's working directory; "" means "/".
	WorkingDir string
}

// MainName is the name of an image's Main program: the image's
// entrypoint, so a container's args (without a command) are Main's.
const MainName = "main"

// registered is an image as a Registry holds it.
type registered struct {
	ref  string // normalized: "name:tag"
	id   string // "sha256:..."
	repo string // ref without its tag
	img  Image
}

// Registry maps image references to function images. A program fills one
// before it starts the driver (or uses the default registry through
// Register); it is safe for concurrent use, and many drivers may share
// one.
type Registry struct {
	mu     sync.RWMutex
	images map[string]*registered // by normalized reference
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{images: map[string]*registered{}} }

// Add registers img under ref ("example.com/tasks/resize:v1"; a reference
// without a tag gets ":latest"). It fails when ref is malformed, holds a
// digest, is taken, or img has no Main.
func (r *Registry) Add(ref string, img Image) error {
	if img.Main == nil {
		return fmt.Errorf("funcrt: image %q: Main is nil: an image needs the program its containers run", ref)
	}
	if strings.Contains(ref, "@") {
		return fmt.Errorf("funcrt: image %q: register a name and tag (\"name:tag\"), not a digest: funcrt computes the digest", ref)
	}
	norm, repo, err := normalize(ref)
	if err != nil {
		return err
	}
	for name, p := range img.Commands {
		if name == "" || strings.ContainsAny(name, " \t\n") || p == nil {
			return fmt.Errorf("funcrt: image %q: Commands[%q]: a command needs a name without spaces and a non-nil Program", ref, name)
		}
	}
	img.Commands = maps.Clone(img.Commands)
	img.Env = slices.Clone(img.Env)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.images[norm]; dup {
		return fmt.Errorf("funcrt: image %q is already registered", norm)
	}
	sum := sha256.Sum256([]byte("funcrt image\x00" + norm))
	r.images[norm] = &registered{ref: norm, repo: repo, id: "sha256:" + hex.EncodeToString(sum[:]), img: img}
	return nil
}

// lookup returns the image ref names: a tag reference, or a digest
// reference ("name@sha256:...") of a registered image.
func (r *Registry) lookup(ref string) (*registered, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if repo, digest, ok := strings.Cut(ref, "@"); ok {
		for _, e := range r.images {
			if e.id == digest && (e.repo == repo || e.repo == strings.TrimSuffix(repo, ":latest")) {
				return e, true
			}
		}
		return nil, false
	}
	norm, _, err := normalize(ref)
	if err != nil {
		return nil, false
	}
	e, ok := r.images[norm]
	return e, ok
}

// names returns the registered references, sorted, for error messages.
func (r *Registry) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.images))
}

// normalize returns ref with a tag (":latest" when it has none) and its
// repository (ref without the tag).
func normalize(ref string) (norm, repo string, err error) {
	if ref == "" || strings.ContainsAny(ref, " \t\n") {
		return "", "", fmt.Errorf("funcrt: image reference %q: must be a name with an optional tag, without spaces", ref)
	}
	repo, tag := ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag = ref[:i], ref[i+1:]
	}
	if repo == "" || tag == "" {
		return "", "", fmt.Errorf("funcrt: image reference %q: must be \"name\" or \"name:tag\"", ref)
	}
	return repo + ":" + tag, repo, nil
}

// defaultRegistry is the registry of Register and of drivers made with
// no Config.Registry.
var defaultRegistry = NewRegistry()

// DefaultRegistry returns the registry Register fills, which a driver
// uses when its Config names none.
func DefaultRegistry() *Registry { return defaultRegistry }

// Register registers p as the Main program of the image ref in the
// default registry, as sql.Register does for database drivers: call it
// from an init function or main before the driver starts. It panics when
// ref is malformed or taken or p is nil.
func Register(ref string, p Program) { RegisterImage(ref, Image{Main: p}) }

// RegisterImage is Register for an image with commands, environment or a
// working directory of its own.
func RegisterImage(ref string, img Image) {
	if err := defaultRegistry.Add(ref, img); err != nil {
		panic(err)
	}
}
