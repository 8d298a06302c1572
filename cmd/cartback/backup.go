package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/cartback/cartback/store"
)

// backup writes a consistent copy of the database to FILE. When the service
// is running it holds the file, so the copy is streamed from the service's
// admin API; otherwise the file is read directly.
func backup(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: cartback backup FILE")
	}
	dest := args[0]
	cfg, err := LoadConfig(getenv, nil, stderr)
	if err != nil {
		return err
	}
	db, err := store.Open(cfg.DBPath, store.Options{ReadOnly: true, LockTimeout: 200 * time.Millisecond})
	var n int64
	switch {
	case err == nil:
		n, err = db.BackupFile(dest)
		db.Close()
	case errors.Is(err, store.ErrLocked):
		n, err = backupFromService(cfg, dest)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup of %s written to %s (%d bytes)\n", cfg.DBPath, dest, n)
	return nil
}

func backupFromService(cfg Config, dest string) (int64, error) {
	if cfg.AdminToken == "" {
		return 0, fmt.Errorf("the service holds %s; set CARTBACK_ADMIN_TOKEN so the copy can be fetched from it", cfg.DBPath)
	}
	host, port, _ := net.SplitHostPort(cfg.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/admin/api/backup", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the service holds %s but could not be reached: %w", cfg.DBPath, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("service answered %s", resp.Status)
	}
	return store.WriteBackupFile(dest, func(w io.Writer) (int64, error) {
		n, err := io.Copy(w, resp.Body)
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("copy cut short: %d of %d bytes", n, resp.ContentLength)
		}
		return n, err
	})
}

// check verifies the indexes of a database no service is using.
func check(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := LoadConfig(getenv, args, stderr)
	if err != nil {
		return err
	}
	db, err := store.Open(cfg.DBPath, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckIndexes(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: indexes agree with the data\n", cfg.DBPath)
	return nil
}
