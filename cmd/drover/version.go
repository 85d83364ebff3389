package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// newVersion returns `drover version`.
func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print drover's version: module version and source revision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), versionString(debug.ReadBuildInfo()))
			return nil
		},
	}
}

// versionString describes the build: "drover v1.2.3 (revision 0123abc,
// 2026-11-21T12:00:00Z, modified) go1.26 linux/amd64". A binary built
// from a checkout has the module version "(devel)"; the revision is known
// when it was built by go build in a VCS checkout.
func versionString(bi *debug.BuildInfo, ok bool) string {
	version := "(unknown)"
	goVersion := runtime.Version()
	var rev, when, modified string
	if ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", modified"
				}
			}
		}
	}
	out := "drover " + version
	if rev != "" {
		out += fmt.Sprintf(" (revision %s", rev[:min(len(rev), 12)])
		if when != "" {
			out += ", " + when
		}
		out += modified + ")"
	}
	return fmt.Sprintf("%s %s %s/%s", out, goVersion, runtime.GOOS, runtime.GOARCH)
}
