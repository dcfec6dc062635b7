package engine

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/synthfed/synthfed/model"
)

// Phase is the stage of a round attempt.
type Phase string

// Round phases. A round runs PhaseSelect, then PhaseInit (round 0 only),
// PhaseTrain (plain aggregation; shown as PhaseRun for sample and evaluate
// jobs) or the five secure phases (secure.go), then PhaseCommit until the
// driver has made it durable.
const (
	PhaseSelect Phase = "select"
	PhaseInit   Phase = "init"
	PhaseTrain  Phase = "train"
	PhaseCommit Phase = "commit"
	// PhaseRun is how JobStatus shows the collection phase of a sample or
	// evaluate job (the engine runs it as its train phase: the same
	// deadline, quorum, dropouts and retries).
	PhaseRun Phase = "run"
)

// round is one attempt at one round of the active job.
type round struct {
	num, attempt int
	phase        Phase
	started      time.Time
	phaseStart   time.Time
	deadline     time.Time
	cohort       []string
	tasks        map[string]*taskState
	nonces       map[string][]byte
	plain        *WeightedSum // a plain train round's sum of local models
	sec          *secureRound // a secure round (nil: plain)
	phaseTasks   map[string]Task
	initResult   model.Weights
	metricSums   map[string]float64
	siteMetrics  map[string]map[string]float64
	samples      int64
	rejected     map[string]string
	dropped      []string
	result       model.Weights
	resultHash   string
	ema          model.Weights // the job's server EMA after this round (train, r >= 1)
	emaHash      string
	results      map[string][]byte // site -> result of a sample or evaluate task
}

func newRound(num, attempt int, now time.Time, selectFor time.Duration) *round {
	return &round{num: num, attempt: attempt, phase: PhaseSelect, started: now, phaseStart: now, deadline: now.Add(selectFor),
		tasks: map[string]*taskState{}, nonces: map[string][]byte{}, metricSums: map[string]float64{}, siteMetrics: map[string]map[string]float64{},
		rejected: map[string]string{}}
}

// waiting names what the round waits for from the driver ("" for nothing:
// it waits for sites or its deadline).
func (r *round) waiting() string {
	switch {
	case r.phase == PhaseCommit:
		return "commit"
	case r.sec != nil && r.sec.unmasking != nil:
		return "unmask"
	}
	return ""
}

// advance moves the active job forward as far as the inputs so far allow.
func (e *Engine) advance(now time.Time) {
	for i := 0; i < 1000 && e.step(now); i++ {
	}
}

// step makes one transition and reports whether it did.
func (e *Engine) step(now time.Time) bool {
	j := e.active
	if j == nil {
		return e.startNextJob(now)
	}
	r := j.round
	switch {
	case r == nil:
		return e.nextRound(j, now)
	case r.waiting() != "":
		return false // waits for Committed or Unmasked
	case r.phase == PhaseSelect:
		return e.stepSelect(j, r, now)
	case r.phase == PhaseInit || r.phase == PhaseTrain:
		return e.stepCollect(j, r, now)
	}
	return e.stepSecure(j, r, now)
}

func (e *Engine) startNextJob(now time.Time) bool {
	for _, id := range e.order {
		j := e.jobs[id]
		if j.state == JobPending {
			j.state = JobRunning
			e.active = j
			e.audit(now, EventJobStart, id, j.committed+1, 0, "", "", j.spec.String())
			return true
		}
	}
	return false
}

// nextRound starts the round after the last committed one, or ends the job.
func (e *Engine) nextRound(j *job, now time.Time) bool {
	if j.spec.Kind != JobTrain {
		return e.nextJobRound(j, now)
	}
	switch {
	case j.committed < 0 && j.initial != nil:
		r := newRound(0, 0, now, 0)
		e.commit(j, r, *j.initial, now)
		j.round = r
		return true
	case j.committed >= j.spec.Rounds:
		e.endJob(j, JobDone, "", now)
		return true
	}
	j.round = newRound(j.committed+1, 0, now, j.spec.Deadlines.Select.D())
	return true
}

func (e *Engine) endJob(j *job, st JobState, msg string, now time.Time) {
	if j.round != nil {
		e.endPhase(j, j.round, now)
	}
	j.state, j.err, j.round = st, msg, nil
	e.active = nil
	e.audit(now, EventJobEnd, j.spec.ID, j.committed, 0, "", string(st), msg)
	e.emit(JobEnded{Job: j.spec.ID, State: st, Err: msg})
}

