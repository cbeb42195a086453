package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgproxy-team/imgproxy/internal/cache"
)

func newCacheSharedCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "shared",
		Short: "Print the shared tier's object count and bytes, and remove entries not read for a while",
		Long: `Print the usage of the shared tier's bucket (cache.shared.*): its entries
and their bytes, purge notices, and objects that are not the tier's. With
--older-than AGE (720h, or 30d), also remove the entries not read or written
for that long: a server writes an entry read through the shared tier again
when it is older than cache.shared.touch_after (24h), so the age of an entry
is the time since it was last read, give or take that. The walk goes a page
of 1,000 objects at a time and removes as it goes; it is safe while servers
run (an entry removed under them is made again when asked for). --dry-run
counts what would go and removes nothing. Objects that are not entries are
never removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			if cfg.Cache.Shared.S3.Bucket == "" {
				return errors.New("no shared tier: set cache.shared.bucket (IMGPROXY_CACHE_SHARED_BUCKET)")
			}
			age, _ := cmd.Flags().GetString("older-than")
			olderThan, err := parseAge(age)
			if err != nil {
				return err
			}
			dryRun, _ := cmd.Flags().GetBool("dry-run")
			if dryRun && olderThan == 0 {
				return errors.New("--dry-run needs --older-than")
			}
			store, err := sharedStore(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			u, err := cache.ScanShared(ctx, store, olderThan, dryRun)
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "bucket:  %s, prefix %q\n", cfg.Cache.Shared.S3.Bucket, cfg.Cache.Shared.S3.Prefix)
			fmt.Fprintf(w, "entries: %d (%s)\n", u.Entries, humanBytes(u.EntryBytes))
			if u.Entries > 0 {
				fmt.Fprintf(w, "read:    %s to %s (last written or read, give or take cache.shared.touch_after)\n",
					u.Oldest.UTC().Format(time.RFC3339), u.Newest.UTC().Format(time.RFC3339))
			}
			fmt.Fprintf(w, "notices: %d purge notices\n", u.Notices)
			fmt.Fprintf(w, "other:   %d object(s) (%s) that are not entries, left alone\n", u.Other, humanBytes(u.OtherBytes))
			if olderThan > 0 {
				verb := "removed"
				if dryRun {
					verb = "would remove"
				}
				fmt.Fprintf(w, "%s %d entries (%s) not read for %s\n", verb, u.Removed, humanBytes(u.RemovedBytes), age)
			}
			if err != nil {
				return fmt.Errorf("shared tier %q: stopped part-way (the counts above are so far): %w", cfg.Cache.Shared.S3.Bucket, err)
			}
			return nil
		},
	}
	cmd.Flags().String("older-than", "", "remove entries not read or written for this long (720h, 30d)")
	cmd.Flags().Bool("dry-run", false, "with --older-than: count what would be removed, remove nothing")
	return cmd
}

// parseAge reads a Go duration or a number of days ("30d"); "" is zero.
func parseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--older-than %q: want a positive duration such as 720h or 30d", s)
	}
	return d, nil
}
