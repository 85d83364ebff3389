package oci

// SparePid returns the process ID of d's spare container monitor, or 0
// when it has none.
func SparePid(d *Driver) int {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	if d.spare == nil {
		return 0
	}
	return d.spare.cmd.Process.Pid
}
