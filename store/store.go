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
//	sending        cartID → ∅                        (carts with a step being sent)
//	events         shopID|key → expiry               (webhook de-duplication)
//	event_expiry   expiry|shopID|key → ∅             (to forget them in order)
//	events_timed   shopID|eventTime|key → expiry     (the same, for events that carry their time)
//	messages       messageID → Message JSON
//	shop_messages  shopID|messageID → ∅
//	clicks         cartID|seq → Click JSON
//	optouts        shopID|channel|0|contact → OptOut JSON
//	daily          shopID|day → DailyFigures JSON    (anonymous aggregates)
//	provider_ids   provider|0|providerID → messageID (delivery reports)
//	exports        shopID|requestID → DataExport JSON (customer data requests)
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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
	bucketTimedEvents  = []byte("events_timed")
	bucketSending      = []byte("sending")
	bucketMessages     = []byte("messages")
	bucketShopMessages = []byte("shop_messages")
	bucketClicks       = []byte("clicks")
	bucketOptOuts      = []byte("optouts")
	bucketDaily        = []byte("daily")
	bucketProviderIDs  = []byte("provider_ids")
	bucketExports      = []byte("exports")

	allBuckets = [][]byte{
		bucketMeta, bucketShops, bucketShopDomains, bucketCarts, bucketShopCarts,
		bucketCartKeys, bucketCartContacts, bucketDue, bucketEvents, bucketEventExpiry, bucketTimedEvents,
		bucketSending, bucketMessages, bucketShopMessages,
		bucketClicks, bucketOptOuts, bucketDaily, bucketProviderIDs, bucketExports,
	}
)

// ErrLocked is returned by Open when another process holds the database file.
var ErrLocked = errors.New("database file is in use by another process")

// Options tune a DB. The zero value is ready to use.
type Options struct {
	// ReadOnly opens the file for reading only. It shares the lock file
	// with other readers and fails at once with ErrLocked while a writer
	// (the service) holds it.
	ReadOnly bool
	// LockTimeout is how long a writer's Open waits for another process to
	// release the file (default 1 s): long enough to ride out a restart,
	// short enough to fail fast when two services point at one file.
	LockTimeout time.Duration
	// MaxBatchSize bounds how many updates one commit takes (default 512).
	MaxBatchSize int
	// MappedLimit, when positive, caps in bytes how much of the database
	// file stays mapped into the process (Linux only): past it, the
	// mapping's pages are handed back to the kernel's page cache. bbolt
	// reads through a memory mapping, so without a cap every page ever
	// read, and the kernel's read-around of each, counts as resident.
	MappedLimit int64
}

// DB is an open cartback database. It is safe for concurrent use.
type DB struct {
	path string
	bolt *bolt.DB

	// boltMu guards the bolt handle, which Compact replaces.
	boltMu sync.RWMutex
	opts   *bolt.Options
	// lock is held on path+".lock" from Open to Close: exclusive for a
	// writer, shared for a reader (nil where there is none).
	lock *os.File
	// backups counts the backups streaming now (see Compact).
	backups atomic.Int32

	// Group commit: one writer goroutine takes every update queued since its
	// last commit into the next one, so concurrent webhooks share one fsync
	// without waiting for a timer.
	maxBatch int
	mu       sync.RWMutex
	closed   bool
	writes   chan *writeRequest
	writer   sync.WaitGroup

	stopWatch chan struct{} // ends watchMapped; nil when not watching
	watcher   sync.WaitGroup
}

type writeRequest struct {
	fn   func(recovery.Tx) error
	done chan error
	// exclusive, when set instead of fn, runs alone between two commits.
	exclusive func() error
}

// ErrClosed is returned by Update and View after Close.
var ErrClosed = errors.New("database closed")

var _ recovery.Store = (*DB)(nil)

// Open opens or creates the database at path, creating its directory.
// ErrLocked is returned when another process has the file open for
// writing (or, for a writer, at all).
func Open(path string, opts Options) (*DB, error) {
	return open(path, opts, true)
}

