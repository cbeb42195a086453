package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/imgproxy-team/imgproxy/internal/config"
	"github.com/imgproxy-team/imgproxy/internal/origin"
)

// checkOrigin wraps src in the health tracking behind /readyz and runs the
// startup check (origin.check): a wrong secret, a missing bucket or a dead
// endpoint used to start a server that was ready while every image was 502.
// "fail" stops serve with what to fix; "warn" logs it and starts not ready,
// until a fetch or a probe gets an answer.
func checkOrigin(ctx context.Context, cfg *config.Config, src origin.Origin, log *slog.Logger) (*origin.Health, error) {
	h := origin.NewHealth(src, origin.HealthConfig{
		Failures: cfg.Origin.UnreadyFailures, Window: cfg.Origin.UnreadyWindow, Logger: log,
	})
	if cfg.Origin.Check == "off" {
		return h, nil
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.Origin.Timeout)
	defer cancel()
	err := origin.Check(cctx, src)
	switch {
	case err == nil:
		log.Debug("origin check passed")
	case cfg.Origin.Check == "warn":
		log.Error("origin check failed; starting anyway (origin.check: warn), not ready until the origin answers", "err", err)
		h.MarkFailing(err)
	default:
		return nil, fmt.Errorf("%w\n(to start anyway, not ready until the origin answers: origin.check=warn, IMGPROXY_ORIGIN_CHECK=warn)", err)
	}
	return h, nil
}
