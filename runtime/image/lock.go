package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrStoreInUse is returned by New when another Store, in this process or
// another, has the same Root open: a store's index, its temporary files
// and its sweep of unused layers belong to one Store at a time (a node
// agent's; `drover image import` on a stopped node).
var ErrStoreInUse = errors.New("image: store in use by another process")

// lockRoot takes the store's lock file, Root/lock, for as long as the
// Store is open. The lock is an flock on an open file description, so it
// ends with the process however it ends: a crash leaves no stale lock.
func lockRoot(root string) (*os.File, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("image: create store: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(root, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("image: create store: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("image: store %s: %w", root, ErrStoreInUse)
		}
		return nil, fmt.Errorf("image: lock store %s: %w", root, err)
	}
	return f, nil
}

// Close releases the store's lock: another Store may then open its Root.
// The Store must not be used after. Closing twice is not an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}
