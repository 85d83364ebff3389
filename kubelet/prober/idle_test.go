package prober

// waitIdle waits until no probe is queued or running: the probes that
// fell due when a test moved the clock have run and been counted.
// Runners exit only when the queue is empty, so no runner means idle.
func (m *Manager) waitIdle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.runners > 0 {
		m.idle.Wait()
	}
}
