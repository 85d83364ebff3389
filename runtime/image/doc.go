// Package image keeps the OCI images containers are made from: it pulls
// them from OCI and Docker registries (github.com/google/go-containerregistry),
// imports OCI image layouts and `docker save` archives, stores them
// content-addressed on disk with layers shared between images, and makes
// each container a copy-on-write root filesystem (overlayfs, or a copy
// where overlayfs cannot be used) so the image stays pristine.
//
// Store implements runtime.ImageService. Drivers (runtime/oci,
// runtime/process) embed a *Store and call RootFS, ReleaseRootFS and
// Config for the containers they create:
//
//	images, err := image.New(image.Config{Root: "/var/lib/drover/images"})
//	img, err := images.PullImage(ctx, "127.0.0.1:5000/app:v1", runtime.PullOptions{})
//	rootfs, cleanup, err := images.RootFS(ctx, img.ID, containerID)
//	defer cleanup()
//
// Layers are untrusted input. Unpack refuses entries that would write
// outside the layer (absolute names, "..", a parent that is a symlink,
// hard links to outside) and never creates device nodes; every path is
// walked from a directory descriptor without following symlinks.
//
// The package is Linux only (overlayfs, *at system calls).
package image
