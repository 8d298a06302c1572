package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// While a service has the database open, a reader (`cartback check`,
// `cartback backup`) fails at once: it neither waits out its timeout nor
// gets in.
func TestReadOnlyOpenFailsFastWhileWriterRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartback.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Open(path, Options{ReadOnly: true, LockTimeout: 3 * time.Second})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("read-only Open while a writer runs: %v, want ErrLocked", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("read-only Open took %v to fail, want at once", took)
	}
}

// Compact closes and reopens the file; a reader that got bbolt's lock in
// between would make the reopen fail and leave the service without a
// database. The lock file keeps it out for the whole time.
func TestReaderKeptOutDuringCompactionWindow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartback.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The moment inside Compact when the old file is closed and the new
	// one not yet open.
	db.boltMu.Lock()
	if err := db.bolt.Close(); err != nil {
		t.Fatal(err)
	}
	reader, err := Open(path, Options{ReadOnly: true, LockTimeout: 100 * time.Millisecond})
	if err == nil {
		reader.Close()
	}
	bdb, reopenErr := bolt.Open(path, 0o600, db.opts)
	if reopenErr == nil {
		db.bolt = bdb
	}
	db.boltMu.Unlock()
	if reopenErr != nil {
		t.Fatalf("reopen: %v", reopenErr)
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("reader in the compaction window: %v, want ErrLocked", err)
	}
}

// Readers share the file with each other, and a writer waits for them.
func TestReadersShareTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartback.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	r1, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("a second reader: %v", err)
	}
	defer r2.Close()
	if _, err := Open(path, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a writer while readers read: %v, want ErrLocked", err)
	}
}

// A reader of a file that is not there says so naming it once, and leaves
// no lock file behind; neither does checking a backup copy.
func TestReadOnlyOpenMissingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing.db")
	_, err := Open(path, Options{ReadOnly: true})
	if err == nil || !errors.Is(err, os.ErrNotExist) || strings.Count(err.Error(), path) != 1 {
		t.Errorf("read-only Open of a missing file: %v", err)
	}
	db, err := Open(filepath.Join(dir, "cartback.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.BackupFile(filepath.Join(dir, "copy.db")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "cartback.db cartback.db.lock copy.db" {
		t.Errorf("files after a failed read and a backup: %s", got)
	}
}

// A reader never creates the lock file: one it made (as another user, say
// root running a check) could keep the service out of its own file.
func TestReaderCreatesNoLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartback.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Remove(path + ".lock"); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a reader created the lock file: %v", err)
	}
}
