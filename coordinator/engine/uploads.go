package engine

import (
	"fmt"
	"time"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fed"
)

// checkUpload finds the task an upload claims and checks that it may
// still be delivered: the job and round attempt are current, the site was
// asked, the task ID and nonce match, nothing was delivered yet and the
// phase is open.
func (e *Engine) checkUpload(site string, m UploadMeta, now time.Time) (*job, *taskState, error) {
	j, ok := e.jobs[m.Job]
	if !ok {
		return nil, nil, fmt.Errorf("site %s: job %q: %w", site, m.Job, fed.ErrNotFound)
	}
	r := j.round
	where := fmt.Sprintf("site %s job %s round %d attempt %d", site, m.Job, m.Round, m.Attempt)
	if j != e.active || r == nil || r.num != m.Round || r.attempt != m.Attempt {
		cur := "none"
		if r != nil {
			cur = fmt.Sprintf("round %d attempt %d", r.num, r.attempt)
		}
		return j, nil, fmt.Errorf("%s: current is %s: %w", where, cur, fed.ErrStale)
	}
	t, ok := r.tasks[site]
	if !ok {
		return j, nil, fmt.Errorf("%s: %w", where, ErrNotInCohort)
	}
	if t.ID != m.TaskID || !equalNonce(t.Nonce, m.Nonce) {
		return j, nil, fmt.Errorf("%s: task %q: %w", where, m.TaskID, fed.ErrBadNonce)
	}
	if t.status == taskAccepted || t.status == taskRejected {
		return j, nil, fmt.Errorf("%s: task already %s: %w", where, t.status, fed.ErrDuplicate)
	}
	if r.phase != PhaseInit && r.phase != PhaseTrain || !now.Before(r.deadline) || t.status == taskDropped {
		return j, nil, fmt.Errorf("%s: phase %s closed: %w", where, r.phase, fed.ErrLate)
	}
	return j, t, nil
}

// ExpectedSpecs returns the tensor specs an upload for the job must have,
// or nil when any specs are acceptable (init).
func (e *Engine) ExpectedSpecs(jobID string) []model.TensorSpec {
	j, ok := e.jobs[jobID]
	if !ok || j.global.Len() == 0 {
		return nil
	}
	return e.shared(j).Specs()
}

// reject records a refused upload: counters, the task's status when the
// refusal concerns its content, and an audit entry. It returns the
// refusal with its reason.
func (e *Engine) reject(site string, m UploadMeta, err error, now time.Time) *Refusal {
	rf := refusal(err)
	e.counters.Rejected[string(rf.Reason)]++
	e.audit(now, EventRejected, m.Job, m.Round, m.Attempt, site, string(rf.Reason), err.Error())
	j, ok := e.jobs[m.Job]
	if !ok || j.round == nil || j.round.num != m.Round || j.round.attempt != m.Attempt {
		return rf
	}
	switch rf.Reason {
	case ReasonShape, ReasonNonFinite, ReasonNormBound, ReasonSamples, ReasonMalformed:
		if t, ok := j.round.tasks[site]; ok && t.status == taskPending && t.ID == m.TaskID && equalNonce(t.Nonce, m.Nonce) {
			t.status, t.reason = taskRejected, string(rf.Reason)
			j.round.rejected[site] = string(rf.Reason)
			e.advance(now)
		}
	}
	return rf
}

// deliver validates an upload's weights and folds them into the round.
// A refusal is recorded (see reject) and returned; the round goes on.
func (e *Engine) deliver(site string, m UploadMeta, w UpdateBody, now time.Time) error {
	j, t, err := e.checkUpload(site, m, now)
	if err == nil {
		err = e.fold(j, t, m, w)
	}
	if err != nil {
		return e.reject(site, m, err, now)
	}
	t.status = taskAccepted
	e.counters.Accepted++
	e.audit(now, EventAccepted, m.Job, m.Round, m.Attempt, site, "", fmt.Sprintf("%d samples", m.NumSamples))
	e.advance(now)
	return nil
}

// fold checks an upload's weights and adds them to the round: the initial
// model, or a site's local model (its shared tensors) into the plain sum.
func (e *Engine) fold(j *job, t *taskState, m UploadMeta, body UpdateBody) error {
	r := j.round
	if t.Kind == fed.KindInit {
		local, err := Materialize(body)
		if err != nil {
			return fmt.Errorf("site %s init: %w", t.Site, err)
		}
		if local.Len() == 0 {
			return fmt.Errorf("site %s init: no tensors: %w", t.Site, model.ErrMissing)
		}
		if err := local.CheckFinite(); err != nil {
			return fmt.Errorf("site %s init: %w", t.Site, err)
		}
		r.initResult = local
		return nil
	}
	if err := ValidateBody(t.Site, e.shared(j), body, m.NumSamples, j.spec.Validation); err != nil {
		return err
	}
	if err := r.plain.AddBody(t.Site, body, float64(m.NumSamples)); err != nil {
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
