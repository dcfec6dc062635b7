package siteagent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/synthfed/synthfed/crypto/dp"
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/protocol"
)

// ErrRefused reports a secure round this site declined (its policy, its
// privacy budget, a round it cannot join); the coordinator was told why.
var ErrRefused = errors.New("site refused the round")

// Refusal reasons a site reports to the coordinator.
const (
	RefusePolicy     = "site_policy"
	RefuseProtocol   = "protocol_refused"
	RefuseBudget     = "privacy_budget"
	RefuseReplay     = "context_reused"
	RefuseNoRound    = "no_round_state"
	RefuseBadUpdate  = "bad_update"
	RefuseTaskFailed = "task_failed"
)

// SecureSite configures a site's part in secure aggregation.
type SecureSite struct {
	// Site is this site's ID: its roster name and certificate identity.
	Site string
	// Identity is the site's long-term Ed25519 key (a kit's key.pem); it
	// signs the site's secure-aggregation messages.
	Identity ed25519.PrivateKey
	// Certificate is the site's DER certificate, advertised so that the
	// coordinator and peers bind Identity to Site (optional with pinned
	// keys).
	Certificate []byte
	// Verify checks the other sites' identity keys (crypto/pki
	// Verifier.VerifySiteKey, or secagg.PinnedKeys in simulations).
	Verify secagg.IdentityVerifier
	// Privacy is the site's own privacy policy and state directory.
	Privacy PrivacyConfig
	// PartSize bounds one phase message payload; a masked input goes in
	// parts of this size (0: protocol.DefaultChunkSize).
	PartSize int
	// Rand is the randomness of the round secrets (nil: crypto/rand).
	Rand io.Reader
	// Noise draws the DP noise (nil: seeded from crypto/rand).
	Noise *dp.Noise
	// Workers bounds mask-expansion goroutines (0: GOMAXPROCS).
	Workers int
	// Clock dates the privacy ledger (nil: the wall clock).
	Clock clock.Clock
	// Logger receives logs (nil: discard).
	Logger *slog.Logger
}

// SecureRunner is a site's PhaseRunner for secure aggregation. It answers
// each phase of a secure round with a crypto/secagg Client, and in the
// masked-input phase opens the share-keys relay, expands its whole mask on
// another goroutine while the executor downloads the global model and
// trains (PhaseEnv.TrainDelta), and prepares the delta before masking it:
// a non-finite delta is refused, the L2 norm is clipped to the job's
// bound, the weight is capped, and under a job's differential privacy the
// site checks its budget when the round opens, adds its share of Gaussian
// noise and charges its ledger before the masked input leaves. One runner
// serves one Agent (Options.Phases).
type SecureRunner struct {
	cfg  SecureSite
	log  *slog.Logger
	acct *dp.Accountant
	done *contributed

	mu    sync.Mutex
	round *siteRound
}

// siteRound is the round in progress at the site.
type siteRound struct {
	job            string
	round, attempt int
	spec           *secagg.RoundSpec
	c              *secagg.Client
}

// NewSecureRunner opens the site's privacy ledger and returns its runner.
func NewSecureRunner(cfg SecureSite) (*SecureRunner, error) {
	var errs []error
	if err := protocol.ValidSiteID(cfg.Site); err != nil {
		errs = append(errs, err)
	}
	if len(cfg.Identity) != ed25519.PrivateKeySize || cfg.Verify == nil {
		errs = append(errs, errors.New("secure site needs an Ed25519 identity key and a verifier"))
	}
	errs = append(errs, cfg.Privacy.Validate("privacy"))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("site %s: %w", cfg.Site, err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = protocol.DefaultChunkSize
	}
	if cfg.Noise == nil {
		n, err := dp.NewNoise()
		if err != nil {
			return nil, err
		}
		cfg.Noise = n
	}
	acct, err := openLedger(cfg.Privacy, cfg.Site, cfg.Clock)
	if err != nil {
		return nil, err
	}
	done, err := openContributed(filepath.Join(cfg.Privacy.StateDir, roundsFile))
	if err != nil {
		return nil, err
	}
	return &SecureRunner{cfg: cfg, log: cfg.Logger.With("site", cfg.Site, "component", "secagg"), acct: acct, done: done}, nil
}

