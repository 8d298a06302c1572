//go:build !linux

package store

import "errors"

// releaseMapped is Linux-only; elsewhere the mapping is left to the kernel.
func (db *DB) releaseMapped() error { return nil }

// fileResident is not known outside Linux, which stops the watcher.
func fileResident() (int64, error) { return 0, errors.New("resident memory is only read on Linux") }
