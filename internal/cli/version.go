package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/imgproxy-team/imgproxy/internal/ratelimit"
	"github.com/imgproxy-team/imgproxy/internal/transform"
)

// Set at link time: go build -ldflags "-X .../internal/cli.version=v1.2.3 -X .../internal/cli.commit=abc".
var (
	version = "dev"
	commit  = ""
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go and libvips versions, and the date of the compiled-in Cloudflare ranges",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := commit
			if c == "" {
				c = vcsRevision()
			}
			vips := transform.LibvipsVersion()
			if vips == "" {
				vips = "not built in (CGO_ENABLED=0): serve is unavailable"
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "imgproxy %s\ncommit:  %s\ngo:      %s\nlibvips: %s\ncloudflare ranges: as published on %s\n",
				version, c, runtime.Version(), vips, ratelimit.CloudflareRangesDate)
			return err
		},
	}
}

func vcsRevision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