// Spent returns the rho and epsilon this site has spent so far.
func (r *SecureRunner) Spent() (rho, epsilon float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acct.Spent()
}

// RunPhase answers one phase task of a secure round.
func (r *SecureRunner) RunPhase(ctx context.Context, t Task, env PhaseEnv) error {
	var err error
	switch {
	case t.Relay != nil:
		err = r.input(ctx, t, env)
	case t.Payload.Type == secagg.TypeURL(secagg.KindRoundSpec):
		err = r.begin(ctx, t, env.Exchange)
	default:
		err = r.step(ctx, t, env.Exchange)
	}
	if err != nil && !errors.Is(err, ErrRefused) && ctx.Err() == nil {
		r.refuse(ctx, t, env.Exchange, RefuseTaskFailed, err.Error()) // the round stops waiting for this site
	}
	return err
}

// exchangeFunc sends one payload in the task's phase.
type exchangeFunc = func(context.Context, Payload) (Payload, error)

// refuse tells the coordinator that this site leaves the round and why,
// forgets the round and returns an error wrapping ErrRefused.
func (r *SecureRunner) refuse(ctx context.Context, t Task, exchange exchangeFunc, reason, detail string) error {
	r.mu.Lock()
	if r.round != nil && r.round.job == t.Job {
		r.round.c.Forget()
		r.round = nil
	}
	r.mu.Unlock()
	r.log.Warn("refusing secure round", "job", t.Job, "round", t.Round, "reason", reason, "detail", detail)
	b, _ := (&secagg.Refusal{Reason: reason, Detail: detail}).MarshalBinary()
	if _, err := exchange(ctx, Payload{Type: secagg.TypeURL(secagg.KindRefusal), Value: b}); err != nil {
		r.log.Debug("refusal not delivered", "err", err)
	}
	return fmt.Errorf("site %s job %s round %d: %s: %s: %w", r.cfg.Site, t.Job, t.Round, reason, detail, ErrRefused)
}

