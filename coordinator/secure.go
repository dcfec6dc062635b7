package coordinator

import (
	"github.com/synthfed/synthfed/coordinator/engine"
	"github.com/synthfed/synthfed/crypto/secagg"
)

// SecureConfig enables secure aggregation at a coordinator (see
// engine/secure.go for how a secure round runs).
type SecureConfig struct {
	// Verify binds each site's secure-aggregation identity key to the site
	// (crypto/pki Verifier.VerifySiteKey with TLS kits, secagg.PinnedKeys
	// in simulations). Required.
	Verify secagg.IdentityVerifier
	// Default is the choice of jobs that leave secure_aggregation unset.
	Default bool
	// Workers bounds the goroutines that expand masks when a secure round
	// is unmasked (0: GOMAXPROCS).
	Workers int
}

// engine returns the engine's part of the configuration (nil: none):
// masked inputs sent in parts are joined in spool files under spoolDir.
func (s *SecureConfig) engine(spoolDir string) *engine.SecureConfig {
	if s == nil {
		return nil
	}
	return &engine.SecureConfig{Verify: s.Verify, Default: s.Default, Parts: newSpoolJoiner(spoolDir)}
}

// unmask runs a secure round's unmasking off the loop: the mask
// expansion, the round's costliest step, would otherwise hold every other
// call. The result goes back to the Engine through the loop.
func (c *Coordinator) unmask(ef engine.Unmask) {
	workers := 0
	if c.opts.Secure != nil {
		workers = c.opts.Secure.Workers
	}
	go func() {
		ef.Work.Run(workers)
		select {
		case c.unmasked <- engine.Unmasked{Job: ef.Job, Round: ef.Round, Attempt: ef.Attempt, Work: ef.Work}:
		case <-c.stopped:
		}
	}()
}
