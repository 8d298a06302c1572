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
// reader only opens a lock file that exists, for reading: one it created
// (as another user, root running a check, say) could lock the service out
// of its own file. Without one, no service has run on the file since it
// was put there.
func lockFile(path string, timeout time.Duration, shared bool) (*os.File, error) {
	how := syscall.LOCK_EX
	var f *os.File
	var err error
	if shared {
		how, timeout = syscall.LOCK_SH, 0
		if f, err = os.Open(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	} else {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
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
