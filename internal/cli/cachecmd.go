package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgproxy-team/imgproxy/internal/admin"
	"github.com/imgproxy-team/imgproxy/internal/cache"
)

func newCacheCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Purge an original from a running server's caches, or show and trim the caches' usage",
	}
	cmd.AddCommand(newCachePurgeCmd(), newCacheStatsCmd(), newCacheSharedCmd())
	return cmd
}

func newCachePurgeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "purge KEY",
		Short: "Remove every variant of an original from a running server's memory and disk caches",
		Long: `Remove every cached variant of the original KEY from the memory and disk
tiers of a running server, through its admin listener (server.admin_addr).
Run it after replacing an original under the same key. KEY is the object key
(photos/cat.jpg) or what you would paste: the key with a leading slash or
percent-escaped as in a URL (/photos/my%20cat.jpg), or a whole image URL,
signed or not. The server says which key it purged and how many variants,
or why it refused. A CDN in front keeps its own copies: purge those there.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, map[string]string{"server.admin_addr": "admin-addr"})
			if err != nil {
				return err
			}
			if cfg.Server.AdminAddr == "" {
				return errors.New("purge: server.admin_addr is empty, so there is no admin listener to purge through; name the server's with --admin-addr or IMGPROXY_SERVER_ADMIN_ADDR")
			}
			target := "http://" + dialAddr(cfg.Server.AdminAddr) + "/purge?key=" + url.QueryEscape(args[0])
			client := &http.Client{Timeout: 30 * time.Second}
			res, err := client.Post(target, "", nil)
			if err != nil {
				return fmt.Errorf("purge: is the server running with its admin listener on %s? %w", cfg.Server.AdminAddr, err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
			if res.StatusCode != http.StatusOK {
				msg := strings.TrimSpace(string(body))
				if msg == "" {
					msg = res.Status
				}
				return fmt.Errorf("purge: the server refused %q: %s", args[0], msg)
			}
			var out admin.PurgeResult
			if err := json.Unmarshal(body, &out); err != nil || out.Key == "" {
				return fmt.Errorf("purge: the server answered %s with %q, not a purge result (an older server?)", res.Status, body)
			}
			w := cmd.OutOrStdout()
			if out.Variants == 0 {
				fmt.Fprintf(w, "nothing cached for %s: no variant of it was in memory or on disk\n", out.Key)
				return nil
			}
			fmt.Fprintf(w, "purged %d %s of %s\n", out.Variants, plural(out.Variants, "variant", "variants"), out.Key)
			return nil
		},
	}
	cmd.Flags().String("admin-addr", "", "the server's admin address (server.admin_addr)")
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// dialAddr turns a listen address into one to connect to: ":9090" is
// localhost:9090.
func dialAddr(listen string) string {
	_, port, err := net.SplitHostPort(listen)
	if err != nil || !admin.Wildcard(listen) {
		return listen
	}
	return net.JoinHostPort("localhost", port)
}

func newCacheStatsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Print the usage of a disk cache directory",
		Long: `Print the usage of a disk cache directory (cache.disk.dir, or --cache-dir):
entries, size against the budget, age, and leftover temp files. With --verify,
every entry is read and its checksum checked (nothing is changed), and the
exit status is 1 when any is corrupt. It reads the directory directly,
without the lock a server holds on it, so it works whether or not a server
is running. A directory that is not a cache directory is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, map[string]string{"cache.disk.dir": "cache-dir"})
			if err != nil {
				return err
			}
			if cfg.Cache.DiskDir == "" {
				return errors.New("no cache directory: set cache.disk.dir (IMGPROXY_CACHE_DISK_DIR) or --cache-dir")
			}
			verify, _ := cmd.Flags().GetBool("verify")
			u, err := cache.Scan(cfg.Cache.DiskDir, verify)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "directory: %s\n", cfg.Cache.DiskDir)
			fmt.Fprintf(w, "entries:   %d in %d originals\n", u.Entries, u.Originals)
			fmt.Fprintf(w, "size:      %s of %s (%.1f%%)\n", humanBytes(u.Bytes), humanBytes(cfg.Cache.DiskSize),
				100*float64(u.Bytes)/float64(cfg.Cache.DiskSize))
			if u.Entries > 0 {
				fmt.Fprintf(w, "written:   %s to %s\n", u.Oldest.UTC().Format(time.RFC3339), u.Newest.UTC().Format(time.RFC3339))
			}
			fmt.Fprintf(w, "temp:      %d file(s) (removed when a server starts)\n", u.TempFiles)
			fmt.Fprintf(w, "foreign:   %d file(s) that are not entries\n", u.Foreign)
			if verify {
				fmt.Fprintf(w, "corrupt:   %d (a server removes them when it reads them)\n", u.Corrupt)
				if u.Corrupt > 0 {
					return fmt.Errorf("%d corrupt %s in %s", u.Corrupt, plural(u.Corrupt, "entry", "entries"), cfg.Cache.DiskDir)
				}
			}
			return nil
		},
	}
	cmd.Flags().String("cache-dir", "", "the cache directory (cache.disk.dir)")
	cmd.Flags().Bool("verify", false, "read every entry and check its checksum; exit 1 if any is corrupt")
	return cmd
}

// humanBytes writes n in the largest binary unit it reaches, to three
// significant digits: 512 B, 1.46 KiB, 37.3 MiB, 10 GiB.
func humanBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1024, 0
	for ; v >= 1024 && i < len(units)-1; i++ {
		v /= 1024
	}
	s := strconv.FormatFloat(v, 'f', max(0, 2-int(math.Log10(v))), 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + " " + string(units[i]) + "iB"
}