// setPhase moves r to phase p at now, reporting how long the phase before
// took.
func (e *Engine) setPhase(j *job, r *round, p Phase, now time.Time) {
	e.endPhase(j, r, now)
	r.phase, r.phaseStart = p, now
}

// endPhase reports the duration of r's current phase (PhaseTimed).
func (e *Engine) endPhase(j *job, r *round, now time.Time) {
	if d := now.Sub(r.phaseStart); d > 0 {
		e.emit(PhaseTimed{Job: j.spec.ID, Round: r.num, Attempt: r.attempt, Phase: shownPhase(j, r.phase), Seconds: d.Seconds()})
	}
	r.phaseStart = now
}

// eligible returns the sites the job may use that are up, sorted, and how
// many it should wait for: every listed site not known to have failed.
func (e *Engine) eligible(j *job) (up []string, target int) {
	if len(j.spec.Sites) == 0 {
		for _, id := range e.sortedSites() {
			if e.sites[id].up {
				up = append(up, id)
			}
		}
		return up, max(j.spec.Quorum, min(j.spec.CohortSize, len(up)))
	}
	for _, id := range j.spec.Sites {
		s, ok := e.sites[id]
		if ok && s.up {
			up = append(up, id)
		}
		if !ok || !s.failed {
			target++
		}
	}
	sort.Strings(up)
	return up, target
}

func (e *Engine) stepSelect(j *job, r *round, now time.Time) bool {
	up, target := e.eligible(j)
	need := j.spec.Quorum
	if r.num == 0 {
		need, target = 1, 1
		if j.spec.Init.Site != "" {
			up = filter(up, j.spec.Init.Site)
		}
	}
	due := !now.Before(r.deadline)
	if len(up) < max(target, need) && !(due && len(up) >= need) {
		if due {
			e.failAttempt(j, r, fmt.Sprintf("%d of %d needed sites available at the select deadline", len(up), need), now)
		}
		return due
	}
	if len(up) < target {
		e.markAbsent(j, r, up, now)
	}
	r.cohort = e.selectCohort(j, r, up)
	if err := e.openRound(j, r, now); err != nil {
		e.endJob(j, JobFailed, err.Error(), now)
	}
	return true
}

// markAbsent marks listed sites that missed the select deadline as failed,
// so later rounds stop waiting for them until they join.
func (e *Engine) markAbsent(j *job, r *round, up []string, now time.Time) {
	for _, id := range j.spec.Sites {
		if i := sort.SearchStrings(up, id); i < len(up) && up[i] == id {
			continue
		}
		s := e.site(id)
		if !s.failed {
			s.failed = true
			e.audit(now, EventAbsent, j.spec.ID, r.num, r.attempt, id, "absent at the select deadline", "")
		}
	}
}

func filter(ids []string, keep string) []string {
	for _, id := range ids {
		if id == keep {
			return []string{id}
		}
	}
	return nil
}

// selectCohort picks the round's sites: the first available site for init,
// otherwise all available, or CohortSize of them drawn with a generator
// seeded by the job seed, round and attempt (reproducible).
func (e *Engine) selectCohort(j *job, r *round, up []string) []string {
	if r.num == 0 {
		return up[:1]
	}
	n := j.spec.CohortSize
	if n == 0 || n >= len(up) {
		return append([]string(nil), up...)
	}
	rng := rand.New(rand.NewPCG(uint64(j.spec.Seed), uint64(r.num)<<16|uint64(r.attempt)))
	perm := append([]string(nil), up...)
	rng.Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
	c := perm[:n]
	sort.Strings(c)
	return c
}

// openRound starts the selected cohort's work: the init task, the sample
// or evaluate tasks, the plain train tasks, or a secure round's first phase.
func (e *Engine) openRound(j *job, r *round, now time.Time) error {
	if err := e.drawNonces(r); err != nil {
		return err
	}
	switch {
	case j.spec.Kind != JobTrain:
		e.setPhase(j, r, PhaseTrain, now)
		r.deadline = now.Add(j.spec.Deadlines.Train.D())
		e.sendCollectTasks(j, r)
		return nil
	case r.num == 0:
		e.setPhase(j, r, PhaseInit, now)
		r.deadline = now.Add(j.spec.Deadlines.Init.D())
		e.sendCollectTasks(j, r)
		return nil
	}
	secure, err := e.secureRound(j, r, now)
	if err != nil || secure {
		return err
	}
	plain, err := NewWeightedSum(e.shared(j), e.cfg.Float64SumMax)
	if err != nil {
		return fmt.Errorf("job %s round %d: %w", j.spec.ID, r.num, err)
	}
	r.plain = plain
	e.setPhase(j, r, PhaseTrain, now)
	r.deadline = now.Add(j.spec.Deadlines.Train.D())
	e.sendCollectTasks(j, r)
	return nil
}

