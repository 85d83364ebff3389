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

// SpareRootFS returns the container ID of d's spare root filesystem, or
// "" when it has none.
func SpareRootFS(d *Driver) string {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	if d.spareFS == nil {
		return ""
	}
	return d.spareFS.id
}

// ForgetSpareRootFS makes d forget its spare root filesystem without
// releasing it, as a crash would, and returns its container ID.
func ForgetSpareRootFS(d *Driver) string {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	sp := d.spareFS
	d.spareFS = nil
	if sp == nil {
		return ""
	}
	return sp.id
}

// SparesReady reports whether d has its spare monitor and a spare root
// filesystem, and is making neither.
func SparesReady(d *Driver) bool {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	return d.spare != nil && !d.refilling && d.spareFS != nil && d.fsRefill == nil
}
