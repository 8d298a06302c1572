package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// mappingResident returns how much of the file at path is mapped into
// this process and resident, from /proc/self/smaps.
func mappingResident(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[5] == path
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// fillAndRead writes n values of 8 KiB, each filled with its own index,
// then reads every one back through the mapping and checks it.
func fillAndRead(t *testing.T, db *DB, n int) {
	t.Helper()
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("scratch"))
		if err != nil {
			return err
		}
		for i := range n {
			if b.Get(u64(uint64(i))) != nil {
				continue
			}
			if err := b.Put(u64(uint64(i)), bytes.Repeat([]byte{byte(i)}, 8<<10)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	readAll(t, db, n)
}

func readAll(t *testing.T, db *DB, n int) {
	t.Helper()
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("scratch"))
		for i := range n {
			v := b.Get(u64(uint64(i)))
			if len(v) != 8<<10 || v[0] != byte(i) || v[len(v)-1] != byte(i) {
				return fmt.Errorf("value %d: %d bytes, first %d", i, len(v), v[0])
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseMappedKeepsTheData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartback.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	const n = 4000 // 32 MiB of values
	fillAndRead(t, db, n)
	before := mappingResident(t, path)
	if before < 24<<20 {
		t.Fatalf("only %d KiB of the file mapped after reading 32 MiB", before>>10)
	}
	if err := db.releaseMapped(); err != nil {
		t.Fatal(err)
	}
	if after := mappingResident(t, path); after > 1<<20 {
		t.Errorf("%d KiB still mapped after the release (%d KiB before)", after>>10, before>>10)
	}
	// The pages come back from the page cache with the same contents.
	readAll(t, db, n)
	if again := mappingResident(t, path); again < 24<<20 {
		t.Errorf("reading again mapped only %d KiB", again>>10)
	}
}

func TestMappedLimitIsWatched(t *testing.T) {
	defer func(d time.Duration) { mappedCheckInterval = d }(mappedCheckInterval)
	mappedCheckInterval = 5 * time.Millisecond

	path := filepath.Join(t.TempDir(), "cartback.db")
	// Any file-backed memory, the test binary's own code included, is over
	// a limit of one byte, so each check releases the mapping.
	db, err := Open(path, Options{MappedLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillAndRead(t, db, 4000)
	for deadline := time.Now().Add(10 * time.Second); mappingResident(t, path) > 1<<20; {
		if time.Now().After(deadline) {
			t.Fatalf("%d KiB still mapped 10 s after reading", mappingResident(t, path)>>10)
		}
		time.Sleep(10 * time.Millisecond)
	}
	readAll(t, db, 4000)
}
