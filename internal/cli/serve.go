package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/imgproxy-team/imgproxy/internal/admin"
	"github.com/imgproxy-team/imgproxy/internal/config"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/server"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the image server",
		Long: `Run the image server: verified requests are answered from memory, then from
the disk cache, or the original is fetched from the origin, transformed with
libvips and cached in both. An admin listener (server.admin_addr, loopback by
default; empty turns it off) serves /metrics, POST /purge?key= and
/debug/pprof/.

Without a signing key it refuses to start, except with --dev: then it makes a
throwaway key, serves sample images when no origin is configured, and prints
example URLs that work until it stops.`,
		Args: cobra.NoArgs,
		RunE: runServe,
	}
	f := cmd.Flags()
	f.Bool("dev", false, "development mode: throwaway key and sample images when none are configured")
	f.String("addr", "", "public listen address (server.addr)")
	f.String("admin-addr", "", "admin listen address (server.admin_addr)")
	f.String("origin-dir", "", "serve originals from this directory (origin.dir)")
	f.String("cache-dir", "", "disk cache directory (cache.disk.dir)")
	f.String("key-file", "", "file holding the signing keys (signing.key_file)")
	f.String("log-level", "", "debug, info, warn or error (log.level)")
	return cmd
}

func runServe(cmd *cobra.Command, _ []string) error {
	cfg, err := loadConfig(cmd, map[string]string{
		"server.addr":       "addr",
		"server.admin_addr": "admin-addr",
		"origin.dir":        "origin-dir",
		"cache.disk.dir":    "cache-dir",
		"signing.key_file":  "key-file",
		"log.level":         "log-level",
	})
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, cmd.ErrOrStderr())
	setHeapFloor(cfg.Server.HeapFloor)
	dev, _ := cmd.Flags().GetBool("dev")
	out := cmd.OutOrStdout()

	if len(cfg.Signing.Keys) == 0 && !dev {
		return errors.New("no signing key: set IMGPROXY_SIGNING_KEYS (imgproxy keygen makes one), signing.keys or --key-file; or try it out with --dev")
	}
	if cfg.Origin.Dir == "" && cfg.Origin.S3.Bucket == "" && !dev {
		return errors.New("no origin: set origin.s3.bucket (IMGPROXY_ORIGIN_S3_BUCKET) or origin.dir (IMGPROXY_ORIGIN_DIR)")
	}
	var ws *devWorkspace
	if dev && (len(cfg.Signing.Keys) == 0 || cfg.Origin.Dir == "" && cfg.Origin.S3.Bucket == "") {
		if ws, err = newDevWorkspace(cfg, out); err != nil {
			return err
		}
		defer ws.remove()
	}
	ring, err := urlsig.NewKeyRing(cfg.Signing.Keys)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	src, closeOrigin, err := openOrigin(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeOrigin()
	health, err := checkOrigin(ctx, cfg, src, log)
	if err != nil {
		return err
	}
	// Request lines are written in batches: one write call per request
	// was most of what a logged memory hit cost.
	accessOut := server.NewLogWriter(cmd.ErrOrStderr(), accessLogFlush)
	defer accessOut.Close()
	a, err := newApp(cfg, ring, health, log, newLogger(cfg.Log, accessOut))
	if err != nil {
		return err
	}
	defer a.close()

	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return err
	}
	adminLn, err := listenAdmin(cfg.Server.AdminAddr, log)
	if err != nil {
		ln.Close()
		return err
	}
	var tlsCfg *tls.Config
	if cfg.Server.TLSCert != "" {
		if tlsCfg, err = loadTLS(ctx, cfg, log); err != nil {
			ln.Close()
			if adminLn != nil {
				adminLn.Close()
			}
			return err
		}
	}
	scheme := "http://"
	if tlsCfg != nil {
		scheme = "https://"
	}
	base := scheme + displayAddr(ln.Addr())
	adminNote := "admin off"
	if adminLn != nil {
		// The bound address as it is: a wildcard shows as one, never as
		// localhost.
		adminNote = "admin on " + adminLn.Addr().String()
	}
	fmt.Fprintf(out, "listening on %s (%s)\n", base, adminNote)
	if dev {
		printExamples(ctx, out, &sign.Signer{Ring: ring, BaseURL: base, Limits: params.Limits{MaxOutputDim: cfg.Transform.MaxOutputDim}}, ws, src)
	}
	log.Info("serving", "addr", ln.Addr().String(), "admin", strings.TrimPrefix(adminNote, "admin "),
		"max_connections", cfg.Server.MaxConnections,
		"workers", cfg.Transform.Workers, "memory_cache", config.FormatSize(cfg.Cache.MemorySize),
		"disk_cache", cfg.Cache.DiskDir)

	t := server.Timeouts{
		ReadHeader: cfg.Server.ReadHeaderTimeout,
		Request:    cfg.Server.RequestTimeout,
		Idle:       cfg.Server.IdleTimeout,
		Shutdown:   cfg.Server.ShutdownTimeout,
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if tlsCfg != nil {
			return server.ServeTLS(gctx, a.conns.Listener(ln), a.public, t, tlsCfg, log)
		}
		return server.Serve(gctx, a.conns.Listener(ln), a.public, t, log)
	})
	if adminLn != nil {
		adminLn = server.NewConnLimiter(adminMaxConnections).Listener(adminLn)
		g.Go(func() error { return server.Serve(gctx, adminLn, a.admin, t, log) })
	}
	err = g.Wait()
	log.Info("stopped")
	return err
}

