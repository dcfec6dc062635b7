package engine

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/protocol/fed"
)

// Secure aggregation in the engine
//
// A train round of a job that uses secure aggregation (JobSpec.SecureAggregation,
// on by default for a coordinator with TLS credentials) has no plaintext
// train phase: it runs the five phases below, the sites train inside the
// masked-input phase, and the coordinator learns only the weighted sum of
// the sites' deltas (local weights minus the global ones) and the sum of
// their weights. Update validation that needs plaintext moves to the sites:
// each refuses a non-finite delta and clips its L2 norm to the job's
// max_update_norm (and to privacy.clip_norm) before the fixed-point
// encoding, which clips each element at secagg.clip; max_samples caps the
// declared weight. FedBN's local-only tensors never enter the masked
// vector. The strategy (FedAvg, FedProx, FedAdam, FedYogi) then works on
// the mean model (global plus the mean delta) as in a plain round. A
// round completes while at least max(t, quorum) sites survive every phase;
// below that the attempt fails with no output (the audit log says why) and
// is retried up to max_attempts. Every phase's deadline is the job's train
// deadline. Closing the unmask phase recovers the secrets in the engine
// and hands the mask expansion to the driver (the Unmask effect), which
// feeds the result back (Unmasked).

// The phases of a secure round, in order.
const (
	PhaseSecAdvertise   = "secagg-advertise"
	PhaseSecShareKeys   = "secagg-share-keys"
	PhaseSecInput       = "secagg-masked-input"
	PhaseSecConsistency = "secagg-consistency"
	PhaseSecUnmask      = "secagg-unmask"
)

// securePhases lists the phases of a secure round.
var securePhases = []string{PhaseSecAdvertise, PhaseSecShareKeys, PhaseSecInput, PhaseSecConsistency, PhaseSecUnmask}

// isSecurePhase reports whether p is a phase of a secure round.
func isSecurePhase(p Phase) bool { return slices.Contains(securePhases, string(p)) }

// SecureConfig enables secure aggregation in the engine.
type SecureConfig struct {
	// Verify binds each site's secure-aggregation identity key to the site
	// (crypto/pki Verifier.VerifySiteKey with TLS kits, secagg.PinnedKeys
	// in simulations). Required.
	Verify secagg.IdentityVerifier
	// Default is the choice of jobs that leave secure_aggregation unset.
	Default bool
	// Parts makes each round's PartJoiner for payloads of at most limit
	// bytes (nil: NewMemoryJoiner; the coordinator spools them to disk).
	Parts func(limit int) PartJoiner
}

// secureRound decides whether train round r of j aggregates securely and,
// if so, opens its first phase. A job that needs secure aggregation where
// it cannot run gets an error (it fails).
func (e *Engine) secureRound(j *job, r *round, now time.Time) (bool, error) {
	spec := j.spec
	sc := e.cfg.Secure
	if sc == nil {
		if (spec.SecureAggregation != nil && *spec.SecureAggregation) || spec.Privacy.Enabled {
			return false, fmt.Errorf("job %s asks for secure aggregation; run the coordinator with TLS credentials (or give its engine a SecureConfig): %w",
				spec.ID, ErrNoSecureAggregation)
		}
		return false, nil
	}
	if !spec.secure(sc.Default, len(r.cohort)) {
		if spec.Privacy.Enabled {
			return false, fmt.Errorf("job %s: privacy needs secure aggregation: %w", spec.ID, ErrNoSecureAggregation)
		}
		if sc.Default && spec.SecureAggregation == nil {
			e.audit(now, EventPlainRound, spec.ID, r.num, r.attempt, "", "",
				fmt.Sprintf("secure aggregation needs a roster of several sites (mode %q, %d sites)", spec.Mode, len(r.cohort)))
		}
		return false, nil
	}
	if sc.Verify == nil {
		return false, fmt.Errorf("job %s: no identity verifier: %w", spec.ID, ErrNoSecureAggregation)
	}
	var salt [8]byte
	if _, err := io.ReadFull(e.cfg.Rand, salt[:]); err != nil {
		return false, fmt.Errorf("job %s round %d attempt %d: session salt: %w", spec.ID, r.num, r.attempt, err)
	}
	joiner := sc.Parts
	if joiner == nil {
		joiner = NewMemoryJoiner
	}
	sec, err := newSecureRound(sc.Verify, joiner, spec, r.num, r.attempt, r.cohort, e.shared(j), salt)
	if err != nil {
		return false, err
	}
	r.sec = sec
	e.audit(now, EventSecureRound, spec.ID, r.num, r.attempt, "", "", sec.describe())
	return true, e.openSecurePhase(j, r, PhaseSecAdvertise, now)
}

