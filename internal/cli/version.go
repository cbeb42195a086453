package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/imgproxy-team/imgproxy/internal/ratelimit"
	"github.com/imgproxy-team/imgproxy/internal/transform"
)

// Set at link time, as scripts/release.sh does:
//
//	go build -ldflags "-X .../internal/cli.version=v1.2.3 -X .../internal/cli.commit=abc -X .../internal/cli.date=2026-01-02T03:04:05Z"
var (
	version = "dev"
	commit  = ""
	date    = "" // when the binary was built, RFC 3339 in UTC
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date, Go and libvips versions, and the date of the compiled-in Cloudflare ranges",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := commit
			if c == "" {
				c = vcsRevision()
			}
			built := date
			if built == "" {
				built = "unknown"
			}
			vips := transform.LibvipsVersion()
			if vips == "" {
				vips = "not built in (CGO_ENABLED=0): serve is unavailable"
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "imgproxy %s\ncommit:  %s\nbuilt:   %s\ngo:      %s\nlibvips: %s\ncloudflare ranges: as published on %s\n",
				version, c, built, runtime.Version(), vips, ratelimit.CloudflareRangesDate)
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
