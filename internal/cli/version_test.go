package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

// An unstamped build says so rather than printing an empty date.
func TestVersionUnstampedDate(t *testing.T) {
	_, out, _ := run(t, "", "", "version")
	if !strings.Contains(out, "\nbuilt:   unknown\n") {
		t.Errorf("version: %q", out)
	}
}

// What the link-time variables hold is what version prints.
func TestVersionShowsStampedValues(t *testing.T) {
	v, c, d := version, commit, date
	t.Cleanup(func() { version, commit, date = v, c, d })
	version, commit, date = "v1.2.3", "0123abc", "2026-01-02T03:04:05Z"
	_, out, _ := run(t, "", "", "version")
	for _, want := range []string{"imgproxy v1.2.3\n", "\ncommit:  0123abc\n", "\nbuilt:   2026-01-02T03:04:05Z\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("version lacks %q: %q", want, out)
		}
	}
}

// releaseLDFlags are the flags scripts/release.sh links with; keep the two
// in step.
func releaseLDFlags(v, c, d string) string {
	const pkg = "github.com/imgproxy-team/imgproxy/internal/cli"
	return "-s -w -X " + pkg + ".version=" + v + " -X " + pkg + ".commit=" + c + " -X " + pkg + ".date=" + d
}

// The CGO-free signing build that scripts/release.sh ships for every
// platform is built here the same way (stripped and stamped; without
// -trimpath, which changes only file names in the binary, so that the build
// reuses the compile cache of the suite's other CGO-free builds), and must
// print the stamped values and sign every test vector of the URL contract
// to the same URL.
func TestReleaseBuildStampsAndSignsVectors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	bin := filepath.Join(t.TempDir(), "imgproxy")
	build := exec.Command("go", "build",
		"-ldflags", releaseLDFlags("v9.8.7", "feedface", "2026-01-02T03:04:05Z"), "-o", bin, "../../cmd/imgproxy")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir() // no configs/imgproxy.yaml here
	runBin := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("imgproxy %q: %v", args, err)
		}
		return string(out)
	}

	out := runBin(nil, "version")
	for _, want := range []string{"imgproxy v9.8.7\n", "\ncommit:  feedface\n", "\nbuilt:   2026-01-02T03:04:05Z\n", "\nlibvips: not built in"} {
		if !strings.Contains(out, want) {
			t.Errorf("version lacks %q: %q", want, out)
		}
	}

	b, err := os.ReadFile("../urlsig/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		KeyHex  string `json:"key_hex"`
		Vectors []struct {
			ObjectKey string            `json:"object_key"`
			Params    map[string]string `json:"params"`
			URL       string            `json:"url"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil || len(file.Vectors) == 0 {
		t.Fatalf("vectors.json: %v, %d vectors", err, len(file.Vectors))
	}
	env := []string{"IMGPROXY_SIGNING_KEYS=" + file.KeyHex, "IMGPROXY_SIGNING_BASE_URL="}
	for _, v := range file.Vectors {
		args := []string{"sign", v.ObjectKey}
		for name, val := range v.Params {
			switch name {
			case "exp": // signed from --expires, an absolute time here
				sec, err := strconv.ParseInt(val, 10, 64)
				if err != nil {
					t.Fatalf("vector %s: exp %q", v.URL, val)
				}
				args = append(args, "--expires", time.Unix(sec, 0).UTC().Format(time.RFC3339))
			case "enlarge":
				args = append(args, "--enlarge")
			default:
				args = append(args, "--"+name, val)
			}
		}
		if got := strings.TrimSuffix(runBin(env, args...), "\n"); got != v.URL {
			t.Errorf("imgproxy %q\n got %s\nwant %s", args, got, v.URL)
		}
	}
}
