package engine

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/synthfed/synthfed/model"
)

// Config tunes an Engine.
type Config struct {
	// HeartbeatTimeout marks a site failed when it has not been heard from
	// for this long (0: only SiteDown marks sites failed).
	HeartbeatTimeout time.Duration
	// Secure enables secure aggregation (nil: jobs that ask for it fail).
	Secure *SecureConfig
	// Rand is the source of task nonces and secure sessions' salts
	// (crypto/rand in production, a seeded reader in tests). Required.
	Rand io.Reader
	// Float64SumMax is the largest model, in values, whose plain rounds
	// are summed in float64 (0: DefaultFloat64SumMax; negative: none); see
	// WeightedSum.
	Float64SumMax int
}

// Engine is the coordinator's pure state machine: sites, jobs, rounds and
// tasks. It does no I/O, reads no clock, logs nothing and starts no
// goroutine: every input is a Msg given to Step with the time, and every
// output is an Effect drained with Ready. Its state is read through
// methods that return copies. It is not safe for concurrent use: one
// goroutine owns it.
type Engine struct {
	cfg      Config
	sites    map[string]*siteState
	jobs     map[string]*job
	order    []string
	active   *job
	effects  []Effect
	counters Counters
	refused  map[string]*refusalMark // (caller, reason) -> last audit entry
}

type job struct {
	spec       JobSpec
	state      JobState
	strategy   Strategy
	localOnly  model.LocalOnly
	global     model.Weights
	globalHash string
	initial    *model.Weights
	ema        model.Weights // server EMA of the committed globals (empty: none yet)
	emaHash    string
	committed  int
	round      *round
	err        string
}

// New returns an Engine.
func New(cfg Config) *Engine {
	return &Engine{cfg: cfg, sites: map[string]*siteState{}, jobs: map[string]*job{}, refused: map[string]*refusalMark{},
		counters: Counters{Rejected: map[string]int64{}, DropoutReasons: map[string]int64{}, CallsRefused: map[string]int64{}}}
}

// Step applies one input at now and moves the active job as far as the
// inputs so far allow. It returns the refusal of an input the engine does
// not take (a *Refusal for uploads, reports and phase messages; a
// validation error for a job); a refusal that concerns a round is also
// counted and audited.
func (e *Engine) Step(now time.Time, m Msg) error {
	var err error
	switch m := m.(type) {
	case SiteUp:
		e.siteUp(m.Site, now)
	case SiteSeen:
		e.siteSeen(m.Site, now)
	case SiteDown:
		e.siteDown(m.Site, m.Reason, m.Detail, now)
	case CallRefused:
		e.callRefused(m, now)
	case SiteRevoked:
		e.markRevoked(m.Site, now)
	case Submit:
		if err = e.submit(m.Spec, m.Initial); err == nil {
			e.advance(now)
		}
	case Resume:
		if err = e.resume(m.Spec, m.Point); err == nil {
			e.advance(now)
		}
	case Committed:
		e.committed(m.Job, m.Round, now)
	case Cancel:
		err = e.cancel(m.Job, m.By, now)
	case UploadOpened:
		if _, _, err = e.checkUpload(m.Site, m.Meta, now); err != nil {
			err = e.reject(m.Site, m.Meta, err, now)
		}
	case UploadReceived:
		body := m.Body
		if body == nil {
			body = WeightsBody(m.Weights)
		}
		err = e.deliver(m.Site, m.Meta, body, now)
	case UploadFailed:
		e.reject(m.Site, m.Meta, m.Err, now)
	case TaskReported:
		err = e.report(m.Site, m.Meta, m.Report, now)
	case PhaseMessage:
		err = e.phaseMessage(m, now)
	case Unmasked:
		e.unmasked(m, now)
	case BytesMoved:
		e.counters.BytesIn += m.In
		e.counters.BytesOut += m.Out
	default:
		return fmt.Errorf("engine: unknown input %T", m)
	}
	return err
}

// Tick handles deadlines and heartbeat timeouts due at now.
func (e *Engine) Tick(now time.Time) {
	if e.cfg.HeartbeatTimeout > 0 {
		for _, id := range e.sortedSites() {
			s := e.sites[id]
			if s.up && now.Sub(s.lastSeen) > e.cfg.HeartbeatTimeout {
				e.siteDown(id, ReasonHeartbeatTimeout, fmt.Sprintf("no heartbeat for %v", e.cfg.HeartbeatTimeout), now)
			}
		}
	}
	e.advance(now)
}

// Ready returns and clears the pending effects.
func (e *Engine) Ready() []Effect {
	out := e.effects
	e.effects = nil
	return out
}

