//go:build !unix

package cache

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

// flock does nothing where there is no flock: one server per cache
// directory is then the operator's to ensure.
func flock(*os.File) error { return nil }