// stepCollect closes the collection phase when every task is settled or
// the deadline has passed, or fails the attempt when the quorum is out of
// reach.
func (e *Engine) stepCollect(j *job, r *round, now time.Time) bool {
	accepted, pending := 0, 0
	for _, t := range r.tasks {
		switch t.status {
		case taskAccepted:
			accepted++
		case taskPending:
			pending++
		}
	}
	need := j.spec.Quorum
	if r.phase == PhaseInit {
		need = 1
	}
	due := !now.Before(r.deadline)
	if due && pending > 0 {
		e.dropLate(j, r, now) // every site still pending missed the deadline
	}
	switch {
	case !due && accepted+pending < need:
		e.failAttempt(j, r, fmt.Sprintf("%d accepted, %d pending: quorum %d out of reach", accepted, pending, need), now)
	case pending > 0 && !due:
		return false
	case accepted < need:
		e.failAttempt(j, r, fmt.Sprintf("deadline passed with %d of %d needed updates", accepted, need), now)
	default:
		e.finish(j, r, now)
	}
	return true
}

// finish turns a round's collected work into its output: the initial
// model, a sample or evaluate job's results, or the next global model
// (the strategy applied to the mean of the sites' local models).
func (e *Engine) finish(j *job, r *round, now time.Time) {
	e.cancelPending(r)
	if j.spec.Kind != JobTrain {
		e.commitResults(j, r, now)
		return
	}
	if r.phase == PhaseInit {
		e.commit(j, r, r.initResult, now)
		return
	}
	var mean model.Weights
	var err error
	if r.sec != nil {
		mean, err = r.sec.meanModel()
	} else {
		mean, err = r.plain.Mean()
	}
	var next model.Weights
	if err == nil {
		next, err = j.strategy.Apply(e.shared(j), mean)
	}
	if err != nil {
		e.endJob(j, JobFailed, fmt.Sprintf("round %d aggregation: %v", r.num, err), now)
		return
	}
	global := j.localOnly.Merge(next, j.global)
	if err := e.foldEMA(j, r, global); err != nil {
		e.endJob(j, JobFailed, fmt.Sprintf("round %d server EMA: %v", r.num, err), now)
		return
	}
	e.commit(j, r, global, now)
}

func (e *Engine) commit(j *job, r *round, global model.Weights, now time.Time) {
	e.setPhase(j, r, PhaseCommit, now)
	r.result, r.resultHash = global, global.Hash()
	sum := RoundSummary{Job: j.spec.ID, Round: r.num, Attempt: r.attempt, Started: r.started, Finished: now,
		Cohort: r.cohort, Rejected: r.rejected, Dropped: r.dropped, SiteMetrics: r.siteMetrics,
		NumSamples: r.samples, GlobalHash: r.resultHash, EMAHash: r.emaHash, Metrics: map[string]float64{}}
	for _, site := range r.cohort {
		if r.tasks[site].status == taskAccepted {
			sum.Accepted = append(sum.Accepted, site)
		}
	}
	for k, v := range r.metricSums {
		sum.Metrics[k] = v / float64(max(r.samples, 1))
	}
	e.emit(CommitRound{Job: j.spec.ID, Round: r.num, Global: global, Hash: r.resultHash, StrategyState: j.strategy.State(),
		EMA: r.ema, EMAHash: r.emaHash, Summary: sum})
}

// failAttempt records a failed attempt and retries the round or fails the job.
func (e *Engine) failAttempt(j *job, r *round, why string, now time.Time) {
	e.counters.AttemptsFailed++
	e.audit(now, EventAttempt, j.spec.ID, r.num, r.attempt, "", "", why)
	e.cancelPending(r)
	if r.attempt+1 >= j.spec.MaxAttempts {
		e.endJob(j, JobFailed, fmt.Sprintf("round %d failed %d attempts; last: %s", r.num, r.attempt+1, why), now)
		return
	}
	e.endPhase(j, r, now)
	j.round = newRound(r.num, r.attempt+1, now, j.spec.Deadlines.Select.D())
}
