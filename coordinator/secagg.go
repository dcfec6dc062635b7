package coordinator

import (
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// Secure aggregation at the coordinator
//
// SecureAggregation makes the Options.Aggregator of a coordinator that can
// run crypto/secagg. For a job that uses it (JobSpec.SecureAggregation, on
// by default for a coordinator with TLS credentials), a round has no
// plaintext train phase: it runs the five secagg phases below as driver
// phases, the sites train inside the masked-input phase, and the
// coordinator learns only the weighted sum of the sites' updates (local
// weights minus the global ones) and the sum of their weights. Update
// validation that needs plaintext moves to the sites: each refuses a
// non-finite update and clips its L2 norm to the job's max_update_norm (and
// to privacy.clip_norm) before the fixed-point encoding, which clips each
// element at secagg.clip; max_samples caps the declared weight. FedBN's
// local-only tensors never enter the masked vector. The strategy (FedAvg,
// FedProx, FedAdam, FedYogi) then works on the securely averaged model as
// usual. A round completes while at least max(t, quorum) sites survive
// every phase; below that the attempt fails with no output (the audit log
// says why) and is retried up to max_attempts.

// The driver phases of a secure round, in order.
const (
	PhaseSecAdvertise   = "secagg-advertise"
	PhaseSecShareKeys   = "secagg-share-keys"
	PhaseSecInput       = "secagg-masked-input"
	PhaseSecConsistency = "secagg-consistency"
	PhaseSecUnmask      = "secagg-unmask"
)

// securePhases lists the driver phases of a secure round.
var securePhases = []string{PhaseSecAdvertise, PhaseSecShareKeys, PhaseSecInput, PhaseSecConsistency, PhaseSecUnmask}

// SecureConfig enables secure aggregation at a coordinator.
type SecureConfig struct {
	// Verify binds each site's secure-aggregation identity key to the site
	// (crypto/pki Verifier.VerifySiteKey with TLS kits, secagg.PinnedKeys
	// in simulations). Required.
	Verify secagg.IdentityVerifier
	// Default is the choice of jobs that leave secure_aggregation unset.
	Default bool
	// Workers bounds mask-expansion goroutines (0: GOMAXPROCS).
	Workers int
	// Clock, when set, times each phase into the round's metrics
	// ("secagg_<phase>_s").
	Clock clock.Clock
	// Logger receives the rounds' events (nil: discard).
	Logger *slog.Logger
}

// SecureAggregation returns the AggregatorFactory that runs secure
// aggregation for each job that uses it and the plain WeightedSum for the
// others.
func SecureAggregation(cfg SecureConfig) AggregatorFactory {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return func(specs []model.TensorSpec) (Aggregator, error) {
		plain, err := NewWeightedSum(specs)
		if err != nil {
			return nil, err
		}
		return &switchAggregator{cfg: cfg, specs: specs, plain: plain}, nil
	}
}

// RoundInfo is what an aggregator learns of its round before it opens.
type RoundInfo struct {
	Job            JobSpec
	Round, Attempt int
	// Cohort lists the round's sites, sorted.
	Cohort []string
	// Global is the shared part of the current global model (the tensors
	// that are aggregated).
	Global model.Weights
	// Train is each cohort site's local training.
	Train map[string]model.TrainSpec
}

// roundBinder is implemented by aggregators that configure themselves from
// their job and round before the first phase opens.
type roundBinder interface {
	bindRound(info RoundInfo) error
}

// outcomeReporter is implemented by phase drivers that collect the updates
// themselves (no train phase): after their last phase they say which sites
// are in the result, how many samples it covers and the round's metrics.
type outcomeReporter interface {
	outcome() driverOutcome
}

type driverOutcome struct {
	accepted []string
	samples  int64
	metrics  map[string]float64
}

// switchAggregator is a round's aggregator under SecureAggregation: the
// plain WeightedSum until bindRound decides the job uses secure
// aggregation, then the secure round.
type switchAggregator struct {
	cfg   SecureConfig
	specs []model.TensorSpec
	plain Aggregator
	sec   *secureRound
}

func (a *switchAggregator) bindRound(info RoundInfo) error {
	if !info.Job.secure(a.cfg.Default, len(info.Cohort)) {
		if info.Job.Privacy.Enabled {
			return fmt.Errorf("job %s: privacy needs secure aggregation: %w", info.Job.ID, ErrNoSecureAggregation)
		}
		if a.cfg.Default && info.Job.SecureAggregation == nil {
			a.cfg.Logger.Info("plain aggregation: secure aggregation needs a roster of several sites", "job", info.Job.ID,
				"round", info.Round, "mode", info.Job.Mode, "sites", len(info.Cohort))
		}
		return nil
	}
	if a.cfg.Verify == nil {
		return fmt.Errorf("job %s: no identity verifier: %w", info.Job.ID, ErrNoSecureAggregation)
	}
	sec, err := newSecureRound(a.cfg, a.specs, info)
	if err != nil {
		return err
	}
	a.sec = sec
	return nil
}

// Add folds a plaintext update; a secure round refuses it.
func (a *switchAggregator) Add(site string, u model.Weights, weight float64) error {
	if a.sec != nil {
		return fmt.Errorf("site %s: secure round takes no plaintext update: %w", site, ErrNotInCohort)
	}
	return a.plain.Add(site, u, weight)
}

// Count returns the folded updates (the survivors of a secure round).
func (a *switchAggregator) Count() int {
	if a.sec != nil {
		return len(a.sec.survivors)
	}
	return a.plain.Count()
}

// Result returns the weighted mean of the sites' models.
func (a *switchAggregator) Result() (model.Weights, error) {
	if a.sec != nil {
		return a.sec.Result()
	}
	return a.plain.Result()
}

// Phases returns the secure phases, or train alone.
func (a *switchAggregator) Phases() []string {
	if a.sec != nil {
		return securePhases
	}
	return []string{string(PhaseTrain)}
}

// Open starts a secure phase.
func (a *switchAggregator) Open(phase string, cohort []string) (map[string]*anypb.Any, error) {
	if a.sec == nil {
		return nil, fmt.Errorf("phase %s: not a secure round", phase)
	}
	return a.sec.Open(phase, cohort)
}

// Pending lists the sites a secure phase waits for.
func (a *switchAggregator) Pending(phase string) []string {
	if a.sec == nil {
		return nil
	}
	return a.sec.Pending(phase)
}

// Close ends a secure phase.
func (a *switchAggregator) Close(phase string) error {
	if a.sec == nil {
		return nil
	}
	return a.sec.Close(phase)
}

// HandlePhase takes a site's secure-aggregation message.
func (a *switchAggregator) HandlePhase(site string, m *fedpb.PhaseMessage) (*fedpb.PhaseMessage, error) {
	if a.sec == nil {
		return nil, fmt.Errorf("site %s phase %s: not a secure round: %w", site, m.GetPhase(), ErrNotInCohort)
	}
	return a.sec.HandlePhase(site, m)
}

// SiteDown tells a secure round that site failed.
func (a *switchAggregator) SiteDown(site, reason string) {
	if a.sec != nil {
		a.sec.SiteDown(site, reason)
	}
}

// TakeEvents returns the secure round's audit events.
func (a *switchAggregator) TakeEvents() []DriverEvent {
	if a.sec == nil {
		return nil
	}
	return a.sec.TakeEvents()
}

func (a *switchAggregator) outcome() driverOutcome {
	if a.sec == nil {
		return driverOutcome{}
	}
	return a.sec.outcome()
}

// bindRound lets the round's aggregator configure itself from the job and
// round, and re-reads its phases. A job that needs secure aggregation from
// an aggregator that cannot bind (the plain default) fails here.
func (e *Engine) bindRound(j *job, r *round) error {
	b, ok := r.agg.(roundBinder)
	if !ok {
		if (j.spec.SecureAggregation != nil && *j.spec.SecureAggregation) || j.spec.Privacy.Enabled {
			return fmt.Errorf("job %s asks for secure aggregation; run the coordinator with TLS credentials (or pass Options.Aggregator = SecureAggregation(...)): %w",
				j.spec.ID, ErrNoSecureAggregation)
		}
		return nil
	}
	info := RoundInfo{Job: j.spec, Round: r.num, Attempt: r.attempt, Cohort: r.cohort, Global: e.shared(j),
		Train: make(map[string]model.TrainSpec, len(r.cohort))}
	for _, site := range r.cohort {
		info.Train[site] = e.trainSpec(j, r, site)
	}
	if err := b.bindRound(info); err != nil {
		return err
	}
	r.phases = phasesOf(r.agg)
	return nil
}

// driverEvents audits what the round's phase driver reports: sites it
// dropped and messages it refused.
func (e *Engine) driverEvents(j *job, r *round, now time.Time) {
	d, ok := r.agg.(DropoutAware)
	if !ok {
		return
	}
	for _, ev := range d.TakeEvents() {
		if ev.Dropped {
			e.dropout(j, r, ev.Site, ev.Reason, ev.Detail, now)
			continue
		}
		e.counters.Rejected[ev.Reason]++
		e.audit(now, EventRejected, j.spec.ID, r.num, r.attempt, ev.Site, ev.Reason, ev.Detail)
	}
}

// driverOutcome records, after a driver's last phase, which sites its
// result covers, so that the round's summary is as for a train phase.
func (e *Engine) driverOutcome(r *round) {
	rep, ok := r.agg.(outcomeReporter)
	if !ok || r.pidx+1 < len(r.phases) {
		return
	}
	out := rep.outcome()
	if out.accepted == nil {
		return
	}
	in := map[string]bool{}
	for _, s := range out.accepted {
		in[s] = true
	}
	for _, site := range r.cohort {
		if r.tasks[site] != nil {
			continue
		}
		st := taskDropped
		if in[site] {
			st = taskAccepted
		}
		r.tasks[site] = &taskState{Task: Task{Site: site, Phase: string(r.phase)}, status: st}
	}
	r.samples = max(out.samples, 1)
	for k, v := range out.metrics {
		r.metricSums[k] = v * float64(r.samples)
	}
}
