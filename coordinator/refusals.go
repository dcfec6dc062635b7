package coordinator

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// refusalQueue bounds the refusals waiting for the loop; more are counted
// as overflow and logged instead of blocking the refused call.
const refusalQueue = 256

// refusalAuditEvery is how often a caller refused again and again for the
// same reason (an agent retrying with a revoked certificate) gets a new
// audit entry; every refusal is counted.
const refusalAuditEvery = time.Minute

// refusalMark is the last audit entry of one (caller, reason).
type refusalMark struct {
	at      time.Time
	skipped int
}

// queueRefusal hands a refusal to the loop without blocking the caller.
func (c *Coordinator) queueRefusal(who, reason, detail string) {
	select {
	case c.refusals <- refusal{who: who, reason: reason, detail: detail}:
	default:
		c.x.refusalOverflow.Add(1)
		c.log.Warn("refused call not audited: queue full", "caller", who, "reason", reason)
	}
}

// drainRefusals records the queued refusals.
func (c *Coordinator) drainRefusals() {
	for {
		select {
		case rf := <-c.refusals:
			c.callRefused(rf)
		default:
			return
		}
	}
}

// callRefused records a refusal on the loop goroutine. A site refused for a
// revoked certificate is also taken out of service: its session ends and
// the round in progress stops waiting for it.
func (c *Coordinator) callRefused(rf refusal) {
	now := c.clk.Now()
	c.engine.CallRefused(rf.who, rf.reason, rf.detail, now)
	if rf.reason != ReasonCertRevoked || !isSiteCaller(rf.who) {
		return
	}
	if s, ok := c.bySite[rf.who]; ok {
		c.closeSession(s)
	}
}

// isSiteCaller reports whether a refused caller is a site (a bare ID; other
// roles are "role/ID").
func isSiteCaller(who string) bool { return who != "" && !strings.Contains(who, "/") }

// CallRefused records a call the access check refused: counted by reason
// in Counters.CallsRefused, audited as EventCallRefused naming the caller
// (in the running job's log when the caller is one of its sites; a caller
// refused again for the same reason gets a new entry at most once a
// minute, which says how many refusals it stands for). A site whose
// certificate is revoked is marked down with ReasonCertRevoked.
func (e *Engine) CallRefused(who, reason, detail string, now time.Time) {
	e.counters.CallsRefused[reason]++
	if e.refused == nil {
		e.refused = map[string]*refusalMark{}
	}
	key := who + "\x00" + reason
	m, ok := e.refused[key]
	if ok && now.Sub(m.at) < refusalAuditEvery {
		m.skipped++
	} else {
		if ok && m.skipped > 0 {
			detail += fmt.Sprintf(" (and %d more refusals since %s)", m.skipped, m.at.UTC().Format(time.RFC3339))
		}
		e.refused[key] = &refusalMark{at: now}
		entry := AuditEntry{Time: now, Event: EventCallRefused, Site: who, Reason: reason, Detail: detail}
		if j := e.active; j != nil && isSiteCaller(who) && (slices.Contains(j.spec.Sites, who) || j.round != nil && slices.Contains(j.round.cohort, who)) {
			entry.Job = j.spec.ID
			if r := j.round; r != nil {
				entry.Round, entry.Attempt, entry.Phase = r.num, r.attempt, string(shownPhase(j, r.phase))
			} else {
				entry.Round = j.committed + 1
			}
		}
		e.emit(Audit{Entry: entry})
	}
	if reason == ReasonCertRevoked && isSiteCaller(who) {
		e.siteDown(who, ReasonCertRevoked, detail, now)
	}
}
