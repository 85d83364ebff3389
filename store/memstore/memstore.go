// Package memstore is the in-memory reference implementation of store.Store:
// the MVCC engine of store/internal/mvcc behind the Store interface, with
// watches and progress notifications, and nothing persisted.
//
// Use it in tests of code that talks to a store, and in single-process
// setups that can lose their state on exit. It passes the conformance suite
// in store/storetest, which is what makes it a faithful stand-in for the
// replicated store.
//
//	s, err := memstore.New(memstore.Options{})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	rev, err := s.Create(ctx, "/registry/pods/default/web-0", data)
package memstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/drover-io/drover/store"
	"github.com/drover-io/drover/store/internal/mvcc"
)

// DefaultProgressInterval is the default Options.ProgressInterval.
const DefaultProgressInterval = 5 * time.Second

// Options configure a Store. The zero value gives the defaults.
type Options struct {
	// WatchHistory is how many recent events are kept in memory to serve
	// watches quickly; watches that fall further behind catch up from the
	// key history instead, more slowly. 0 means mvcc.DefaultWatchHistory
	// (10000).
	WatchHistory int
	// ProgressInterval is how often a watch that asked for ProgressNotify
	// and is idle gets an EventProgress. 0 means DefaultProgressInterval.
	ProgressInterval time.Duration
	// Logger receives the store's log lines. nil means discard.
	Logger *slog.Logger
	// Clock paces progress notifications. nil means SystemClock().
	Clock Clock
}

// Validate checks the options and says which field is wrong.
func (o Options) Validate() error {
	if o.WatchHistory < 0 {
		return fmt.Errorf("memstore: Options.WatchHistory is %d: must be positive, or 0 for the default (%d)",
			o.WatchHistory, mvcc.DefaultWatchHistory)
	}
	if o.ProgressInterval < 0 {
		return fmt.Errorf("memstore: Options.ProgressInterval is %v: must be positive, or 0 for the default (%v)",
			o.ProgressInterval, DefaultProgressInterval)
	}
	return nil
}

// Store is an in-memory store.Store. All its methods are safe for
// concurrent use. Its writes are as durable as the process: "never lost"
// holds until the Store is closed or the process exits.
type Store struct {
	e    *mvcc.Engine
	log  *slog.Logger
	stop chan struct{} // closed by Close to end the progress goroutine
	wg   sync.WaitGroup
	once sync.Once
}

var _ store.Store = (*Store)(nil)

// New returns an empty Store at revision 0. It starts one goroutine, which
// paces progress notifications; Close stops it.
func New(opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.ProgressInterval == 0 {
		opts.ProgressInterval = DefaultProgressInterval
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := mvcc.New(mvcc.Options{WatchHistory: opts.WatchHistory, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	s := &Store{e: e, log: log, stop: make(chan struct{})}
	ticker := opts.Clock.NewTicker(opts.ProgressInterval)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer ticker.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-ticker.C():
				s.e.ProgressNotify()
			}
		}
	}()
	return s, nil
}

// Close ends every watch and the progress goroutine and waits for them.
// Every later call fails with store.ErrClosed. It is safe to call more than
// once.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.e.Close()
	})
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string, opts store.ReadOptions) (*store.KeyValue, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: get %q: %w", key, err)
	}
	return s.e.Get(key, opts.Revision)
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix string, opts store.ListOptions) (*store.ListResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: list %q: %w", prefix, err)
	}
	return s.e.List(prefix, opts)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: create %q: %w", key, err)
	}
	kv, err := s.e.Create(key, value)
	if err != nil {
		return 0, err
	}
	return kv.ModRevision, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, key string, value []byte, expectedRev int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: update %q: %w", key, err)
	}
	kv, _, err := s.e.Update(key, value, expectedRev)
	if err != nil {
		return 0, err
	}
	return kv.ModRevision, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string, expectedRev int64) (*store.KeyValue, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: delete %q: %w", key, err)
	}
	return s.e.Delete(key, expectedRev)
}

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context, prefix string, afterRev int64, opts store.WatchOptions) (<-chan store.Event, error) {
	return s.e.Watch(ctx, prefix, afterRev, opts)
}

// Compact implements store.Store.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: compact at %d: %w", rev, err)
	}
	return s.e.Compact(rev)
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: revision: %w", err)
	}
	return s.e.Revision()
}
