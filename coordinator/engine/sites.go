package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

type siteState struct {
	id       string
	up       bool
	failed   bool
	lastSeen time.Time
}

func (e *Engine) site(id string) *siteState {
	s, ok := e.sites[id]
	if !ok {
		s = &siteState{id: id}
		e.sites[id] = s
	}
	return s
}

// siteUp records that site joined (or rejoined) at now.
func (e *Engine) siteUp(site string, now time.Time) {
	s := e.site(site)
	if !s.up {
		e.audit(now, EventSiteUp, "", 0, 0, site, "", "")
	}
	s.up, s.failed, s.lastSeen = true, false, now
	e.advance(now)
}

// siteSeen records a heartbeat from site.
func (e *Engine) siteSeen(site string, now time.Time) {
	if s, ok := e.sites[site]; ok && s.up {
		s.lastSeen = now
	}
}

// siteDown marks site failed for reason: its pending task is dropped and
// the round stops waiting for it.
func (e *Engine) siteDown(site string, reason Reason, detail string, now time.Time) {
	s, ok := e.sites[site]
	if !ok || !s.up {
		return
	}
	s.up, s.failed = false, true
	if j := e.active; j != nil && j.round != nil {
		if t, ok := j.round.tasks[site]; ok && t.status == taskPending {
			t.status, t.reason = taskDropped, string(reason)
			e.dropout(j, j.round, site, reason, detail, now)
		}
		if r := j.round; r.sec != nil && isSecurePhase(r.phase) {
			r.sec.siteDown(site, reason) // the secure round stops waiting for it; its dropout is audited
		}
		if r := j.round; r.phase == PhaseSelect && (len(j.spec.Sites) == 0 || slices.Contains(j.spec.Sites, site)) {
			// Between attempts no task is pending, yet the job lost a site:
			// the audit log must show it (found by the soak, issue 17).
			e.audit(now, EventSiteDown, j.spec.ID, r.num, r.attempt, site, string(reason), detail)
		}
	}
	e.advance(now)
}

// refusalQuiet is how often a caller refused again and again for the same
// reason (an agent retrying with a revoked certificate) gets a new audit
// entry; every refusal is counted.
const refusalQuiet = time.Minute

// refusalMark is the last audit entry of one (caller, reason).
type refusalMark struct {
	at      time.Time
	skipped int
}

// isSiteCaller reports whether a refused caller is a site (a bare ID; other
// roles are "role/ID").
func isSiteCaller(who string) bool { return who != "" && !strings.Contains(who, "/") }

// callRefused records a call the access check refused: counted by reason
// in Counters.CallsRefused, audited as EventCallRefused naming the caller
// (in the running job's log when the caller is one of its sites; a caller
// refused again for the same reason gets a new entry at most once a
// minute, which says how many refusals it stands for). A site whose
// certificate is revoked is marked down with ReasonCertRevoked.
func (e *Engine) callRefused(m CallRefused, now time.Time) {
	e.counters.CallsRefused[string(m.Reason)]++
	detail := m.Detail
	key := m.Who + "\x00" + string(m.Reason)
	mark, ok := e.refused[key]
	if ok && now.Sub(mark.at) < refusalQuiet {
		mark.skipped++
	} else {
		if ok && mark.skipped > 0 {
			detail += fmt.Sprintf(" (and %d more refusals since %s)", mark.skipped, mark.at.UTC().Format(time.RFC3339))
		}
		e.refused[key] = &refusalMark{at: now}
		entry := AuditEntry{Time: now, Event: EventCallRefused, Site: m.Who, Reason: string(m.Reason), Detail: detail}
		if j := e.active; j != nil && isSiteCaller(m.Who) && (slices.Contains(j.spec.Sites, m.Who) || j.round != nil && slices.Contains(j.round.cohort, m.Who)) {
			entry.Job = j.spec.ID
			if r := j.round; r != nil {
				entry.Round, entry.Attempt, entry.Phase = r.num, r.attempt, string(shownPhase(j, r.phase))
			} else {
				entry.Round = j.committed + 1
			}
		}
		e.emit(Audit{Entry: entry})
	}
	if m.Reason == ReasonCertRevoked && isSiteCaller(m.Who) {
		e.markRevoked(m.Who, now)
		e.siteDown(m.Who, ReasonCertRevoked, detail, now)
	}
}

// markRevoked marks a revoked site that has not joined since this engine
// started (a coordinator restarted after the revocation) failed, so that
// rounds do not wait for it until their select deadline.
func (e *Engine) markRevoked(site string, now time.Time) {
	if s := e.site(site); !s.up && !s.failed {
		s.failed = true
		e.advance(now)
	}
}

// SiteStatus is what the engine knows of one site.
type SiteStatus struct {
	ID string
	// Up: joined and not failed since; Failed: marked down (gossip,
	// heartbeat timeout...) or absent at a select deadline.
	Up, Failed bool
	LastSeen   time.Time
}

// Sites returns every known site's status, sorted by ID.
func (e *Engine) Sites() []SiteStatus {
	out := make([]SiteStatus, 0, len(e.sites))
	for _, id := range e.sortedSites() {
		s := e.sites[id]
		out = append(out, SiteStatus{ID: id, Up: s.up, Failed: s.failed, LastSeen: s.lastSeen})
	}
	return out
}
