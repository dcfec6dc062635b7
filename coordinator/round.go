package coordinator

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

// Phase is the stage of a round attempt.
type Phase string

// Round phases. A round runs PhaseSelect, then PhaseInit (round 0 only) or
// PhaseTrain, then PhaseCommit until the driver has made it durable.
const (
	PhaseSelect Phase = "select"
	PhaseInit   Phase = "init"
	PhaseTrain  Phase = "train"
	PhaseCommit Phase = "commit"
)

// round is one attempt at one round of the active job.
type round struct {
	num, attempt int
	phase        Phase
	started      time.Time
	deadline     time.Time
	cohort       []string
	tasks        map[string]*taskState
	nonces       map[string][]byte
	phases       []string
	pidx         int
	phaseTasks   map[string]Task
	agg          Aggregator
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
	return &round{num: num, attempt: attempt, phase: PhaseSelect, started: now, deadline: now.Add(selectFor),
		tasks: map[string]*taskState{}, nonces: map[string][]byte{}, metricSums: map[string]float64{}, siteMetrics: map[string]map[string]float64{},
		rejected: map[string]string{}}
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
	if r == nil {
		return e.nextRound(j, now)
	}
	switch r.phase {
	case PhaseSelect:
		return e.stepSelect(j, r, now)
	case PhaseInit, PhaseTrain:
		return e.stepCollect(j, r, now)
	case PhaseCommit:
		return false // waits for Committed
	}
	return e.stepDriverPhase(j, r, now)
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
	j.state, j.err, j.round = st, msg, nil
	e.active = nil
	e.audit(now, EventJobEnd, j.spec.ID, j.committed, 0, "", string(st), msg)
	e.emit(JobEnded{Job: j.spec.ID, State: st, Err: msg})
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
	if err := e.issueTasks(j, r, now); err != nil {
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

func (e *Engine) issueTasks(j *job, r *round, now time.Time) error {
	for _, site := range r.cohort { // one nonce per site and attempt, for all its phases
		nonce := make([]byte, protocol.NonceLen)
		if _, err := io.ReadFull(e.rand, nonce); err != nil {
			return fmt.Errorf("nonce: %w", err)
		}
		r.nonces[site] = nonce
	}
	if j.spec.Kind != JobTrain {
		return e.issueJobTasks(j, r, now)
	}
	if r.num == 0 {
		r.phase, r.deadline = PhaseInit, now.Add(j.spec.Deadlines.Init.D())
		return e.sendTasks(j, r, nil)
	}
	agg, err := e.cfg.Aggregator(e.shared(j).Specs())
	if err != nil {
		return fmt.Errorf("job %s round %d: %w", j.spec.ID, r.num, err)
	}
	r.agg, r.phases, r.pidx = agg, phasesOf(agg), 0
	return e.openPhase(j, r, now)
}

// sendTasks sends every cohort site the task of r's current phase; driver
// phases send only the sites payloads names.
func (e *Engine) sendTasks(j *job, r *round, payloads map[string]*anypb.Any) error {
	r.phaseTasks = map[string]Task{}
	for _, site := range r.cohort {
		nonce := r.nonces[site]
		t := Task{ID: fmt.Sprintf("%s/r%d/a%d/%s/%s/%x", j.spec.ID, r.num, r.attempt, r.phase, site, nonce[:4]),
			Site: site, Job: j.spec.ID, Round: r.num, Attempt: r.attempt, Nonce: nonce,
			Phase: string(r.phase), Model: j.spec.Model, Deadline: r.deadline, ModelHash: j.globalHash}
		switch r.phase {
		case PhaseInit:
			t.Kind, t.InitSeed, t.ModelHash = protocol.KindInit, j.spec.Seed, ""
		case PhaseTrain:
			t.Kind, t.LocalOnly = protocol.KindTrain, j.spec.Strategy.LocalOnly
			t.Train = e.trainSpec(j, r, site)
		default:
			p, ok := payloads[site]
			if !ok {
				continue
			}
			t.Kind, t.Extension = protocol.KindPhase, p
		}
		if r.phase == PhaseInit || r.phase == PhaseTrain {
			r.tasks[site] = &taskState{Task: t}
		} else {
			r.phaseTasks[site] = t
		}
		e.counters.TasksSent++
		e.emit(SendTask{Task: t})
	}
	return nil
}

// trainSpec is the local training of one site: the job's settings, the
// strategy's adjustments and a seed derived from the job seed, round and
// the site's place in the cohort.
func (e *Engine) trainSpec(j *job, r *round, site string) model.TrainSpec {
	idx := sort.SearchStrings(r.cohort, site)
	s := model.TrainSpec{JobID: j.spec.ID, Round: r.num, LocalSteps: j.spec.Train.LocalSteps,
		LocalEpochs: j.spec.Train.LocalEpochs, BatchSize: j.spec.Train.BatchSize,
		LearningRate: j.spec.Train.LearningRate, Params: j.spec.Train.Params,
		Seed: j.spec.Seed*1_000_003 + int64(r.num)*1009 + int64(idx)}
	j.strategy.ConfigureTrain(&s)
	return s
}

// fold checks an upload's weights and adds them to the round.
func (e *Engine) fold(j *job, t *taskState, m UploadMeta, w model.Weights) error {
	r := j.round
	if t.Kind == protocol.KindInit {
		if w.Len() == 0 {
			return fmt.Errorf("site %s init: no tensors: %w", t.Site, model.ErrMissing)
		}
		if err := w.CheckFinite(); err != nil {
			return fmt.Errorf("site %s init: %w", t.Site, err)
		}
		r.initResult = w
		return nil
	}
	if err := ValidateUpdate(t.Site, e.shared(j), w, m.NumSamples, j.spec.Validation); err != nil {
		return err
	}
	if err := r.agg.Add(t.Site, w, float64(m.NumSamples)); err != nil {
		return err
	}
	r.samples += m.NumSamples
	sm := make(map[string]float64, len(m.Metrics))
	for k, v := range m.Metrics {
		r.metricSums[k] += v * float64(m.NumSamples)
		sm[k] = v
	}
	r.siteMetrics[t.Site] = sm
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
		e.nextPhase(j, r, now)
	}
	return true
}

func (e *Engine) finish(j *job, r *round, now time.Time) {
	e.cancelPending(r, now)
	if j.spec.Kind != JobTrain {
		e.commitResults(j, r, now)
		return
	}
	if r.phase == PhaseInit {
		e.commit(j, r, r.initResult, now)
		return
	}
	mean, err := r.agg.Result()
	var next model.Weights
	if err == nil {
		next, err = j.strategy.Apply(e.shared(j), mean)
	}
	if err != nil {
		e.endJob(j, JobFailed, fmt.Sprintf("round %d aggregation: %v", r.num, err), now)
		return
	}
	global := e.merge(j, next)
	if err := e.foldEMA(j, r, global); err != nil {
		e.endJob(j, JobFailed, fmt.Sprintf("round %d server EMA: %v", r.num, err), now)
		return
	}
	e.commit(j, r, global, now)
}

// merge puts the local-only tensors of the current global back beside the
// new shared ones.
func (e *Engine) merge(j *job, shared model.Weights) model.Weights {
	if len(j.localOnly) == 0 {
		return shared
	}
	ts := append([]model.Tensor(nil), shared.Tensors()...)
	for _, t := range j.global.Tensors() {
		if isLocal(j.localOnly, t.Name) {
			ts = append(ts, t)
		}
	}
	return model.MustWeights(ts...)
}

func (e *Engine) commit(j *job, r *round, global model.Weights, now time.Time) {
	r.phase, r.result, r.resultHash = PhaseCommit, global, global.Hash()
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
	e.cancelPending(r, now)
	if r.attempt+1 >= j.spec.MaxAttempts {
		e.endJob(j, JobFailed, fmt.Sprintf("round %d failed %d attempts; last: %s", r.num, r.attempt+1, why), now)
		return
	}
	j.round = newRound(r.num, r.attempt+1, now, j.spec.Deadlines.Select.D())
}

func (e *Engine) cancelPending(r *round, now time.Time) {
	for _, site := range r.cohort {
		t := r.tasks[site]
		if t != nil && t.status == taskPending {
			t.status, t.reason = taskDropped, "round closed"
			c := t.Task
			c.Cancel = true
			e.emit(SendTask{Task: c})
		}
	}
}
