package store

import (
	"time"
)

// mappedCheckInterval is how often the process's file-backed resident
// memory is compared with Options.MappedLimit. A check costs a few
// microseconds; at the scheduler's full dispatch rate (about 4,000 steps/s
// over a million carts) the mapping grows by about 30 MB in this time.
var mappedCheckInterval = 50 * time.Millisecond

// watchMapped hands the database mapping's pages back to the kernel
// whenever the process's file-backed resident memory has grown by more
// than limit since the mapping was last released, until stop is closed.
// It gives up quietly where that memory cannot be read or the kernel
// refuses the advice; the mapping then works as it would without a cap.
func (db *DB) watchMapped(limit int64, stop <-chan struct{}) {
	// What is resident right after a release is the rest of the
	// file-backed memory, mostly the binary's own code; the limit applies
	// to what the database adds to it.
	base, err := fileResident()
	if err != nil {
		return
	}
	t := time.NewTicker(mappedCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		resident, err := fileResident()
		if err != nil {
			return
		}
		if resident-base <= limit {
			continue
		}
		db.boltMu.RLock()
		err = db.releaseMapped()
		db.boltMu.RUnlock()
		if err != nil {
			return // the kernel refused: trying every tick would not help
		}
		if base, err = fileResident(); err != nil {
			return
		}
	}
}