// open is Open; without useLock it leaves the lock file alone, for a file
// no service can be using (a backup copy being checked).
func open(path string, opts Options, useLock bool) (*DB, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	} else if _, err := os.Stat(path); err != nil {
		// Before the lock file: a reader must not leave one beside a
		// database that is not there.
		return nil, openError(path, err)
	}
	var lock *os.File
	if useLock {
		var err error
		if lock, err = lockFile(path+".lock", opts.LockTimeout, opts.ReadOnly); errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		} else if err != nil {
			return nil, fmt.Errorf("open %s: lock: %w", path, err)
		}
	}
	boltOpts := &bolt.Options{
		Timeout:      opts.LockTimeout,
		ReadOnly:     opts.ReadOnly,
		FreelistType: bolt.FreelistMapType,
	}
	bdb, err := bolt.Open(path, 0o600, boltOpts)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		return nil, openError(path, err)
	}
	db := &DB{path: path, bolt: bdb, opts: boltOpts, lock: lock, maxBatch: 512, writes: make(chan *writeRequest, 1024)}
	if opts.MaxBatchSize > 0 {
		db.maxBatch = opts.MaxBatchSize
	}
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
		db.writer.Add(1)
		go db.write()
	}
	if opts.MappedLimit > 0 {
		db.stopWatch = make(chan struct{})
		db.watcher.Go(func() { db.watchMapped(opts.MappedLimit, db.stopWatch) })
	}
	return db, nil
}

// openError says that path did not open, naming it once: file system
// errors name it already.
func openError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return fmt.Errorf("open %s: %w", path, pe.Err)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close commits the updates already queued, then closes the database,
// waiting for running transactions to finish.
func (db *DB) Close() error {
	db.mu.Lock()
	if !db.closed {
		db.closed = true
		close(db.writes)
		if db.stopWatch != nil {
			close(db.stopWatch)
		}
	}
	db.mu.Unlock()
	db.writer.Wait()
	db.watcher.Wait()
	db.boltMu.Lock()
	defer db.boltMu.Unlock()
	err := db.bolt.Close()
	if db.lock != nil {
		db.lock.Close() // after the file: no other process writes before it is closed
		db.lock = nil
	}
	return err
}

