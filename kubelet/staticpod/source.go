package staticpod

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/api"
)

// DefaultInterval is how often a Source reads its directory when
// Config.Interval is zero: 20 seconds, the period of the Kubernetes node
// agent's file check.
const DefaultInterval = 20 * time.Second

// Clock is the time source of a Source: the system clock in production, a
// fakeclock.Clock in tests. A Source calls it from its Run goroutine only.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures a Source.
type Config struct {
	// Dir is the directory of manifests. Each regular file (or symbolic
	// link to one) named *.yaml, *.yml or *.json, directly in Dir and not
	// starting with ".", holds one Pod or several ("---" between YAML
	// documents, or a v1 List or PodList). Required. A Dir that does not
	// exist holds no pods.
	Dir string
	// NodeName is the name of this node: it suffixes each static pod's
	// name and is its spec.nodeName. Required; a DNS-1123 subdomain.
	NodeName string
	// Clock paces the reads of Dir and stamps AnnotationSeen. nil means
	// the system clock.
	Clock Clock
	// Logger receives the manifests that are skipped, and why. nil means
	// discard.
	Logger *slog.Logger
	// Scheme decodes the manifests (strictly: an unknown field is an
	// error). nil means api.NewDefaultScheme().
	Scheme *api.Scheme
	// Interval is how often Dir is read. 0 means DefaultInterval.
	Interval time.Duration
	// NoWatch turns off watching Dir for changes (with inotify, on Linux),
	// which makes a change seen at once rather than at the next Interval.
	// Tests that move a fake clock set it, so that Dir is read only when
	// the clock says.
	NoWatch bool
}

