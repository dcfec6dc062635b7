package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/synthfed/synthfed/protocol/fed"
)

// TaskReport is a site's report of how a task ended.
type TaskReport struct {
	// Failed is true when the task failed at the site; Stage says where
	// and Error why.
	Failed bool
	Stage  string
	Error  string
	// Result is the aggregate result of a sample or evaluate task (JSON).
	Result []byte
	// Metrics are the task's scalar measurements.
	Metrics map[string]float64
}

// taskKindOf returns the task kind of a sample or evaluate job.
func taskKindOf(k JobKind) string {
	if k == JobSample {
		return fed.KindSample
	}
	return fed.KindEvaluate
}

// nextJobRound starts the one round of a sample or evaluate job (round 1),
// or ends the job once it is committed.
func (e *Engine) nextJobRound(j *job, now time.Time) bool {
	if j.committed >= 1 {
		e.endJob(j, JobDone, "", now)
		return true
	}
	j.round = newRound(1, 0, now, j.spec.Deadlines.Select.D())
	return true
}

// commitResults closes a sample or evaluate round: its output is the
// sample set ID, or the hash of the evaluate results.
func (e *Engine) commitResults(j *job, r *round, now time.Time) {
	e.setPhase(j, r, PhaseCommit, now)
	out := j.spec.Sample.SetID
	if j.spec.Kind == JobEvaluate {
		out = resultsHash(r.results)
	}
	r.resultHash = out
	sum := RoundSummary{Job: j.spec.ID, Round: r.num, Attempt: r.attempt, Started: r.started, Finished: now,
		Cohort: r.cohort, Rejected: r.rejected, Dropped: r.dropped, SiteMetrics: r.siteMetrics, GlobalHash: out}
	for _, site := range r.cohort {
		if r.tasks[site].status == taskAccepted {
			sum.Accepted = append(sum.Accepted, site)
		}
	}
	e.emit(CommitResults{Job: j.spec.ID, Round: r.num, Output: out, Results: r.results, Summary: sum})
}

// resultsHash is the SHA-256 of the results as one JSON object by site.
func resultsHash(res map[string][]byte) string {
	m := make(map[string]json.RawMessage, len(res))
	for k, v := range res {
		m[k] = v
	}
	b, _ := json.Marshal(m) // valid JSON values, sorted keys
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// report records a site's report of the task m names. A failure drops the
// task with its stage and reason (audited, counted, and the round goes on
// without the site, as for a dropout); a result completes a sample or
// evaluate task. Init and train tasks complete only by upload.
func (e *Engine) report(site string, m UploadMeta, rep TaskReport, now time.Time) error {
	if handled, err := e.reportPhaseFailure(site, m, rep, now); handled {
		return err
	}
	j, t, err := e.checkUpload(site, m, now)
	if err != nil {
		if !rep.Failed {
			return e.reject(site, m, err, now)
		}
		return refusal(err)
	}
	r := j.round
	if rep.Failed {
		t.status, t.reason = taskDropped, "failed at "+rep.Stage+": "+rep.Error
		r.dropped = append(r.dropped, site)
		e.counters.TasksFailed++
		e.audit(now, EventTaskFailed, m.Job, m.Round, m.Attempt, site, rep.Stage, rep.Error)
		e.advance(now)
		return nil
	}
	if t.Kind == fed.KindInit || t.Kind == fed.KindTrain {
		err := fmt.Errorf("site %s task %s: a %s task completes by upload, not report: %w", site, t.ID, t.Kind, fed.ErrMalformed)
		return e.reject(site, m, err, now)
	}
	if r.results == nil {
		r.results = map[string][]byte{}
	}
	r.results[site] = rep.Result
	r.siteMetrics[site] = rep.Metrics
	t.status = taskAccepted
	e.counters.Accepted++
	e.audit(now, EventResult, m.Job, m.Round, m.Attempt, site, "", fmt.Sprintf("%d bytes", len(rep.Result)))
	e.advance(now)
	return nil
}

// reportPhaseFailure handles the failure of a task of a secure phase (the
// sites train inside one): it is audited and counted, and the secure
// round stops waiting for the site. It reports whether the report
// concerned such a task.
func (e *Engine) reportPhaseFailure(site string, m UploadMeta, rep TaskReport, now time.Time) (bool, error) {
	j, ok := e.jobs[m.Job]
	if !rep.Failed || !ok || j != e.active || j.round == nil {
		return false, nil
	}
	r := j.round
	if r.sec == nil || !isSecurePhase(r.phase) || r.num != m.Round || r.attempt != m.Attempt {
		return false, nil
	}
	t, ok := r.phaseTasks[site]
	if !ok || t.ID != m.TaskID || !equalNonce(t.Nonce, m.Nonce) {
		return true, refusal(fmt.Errorf("site %s phase %s: task %q: %w", site, r.phase, m.TaskID, fed.ErrBadNonce))
	}
	e.counters.TasksFailed++
	e.audit(now, EventTaskFailed, m.Job, m.Round, m.Attempt, site, rep.Stage, rep.Error)
	r.sec.siteDown(site, ReasonSiteTaskFailed) // the task_failed entry above says where and why
	e.advance(now)
	return true, nil
}

// cancel stops a pending or running job: its pending tasks are cancelled
// and it ends as failed with the reason "cancelled by <who>".
func (e *Engine) cancel(jobID, who string, now time.Time) error {
	j, ok := e.jobs[jobID]
	if !ok {
		return fmt.Errorf("job %q: %w", jobID, fed.ErrNotFound)
	}
	if j.state == JobDone || j.state == JobFailed {
		return fmt.Errorf("job %s is %s: %w", jobID, j.state, ErrJobEnded)
	}
	msg := "cancelled by " + who
	if e.active == j {
		if j.round != nil {
			e.cancelPending(j.round)
		}
		e.endJob(j, JobFailed, msg, now)
	} else {
		j.state, j.err = JobFailed, msg
		e.audit(now, EventJobEnd, jobID, j.committed, 0, "", string(JobFailed), msg)
		e.emit(JobEnded{Job: jobID, State: JobFailed, Err: msg})
	}
	e.advance(now)
	return nil
}

// SiteTask is one site's task in a job's round in progress.
type SiteTask struct {
	Site    string             `json:"site"`
	State   string             `json:"state"`
	Reason  string             `json:"reason,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// RoundSites returns each cohort site's task state in the job's round in
// progress (nil when none is).
func (e *Engine) RoundSites(jobID string) []SiteTask {
	j, ok := e.jobs[jobID]
	if !ok || j.round == nil {
		return nil
	}
	r := j.round
	out := make([]SiteTask, 0, len(r.cohort))
	for _, site := range r.cohort {
		st := SiteTask{Site: site, State: "selected", Metrics: cloneMetrics(r.siteMetrics[site])}
		if t, ok := r.tasks[site]; ok {
			st.State, st.Reason = t.status.String(), t.reason
			if reason, ok := r.rejected[site]; ok {
				st.Reason = reason
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Site < out[b].Site })
	return out
}

func cloneMetrics(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