// Update runs fn in a read-write transaction and returns after the commit.
// Concurrent updates are committed together and share one fsync; fn may
// run more than once (see recovery.Store).
func (db *DB) Update(ctx context.Context, fn func(recovery.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.submit(&writeRequest{fn: fn, done: make(chan error, 1)})
}

// submit queues a request for the writer and waits for its outcome.
func (db *DB) submit(req *writeRequest) error {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	db.writes <- req
	db.mu.RUnlock()
	return <-req.done
}

// write is the writer goroutine: it commits whatever is queued, in batches.
func (db *DB) write() {
	defer db.writer.Done()
	batch := make([]*writeRequest, 0, db.maxBatch)
	for req := range db.writes {
		var exclusive *writeRequest
		batch = batch[:0]
		if req.exclusive != nil {
			exclusive = req
		} else {
			batch = append(batch, req)
		}
	drain:
		for exclusive == nil && len(batch) < db.maxBatch {
			select {
			case r, ok := <-db.writes:
				if !ok {
					break drain
				}
				if r.exclusive != nil {
					exclusive = r // after this batch, before anything newer
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if len(batch) > 0 {
			db.commit(batch)
		}
		if exclusive != nil {
			exclusive.done <- exclusive.exclusive()
		}
	}
}

// runExclusive runs fn in the writer goroutine, with no write transaction
// open or queued before it unfinished.
func (db *DB) runExclusive(fn func() error) error {
	return db.submit(&writeRequest{exclusive: fn, done: make(chan error, 1)})
}

// Compact rewrites the database file with only its live pages. bbolt
// reuses freed pages but never clears them, so data that was erased (a
// customer redact, a shop redact, retention) lingers in the file until they
// are overwritten; compaction removes it for good. Writes wait while it
// runs; reads go on until the file is swapped.
func (db *DB) Compact(ctx context.Context) error {
	// Writes wait while it runs, so it does not start under a backup that
	// may stream for minutes (it would hold them that long).
	for db.backups.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.runExclusive(func() error {
		tmp := db.path + ".compact"
		_ = os.Remove(tmp)
		dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
		if err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		db.boltMu.RLock()
		err = bolt.Compact(dst, db.bolt, 64<<20)
		db.boltMu.RUnlock()
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp)
			return fmt.Errorf("compact: %w", err)
		}
		// A backup streaming to a slow client holds a read lock for as long
		// as it takes: waiting for the write lock in the usual way would
		// stop every new read behind it (redirects, the scheduler) until
		// then, so while one streams, try instead and let readers through.
		// Otherwise queue for the lock: under a steady stream of short
		// reads a try might never find the lock free.
		for {
			if db.backups.Load() == 0 {
				db.boltMu.Lock()
				break
			}
			if db.boltMu.TryLock() {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		defer db.boltMu.Unlock()
		if err := db.bolt.Close(); err != nil {
			return fmt.Errorf("compact: close: %w", err)
		}
		// From here on a failure must leave a usable database open.
		renameErr := os.Rename(tmp, db.path)
		bdb, err := bolt.Open(db.path, 0o600, db.opts)
		if err != nil {
			return fmt.Errorf("compact: reopen %s: %w", db.path, err)
		}
		db.bolt = bdb
		if renameErr != nil {
			os.Remove(tmp)
			return fmt.Errorf("compact: %w", renameErr)
		}
		return nil
	})
}

// commit runs a batch in one transaction. When one function fails, the
// transaction is rolled back, that function gets its error, and the rest run
// again without it: no caller ever sees another caller's failure.
func (db *DB) commit(batch []*writeRequest) {
	for len(batch) > 0 {
		failed := -1
		var failErr error
		db.boltMu.RLock()
		err := db.bolt.Update(func(btx *bolt.Tx) error {
			tx := &Tx{tx: btx}
			for i, r := range batch {
				if err := runGuarded(r.fn, tx); err != nil {
					failed, failErr = i, err
					return err
				}
			}
			return nil
		})
		db.boltMu.RUnlock()
		if failed < 0 {
			for _, r := range batch {
				r.done <- err // nil, or the commit's own error for everyone
			}
			return
		}
		batch[failed].done <- failErr
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(recovery.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db.boltMu.RLock()
	defer db.boltMu.RUnlock()
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
	db.backups.Add(1)
	defer db.backups.Add(-1)
	db.boltMu.RLock()
	defer db.boltMu.RUnlock()
	err := db.bolt.View(func(tx *bolt.Tx) (err error) {
		if announce != nil {
			announce(tx.Size())
		}
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupFile writes a consistent copy of the database to path (see
// WriteBackupFile).
func (db *DB) BackupFile(path string) (int64, error) {
	return WriteBackupFile(path, db.Backup)
}

// WriteBackupFile creates path from the database copy write produces,
// through a temporary file in the same directory. The copy replaces path
// only once it is synced, opens and its indexes agree, so a failed or
// damaged backup never takes the place of an earlier good one.
func WriteBackupFile(path string, write func(io.Writer) (int64, error)) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".cartback-backup-*")
	if err != nil {
		return 0, fileError("create", path, err)
	}
	defer os.Remove(f.Name())
	n, err := write(f)
	if err == nil {
		if err = f.Sync(); err != nil {
			err = fileError("write", path, err)
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fileError("write", path, cerr)
	}
	if err == nil {
		err = checkCopy(f.Name())
	}
	if err == nil {
		if err = os.Rename(f.Name(), path); err != nil {
			err = fileError("replace", path, err)
		}
	}
	return n, err
}

// fileError reports a failure of op on the backup at path by that path
// alone: the temporary file the error names means nothing to the reader.
func fileError(op, path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}

// checkCopy opens the database copy at path and checks its indexes.
func checkCopy(path string) error {
	cp, err := open(path, Options{ReadOnly: true}, false)
	if err != nil {
		return fmt.Errorf("the copy does not open: %w", err)
	}
	defer cp.Close()
	if err := cp.CheckIndexes(); err != nil {
		return fmt.Errorf("the copy is inconsistent: %w", err)
	}
	return nil
}

// runGuarded runs fn, turning a panic into an error for its caller alone:
// the writer goroutine serves every caller and must survive any one of them.
func runGuarded(fn func(recovery.Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("update panicked: %v", p)
		}
	}()
	return fn(tx)
}
