package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/imgproxy-team/imgproxy/scripts/bench/internal/measure"
)

// proc is a server the bench started: imgproxy, a reference, or nginx.
type proc struct {
	*measure.Proc
	name      string
	port      int
	adminPort int // imgproxy's admin listener; 0 for the others
	log       *os.File
}

func (p *proc) base() string { return fmt.Sprintf("http://127.0.0.1:%d", p.port) }

// start runs args (after the pinning prefix, when pinned) with env added to
// a clean environment, logging to the logs folder, and waits until
// /healthz answers 200.
func (b *bench) startProc(name string, pin bool, env []string, port, adminPort int, args ...string) (*proc, error) {
	if pin {
		args = append(append([]string{}, b.srvPin...), args...)
	}
	log, err := os.Create(filepath.Join(b.logs, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = b.work // no configs/imgproxy.yaml
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = log, log
	mp, err := measure.Start(cmd)
	if err != nil {
		return nil, err
	}
	p := &proc{Proc: mp, name: name, port: port, adminPort: adminPort, log: log}
	b.procs = append(b.procs, p)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(p.base() + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p, nil
			}
		}
		select {
		case <-p.Exited():
		default:
			if time.Now().Before(deadline) {
				continue
			}
		}
		b.stopProc(p)
		logged, _ := os.ReadFile(log.Name())
		return nil, fmt.Errorf("%s did not become ready; its log:\n%s", name, logged)
	}
}

// startImgproxy starts bin/imgproxy serve with only PATH, HOME,
// MALLOC_ARENA_MAX=2, the signing key, ports, log level, the given
// settings and BENCH_SERVER_ENV; pinned to CPU 1 when pin is set.
func (b *bench) startImgproxy(name string, pin bool, settings ...string) (*proc, error) {
	port, admin := measure.FreePort(), measure.FreePort()
	env := append([]string{"MALLOC_ARENA_MAX=2", "IMGPROXY_SIGNING_KEYS=" + b.key,
		fmt.Sprintf("IMGPROXY_SERVER_ADDR=127.0.0.1:%d", port), fmt.Sprintf("IMGPROXY_SERVER_ADMIN_ADDR=127.0.0.1:%d", admin),
		"IMGPROXY_SERVER_SHUTDOWN_TIMEOUT=2s", "IMGPROXY_LOG_LEVEL=error"}, settings...)
	env = append(env, b.serverEnv...)
	return b.startProc(name, pin && b.pin, env, port, admin, b.imgproxy, "serve")
}

// originEnv is imgproxy's origin settings: the local directory or the S3
// bucket on versitygw.
func (b *bench) originEnv(origin string) []string {
	if origin == "dir" {
		return []string{"IMGPROXY_ORIGIN_DIR=" + b.origin}
	}
	return []string{"IMGPROXY_ORIGIN_S3_BUCKET=" + s3Bucket, "IMGPROXY_ORIGIN_S3_ENDPOINT=" + os.Getenv("IMGPROXY_TEST_S3_ENDPOINT"),
		"IMGPROXY_ORIGIN_S3_PATH_STYLE=true", "IMGPROXY_ORIGIN_S3_ACCESS_KEY_ID=" + os.Getenv("IMGPROXY_TEST_S3_ACCESS_KEY"),
		"IMGPROXY_ORIGIN_S3_SECRET_ACCESS_KEY=" + os.Getenv("IMGPROXY_TEST_S3_SECRET_KEY")}
}

// startBare starts the bare Go reference answering every request with the
// captured body, headers and status.
func (b *bench) startBare(name, body, headers string, status int) (*proc, error) {
	port := measure.FreePort()
	return b.startProc(name, b.pin, nil, port, 0, filepath.Join(b.helpers, "bareserver"),
		"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-body", body, "-headers", headers, "-status", strconv.Itoa(status))
}

// startNginx starts nginx serving file as /<its name>, from disk with
// sendfile, one process in the foreground, no access log.
func (b *bench) startNginx(name, file, cacheControl string) (*proc, error) {
	dir := filepath.Join(b.work, "nginx-"+name)
	os.RemoveAll(dir)
	for _, d := range []string{"www", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "www", filepath.Base(file)), data, 0o644); err != nil {
		return nil, err
	}
	port := measure.FreePort()
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log error;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000000;
	keepalive_timeout 120s;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	types { image/jpeg jpg; image/webp webp; image/avif avif; image/png png; }
	server {
		listen 127.0.0.1:%[2]d;
		root %[1]s/www;
		add_header Cache-Control "%[3]s";
		add_header X-Content-Type-Options nosniff;
		location = /healthz { return 200; }
	}
}
`, dir, port, cacheControl)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return b.startProc(name, b.pin, nil, port, 0, "nginx", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"))
}

// stopProc stops p (SIGTERM, then SIGKILL after 10 seconds) and forgets
// it.
func (b *bench) stopProc(p *proc) {
	p.stop()
	for i, q := range b.procs {
		if q == p {
			b.procs = append(b.procs[:i], b.procs[i+1:]...)
			break
		}
	}
}

func (p *proc) stop() {
	p.Stop()
	p.log.Close()
}

// metrics reads imgproxy's /metrics from its admin listener.
func (p *proc) metrics() (string, error) {
	return measure.Metrics(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.adminPort))
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

func atof(s string) float64 {
	v, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return v
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// mib reads a size such as 256MiB, 1GiB or 500MB, in MiB.
func mib(s string) (float64, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToUpper(s[i:])
	}
	n, err := strconv.ParseFloat(num, 64)
	f, ok := map[string]float64{"": 1.0 / (1 << 20), "B": 1.0 / (1 << 20), "KIB": 1.0 / 1024, "MIB": 1, "GIB": 1024,
		"KB": 1000.0 / (1 << 20), "MB": 1e6 / (1 << 20), "GB": 1e9 / (1 << 20)}[unit]
	if err != nil || !ok {
		return 0, fmt.Errorf("BENCH_MEMORY_SIZE=%q: not a size", s)
	}
	return n * f, nil
}
