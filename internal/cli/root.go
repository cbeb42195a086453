// Package cli holds the cobra commands, one file per command. It is the only
// place that wires concrete types together.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imgproxy-team/imgproxy/internal/config"
)

// exitError ends a command with a status code after the command has already
// explained itself on its output.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// New builds the root command with every subcommand.
func New() *cobra.Command {
	root := &cobra.Command{
		Use:           "imgproxy",
		Short:         "A signed-URL image origin: S3 in, resized images out, cached in memory and on disk",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "YAML configuration file (default "+config.DefaultFile+" when present)")
	root.AddCommand(newSignCmd(), newVerifyCmd(), newKeygenCmd(), newVersionCmd(), newServeCmd(), newCacheCmd(), newWarmCmd())
	return root
}

// Main runs the command line and returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := New()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	fmt.Fprintln(stderr, "imgproxy:", err)
	return 1
}

// loadConfig loads the configuration for cmd, with the named flags of cmd
// bound to configuration keys (key -> flag name).
func loadConfig(cmd *cobra.Command, bind map[string]string) (*config.Config, error) {
	file, _ := cmd.Flags().GetString("config")
	flags := make(map[string]*pflag.Flag, len(bind))
	for key, name := range bind {
		fl := cmd.Flags().Lookup(name)
		if fl == nil {
			return nil, fmt.Errorf("internal: no flag --%s for %s", name, key)
		}
		flags[key] = fl
	}
	return config.Load(config.Source{File: file, Flags: flags})
}
