package coordinator

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"time"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// EngineConfig tunes the Engine.
type EngineConfig struct {
	// HeartbeatTimeout marks a site failed when it has not been heard from
	// for this long (0: only SiteDown marks sites failed).
	HeartbeatTimeout time.Duration
	// Aggregator makes each round's aggregator (nil: NewWeightedSum).
	Aggregator AggregatorFactory
}

// Engine is the coordinator's pure state machine: sites, jobs, rounds and
// tasks. It does no I/O and reads no clock: every input carries the time.
// Inputs are its methods; outputs are Effects drained with Ready. It is not
// safe for concurrent use: one goroutine owns it.
type Engine struct {
	cfg      EngineConfig
	rand     io.Reader
	sites    map[string]*siteState
	jobs     map[string]*job
	order    []string
	active   *job
	effects  []Effect
	counters Counters
	refused  map[string]*refusalMark // (caller, reason) -> last audit entry
}

type siteState struct {
	id       string
	up       bool
	failed   bool
	lastSeen time.Time
}

type job struct {
	spec       JobSpec
	state      JobState
	strategy   Strategy
	localOnly  []*regexp.Regexp
	global     model.Weights
	globalHash string
	initial    *model.Weights
	ema        model.Weights // server EMA of the committed globals (empty: none yet)
	emaHash    string
	committed  int
	round      *round
	err        string
}

