package coordinator

import (
	"fmt"
	"time"
)

// Dropout reasons: the Reason of an EventDropout audit entry and the key
// of Counters.DropoutReasons and of the dropouts metric. The entry's Detail
// says more in words.
const (
	// ReasonDeadlineMissed marks a site that had not answered when its
	// round phase (init, train, run, or a secure-aggregation phase) closed
	// at its deadline; the entry's Phase names the phase.
	ReasonDeadlineMissed = "deadline_missed"
	// ReasonHeartbeatTimeout marks a site silent for heartbeat_timeout.
	ReasonHeartbeatTimeout = "heartbeat_timeout"
	// ReasonGossipFailed marks a site memberlist declared dead or left.
	ReasonGossipFailed = "gossip_failed"
	// ReasonStreamClosed marks a site whose task stream closed (its agent
	// stopped, died or lost its connection) while its session was current.
	ReasonStreamClosed = "task_stream_closed"
	// ReasonCertRevoked marks a site whose certificate was found revoked
	// when it called (see EventCallRefused).
	ReasonCertRevoked = "certificate_revoked"
	// ReasonSiteTaskFailed marks a site that reported a task of a driver
	// phase failed (the task_failed entry beside it says where and why).
	ReasonSiteTaskFailed = "task_failed"
)

// dropout records that site left round r of job j for reason: the round's
// dropped list, the counters and the audit log (with the phase).
func (e *Engine) dropout(j *job, r *round, site, reason, detail string, now time.Time) {
	r.dropped = append(r.dropped, site)
	e.counters.Dropouts++
	e.counters.DropoutReasons[reason]++
	e.emit(Audit{Entry: AuditEntry{Time: now, Event: EventDropout, Job: j.spec.ID, Round: r.num, Attempt: r.attempt,
		Phase: string(shownPhase(j, r.phase)), Site: site, Reason: reason, Detail: detail}})
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
		t.status, t.reason = taskDropped, ReasonDeadlineMissed
		e.dropout(j, r, site, ReasonDeadlineMissed, fmt.Sprintf("no %s result before the phase deadline (%v)", shownPhase(j, r.phase), phaseDeadline(j, r.phase)), now)
		c := t.Task
		c.Cancel = true
		e.emit(SendTask{Task: c})
	}
}
