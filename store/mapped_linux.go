package store

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// releaseMapped drops the page-table entries of bbolt's read-only shared
// mapping of the file. The pages stay in the kernel's page cache and the
// next read maps them again, so nothing is read from disk that would not
// be anyway; what changes is that pages read once, for a cart dispatched an
// hour ago, stop counting as this process's resident memory (VmRSS, and so
// the OOM killer's score). The caller holds boltMu.
//
// It runs inside a read transaction: bbolt moves its mapping only under a
// write lock that waits for every reader, so the range cannot be unmapped,
// or reused by other memory, while it is being advised.
func (db *DB) releaseMapped() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		info := db.bolt.Info()
		// Data is the mapping's address; reading it through a pointer
		// keeps it from being taken for an arithmetic result.
		data := *(*unsafe.Pointer)(unsafe.Pointer(&info.Data))
		size := tx.Size()
		if data == nil || size <= 0 {
			return nil
		}
		return syscall.Madvise(unsafe.Slice((*byte)(data), size), syscall.MADV_DONTNEED)
	})
}

// fileResident returns the process's resident file-backed and shared
// memory in bytes: the mapped database and the binary's own code.
func fileResident() (int64, error) {
	// statm is "size resident shared text lib data dt" in pages, and
	// reading it costs a few microseconds whatever the mapping's size
	// (unlike smaps, which walks the page tables).
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0, fmt.Errorf("/proc/self/statm: unexpected %q", b)
	}
	pages, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}
