package engine

import (
	"fmt"
	"time"
)

// dropout records that site left round r of job j for reason: the round's
// dropped list, the counters and the audit log (with the phase).
func (e *Engine) dropout(j *job, r *round, site string, reason Reason, detail string, now time.Time) {
	r.dropped = append(r.dropped, site)
	e.counters.Dropouts++
	e.counters.DropoutReasons[string(reason)]++
	e.emit(Audit{Entry: AuditEntry{Time: now, Event: EventDropout, Job: j.spec.ID, Round: r.num, Attempt: r.attempt,
		Phase: string(shownPhase(j, r.phase)), Site: site, Reason: string(reason), Detail: detail}})
}

// shownPhase is the phase as JobStatus shows it: the collection phase of a
// sample or evaluate job is "run".
func shownPhase(j *job, p Phase) Phase {
	if j.spec.Kind != JobTrain && p == PhaseTrain {
		return PhaseRun
	}
	return p
}

// phaseDeadline is how long phase p of j's rounds may take.
func phaseDeadline(j *job, p Phase) time.Duration {
	if p == PhaseInit {
		return j.spec.Deadlines.Init.D()
	}
	return j.spec.Deadlines.Train.D()
}

// dropLate drops every task of r still pending when its collection phase
// (init, train, run) closes at the deadline: each is a dropout for
// ReasonDeadlineMissed, and its site is told to stop.
func (e *Engine) dropLate(j *job, r *round, now time.Time) {
	for _, site := range r.cohort {
		t := r.tasks[site]
		if t == nil || t.status != taskPending {
			continue
		}
		t.status, t.reason = taskDropped, string(ReasonDeadlineMissed)
		e.dropout(j, r, site, ReasonDeadlineMissed, fmt.Sprintf("no %s result before the phase deadline (%v)", shownPhase(j, r.phase), phaseDeadline(j, r.phase)), now)
		c := t.Task
		c.Cancel = true
		e.emit(SendTask{Task: c})
	}
}
