// Package store keeps cartback's state in a single bbolt file and implements
// recovery.Store on it.
//
// Layout, one bucket each (integers are 8-byte big-endian so that keys sort
// in numeric and time order):
//
//	meta           name → value
//	shops          shopID → Shop JSON
//	shop_domains   domain → shopID
//	carts          cartID → Cart JSON
//	shop_carts     shopID|cartID → ∅                 (a shop's carts, by age)
//	cart_keys      shopID|key → cartID               (platform key → cart)
//	cart_contacts  shopID|len|contact|cartID → ∅     (contact → carts)
//	due            unixNano|cartID → ∅               (the scheduler's queue)
//	events         shopID|key → expiry               (webhook de-duplication)
//	event_expiry   expiry|shopID|key → ∅             (to forget them in order)
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/cartback/cartback/recovery"
)

var (
	bucketMeta         = []byte("meta")
	bucketShops        = []byte("shops")
	bucketShopDomains  = []byte("shop_domains")
	bucketCarts        = []byte("carts")
	bucketShopCarts    = []byte("shop_carts")
	bucketCartKeys     = []byte("cart_keys")
	bucketCartContacts = []byte("cart_contacts")
	bucketDue          = []byte("due")
	bucketEvents       = []byte("events")
	bucketEventExpiry  = []byte("event_expiry")

	allBuckets = [][]byte{
		bucketMeta, bucketShops, bucketShopDomains, bucketCarts, bucketShopCarts,
		bucketCartKeys, bucketCartContacts, bucketDue, bucketEvents, bucketEventExpiry,
	}
)

// ErrLocked is returned by Open when another process holds the database file.
var ErrLocked = errors.New("database file is in use by another process")

// Options tune a DB. The zero value is ready to use.
type Options struct {
	// ReadOnly opens the file without taking the write lock.
	ReadOnly bool
	// LockTimeout is how long Open waits for another process to release the
	// file (default 1 s): long enough to ride out a restart, short enough to
	// fail fast when two services point at one file.
	LockTimeout time.Duration
	// MaxBatchDelay and MaxBatchSize bound group commit (defaults 2 ms, 256).
	MaxBatchDelay time.Duration
	MaxBatchSize  int
}

// DB is an open cartback database. It is safe for concurrent use.
type DB struct {
	path string
	bolt *bolt.DB
}

var _ recovery.Store = (*DB)(nil)

// Open opens or creates the database at path, creating its directory.
// ErrLocked is returned when another process has the file open.
func Open(path string, opts Options) (*DB, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opts.LockTimeout,
		ReadOnly:     opts.ReadOnly,
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	} else if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	bdb.MaxBatchDelay = 2 * time.Millisecond
	if opts.MaxBatchDelay > 0 {
		bdb.MaxBatchDelay = opts.MaxBatchDelay
	}
	bdb.MaxBatchSize = 256
	if opts.MaxBatchSize > 0 {
		bdb.MaxBatchSize = opts.MaxBatchSize
	}
	db := &DB{path: path, bolt: bdb}
	if !opts.ReadOnly {
		err = bdb.Update(func(tx *bolt.Tx) error {
			for _, name := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			bdb.Close()
			return nil, fmt.Errorf("initialise %s: %w", path, err)
		}
	}
	return db, nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes the database, waiting for running transactions to finish.
func (db *DB) Close() error { return db.bolt.Close() }

// Update runs fn in a read-write transaction through bbolt's group commit,
// so concurrent callers share one fsync. It returns after the commit. fn may
// run more than once (see recovery.Store).
func (db *DB) Update(ctx context.Context, fn func(recovery.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.Batch(func(btx *bolt.Tx) error {
		return fn(&Tx{tx: btx})
	})
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(recovery.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.View(func(btx *bolt.Tx) error {
		return fn(&Tx{tx: btx})
	})
}

// Backup writes a consistent copy of the whole database to w while other
// transactions go on, and returns the number of bytes written.
func (db *DB) Backup(w io.Writer) (int64, error) {
	return db.WriteBackup(w, nil)
}

// WriteBackup is Backup that first tells announce how many bytes follow,
// so that a receiver over the network can tell a complete copy from a cut one.
func (db *DB) WriteBackup(w io.Writer, announce func(size int64)) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) (err error) {
		if announce != nil {
			announce(tx.Size())
		}
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupFile writes a consistent copy of the database to path, through a
// temporary file renamed into place so a failed backup leaves nothing
// half-written under that name.
func (db *DB) BackupFile(path string) (int64, error) {
	return WriteFileAtomic(path, db.Backup)
}

// WriteFileAtomic creates path from what write produces, through a
// temporary file in the same directory that is synced and renamed into place.
func WriteFileAtomic(path string, write func(io.Writer) (int64, error)) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".cartback-backup-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return n, err
}
