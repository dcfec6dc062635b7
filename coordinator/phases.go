package coordinator

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
)

// PhaseDriver is implemented by aggregators whose rounds need phases besides
// the train upload, such as secure aggregation's key advertisement, key
// sharing, consistency check and unmasking. The Engine runs Phases in
// order. A driver without PhaseTrain collects the sites' updates itself
// (secure aggregation: the sites train inside a driver phase and never
// upload plaintext). At PhaseTrain it sends the train tasks and folds the uploads
// through Add as usual. For any other phase it sends each cohort site a task
// of kind protocol.KindPhase whose extension is Open's payload for it,
// routes the sites' Exchange messages to HandlePhase, and calls Close when
// Pending is empty or the phase's deadline (the job's train deadline) has
// passed. An error from Open or Close fails the round attempt. After the
// last phase the Engine takes Result as usual.
type PhaseDriver interface {
	Aggregator
	PhaseHandler
	// Phases lists the round's phases in order (with or without PhaseTrain).
	Phases() []string
	// Open starts phase for cohort and returns each site's opening payload.
	Open(phase string, cohort []string) (map[string]*anypb.Any, error)
	// Pending lists the sites phase still waits for.
	Pending(phase string) []string
	// Close ends phase.
	Close(phase string) error
}

// DropoutAware is implemented by phase drivers that must hear of sites
// failing mid-round (gossip, heartbeat timeout: the Engine calls SiteDown
// during a driver phase) and that report sites they dropped themselves or
// messages they refused (TakeEvents, drained into the audit log).
type DropoutAware interface {
	// SiteDown tells the driver that site failed for reason.
	SiteDown(site, reason string)
	// TakeEvents returns and clears the driver's events.
	TakeEvents() []DriverEvent
}

// DriverEvent is a phase driver's audit event: a site it dropped from the
// round (a dropout) or a message it refused (a rejection).
type DriverEvent struct {
	Site string
	// Dropped marks a dropout; otherwise the event is a refused message.
	Dropped bool
	// Reason is a short cause (the counters' key); Detail explains it.
	Reason, Detail string
}

// phasesOf returns the phase list of a round whose aggregator is agg.
func phasesOf(agg Aggregator) []string {
	if d, ok := agg.(PhaseDriver); ok {
		return d.Phases()
	}
	return []string{string(PhaseTrain)}
}

// openPhase starts r's current phase: the train tasks, or a driver phase.
func (e *Engine) openPhase(j *job, r *round, now time.Time) error {
	if r.pidx == 0 {
		if err := e.bindRound(j, r); err != nil {
			return err
		}
	}
	name := r.phases[r.pidx]
	r.deadline = now.Add(j.spec.Deadlines.Train.D())
	if name == string(PhaseTrain) {
		r.phase = PhaseTrain
		return e.sendTasks(j, r, nil)
	}
	d, ok := r.agg.(PhaseDriver)
	if !ok {
		return fmt.Errorf("job %s round %d: phase %q without a phase driver", j.spec.ID, r.num, name)
	}
	payloads, err := d.Open(name, r.cohort)
	if err != nil {
		return err
	}
	r.phase = Phase(name)
	return e.sendTasks(j, r, payloads)
}

// stepDriverPhase closes a driver phase once nobody is pending or the
// deadline has passed.
func (e *Engine) stepDriverPhase(j *job, r *round, now time.Time) bool {
	d := r.agg.(PhaseDriver)
	e.driverEvents(j, r, now)
	if len(d.Pending(string(r.phase))) > 0 && now.Before(r.deadline) {
		return false
	}
	err := d.Close(string(r.phase))
	e.driverEvents(j, r, now)
	if err != nil {
		e.failAttempt(j, r, fmt.Sprintf("phase %s: %v", r.phase, err), now)
		return true
	}
	e.driverOutcome(r)
	e.nextPhase(j, r, now)
	return true
}

// nextPhase opens the phase after the current one, or finishes the round.
func (e *Engine) nextPhase(j *job, r *round, now time.Time) {
	if r.phase == PhaseTrain {
		e.cancelPending(r, now)
	}
	if r.phase == PhaseInit || r.pidx+1 >= len(r.phases) {
		e.finish(j, r, now)
		return
	}
	r.pidx++
	if err := e.openPhase(j, r, now); err != nil {
		e.failAttempt(j, r, err.Error(), now)
	}
}

// isDriverPhase reports whether p is an aggregator-defined phase.
func isDriverPhase(p Phase) bool {
	switch p {
	case PhaseSelect, PhaseInit, PhaseTrain, PhaseCommit:
		return false
	}
	return true
}
