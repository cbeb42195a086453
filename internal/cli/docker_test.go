package cli

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imgproxy-team/imgproxy/internal/admin"
)

// dockerfileEnv returns the variables the Dockerfile's ENV instructions set
// and the ports its EXPOSE instructions name.
func dockerfileEnv(t *testing.T) (env map[string]string, exposed []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ReplaceAll(string(b), "\\\n", " ")
	env = map[string]string{}
	for line := range strings.SplitSeq(joined, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "ENV":
			for _, kv := range fields[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env[k] = v
				}
			}
		case "EXPOSE":
			exposed = append(exposed, fields[1:]...)
		}
	}
	return env, exposed
}

// The image's admin listener can be reached through a mapped port (a
// container's loopback is not the host's) but is not EXPOSEd, so -P does
// not publish it.
func TestDockerfileAdminListener(t *testing.T) {
	env, exposed := dockerfileEnv(t)
	addr := env["IMGPROXY_SERVER_ADMIN_ADDR"]
	_, port, err := net.SplitHostPort(addr)
	if err != nil || !admin.Wildcard(addr) {
		t.Fatalf("IMGPROXY_SERVER_ADMIN_ADDR=%q: want every interface, e.g. :9090", addr)
	}
	for _, p := range exposed {
		if strings.TrimSuffix(p, "/tcp") == port {
			t.Errorf("the admin port %s is EXPOSEd", port)
		}
	}
}

// The README's and the Dockerfile's docker run commands pass configuration
// with --env-file, never a secret with -e on the command line.
func TestDockerRunKeepsSecretsOffTheCommandLine(t *testing.T) {
	var texts []string
	for _, f := range []string{"README.md", "Dockerfile"} {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, strings.ReplaceAll(string(b), "\\\n", " "))
	}
	runs := regexp.MustCompile(`docker run [^\n]*`).FindAllString(strings.Join(texts, "\n"), -1)
	if len(runs) == 0 {
		t.Fatal("no docker run command found")
	}
	env := regexp.MustCompile(`(^|\s)(-e|--env)[ =]\S*(KEY|SECRET|TOKEN)`)
	for _, r := range runs {
		if env.MatchString(r) {
			t.Errorf("a secret on the command line: %s", r)
		}
		if !strings.Contains(r, "--env-file") {
			t.Errorf("no --env-file: %s", r)
		}
		if strings.Contains(r, ":9090") && !strings.Contains(r, "127.0.0.1:9090:9090") {
			t.Errorf("the admin port published beyond the host's loopback: %s", r)
		}
	}
}
