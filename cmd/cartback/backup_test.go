package main

import (
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartback/cartback/store"
)

// runningService stands for a service holding the database at dbPath: it
// holds the file, as the service does.
func runningService(t *testing.T, dbPath string) {
	t.Helper()
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
}

func TestBackupFlagsBeforeFile(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "cartback.db")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	dest := filepath.Join(dir, "copy.db")
	var out strings.Builder
	if err := run([]string{"backup", "-db", dbPath, dest}, env(nil), &out, io.Discard); err != nil {
		t.Fatalf("backup -db X FILE: %v", err)
	}
	if _, err := os.Stat(dest); err != nil || !strings.Contains(out.String(), dest) {
		t.Errorf("no copy: %v %q", err, out.String())
	}
	for _, args := range [][]string{{"backup"}, {"backup", "-db", dbPath}, {"backup", "a.db", "b.db"}} {
		if err := run(args, env(nil), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v, want the usage", args, err)
		}
	}
}

func TestBackupHelpWritesNothing(t *testing.T) {
	t.Chdir(t.TempDir())
	var usage strings.Builder
	err := run([]string{"backup", "--help"}, env(map[string]string{"CARTBACK_DB": "cartback.db"}), io.Discard, &usage)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(usage.String(), "cartback backup") {
		t.Errorf("backup --help: %v\n%s", err, usage.String())
	}
	if entries, _ := os.ReadDir("."); len(entries) > 0 {
		t.Errorf("backup --help wrote %s", entries[0].Name())
	}
}

// A missing database is named once.
func TestBackupErrorNamesPathOnce(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	err := run([]string{"backup", "-db", missing, filepath.Join(dir, "copy.db")}, env(nil), io.Discard, io.Discard)
	if err == nil || strings.Count(err.Error(), missing) != 1 {
		t.Errorf("backup of a missing database: %v", err)
	}
}

// The service refusing the token says which setting is wrong.
func TestBackupRefusedTokenNamesVariable(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "cartback.db")
	runningService(t, dbPath)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"missing or invalid admin token"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	vars := map[string]string{"CARTBACK_DB": dbPath, "CARTBACK_ADMIN_TOKEN": "not-the-service-token", "CARTBACK_ADDR": strings.TrimPrefix(srv.URL, "http://")}
	err := run([]string{"backup", filepath.Join(dir, "copy.db")}, env(vars), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "CARTBACK_ADMIN_TOKEN") {
		t.Errorf("backup with a refused token: %v", err)
	}
}

// A service that takes the connection but never answers does not hang
// the backup.
func TestBackupGivesUpOnSilentService(t *testing.T) {
	defer func(d time.Duration) { backupHeaderTimeout = d }(backupHeaderTimeout)
	backupHeaderTimeout = 200 * time.Millisecond
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "cartback.db")
	runningService(t, dbPath)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // read nothing, answer nothing
		}
	}()
	vars := map[string]string{"CARTBACK_DB": dbPath, "CARTBACK_ADMIN_TOKEN": testAdminToken, "CARTBACK_ADDR": ln.Addr().String()}
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"backup", filepath.Join(dir, "copy.db")}, env(vars), io.Discard, io.Discard)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "could not be reached") {
			t.Errorf("backup from a silent service: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("backup waits forever on a service that does not answer")
	}
}

// `cartback check` fails at once while the service runs, instead of
// holding the file the service may need to reopen.
func TestCheckWhileServiceRunsFailsFast(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "cartback.db")
	runningService(t, dbPath)
	start := time.Now()
	err := run([]string{"check", "-db", dbPath}, env(nil), io.Discard, io.Discard)
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("check while the service runs: %v, want ErrLocked", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("check took %v to fail", took)
	}
}
