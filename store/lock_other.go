//go:build !unix

package store

import (
	"os"
	"time"
)

// lockFile is a no-op where flock is not available: bbolt's own lock on
// the database file is all there is.
func lockFile(string, time.Duration, bool) (*os.File, error) { return nil, nil }
