//go:build !unix

package spool

import "os"

func syncDir(string) error { return nil }

// lockDir only creates the lock file where flock is unavailable.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

func unlockDir(f *os.File) error { return f.Close() }