// openSecurePhase opens phase name: every cohort site still in the round
// gets its task with the message that opens the phase for it.
func (e *Engine) openSecurePhase(j *job, r *round, name string, now time.Time) error {
	r.deadline = now.Add(j.spec.Deadlines.Train.D())
	payloads, err := r.sec.open(name, now)
	if err != nil {
		return err
	}
	e.setPhase(j, r, Phase(name), now)
	r.phaseTasks = map[string]Task{}
	for _, site := range r.cohort {
		p, ok := payloads[site]
		if !ok {
			continue
		}
		t := e.newTask(j, r, site, fed.KindPhase)
		t.Payload = p
		if name == PhaseSecInput {
			t.Train, t.LocalOnly = e.trainSpec(j, r, site), j.spec.Strategy.LocalOnly
			if names := r.sec.names; len(names) > 0 {
				t.SecureMetrics, t.SecureMetricBound = names, SecureMetricBound
			}
		}
		r.phaseTasks[site] = t
		e.counters.TasksSent++
		e.emit(SendTask{Task: t})
	}
	return nil
}

// stepSecure closes a secure phase once nobody is pending or the deadline
// has passed, and opens the next one; closing the unmask phase starts the
// unmasking (the Unmask effect) and the round waits for it.
func (e *Engine) stepSecure(j *job, r *round, now time.Time) bool {
	s := r.sec
	e.secureEvents(j, r, now)
	if len(s.pending()) > 0 && now.Before(r.deadline) {
		return false
	}
	work, err := s.close(now)
	e.secureEvents(j, r, now)
	if err != nil {
		e.failAttempt(j, r, fmt.Sprintf("phase %s: %v", r.phase, err), now)
		return true
	}
	if work != nil {
		e.emit(Unmask{Job: j.spec.ID, Round: r.num, Attempt: r.attempt, Work: work})
		return true
	}
	next := securePhases[slices.Index(securePhases, string(r.phase))+1]
	if err := e.openSecurePhase(j, r, next, now); err != nil {
		e.failAttempt(j, r, err.Error(), now)
	}
	return true
}

// unmasked takes the driver's finished unmasking: the round decodes its
// sum and finishes like a plain one.
func (e *Engine) unmasked(m Unmasked, now time.Time) {
	j, ok := e.jobs[m.Job]
	if !ok || j != e.active || j.round == nil || j.round.sec == nil {
		return
	}
	r := j.round
	if r.num != m.Round || r.attempt != m.Attempt || r.sec.unmasking != m.Work {
		return
	}
	err := r.sec.finishUnmask(m.Work)
	e.secureEvents(j, r, now)
	if err != nil {
		e.failAttempt(j, r, fmt.Sprintf("phase %s: %v", r.phase, err), now)
	} else {
		e.secureOutcome(r)
		e.finish(j, r, now)
	}
	e.advance(now)
}

// phaseMessage routes a site's message to the active secure round.
func (e *Engine) phaseMessage(m PhaseMessage, now time.Time) error {
	j, ok := e.jobs[m.Job]
	if !ok || j != e.active || j.round == nil || j.round.num != m.Round || j.round.attempt != m.Attempt {
		return refusal(fmt.Errorf("site %s phase %s: job %s round %d attempt %d is not current: %w", m.Site, m.Phase, m.Job, m.Round, m.Attempt, fed.ErrStale))
	}
	r := j.round
	nonce, ok := r.nonces[m.Site]
	if !ok || !equalNonce(nonce, m.Nonce) {
		return refusal(fmt.Errorf("site %s phase %s: %w", m.Site, m.Phase, fed.ErrBadNonce))
	}
	if w := r.waiting(); w != "" {
		return refusal(fmt.Errorf("site %s: phase %q has closed (the round waits for its %s): %w", m.Site, m.Phase, w, fed.ErrLate))
	}
	if m.Phase != string(r.phase) {
		return refusal(fmt.Errorf("site %s: phase %q is not open (current %s): %w", m.Site, m.Phase, r.phase, fed.ErrLate))
	}
	if r.sec == nil {
		return refusal(fmt.Errorf("phase %q: this round has no phases: %w", m.Phase, fed.ErrNotFound))
	}
	err := r.sec.handle(m.Site, m.Payload)
	e.advance(now)
	if err != nil {
		return &Refusal{Reason: secaggReason(err), Err: err}
	}
	return nil
}

// secureEvents audits what the secure round reports: sites it dropped,
// messages it refused, and its sum.
func (e *Engine) secureEvents(j *job, r *round, now time.Time) {
	for _, ev := range r.sec.takeEvents() {
		switch ev.event {
		case EventDropout:
			e.dropout(j, r, ev.site, ev.reason, ev.detail, now)
		case EventRejected:
			e.counters.Rejected[string(ev.reason)]++
			e.audit(now, EventRejected, j.spec.ID, r.num, r.attempt, ev.site, string(ev.reason), ev.detail)
		default:
			e.audit(now, ev.event, j.spec.ID, r.num, r.attempt, ev.site, string(ev.reason), ev.detail)
		}
	}
}

// secureOutcome records, after the unmasking, which sites the sum covers,
// so that the round's summary is as for a plain train phase.
func (e *Engine) secureOutcome(r *round) {
	s := r.sec
	for _, site := range r.cohort {
		if r.tasks[site] != nil {
			continue
		}
		st := taskDropped
		if slices.Contains(s.survivors, site) {
			st = taskAccepted
		}
		r.tasks[site] = &taskState{Task: Task{Site: site, Phase: string(r.phase)}, status: st}
	}
	r.samples = max(s.samples, 1)
	for k, v := range s.metrics {
		r.metricSums[k] = v * float64(r.samples)
	}
}
