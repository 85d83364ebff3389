package registry

import (
	"runtime"
)

// WatchCacheRunning reports whether the registry has a running watch
// cache, and if so, arranges for collected to be closed once the cache has
// been garbage collected.
func (r *Registry) WatchCacheRunning(collected chan<- struct{}) bool {
	ws := &r.watch
	ws.mu.Lock()
	c := ws.cache
	ws.mu.Unlock()
	if c == nil || isClosed(c.done) {
		return false
	}
	if collected != nil {
		runtime.AddCleanup(c, func(ch chan<- struct{}) { close(ch) }, collected)
	}
	return true
}

// IdleCheck exposes idleCheck.
var IdleCheck = idleCheck

// IdleTicks exposes idleTicks.
const IdleTicks = idleTicks
