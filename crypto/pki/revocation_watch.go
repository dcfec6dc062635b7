package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"log/slog"
	"os"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
)

// DefaultCRLReload is how often a running participant re-reads its
// revocation list file when TLSFiles.CRLReload is zero.
const DefaultCRLReload = time.Minute

// CRLWatcher re-reads a participant's revocation list file, so that a
// revocation distributed while it runs (a new crl.pem dropped into its kit)
// takes effect without a restart: new handshakes, per-call checks and
// secure-aggregation identity checks all read the same Revocations.
type CRLWatcher struct {
	path  string
	ca    *x509.Certificate
	rev   *Revocations
	every time.Duration
	clk   clock.Clock
	log   *slog.Logger
	last  []byte
}

// CRLWatcher returns a watcher of the credentials' revocation list file
// (every <= 0: DefaultCRLReload; nil clk: wall clock; nil log: discard).
func (c *Credentials) CRLWatcher(every time.Duration, clk clock.Clock, log *slog.Logger) *CRLWatcher {
	if every <= 0 {
		every = DefaultCRLReload
	}
	if clk == nil {
		clk = clock.New()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &CRLWatcher{path: c.CRLPath, ca: c.CA, rev: c.Revocations, every: every, clk: clk, log: log}
	if w.path != "" {
		w.last, _ = os.ReadFile(w.path)
	}
	return w
}

// Reload reads the file and installs the list when it changed. A list that
// does not verify against the CA, or is older than the loaded one, is
// refused and the loaded list stays in force.
func (w *CRLWatcher) Reload() error {
	if w.path == "" {
		return nil
	}
	data, err := os.ReadFile(w.path)
	if err != nil {
		return err
	}
	if bytes.Equal(data, w.last) {
		return nil
	}
	if err := w.rev.Load(data, w.ca); err != nil {
		return err
	}
	w.last = data
	w.log.Info("revocation list reloaded", "path", w.path, "number", w.rev.Number())
	return nil
}

// Run reloads the list every interval until ctx ends; failures are logged
// and retried at the next interval. It returns nil.
func (w *CRLWatcher) Run(ctx context.Context) error {
	if w.path == "" {
		return nil
	}
	t := w.clk.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			if err := w.Reload(); err != nil {
				w.log.Warn("revocation list not reloaded; the loaded one stays in force", "path", w.path, "err", err)
			}
		}
	}
}
