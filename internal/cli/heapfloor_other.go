//go:build !linux

package cli

// releasePages is Linux's alone; elsewhere the floor's pages stay as Go
// leaves them.
func releasePages([]byte) {}
