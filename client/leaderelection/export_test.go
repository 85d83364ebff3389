package leaderelection

// Idle reports whether e's Run is blocked until one of its clock's timers
// fires: it has done everything the clock's last move caused.
func Idle(e *Elector) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.idle
}
