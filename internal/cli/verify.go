package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgproxy-team/imgproxy/internal/config"
	"github.com/imgproxy-team/imgproxy/internal/params"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

func newVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify URL",
		Short: "Explain whether the server would accept a URL, and why not",
		Long: `Explain a URL as the server sees it: whether it is canonical (and if not,
why, and what its canonical form is), whether its signature matches one of the
configured keys (by position; a key is never printed), its expiry, and every
parameter error. Exit status 0 when the server would accept it, 1 otherwise.

  imgproxy verify 'https://img.example.com/photos/cat.jpg?w=400&s=...'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, map[string]string{
				"signing.key_file":   "key-file",
				"server.path_prefix": "path-prefix",
			})
			if err != nil {
				return err
			}
			// The server cuts its prefix; a URL minted with a base URL that
			// has a path carries that path.
			prefix := cfg.Server.PathPrefix
			if prefix == "" {
				prefix = config.BasePath(cfg.Signing.BaseURL)
			}
			var ring *urlsig.KeyRing
			if len(cfg.Signing.Keys) > 0 {
				if ring, err = urlsig.NewKeyRing(cfg.Signing.Keys); err != nil {
					return err
				}
			}
			lim := params.Limits{MaxOutputDim: cfg.Transform.MaxOutputDim}
			if !explain(cmd.OutOrStdout(), args[0], prefix, ring, lim, time.Now()) {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().String("key-file", "", "file holding the signing keys (overrides signing.keys)")
	cmd.Flags().String("path-prefix", "", "path prefix the server cuts before verifying (server.path_prefix; default: the path of signing.base_url)")
	return cmd
}

// requestTarget strips scheme and host from a full URL, leaving what a
// client sends on the request line.
func requestTarget(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return "/"
	}
	return raw
}

// explain writes a report on uri and returns whether the server would
// accept it. prefix is the server's path prefix, cut before the rest is
// read.
func explain(w io.Writer, raw, prefix string, ring *urlsig.KeyRing, lim params.Limits, now time.Time) bool {
	ok := true
	line := func(label, format string, args ...any) {
		if label != "" {
			label += ":"
		}
		fmt.Fprintf(w, "%-11s %s\n", label, fmt.Sprintf(format, args...))
	}
	uri := requestTarget(raw)
	line("request", "%s", uri)
	if prefix != "" {
		rest, ok := strings.CutPrefix(uri, prefix)
		if !ok || !strings.HasPrefix(rest, "/") {
			line("prefix", "not under the path prefix %s (the server answers 404)", prefix)
			line("result", "refused")
			return false
		}
		line("prefix", "%s, cut before verifying", prefix)
		uri = rest
	}

	u, perr := urlsig.Parse(uri)
	canonical := perr == nil || errors.Is(perr, urlsig.ErrNoSignature)
	var key, sig, toSign string
	var ps []urlsig.Param
	if canonical {
		line("canonical", "yes")
		key, ps, sig, toSign = u.Key, u.Params, u.Sig, u.ToSign
	} else {
		ok = false
		line("canonical", "no: %s (the server answers 400)", strings.TrimPrefix(perr.Error(), urlsig.ErrNotCanonical.Error()+": "))
		var err error
		key, ps, sig, err = urlsig.ParseLenient(uri)
		if err != nil {
			line("", "cannot be read at all: %v", err)
			return false
		}
		var known []urlsig.Param
		for _, p := range ps {
			if urlsig.Known(p.Name) && p.Value != "" {
				known = append(known, p)
			} else if !urlsig.Known(p.Name) {
				line("", "parameter %q is not part of the contract; dropped below", p.Name)
			}
		}
		ps = known
		if toSign, err = urlsig.ToSign(key, ps); err != nil {
			line("", "no canonical form: %s", strings.TrimPrefix(err.Error(), urlsig.ErrNotCanonical.Error()+": "))
			return false
		}
		sep := "&s="
		if len(ps) == 0 {
			sep = "?s="
		}
		line("", "canonical form: %s%s%s", toSign, sep, orPlaceholder(sig))
	}
	line("object key", "%q", key)
	if len(ps) == 0 {
		line("parameters", "none (the original image, unmodified)")
	}
	for i, p := range ps {
		label := ""
		if i == 0 {
			label = "parameters"
		}
		line(label, "%s=%s", p.Name, p.Value)
	}

	switch {
	case sig == "":
		ok = false
		line("signature", "missing (the server answers 403)")
	case ring == nil:
		ok = false
		line("signature", "cannot be checked: no signing key configured (IMGPROXY_SIGNING_KEYS, signing.keys or --key-file)")
	default:
		if i := ring.Match(toSign, sig); i >= 0 {
			line("signature", "matches key %d of %d configured", i+1, ring.Len())
		} else {
			ok = false
			line("signature", "matches none of the %d configured key(s) (the server answers 403)", ring.Len())
			if !canonical {
				if i := ring.Match(withoutSig(uri), sig); i >= 0 {
					line("", "it was made by key %d over the URL as sent: the signer does not canonicalize", i+1)
				}
			}
			if p, ok := unconfiguredPrefix(uri, ring, sig); ok {
				line("", "it matches the URL without its leading %s: a base URL with a path made it; set server.path_prefix: %s on the server, and --path-prefix %s here", p, p, p)
			}
		}
	}

	if v, has := findParam(ps, "exp"); has {
		if n, err := urlsig.ParseExp(v); err != nil {
			ok = false
			line("expiry", "exp=%q is not unix seconds without leading zeros", v)
		} else if t := time.Unix(n, 0); !now.Before(t) {
			ok = false
			line("expiry", "expired %s ago, at %s (the server answers 410)", humanDuration(now.Sub(t)), t.UTC().Format(time.RFC3339))
		} else {
			line("expiry", "valid for %s more, until %s", humanDuration(t.Sub(now)), t.UTC().Format(time.RFC3339))
		}
	} else {
		line("expiry", "none")
	}

	if _, err := params.Parse(ps, lim); err != nil {
		ok = false
		for i, e := range strings.Split(err.Error(), "\n") {
			label := ""
			if i == 0 {
				label = "errors"
			}
			line(label, "%s (the server answers 400)", strings.TrimPrefix(e, params.ErrInvalid.Error()+" "))
		}
	}
	if ok {
		line("result", "accepted: the server serves this URL")
	} else {
		line("result", "refused")
	}
	return ok
}

func findParam(ps []urlsig.Param, name string) (string, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

func orPlaceholder(sig string) string {
	if sig == "" {
		return "<signature>"
	}
	return sig
}

// humanDuration rounds d to what a person wants to read: days past two days.
func humanDuration(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.Round(time.Second).String()
}

// withoutSig removes the s parameter from a URL as sent, wherever it is:
// what a signer that does not canonicalize would have signed.
func withoutSig(uri string) string {
	path, query, _ := strings.Cut(uri, "?")
	var kept []string
	for part := range strings.SplitSeq(query, "&") {
		if !strings.HasPrefix(part, "s=") {
			kept = append(kept, part)
		}
	}
	if q := strings.Join(kept, "&"); q != "" {
		return path + "?" + q
	}
	return path
}

// unconfiguredPrefix finds leading path segments whose removal makes the
// signature match: the URL was minted with a base URL that has a path, for
// a server not told to cut it.
func unconfiguredPrefix(uri string, ring *urlsig.KeyRing, sig string) (string, bool) {
	path, _, _ := strings.Cut(uri, "?")
	for i := 1; i < len(path); i++ {
		if path[i] != '/' {
			continue
		}
		if u, err := urlsig.Parse(uri[i:]); err == nil && ring.Match(u.ToSign, sig) >= 0 {
			return path[:i], true
		}
	}
	return "", false
}
