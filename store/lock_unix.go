//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockFile holds a lock on path for the life of the process's use of the
// database. bbolt locks the database file itself, but Compact closes and
// reopens that file, and in between another process could take it: a
// writer would write to a file about to be replaced, a reader would hold
// bbolt's lock so that the reopen fails. This lock is never let go until
// Close.
//
// A writer takes it exclusively, waiting up to timeout for another holder
// to let go. A reader (shared) does not wait: a running service holds it
// for as long as it runs, so a reader fails at once with ErrLocked. A
// reader that cannot create a missing lock file (read-only media) goes
// without it: no service can be writing there.
func lockFile(path string, timeout time.Duration, shared bool) (*os.File, error) {
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
		timeout = 0
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil && shared {
		// A lock file of the service's, readable but not writable by this
		// user, locks as well opened for reading.
		var rerr error
		if f, rerr = os.Open(path); errors.Is(rerr, os.ErrNotExist) {
			return nil, nil
		} else if rerr == nil {
			err = nil
		}
	}
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || !time.Now().Before(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, ErrLocked
			}
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
