package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/runtime"
	"github.com/drover-io/drover/runtime/image"
)

// newImage returns `drover image` and its verbs import, list and remove,
// which work on the node's image store in DATA-DIR/images
// (cluster.ImagesDir), the one the node agent runs containers from.
func newImage() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Import, list and remove the images of this machine's node",
		Long: `Manage the images the node agent on this machine runs containers from.

A machine without access to a registry gets images by import, from an
archive made elsewhere:

  docker save -o app.tar app:v1       (or an OCI image layout, as a tar)
  drover image import app.tar
  drover image list
  drover image remove app:v1`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", defaultDataDir(), "data directory of the node (images are in DIR/images)")
	open := func() (*image.Store, string, error) {
		dir, err := filepath.Abs(dataDir)
		if err != nil {
			return nil, "", fmt.Errorf("--data-dir %q: %w", dataDir, err)
		}
		root := cluster.ImagesDir(dir)
		st, err := image.New(image.Config{Root: root, Logger: slog.New(slog.DiscardHandler)})
		if errors.Is(err, image.ErrStoreInUse) {
			return nil, "", fmt.Errorf("the image store in %s is in use by a running drover up or drover agent on %s: stop it, run the command, then start it again", root, dir)
		}
		if err != nil {
			return nil, "", fmt.Errorf("open the image store in %s: %w", root, err)
		}
		return st, root, nil
	}

	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import the images of a docker save archive or an OCI layout tar",
		Args:  exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			file := args[0]
			if _, err := os.Stat(file); err != nil {
				return fmt.Errorf("cannot read %s: %w", file, errors.Unwrap(err))
			}
			st, _, err := open()
			if err != nil {
				return err
			}
			defer st.Close()
			imgs, err := st.Import(cmd.Context(), file)
			if err != nil {
				return fmt.Errorf("%s is not a usable image archive (make one with docker save, or tar an OCI image layout): %w", file, err)
			}
			for _, img := range imgs {
				fmt.Fprintf(cmd.OutOrStdout(), "✓ imported %s (%s, %s)\n", imageName(img), shortID(img.ID), humanBytes(img.Size))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "✓ %d image(s) imported from %s (%d ms)\n", len(imgs), file, time.Since(start).Milliseconds())
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := open()
			if err != nil {
				return err
			}
			defer st.Close()
			imgs, err := st.ListImages(cmd.Context())
			if err != nil {
				return err
			}
			return printImages(cmd.OutOrStdout(), imgs)
		},
	}
	remove := &cobra.Command{
		Use:     "remove REF",
		Aliases: []string{"rm"},
		Short:   "Remove an image, named by a tag (app:v1) or its ID, with all its tags",
		Args:    exactArgs("REF"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, root, err := open()
			if err != nil {
				return err
			}
			defer st.Close()
			ref := args[0]
			// RemoveImage takes an unknown image for removed already; a
			// user who names one has mistyped it, so look it up first.
			img, err := st.ImageStatus(cmd.Context(), ref)
			if err == nil {
				err = st.RemoveImage(cmd.Context(), ref)
			}
			switch {
			case errors.Is(err, runtime.ErrImageNotFound):
				return fmt.Errorf("no image %q in %s: see drover image list", ref, root)
			case errors.Is(err, runtime.ErrImageInUse):
				return fmt.Errorf("image %q is in use by containers: delete their pods first", ref)
			case err != nil:
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "✓ removed %s (%s)\n", imageName(img), shortID(img.ID))
			return nil
		},
	}
	cmd.AddCommand(imp, list, remove)
	return cmd
}

// printImages writes imgs as a table: one row per tag (an untagged image
// gets one row, named <none>).
func printImages(w io.Writer, imgs []*runtime.Image) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY:TAG\tIMAGE ID\tSIZE")
	for _, img := range imgs {
		names := img.RepoTags
		if len(names) == 0 {
			names = []string{"<none>"}
		}
		for _, n := range names {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", n, shortID(img.ID), humanBytes(img.Size))
		}
	}
	return tw.Flush()
}

// imageName is an image's first tag, else its short ID.
func imageName(img *runtime.Image) string {
	if len(img.RepoTags) > 0 {
		return strings.Join(img.RepoTags, ", ")
	}
	return shortID(img.ID)
}

// shortID is the first 12 hex digits of an image ID ("sha256:...").
func shortID(id string) string {
	_, hex, ok := strings.Cut(id, ":")
	if !ok {
		hex = id
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}
