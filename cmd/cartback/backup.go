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

// backupHeaderTimeout bounds how long `cartback backup` waits for the
// service to connect and start its answer; the copy itself may stream for
// as long as it takes.
var backupHeaderTimeout = 30 * time.Second

// backup writes a consistent copy of the database to FILE. When the service
// is running it holds the file, so the copy is streamed from the service's
// admin API; otherwise the file is read directly.
func backup(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig(getenv, args, stderr, "cartback backup", " FILE")
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("usage: cartback backup [flags] FILE (-h lists the flags)")
	}
	dest := rest[0]
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
	// No overall timeout: a large copy takes as long as it takes. A
	// service that does not answer must not hang the command, though.
	client := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: backupHeaderTimeout}).DialContext,
		ResponseHeaderTimeout: backupHeaderTimeout,
	}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the service holds %s but could not be reached: %w", cfg.DBPath, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return 0, fmt.Errorf("the service holds %s and refused CARTBACK_ADMIN_TOKEN (%s): set it to the service's admin token", cfg.DBPath, resp.Status)
	default:
		return 0, fmt.Errorf("the service holds %s and answered %s", cfg.DBPath, resp.Status)
	}
	return store.WriteBackupFile(dest, func(w io.Writer) (int64, error) {
		n, err := io.Copy(w, resp.Body)
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("copy cut short: %d of %d bytes", n, resp.ContentLength)
		}
		return n, err
	})
}

// check verifies the indexes of a database no service is using; while the
// service runs it fails at once, saying the file is in use.
func check(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := loadConfig(getenv, args, stderr, "cartback check", "")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q", rest[0])
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
