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

// SpareRootFS returns the container ID of d's spare root filesystem made
// from image (an image ID), or "" when it has none.
func SpareRootFS(d *Driver, image string) string {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	if sp := d.fs.spares[image]; sp != nil {
		return sp.id
	}
	return ""
}

// SpareRootFSCount returns how many spare root filesystems d has.
func SpareRootFSCount(d *Driver) int {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	return len(d.fs.spares)
}

// ForgetSpareRootFS makes d forget its spare root filesystems without
// releasing them, as a crash would, and returns their container IDs.
func ForgetSpareRootFS(d *Driver) []string {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	var ids []string
	for img, sp := range d.fs.spares {
		ids = append(ids, sp.id)
		delete(d.fs.spares, img)
	}
	return ids
}

// SpareRootFSIdle reports whether d is making no spare root filesystem.
func SpareRootFSIdle(d *Driver) bool {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	return len(d.fs.making) == 0
}

// SparesReady reports whether d has its spare monitor and a spare root
// filesystem, and is making neither.
func SparesReady(d *Driver) bool {
	d.spareMu.Lock()
	defer d.spareMu.Unlock()
	return d.spare != nil && !d.refilling && len(d.fs.spares) > 0 && len(d.fs.making) == 0
}
