//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockFile holds an exclusive lock on path for the life of the process's
// use of the database, waiting up to timeout for another holder to let
// go. bbolt locks the database file itself, but Compact closes and
// reopens that file, and in between another process could take it and
// write to a file about to be replaced; this lock is never let go until
// Close.
func lockFile(path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, ErrLocked
			}
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