// send marshals m and exchanges it, in parts when it is large.
func (r *SecureRunner) send(ctx context.Context, m secagg.Message, exchange exchangeFunc) error {
	if mi, ok := m.(*secagg.MaskedInput); ok && 4*len(mi.Data) > r.cfg.PartSize {
		// A study-size input is cut into parts in place (no second copy).
		return mi.SplitParts(r.cfg.PartSize, func(p *secagg.Part) error {
			pb, _ := p.MarshalBinary()
			if _, err := exchange(ctx, Payload{Type: secagg.TypeURL(secagg.KindPart), Value: pb}); err != nil {
				return fmt.Errorf("%s part %d of %d: %w", m.Type(), p.Index+1, p.Count, err)
			}
			return nil
		})
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if len(b) <= r.cfg.PartSize {
		_, err = exchange(ctx, Payload{Type: secagg.TypeURL(m.Type().String()), Value: b})
		return err
	}
	for _, p := range secagg.SplitPayload(m.Type().String(), b, r.cfg.PartSize) {
		pb, _ := p.MarshalBinary()
		if _, err := exchange(ctx, Payload{Type: secagg.TypeURL(secagg.KindPart), Value: pb}); err != nil {
			return fmt.Errorf("%s part %d of %d: %w", m.Type(), p.Index+1, p.Count, err)
		}
	}
	return nil
}

// begin checks the announced round against the site's policy and budget,
// starts a Client and advertises its keys.
func (r *SecureRunner) begin(ctx context.Context, t Task, exchange exchangeFunc) error {
	spec, err := secagg.DecodeRoundSpec(t.Payload.Value)
	if err != nil {
		return fmt.Errorf("task %s: %w: %w", t.ID, protocol.ErrMalformed, err)
	}
	if reason, detail := r.admit(t, spec); reason != "" {
		return r.refuse(ctx, t, exchange, reason, detail)
	}
	c, err := secagg.NewClient(secagg.ClientConfig{Context: spec.Context, Self: r.cfg.Site, Identity: r.cfg.Identity,
		Certificate: r.cfg.Certificate, VerifyIdentity: r.cfg.Verify, Rand: r.cfg.Rand, Workers: r.cfg.Workers, Logger: r.log})
	if err != nil {
		return r.refuse(ctx, t, exchange, RefusePolicy, err.Error())
	}
	adv, err := c.Advertise()
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.round != nil {
		r.round.c.Forget() // an older round this site never finished
	}
	r.round = &siteRound{job: t.Job, round: t.Round, attempt: t.Attempt, spec: spec, c: c}
	r.mu.Unlock()
	r.log.Info("joined secure round", "job", spec.Job, "round", spec.Context.Round, "sites", len(spec.Context.Roster),
		"threshold", spec.Context.Params.Threshold, "privacy", spec.Privacy.Enabled)
	return r.send(ctx, adv, exchange)
}

// admit checks a round spec against the task and the site's policy; it
// returns a refusal reason and detail, or "" to take part.
func (r *SecureRunner) admit(t Task, spec *secagg.RoundSpec) (string, string) {
	p := r.cfg.Privacy
	switch {
	case spec.Job != t.Job || spec.Context.Round != uint64(t.Round) || spec.Attempt != t.Attempt:
		return RefusePolicy, fmt.Sprintf("spec names job %s round %d attempt %d", spec.Job, spec.Context.Round, spec.Attempt)
	case spec.Context.Params.Threshold < p.MinThreshold:
		return RefusePolicy, fmt.Sprintf("threshold %d below this site's minimum %d", spec.Context.Params.Threshold, p.MinThreshold)
	case p.RequireDP && !spec.Privacy.Enabled:
		return RefusePolicy, "this site requires differential privacy and the job has none"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done.has(spec.Context.Hash()) {
		return RefuseReplay, fmt.Sprintf("this site already sent a masked input in %s", spec.Context)
	}
	if !spec.Privacy.Enabled {
		return "", ""
	}
	rho, err := r.roundRho(spec)
	if err == nil {
		err = r.acct.Check(dp.Task{Job: spec.Job, Rounds: spec.RoundsLeft, RhoPerRound: rho})
	}
	if err != nil {
		return RefuseBudget, err.Error()
	}
	return "", ""
}

// roundRho is the zCDP cost of one round of spec to this site.
func (r *SecureRunner) roundRho(spec *secagg.RoundSpec) (float64, error) {
	return dp.RoundRho(spec.Privacy.NoiseMultiplier, spec.Context.Params.Threshold, r.cfg.Privacy.AssumedColluders, true)
}

// current returns the site's round for task t, or nil.
func (r *SecureRunner) current(t Task) *siteRound {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.round
	if cur == nil || cur.job != t.Job || cur.round != t.Round || cur.attempt != t.Attempt {
		return nil
	}
	return cur
}

// step answers a share-keys, consistency or unmask phase.
func (r *SecureRunner) step(ctx context.Context, t Task, exchange exchangeFunc) error {
	cur := r.current(t)
	if cur == nil {
		return r.refuse(ctx, t, exchange, RefuseNoRound, "no secure round in progress for this task (site restarted?)")
	}
	m, err := secagg.DecodeTyped(t.Payload.Type, t.Payload.Value)
	if err != nil {
		return fmt.Errorf("task %s: %w: %w", t.ID, protocol.ErrMalformed, err)
	}
	reply, err := cur.c.Handle(m)
	if err != nil {
		return r.refuse(ctx, t, exchange, RefuseProtocol, err.Error())
	}
	if reply == nil {
		return nil
	}
	return r.send(ctx, reply, exchange)
}
