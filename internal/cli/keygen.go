package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

func newKeygenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new random signing key (32 bytes, hex)",
		Long: `Print a new random signing key: 32 bytes from the operating system's
cryptographic random source, as 64 hex characters. Put it in
IMGPROXY_SIGNING_KEYS or a key file; never in a command line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key := make([]byte, urlsig.MinKeyBytes)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(key))
			return err
		},
	}
}
