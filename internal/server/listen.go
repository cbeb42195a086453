package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Timeouts bound every phase of a connection.
type Timeouts struct {
	ReadHeader time.Duration // slow clients that never finish their headers
	Request    time.Duration // the handler's deadline; writing gets a little more
	Idle       time.Duration // keep-alive connections between requests
	Shutdown   time.Duration // in-flight requests get this long to finish
}

// maxHeaderBytes bounds the request line and headers together at 16 KiB;
// Go answers 431 past it. net/http reads up to MaxHeaderBytes plus 4096
// bytes of slack before it refuses, so the setting is 4 KiB below the
// bound: set to 16 KiB, a 19 KiB header was accepted.
const maxHeaderBytes = 16<<10 - 4096

// Serve serves h on ln until ctx is done, then stops accepting and lets
// in-flight requests finish within the shutdown timeout. A listener from
// ConnLimiter.Listener is told which connections are idle.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts, log *slog.Logger) error {
	return serve(ctx, ln, h, t, nil, log)
}

// ServeTLS is Serve over TLS with tlsCfg (from Certificates.Config): HTTP/2
// and HTTP/1.1, the handshake bounded by the header timeout.
func ServeTLS(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts, tlsCfg *tls.Config, log *slog.Logger) error {
	return serve(ctx, ln, h, t, tlsCfg, log)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts, tlsCfg *tls.Config, log *slog.Logger) error {
	srv := &http.Server{
		TLSConfig:         tlsCfg,
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.ReadHeader + t.Request,
		// Writing a large image to a slow client may outlast the handler's
		// deadline a little; past this the connection is cut.
		WriteTimeout:   t.Request + 30*time.Second,
		IdleTimeout:    t.Idle,
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if ll, ok := ln.(*limitedListener); ok {
		srv.ConnState = ll.lim.track
	}
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			// The certificate comes from TLSConfig.GetCertificate.
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), t.Shutdown)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		return errors.New("shutdown timed out: in-flight requests were cut off")
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
