package storebench

import "context"

// System is a three-member cluster under test, started by the benchmark
// and stopped by Close. Run calls its methods from one goroutine.
type System interface {
	// Name is the system's column name in the table: "etcd", "drover".
	Name() string
	// Clients returns the n clients of a cell, each pinned to one member,
	// round robin with the followers first: client 0 uses a follower,
	// client 1 the other follower, client 2 the leader, client 3 the
	// first follower again, and so on. So a lone client takes the
	// follower's path (forwarding to the leader), and both systems give
	// their leader the same share of the clients whichever member leads.
	Clients(ctx context.Context, n int) ([]Client, error)
	// Load creates every key with value (before the first cell, so that
	// puts overwrite and gets find a key). It may write in parallel.
	Load(ctx context.Context, keys []string, value []byte) error
	// Close stops the members and removes their data.
	Close() error
}

// Client is one member's interface to the cluster, as a client of it
// sees it. Its methods are called from every client goroutine pinned to
// the member at once. An error fails the operation: it is counted and not
// timed.
type Client interface {
	// Put overwrites an existing key unconditionally.
	Put(ctx context.Context, key string, value []byte) error
	// Get reads a key, linearizably, and fails if it does not exist.
	Get(ctx context.Context, key string) error
}

// cellObserver is implemented by systems that can report on a cell: Run
// calls BeginCell when the measured window opens and the returned end
// when it closes. end returns a line for the progress output (counters
// the system moved during the window, CPU it used), or an error if it
// could not collect them; the cell's numbers stand either way.
type cellObserver interface {
	BeginCell(c Cell) (end func() (string, error))
}
