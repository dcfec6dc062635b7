package engine

import "github.com/synthfed/synthfed/model"

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

// Job returns one job's status.
func (e *Engine) Job(id string) (JobStatus, bool) {
	for _, st := range e.Jobs() {
		if st.ID == id {
			return st, true
		}
	}
	return JobStatus{}, false
}

// Active returns the running job's status (false when none runs).
func (e *Engine) Active() (JobStatus, bool) {
	if e.active == nil {
		return JobStatus{}, false
	}
	return e.Job(e.active.spec.ID)
}

// Counters returns a copy of the running totals.
func (e *Engine) Counters() Counters { return e.counters.clone() }

// Model returns the committed global model (or server EMA) of a job with
// content hash hash, for download. Committed models are never modified.
func (e *Engine) Model(hash string) (model.Weights, bool) {
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