// NewEngine returns an Engine drawing task nonces from rnd (crypto/rand in
// production, a seeded reader in tests).
func NewEngine(cfg EngineConfig, rnd io.Reader) *Engine {
	if cfg.Aggregator == nil {
		cfg.Aggregator = NewWeightedSum
	}
	return &Engine{cfg: cfg, rand: rnd, sites: map[string]*siteState{}, jobs: map[string]*job{},
		counters: Counters{Rejected: map[string]int64{}, DropoutReasons: map[string]int64{}, CallsRefused: map[string]int64{}}}
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

// Counters returns a copy of the running totals.
func (e *Engine) Counters() Counters { return e.counters.clone() }

// AddBytes adds transfer volumes to the counters.
func (e *Engine) AddBytes(in, out int64) {
	e.counters.BytesIn += in
	e.counters.BytesOut += out
}

// SiteUp records that site joined (or rejoined) at now.
func (e *Engine) SiteUp(site string, now time.Time) {
	s := e.site(site)
	if !s.up {
		e.audit(now, EventSiteUp, "", 0, 0, site, "", "")
	}
	s.up, s.failed, s.lastSeen = true, false, now
	e.advance(now)
}

// SiteSeen records a heartbeat from site.
func (e *Engine) SiteSeen(site string, now time.Time) {
	if s, ok := e.sites[site]; ok && s.up {
		s.lastSeen = now
	}
}

// SiteDown marks site failed for reason (a dropout reason such as
// ReasonGossipFailed): its pending tasks are dropped and rounds stop
// waiting for it.
func (e *Engine) SiteDown(site, reason string, now time.Time) { e.siteDown(site, reason, "", now) }

func (e *Engine) siteDown(site, reason, detail string, now time.Time) {
	s, ok := e.sites[site]
	if !ok || !s.up {
		return
	}
	s.up, s.failed = false, true
	if j := e.active; j != nil && j.round != nil {
		if t, ok := j.round.tasks[site]; ok && t.status == taskPending {
			t.status, t.reason = taskDropped, reason
			e.dropout(j, j.round, site, reason, detail, now)
		}
		if d, ok := j.round.agg.(DropoutAware); ok && isDriverPhase(j.round.phase) {
			d.SiteDown(site, reason) // the driver stops waiting for it; its dropout is audited
		}
	}
	e.advance(now)
}

func (e *Engine) site(id string) *siteState {
	s, ok := e.sites[id]
	if !ok {
		s = &siteState{id: id}
		e.sites[id] = s
	}
	return s
}

// Submit queues a job. initial, when not nil, is the initial model (from a
// checkpoint file); otherwise a site's Trainer.Init makes it in round 0.
func (e *Engine) Submit(spec JobSpec, initial *model.Weights, now time.Time) error {
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
	e.addJob(&job{spec: spec, state: JobPending, strategy: st, localOnly: spec.localOnly(), initial: initial, committed: -1})
	e.advance(now)
	return nil
}

// Resume restores a job whose round committed is durable, with its global
// model and strategy state; it continues at round committed+1. A job that
// keeps a server EMA needs ResumeFrom.
func (e *Engine) Resume(spec JobSpec, committed int, global, state model.Weights, now time.Time) error {
	return e.ResumeFrom(spec, ResumePoint{Committed: committed, Global: global, StrategyState: state}, now)
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

// ResumeFrom restores a job at p; it continues at round p.Committed+1.
func (e *Engine) ResumeFrom(spec JobSpec, p ResumePoint, now time.Time) error {
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
	j := &job{spec: spec, state: JobPending, strategy: st, localOnly: spec.localOnly(),
		global: p.Global, globalHash: p.Global.Hash(), committed: p.Committed}
	if spec.Strategy.EMAOn() && p.Committed >= 1 {
		j.ema, j.emaHash = p.EMA, p.EMA.Hash()
	}
	e.addJob(j)
	e.advance(now)
	return nil
}

func (e *Engine) addJob(j *job) {
	e.jobs[j.spec.ID] = j
	e.order = append(e.order, j.spec.ID)
}

// Committed tells the Engine that the driver made round durable; the job
// moves on.
func (e *Engine) Committed(jobID string, round int, now time.Time) {
	j, ok := e.jobs[jobID]
	if !ok || j.round == nil || j.round.phase != PhaseCommit || j.round.num != round {
		return
	}
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
	if j := e.active; j != nil && j.round != nil && !j.round.deadline.IsZero() && j.round.phase != PhaseCommit {
		set(j.round.deadline)
	}
	return next, !next.IsZero()
}

func (e *Engine) sortedSites() []string {
	ids := make([]string, 0, len(e.sites))
	for id := range e.sites {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// PendingTasks returns the tasks site still owes, for redelivery when its
// task stream reconnects.
func (e *Engine) PendingTasks(site string) []Task {
	j := e.active
	if j == nil || j.round == nil {
		return nil
	}
	r := j.round
	if isDriverPhase(r.phase) {
		if t, ok := r.phaseTasks[site]; ok {
			return []Task{t}
		}
		return nil
	}
	if t, ok := r.tasks[site]; ok && t.status == taskPending && r.phase != PhaseCommit {
		return []Task{t.Task}
	}
	return nil
}

// Global returns the committed global model (or server EMA) of a job with
// hash, for download.
func (e *Engine) Global(hash string) (model.Weights, bool) {
	for _, j := range e.jobs {
		if j.globalHash == hash && j.global.Len() > 0 {
			return j.global, true
		}
		if j.emaHash == hash && j.ema.Len() > 0 {
			return j.ema, true
		}
	}
	return model.Weights{}, false
}

// ExpectedSpecs returns the tensor specs an upload for the task must have,
// or nil when any specs are acceptable (init).
func (e *Engine) ExpectedSpecs(jobID string) []model.TensorSpec {
	j, ok := e.jobs[jobID]
	if !ok || j.global.Len() == 0 {
		return nil
	}
	return e.shared(j).Specs()
}

// shared returns the part of j's global model that is aggregated.
func (e *Engine) shared(j *job) model.Weights {
	if len(j.localOnly) == 0 {
		return j.global
	}
	return j.global.Filter(func(n string) bool { return !isLocal(j.localOnly, n) })
}

// JobStatus summarises one job.
type JobStatus struct {
	ID         string   `json:"id"`
	State      JobState `json:"state"`
	Committed  int      `json:"committed"`
	Rounds     int      `json:"rounds"`
	Round      int      `json:"round"`
	Attempt    int      `json:"attempt"`
	Phase      Phase    `json:"phase,omitempty"`
	GlobalHash string   `json:"global_hash"`
	Err        string   `json:"error,omitempty"`
	// Kind and Model are the job's kind and trainer.
	Kind  JobKind `json:"kind"`
	Model string  `json:"model,omitempty"`
	// Output is the job's output hash: the global model of a train job,
	// the synthetic set of a sample job, the results of an evaluate job.
	Output string `json:"output,omitempty"`
	// EMAOutput is a train job's second output: the hash of the server EMA
	// of its committed global models ("job:<id>#ema"; empty when the job
	// keeps none or has not committed round 1).
	EMAOutput string `json:"ema_output,omitempty"`
}

// Jobs returns every job's status in submission order.
func (e *Engine) Jobs() []JobStatus {
	out := make([]JobStatus, 0, len(e.order))
	for _, id := range e.order {
		j := e.jobs[id]
		st := JobStatus{ID: id, State: j.state, Committed: j.committed, Rounds: j.spec.Rounds, GlobalHash: j.globalHash, Err: j.err,
			Kind: j.spec.Kind, Model: j.spec.Model, Output: j.globalHash, EMAOutput: j.emaHash}
		if r := j.round; r != nil {
			st.Round, st.Attempt, st.Phase = r.num, r.attempt, r.phase
		}
		if j.spec.Kind != JobTrain {
			st.GlobalHash, st.Rounds = "", 1
			if st.Phase == PhaseTrain {
				st.Phase = PhaseRun
			}
		}
		out = append(out, st)
	}
	return out
}

// SiteUpNow reports whether site is up.
func (e *Engine) SiteUpNow(site string) bool {
	s, ok := e.sites[site]
	return ok && s.up
}

// checkUpload finds the task an upload claims and checks that it may
// still be delivered: the job and round attempt are current, the site was
// asked, the task ID and nonce match, nothing was delivered yet and the
// phase is open.
func (e *Engine) checkUpload(site string, m UploadMeta, now time.Time) (*job, *taskState, error) {
	j, ok := e.jobs[m.Job]
	if !ok {
		return nil, nil, fmt.Errorf("site %s: job %q: %w", site, m.Job, protocol.ErrNotFound)
	}
	r := j.round
	where := fmt.Sprintf("site %s job %s round %d attempt %d", site, m.Job, m.Round, m.Attempt)
	if j != e.active || r == nil || r.num != m.Round || r.attempt != m.Attempt {
		cur := "none"
		if r != nil {
			cur = fmt.Sprintf("round %d attempt %d", r.num, r.attempt)
		}
		return j, nil, fmt.Errorf("%s: current is %s: %w", where, cur, protocol.ErrStale)
	}
	t, ok := r.tasks[site]
	if !ok {
		return j, nil, fmt.Errorf("%s: %w", where, ErrNotInCohort)
	}
	if t.ID != m.TaskID || !equalNonce(t.Nonce, m.Nonce) {
		return j, nil, fmt.Errorf("%s: task %q: %w", where, m.TaskID, protocol.ErrBadNonce)
	}
	if t.status == taskAccepted || t.status == taskRejected {
		return j, nil, fmt.Errorf("%s: task already %s: %w", where, t.status, protocol.ErrDuplicate)
	}
	if r.phase != PhaseInit && r.phase != PhaseTrain || !now.Before(r.deadline) || t.status == taskDropped {
		return j, nil, fmt.Errorf("%s: phase %s closed: %w", where, r.phase, protocol.ErrLate)
	}
	return j, t, nil
}

// CheckUpload vets an upload's metadata before its body is received, and
// records a refusal. On success it returns the specs the body must have
// (nil for any).
func (e *Engine) CheckUpload(site string, m UploadMeta, now time.Time) ([]model.TensorSpec, error) {
	j, _, err := e.checkUpload(site, m, now)
	if err != nil {
		e.Reject(site, m, err, now)
		return nil, err
	}
	return e.ExpectedSpecs(j.spec.ID), nil
}

// Reject records a refused upload: counters, the task's status when the
// refusal concerns its content, and an audit entry.
func (e *Engine) Reject(site string, m UploadMeta, err error, now time.Time) {
	reason := ReasonOf(err)
	e.counters.Rejected[reason]++
	e.audit(now, EventRejected, m.Job, m.Round, m.Attempt, site, reason, err.Error())
	j, ok := e.jobs[m.Job]
	if !ok || j.round == nil || j.round.num != m.Round || j.round.attempt != m.Attempt {
		return
	}
	switch reason {
	case ReasonShape, ReasonNonFinite, ReasonNormBound, ReasonSamples, ReasonMalformed:
		if t, ok := j.round.tasks[site]; ok && t.status == taskPending && t.ID == m.TaskID && equalNonce(t.Nonce, m.Nonce) {
			t.status, t.reason = taskRejected, reason
			j.round.rejected[site] = reason
			e.advance(now)
		}
	}
}

// Deliver validates an upload's weights and folds them into the round.
// A refusal is recorded (see Reject) and returned; the round goes on.
func (e *Engine) Deliver(site string, m UploadMeta, w model.Weights, now time.Time) error {
	j, t, err := e.checkUpload(site, m, now)
	if err == nil {
		err = e.fold(j, t, m, w)
	}
	if err != nil {
		e.Reject(site, m, err, now)
		return err
	}
	t.status = taskAccepted
	e.counters.Accepted++
	e.audit(now, EventAccepted, m.Job, m.Round, m.Attempt, site, "", fmt.Sprintf("%d samples", m.NumSamples))
	e.advance(now)
	return nil
}

func equalNonce(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := range a {
		d |= a[i] ^ b[i]
	}
	return d == 0
}

// Exchange routes a phase message from site to the active round's
// aggregator when it implements PhaseHandler.
func (e *Engine) Exchange(site string, msg *fedpb.PhaseMessage, now time.Time) (*fedpb.PhaseMessage, error) {
	m := UploadMeta{Job: msg.GetJobId(), Round: int(msg.GetRound()), Attempt: int(msg.GetAttempt()), Nonce: msg.GetNonce()}
	j, ok := e.jobs[m.Job]
	if !ok || j != e.active || j.round == nil || j.round.num != m.Round || j.round.attempt != m.Attempt {
		return nil, fmt.Errorf("site %s phase %s: job %s round %d attempt %d is not current: %w", site, msg.GetPhase(), m.Job, m.Round, m.Attempt, protocol.ErrStale)
	}
	nonce, ok := j.round.nonces[site]
	if !ok || !equalNonce(nonce, m.Nonce) {
		return nil, fmt.Errorf("site %s phase %s: %w", site, msg.GetPhase(), protocol.ErrBadNonce)
	}
	if msg.GetPhase() != string(j.round.phase) {
		return nil, fmt.Errorf("site %s: phase %q is not open (current %s): %w", site, msg.GetPhase(), j.round.phase, protocol.ErrLate)
	}
	h, ok := j.round.agg.(PhaseHandler)
	if !ok {
		return nil, fmt.Errorf("phase %q: this round's aggregator has no phases: %w", msg.GetPhase(), protocol.ErrNotFound)
	}
	reply, err := h.HandlePhase(site, msg)
	e.advance(now)
	return reply, err
}
