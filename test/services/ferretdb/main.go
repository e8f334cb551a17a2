// Command ferretdb runs FerretDB with its SQLite backend on one TCP port, as the MongoDB-wire
// server of the test services (test/services/mongodb.ts builds and starts it).
//
// FerretDB is embedded rather than built from its own cmd/ferretdb: that binary panics at start
// when the generated build/version/version.txt is missing, which is the case for `go install`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 27117, "TCP port to listen on")
	dataDir := flag.String("data", "", "directory of the SQLite databases (created if missing)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	if err := run(*host, *port, *dataDir, *logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		os.Exit(1)
	}
}

func run(host string, port int, dataDir, logLevel string) error {
	if dataDir == "" {
		return fmt.Errorf("-data is required")
	}

	url, err := sqliteURL(dataDir)
	if err != nil {
		return err
	}

	var level slog.Level
	if err = level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: fmt.Sprintf("%s:%d", host, port)},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Handler:   "sqlite",
		SQLiteURL: url,
	})
	if err != nil {
		return err
	}

	// The harness stops services with SIGTERM; Run returns once listeners and the backend are closed,
	// so the SQLite files are left consistent.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	return db.Run(ctx)
}

// sqliteURL returns the backend URL of dir: FerretDB needs an existing directory and a URL ending in "/".
func sqliteURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}

	if err = os.MkdirAll(abs, 0o755); err != nil {
		return "", err
	}

	return "file:" + abs + "/", nil
}
