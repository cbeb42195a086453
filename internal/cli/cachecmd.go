package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgproxy-team/imgproxy/internal/admin"
	"github.com/imgproxy-team/imgproxy/internal/cache"
	"github.com/imgproxy-team/imgproxy/internal/config"
)

func newCacheCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Purge an original from a running server's caches, or show a cache directory's usage",
	}
	cmd.AddCommand(newCachePurgeCmd(), newCacheStatsCmd())
	return cmd
}

func newCachePurgeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "purge KEY",
		Short: "Remove every variant of an original from a running server's memory and disk caches",
		Long: `Remove every cached variant of the original KEY (an object key, as in a URL's
path: photos/cat.jpg) from the memory and disk tiers of a running server,
through its admin listener (server.admin_addr). Run it after replacing an
original under the same key. A CDN in front keeps its own copies: purge
those there.`,
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
			var out struct {
				Key    string `json:"key"`
				Purged int    `json:"purged"`
			}
			if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&out) != nil {
				return fmt.Errorf("purge: the server answered %s", res.Status)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "purged %d cached variant(s) of %s\n", out.Purged, out.Key)
			return nil
		},
	}
	cmd.Flags().String("admin-addr", "", "the server's admin address (server.admin_addr)")
	return cmd
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
entries, bytes against the budget, age, and leftover temp files. With --verify,
every entry is read and its checksum checked (nothing is changed). It reads
the directory directly, so it works whether or not a server is running.`,
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
			fmt.Fprintf(w, "bytes:     %s of %s (%.1f%%)\n", config.FormatSize(u.Bytes), config.FormatSize(cfg.Cache.DiskSize),
				100*float64(u.Bytes)/float64(cfg.Cache.DiskSize))
			if u.Entries > 0 {
				fmt.Fprintf(w, "written:   %s to %s\n", u.Oldest.UTC().Format(time.RFC3339), u.Newest.UTC().Format(time.RFC3339))
			}
			fmt.Fprintf(w, "temp:      %d file(s) (removed when a server starts)\n", u.TempFiles)
			fmt.Fprintf(w, "foreign:   %d file(s) that are not entries\n", u.Foreign)
			if verify {
				fmt.Fprintf(w, "corrupt:   %d (a server removes them when it reads them)\n", u.Corrupt)
			}
			return nil
		},
	}
	cmd.Flags().String("cache-dir", "", "the cache directory (cache.disk.dir)")
	cmd.Flags().Bool("verify", false, "read every entry and check its checksum")
	return cmd
}
