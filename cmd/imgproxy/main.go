// Command imgproxy is a signed-URL image origin. See the README.
package main

import (
	"os"

	"github.com/imgproxy-team/imgproxy/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