// validate checks c and fills in its defaults.
func (c *Config) validate() error {
	if c.Dir == "" {
		return errors.New("staticpod: Config.Dir is required: the directory of static pod manifests")
	}
	if c.NodeName == "" {
		return errors.New("staticpod: Config.NodeName is required: the name of this node")
	}
	if msgs := api.NameIsDNSSubdomain(c.NodeName, false); len(msgs) > 0 {
		return fmt.Errorf("staticpod: Config.NodeName %q: %s", c.NodeName, strings.Join(msgs, "; "))
	}
	if c.Interval < 0 {
		return fmt.Errorf("staticpod: Config.Interval %v: must be at least 0 (0 means %v)", c.Interval, DefaultInterval)
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Scheme == nil {
		c.Scheme = api.NewDefaultScheme()
	}
	return nil
}

// Source reads static pods from a directory of manifests. Make one with
// NewSource and call Run once.
type Source struct {
	cfg     Config
	log     *slog.Logger
	started atomic.Bool

	// What Run knows, read and written by Run's goroutine only.
	files   map[string]*fileState // by base name
	dirErr  string                // the last error reading Dir, logged once
	dups    map[string]bool       // duplicate pods already logged, by file and pod
	current []api.UID             // the UIDs last handed to update, in order
}

// fileState is what a manifest held when it was last read.
type fileState struct {
	sum  [sha256.Size]byte
	pods []*api.Pod
	err  error
}

// NewSource returns a Source for cfg, or an error naming the field of cfg
// that is wrong.
func NewSource(cfg Config) (*Source, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Source{
		cfg:   cfg,
		log:   cfg.Logger.With("dir", cfg.Dir),
		files: make(map[string]*fileState),
		dups:  make(map[string]bool),
	}, nil
}

// Run reads the directory at once, then every Config.Interval and, unless
// Config.NoWatch is set, as soon as a file in it changes; and it calls
// update, on Run's goroutine, with every static pod of the directory: once
// at the start, even when there are none (or, if the directory exists but
// cannot be read, once it can), and again each time the set changes (a pod added, removed, or changed, which changes its UID).
// update gets copies, which it may keep and modify. A manifest that cannot
// be read, decoded or validated is logged with its file and fields and
// skipped; its pods are not in the set, and the other files' are. Of two
// pods with the same namespace and name, the one of the file first in name
// order is kept. Run returns nil when ctx ends; it may be called once.
func (s *Source) Run(ctx context.Context, update func(pods []*api.Pod)) error {
	if update == nil {
		return errors.New("staticpod: Run needs an update function")
	}
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("staticpod: Run called twice")
	}
	var watch *dirWatch
	defer func() {
		if watch != nil {
			watch.Stop()
		}
	}()
	var changes <-chan struct{}
	var tick <-chan time.Time
	first := true
	for {
		if !s.cfg.NoWatch && (watch == nil || watch.Dead()) {
			// Watch before reading, so that no change falls between.
			watch, changes = s.rewatch(watch)
		}
		pods, ok := s.scan()
		if ok && (first || !s.sameAsCurrent(pods)) {
			first = false
			s.current = s.current[:0]
			out := make([]*api.Pod, len(pods))
			for i, p := range pods {
				s.current = append(s.current, p.UID)
				out[i] = p.DeepCopy()
			}
			update(out)
		}
		if tick == nil {
			tick = s.cfg.Clock.After(s.cfg.Interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			tick = nil
		case <-changes:
		}
	}
}

// rewatch stops old, if any, and starts watching the directory again. It
// returns nils when it cannot (the directory does not exist yet, or this
// is not Linux): the poll finds the changes then.
func (s *Source) rewatch(old *dirWatch) (*dirWatch, <-chan struct{}) {
	if old != nil {
		old.Stop()
	}
	w, err := watchDir(s.cfg.Dir)
	if err != nil {
		s.log.Debug("not watching the static pod directory; polling it only", "error", err)
		return nil, nil
	}
	return w, w.C
}

func (s *Source) sameAsCurrent(pods []*api.Pod) bool {
	return slices.EqualFunc(s.current, pods, func(uid api.UID, p *api.Pod) bool { return uid == p.UID })
}

// scan reads the directory and returns its static pods, in the order of
// their files' names and of their documents. It reports false when the
// directory could not be read, for a reason other than not existing: the
// pods are then unknown, and the caller keeps what it had.
func (s *Source) scan() ([]*api.Pod, bool) {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		if msg := err.Error(); msg != s.dirErr {
			s.dirErr = msg
			s.log.Warn("cannot read the static pod directory; keeping the pods read before", "error", err)
		}
		return nil, false
	}
	if err != nil && s.dirErr != "missing" {
		s.dirErr = "missing"
		s.log.Info("the static pod directory does not exist: no static pods")
	} else if err == nil {
		s.dirErr = ""
	}

	// The pods read before, by UID, so that a manifest rewritten to the
	// same pod keeps its AnnotationSeen.
	previous := make(map[api.UID]*api.Pod)
	for _, f := range s.files {
		for _, p := range f.pods {
			previous[p.UID] = p
		}
	}

	files := make(map[string]*fileState, len(entries))
	var pods []*api.Pod
	seen := make(map[string]string) // namespace/name -> file
	dups := make(map[string]bool)
	for _, e := range entries {
		name := e.Name()
		if !isManifestName(name) {
			continue
		}
		path := filepath.Join(s.cfg.Dir, name)
		info, err := os.Stat(path) // follows symbolic links
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		f := s.readFile(path, name, previous)
		files[name] = f
		for _, p := range f.pods {
			key := p.Namespace + "/" + p.Name
			if other, dup := seen[key]; dup {
				dk := name + "\x00" + key
				dups[dk] = true
				if !s.dups[dk] {
					s.log.Warn("static pod skipped: another manifest defines a pod of the same namespace and name",
						"file", name, "pod", key, "kept", other)
				}
				continue
			}
			seen[key] = name
			pods = append(pods, p)
		}
	}
	s.files, s.dups = files, dups
	return pods, true
}

// readFile returns the state of the manifest at path, parsing it again
// only if its content changed. A pod whose UID is in previous is replaced
// by the one there.
func (s *Source) readFile(path, name string, previous map[api.UID]*api.Pod) *fileState {
	old := s.files[name]
	data, err := os.ReadFile(path)
	if err != nil {
		f := &fileState{err: err}
		if old == nil || old.err == nil || old.err.Error() != err.Error() {
			s.log.Warn("static pod manifest skipped: cannot read it", "file", name, "error", err)
		}
		return f
	}
	sum := sha256.Sum256(data)
	if old != nil && old.sum == sum {
		return old // unchanged; if it was bad, it was logged already
	}
	pods, err := parseManifest(s.cfg.Scheme, data, name, s.cfg.NodeName, s.cfg.Clock.Now())
	if err != nil {
		attrs := []any{"file", name, "error", err}
		var me *manifestError
		if errors.As(err, &me) && len(me.Fields) > 0 {
			attrs = append(attrs, "fields", strings.Join(me.fieldNames(), ","))
		}
		s.log.Warn("static pod manifest skipped", attrs...)
		return &fileState{sum: sum, err: err}
	}
	for i, p := range pods {
		if prev, ok := previous[p.UID]; ok {
			pods[i] = prev
		}
	}
	return &fileState{sum: sum, pods: pods}
}

// isManifestName reports whether a file of this name is read as a
// manifest: not hidden, and ending in .yaml, .yml or .json.
func isManifestName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
