package cli

import (
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/ratelimit"
)

// The date of the compiled-in Cloudflare ranges is shown, so that an
// operator can tell how old the list that "cloudflare" trusts is.
func TestVersionShowsCloudflareDate(t *testing.T) {
	_, out, _ := run(t, "", "", "version")
	if !strings.Contains(out, "cloudflare ranges: as published on "+ratelimit.CloudflareRangesDate) {
		t.Errorf("version: %q", out)
	}
}
