package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/imgproxy-team/imgproxy/internal/warm"
)

func newWarmCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "warm SOURCE...",
		Short: "Request every image URL of a built site once, so that no visitor waits for a transform",
		Long: `Request every signed image URL a built site links to, once, after a deploy.

A SOURCE is a folder (every .html file under it: img src and srcset, and
source srcset), a file of URLs (one per line), the JSON lines of
"sign --batch", or - for standard input. Only URLs that start with the base
URL (signing.base_url, or --base-url) and carry a signature are requested;
others are counted and never fetched.

  imgproxy warm _site/
  imgproxy warm _site/ --via http://127.0.0.1:8080      # the origin directly, not through the CDN
  imgproxy sign --batch < images.jsonl | imgproxy warm -
  imgproxy warm urls.txt --concurrency 16

The exit status is 1 when any URL failed (its status is listed) or an input
could not be read. Ctrl-C stops at once and prints what was done.`,
		Args: cobra.MinimumNArgs(1),
		RunE: runWarm,
	}
	f := cmd.Flags()
	f.String("base-url", "", "the base URL of the signed URLs, e.g. https://img.example.com (default signing.base_url)")
	f.String("via", "", "request through this scheme and host instead of the base URL's, e.g. http://127.0.0.1:8080")
	f.Int("concurrency", 8, "requests in flight")
	f.String("accept", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "Accept header sent, so that auto=format URLs warm what browsers get")
	f.Duration("timeout", time.Minute, "time limit of one request")
	return cmd
}

func runWarm(cmd *cobra.Command, args []string) error {
	cfg, err := loadConfig(cmd, map[string]string{"signing.base_url": "base-url"})
	if err != nil {
		return err
	}
	base := cfg.Signing.BaseURL
	if base == "" {
		return errors.New("no base URL: set signing.base_url (IMGPROXY_SIGNING_BASE_URL) or --base-url, so that warm knows which URLs are this server's")
	}
	f := cmd.Flags()
	concurrency, _ := f.GetInt("concurrency")
	if concurrency < 1 {
		return errors.New("--concurrency must be at least 1")
	}
	via, _ := f.GetString("via")
	if via != "" && !strings.HasPrefix(via, "http://") && !strings.HasPrefix(via, "https://") {
		return fmt.Errorf("--via %q: want a URL like http://127.0.0.1:8080", via)
	}
	accept, _ := f.GetString("accept")
	timeout, _ := f.GetDuration("timeout")
	errOut := cmd.ErrOrStderr()

	got := warm.Collector{Base: base, Stdin: cmd.InOrStdin()}.Collect(args)
	for _, p := range got.Problems {
		fmt.Fprintln(errOut, "warm:", p)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()

	p := newProgress(errOut, len(got.URLs))
	opts := warm.Options{Concurrency: concurrency, Via: via, Base: base, Accept: accept}
	opts.Client = newWarmClient(timeout, concurrency)
	sum := warm.Run(ctx, got.URLs, opts, p.add)
	p.finish()

	printSummary(cmd.OutOrStdout(), got, sum)
	if len(sum.Failures) > 0 || len(got.Problems) > 0 || sum.Interrupted > 0 {
		return exitError{1}
	}
	return nil
}

// progress shows the run: a bar with rate and ETA on a terminal, a plain
// line every few seconds otherwise (a CI log, a pipe).
type progress struct {
	bar   *progressbar.ProgressBar
	w     io.Writer
	total int
	done  int
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now(), last: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && total > 0 {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("warming"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("url"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// plainEvery is how often a plain progress line is written.
const plainEvery = 5 * time.Second

func (p *progress) add(warm.Result) {
	p.done++
	if p.bar != nil {
		p.bar.Add(1)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= plainEvery {
		p.last = now
		elapsed := now.Sub(p.start).Seconds()
		rate := float64(p.done) / elapsed
		eta := time.Duration(float64(p.total-p.done)/rate) * time.Second
		fmt.Fprintf(p.w, "warm: %d/%d (%d%%), %.0f/s, about %s left\n",
			p.done, p.total, 100*p.done/max(1, p.total), rate, eta.Round(time.Second))
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

func printSummary(w io.Writer, got *warm.Collected, s warm.Summary) {
	rate := float64(s.Done) / max(s.Elapsed.Seconds(), 1e-3)
	fmt.Fprintf(w, "warmed %d of %d URLs in %s (%.0f/s)\n", s.Done, len(got.URLs), s.Elapsed.Round(time.Millisecond), rate)
	if s.Interrupted > 0 {
		fmt.Fprintf(w, "stopped: %d URLs not requested\n", s.Interrupted)
	}
	fmt.Fprintf(w, "status: %s\n", counts(s.ByStatus, func(k int) string {
		if k == 0 {
			return "no answer"
		}
		return fmt.Sprint(k)
	}))
	if len(s.ByTier) > 0 {
		fmt.Fprintf(w, "cache:  %s\n", counts(s.ByTier, func(k string) string { return k }))
	}
	if got.Foreign+got.Unsigned > 0 {
		fmt.Fprintf(w, "skipped: %d on other hosts, %d without a signature (never fetched)\n", got.Foreign, got.Unsigned)
	}
	if len(s.Failures) > 0 {
		fmt.Fprintf(w, "failed (first %d):\n", len(s.Failures))
		forbidden := false
		for _, f := range s.Failures {
			switch {
			case f.Err != nil:
				fmt.Fprintf(w, "  %s: %v\n", f.URL, f.Err)
			default:
				fmt.Fprintf(w, "  %d %s\n", f.Status, f.URL)
			}
			forbidden = forbidden || f.Status == 403
		}
		if forbidden {
			fmt.Fprintln(w, "403: the server refuses these signatures: the key that signed them is not one of the server's signing.keys")
		}
	}
}

// counts formats a tally as "200 ×12, 404 ×1", keys in order.
func counts[K int | string](m map[K]int, name func(K) string) string {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", name(k), m[k])
	}
	return strings.Join(parts, ", ")
}

// newWarmClient keeps a connection per worker alive between requests:
// warming thousands of URLs should not cost a handshake each.
func newWarmClient(timeout time.Duration, conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conns
	return &http.Client{Timeout: timeout, Transport: t}
}
