package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/config"
	"github.com/imgproxy-team/imgproxy/internal/origin"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/server"
	"github.com/imgproxy-team/imgproxy/internal/sign"
	"github.com/imgproxy-team/imgproxy/internal/transform"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the image server",
		Long: `Run the image server: verified requests are answered from memory, or the
original is fetched from the origin, transformed with libvips and cached.

Without a signing key it refuses to start, except with --dev: then it makes a
throwaway key, serves sample images when no origin is configured, and prints
example URLs that work until it stops.`,
		Args: cobra.NoArgs,
		RunE: runServe,
	}
	f := cmd.Flags()
	f.Bool("dev", false, "development mode: throwaway key and sample images when none are configured")
	f.String("addr", "", "public listen address (server.addr)")
	f.String("origin-dir", "", "serve originals from this directory (origin.dir)")
	f.String("key-file", "", "file holding the signing keys (signing.key_file)")
	f.String("log-level", "", "debug, info, warn or error (log.level)")
	return cmd
}

func runServe(cmd *cobra.Command, _ []string) error {
	cfg, err := loadConfig(cmd, map[string]string{
		"server.addr":      "addr",
		"origin.dir":       "origin-dir",
		"signing.key_file": "key-file",
		"log.level":        "log-level",
	})
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, cmd.ErrOrStderr())
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

	tr, err := transform.New(transform.Config{
		Workers:      cfg.Transform.Workers,
		Queue:        cfg.Transform.Queue,
		QueueTimeout: cfg.Transform.QueueTimeout,
		Limits: transform.Limits{
			MaxSourcePixels: cfg.Transform.MaxSourcePixels,
			MaxOutputDim:    cfg.Transform.MaxOutputDim,
		},
		Encoding: transform.Encoding{
			QualityJPEG: cfg.Transform.QualityJPEG,
			QualityWebP: cfg.Transform.QualityWebP,
			QualityAVIF: cfg.Transform.QualityAVIF,
			EffortWebP:  cfg.Transform.EffortWebP,
			EffortAVIF:  cfg.Transform.EffortAVIF,
		},
	})
	if err != nil {
		return err
	}
	c := cache.New(cache.Config{
		MemorySize:       cfg.Cache.MemorySize,
		MaxEntryFraction: cfg.Cache.MaxEntryFraction,
		FillTimeout:      cfg.Server.RequestTimeout,
	})
	h := server.New(server.Config{
		Ring:         ring,
		Limits:       params.Limits{MaxOutputDim: cfg.Transform.MaxOutputDim},
		CacheControl: cfg.HTTP.CacheControl,
		Timeout:      cfg.Server.RequestTimeout,
		Logger:       log,
	}, origin.NewShared(src, cfg.Cache.OriginalsSize, cfg.Cache.OriginalsTTL), tr, c)

	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return err
	}
	base := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(out, "listening on %s\n", base)
	if dev {
		printExamples(out, &sign.Signer{Ring: ring, BaseURL: base, Limits: params.Limits{MaxOutputDim: cfg.Transform.MaxOutputDim}}, ws)
	}
	log.Info("serving", "addr", ln.Addr().String(), "workers", cfg.Transform.Workers,
		"memory_cache", config.FormatSize(cfg.Cache.MemorySize))
	err = server.Serve(ctx, ln, h, server.Timeouts{
		ReadHeader: cfg.Server.ReadHeaderTimeout,
		Request:    cfg.Server.RequestTimeout,
		Idle:       cfg.Server.IdleTimeout,
		Shutdown:   cfg.Server.ShutdownTimeout,
	}, log)
	log.Info("stopped")
	return err
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