func (e *Engine) emit(ef Effect) { e.effects = append(e.effects, ef) }

func (e *Engine) audit(now time.Time, event, jobID string, round, attempt int, site, reason, detail string) {
	e.emit(Audit{Entry: AuditEntry{Time: now, Event: event, Job: jobID, Round: round, Attempt: attempt, Site: site, Reason: reason, Detail: detail}})
}

// NextDeadline returns the next time Tick has something to do.
func (e *Engine) NextDeadline() (time.Time, bool) {
	var next time.Time
	set := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if e.cfg.HeartbeatTimeout > 0 {
		for _, s := range e.sites {
			if s.up {
				set(s.lastSeen.Add(e.cfg.HeartbeatTimeout + time.Millisecond))
			}
		}
	}
	if j := e.active; j != nil && j.round != nil && !j.round.deadline.IsZero() && j.round.waiting() == "" {
		set(j.round.deadline)
	}
	return next, !next.IsZero()
}

// submit queues a job. initial, when not nil, is the initial model (from a
// checkpoint file); otherwise a site's Trainer.Init makes it in round 0.
func (e *Engine) submit(spec JobSpec, initial *model.Weights) error {
	if err := spec.Validate("job"); err != nil {
		return err
	}
	if _, ok := e.jobs[spec.ID]; ok {
		return fmt.Errorf("job %s: %w", spec.ID, ErrJobExists)
	}
	st, err := NewStrategy(spec.Strategy)
	if err != nil {
		return err
	}
	if initial != nil {
		if err := initial.CheckFinite(); err != nil {
			return fmt.Errorf("job %s initial model: %w", spec.ID, err)
		}
	}
	lo, err := model.CompileLocalOnly(spec.Strategy.LocalOnly)
	if err != nil {
		return err // Validate compiled them
	}
	e.addJob(&job{spec: spec, state: JobPending, strategy: st, localOnly: lo, initial: initial, committed: -1})
	return nil
}

// ResumePoint is the durable state of a job's last committed round.
type ResumePoint struct {
	// Committed is the round; Global its global model.
	Committed int
	Global    model.Weights
	// StrategyState is the strategy's checkpointed state (empty if none).
	StrategyState model.Weights
	// EMA is the server EMA of rounds 1..Committed (empty when the job
	// keeps none or Committed is 0).
	EMA model.Weights
}

// resume restores a job at p; it continues at round p.Committed+1.
func (e *Engine) resume(spec JobSpec, p ResumePoint) error {
	if _, ok := e.jobs[spec.ID]; ok {
		return fmt.Errorf("job %s: %w", spec.ID, ErrJobExists)
	}
	st, err := NewStrategy(spec.Strategy)
	if err != nil {
		return err
	}
	if err := st.Restore(p.StrategyState); err != nil {
		return fmt.Errorf("job %s: %w", spec.ID, err)
	}
	if err := checkResumedEMA(spec, p); err != nil {
		return err
	}
	lo, err := model.CompileLocalOnly(spec.Strategy.LocalOnly)
	if err != nil {
		return fmt.Errorf("job %s: %w", spec.ID, err)
	}
	j := &job{spec: spec, state: JobPending, strategy: st, localOnly: lo,
		global: p.Global, globalHash: p.Global.Hash(), committed: p.Committed}
	if spec.Strategy.EMAOn() && p.Committed >= 1 {
		j.ema, j.emaHash = p.EMA, p.EMA.Hash()
	}
	e.addJob(j)
	return nil
}

func (e *Engine) addJob(j *job) {
	e.jobs[j.spec.ID] = j
	e.order = append(e.order, j.spec.ID)
}

// committed is the driver's word that round of jobID is durable; the job
// moves on.
func (e *Engine) committed(jobID string, round int, now time.Time) {
	j, ok := e.jobs[jobID]
	if !ok || j.round == nil || j.round.phase != PhaseCommit || j.round.num != round {
		return
	}
	e.endPhase(j, j.round, now)
	j.global, j.globalHash = j.round.result, j.round.resultHash
	if j.round.ema.Len() > 0 {
		j.ema, j.emaHash = j.round.ema, j.round.emaHash
	}
	j.committed = round
	j.round = nil
	e.counters.RoundsCommitted++
	e.audit(now, EventCommitted, jobID, round, 0, "", "", j.globalHash)
	e.advance(now)
}

func (e *Engine) sortedSites() []string {
	ids := make([]string, 0, len(e.sites))
	for id := range e.sites {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// shared returns the part of j's global model that is aggregated.
func (e *Engine) shared(j *job) model.Weights { return j.localOnly.Shared(j.global) }