// loadTLS loads the public listener's certificate (a missing file, or a
// key that does not match, stops startup naming the setting) and re-reads
// it on SIGHUP until ctx is done; a change of the files is picked up by
// itself too.
func loadTLS(ctx context.Context, cfg *config.Config, log *slog.Logger) (*tls.Config, error) {
	certs, err := server.LoadCertificates(server.TLSFiles{
		Cert: cfg.Server.TLSCert, Key: cfg.Server.TLSKey, ClientCA: cfg.Server.TLSClientCA,
	}, log)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := certs.Config()
	if err != nil {
		return nil, err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				certs.Reload()
			case <-ctx.Done():
				return
			}
		}
	}()
	return tlsCfg, nil
}

// accessLogFlush is the longest a request's log line waits to be written.
const accessLogFlush = 200 * time.Millisecond

// adminMaxConnections bounds the admin listener's connections: a scraper,
// a profile being taken and a purge need a handful.
const adminMaxConnections = 64

// listenAdmin opens the admin listener, or returns nil when addr is empty:
// empty means off from every source, never "any interface, any port".
func listenAdmin(addr string, log *slog.Logger) (net.Listener, error) {
	if addr == "" {
		log.Info("admin listener off: server.admin_addr is empty (no /metrics, purge or pprof)")
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	if admin.Wildcard(addr) {
		log.Warn("admin listener on every interface: it has no authentication; keep the port off untrusted networks",
			"admin_addr", addr)
	}
	return ln, nil
}

// openOrigin builds the configured origin.
func openOrigin(ctx context.Context, cfg *config.Config) (origin.Origin, func(), error) {
	if s3 := cfg.Origin.S3; s3.Bucket != "" {
		o, err := origin.NewS3(ctx, origin.S3Config{
			Bucket: s3.Bucket, Prefix: s3.Prefix, Region: s3.Region, Endpoint: s3.Endpoint,
			PathStyle: s3.PathStyle, AccessKeyID: s3.AccessKeyID, SecretAccessKey: s3.SecretAccessKey,
			MaxBytes: cfg.Origin.MaxBytes, Timeout: cfg.Origin.Timeout,
		})
		return o, func() {}, err
	}
	d, err := origin.NewDir(cfg.Origin.Dir, cfg.Origin.MaxBytes)
	if err != nil {
		return nil, nil, err
	}
	return d, func() { d.Close() }, nil
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return fmt.Sprintf("localhost:%d", tcp.Port)
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
