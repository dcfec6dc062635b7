package soak

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/synthfed/synthfed/coordinator"
)

// Verdict is one invariant, held or broken, with its evidence.
type Verdict struct {
	Name   string   `json:"name"`
	Held   bool     `json:"held"`
	Detail string   `json:"detail"`
	Broken []string `json:"broken,omitempty"`
}

// AuditGrace is how long after a fault's window its audit entry may come
// (a dropout is noticed at the phase deadline or heartbeat timeout).
const AuditGrace = 30 * time.Second

// Check evaluates every invariant over h; it is pure.
func Check(h History) []Verdict {
	return []Verdict{checkFedAvg(h), checkRounds(h), checkAudit(h), checkJobs(h), checkDiskFull(h), checkProcesses(h)}
}

// inForce is when the fault took hold.
func (in Injection) inForce() time.Time {
	if in.InForce.IsZero() {
		return in.Start
	}
	return in.InForce
}

// DiskRecovery bounds how soon after a full disk is freed a round must
// commit again.
const DiskRecovery = 60 * time.Second

// checkDiskFull: while the coordinator's disk is full, no round commits
// and every failed write is an error naming the full disk; once space
// returns a round commits within DiskRecovery (the store's integrity is
// checkRounds' and checkFedAvg's).
func checkDiskFull(h History) Verdict {
	var bad []string
	n := 0
	for _, in := range h.Injected {
		if in.Kind != DiskFull || in.Skipped != "" {
			continue
		}
		n++
		from, to := in.inForce(), in.End
		errs, commits := 0, 0
		for _, e := range h.DiskErrors {
			if !e.Time.Before(from) && !e.Time.After(to.Add(5*time.Second)) {
				errs++
			}
		}
		for _, c := range h.Commits {
			if c.Time.After(from.Add(time.Second)) && c.Time.Before(to) {
				commits++
			}
		}
		if commits > 0 && errs == 0 {
			bad = append(bad, fmt.Sprintf("disk full at %v: %d rounds committed and no error named the full disk", in.At, commits))
		}
		if to.Add(DiskRecovery).Before(h.End) && !committedBetween(h, to, to.Add(DiskRecovery)) {
			bad = append(bad, fmt.Sprintf("disk full at %v: no round committed within %v after space returned", in.At, DiskRecovery))
		}
	}
	detail := "no disk-full fault injected"
	if n > 0 {
		detail = fmt.Sprintf("%d disk-full faults; %d errors named the full disk; the coordinator stopped itself %d times", n, len(h.DiskErrors), len(h.Exits))
	}
	return verdict("the coordinator's disk full: a clear error, then commits resume once space returns", detail, bad)
}

func committedBetween(h History, from, to time.Time) bool {
	for _, c := range h.Commits {
		if c.Time.After(from) && c.Time.Before(to) {
			return true
		}
	}
	return false
}

// Held reports whether every verdict held.
func Held(vs []Verdict) bool {
	for _, v := range vs {
		if !v.Held {
			return false
		}
	}
	return true
}

func verdict(name, detail string, broken []string) Verdict {
	return Verdict{Name: name, Held: len(broken) == 0, Detail: detail, Broken: broken}
}

func checkFedAvg(h History) Verdict {
	var bad []string
	for _, r := range h.Rounds {
		if !r.OK {
			bad = append(bad, fmt.Sprintf("%s round %d: %s", r.Job, r.Round, r.Detail))
		}
	}
	if len(h.Rounds) == 0 {
		bad = append(bad, "no committed round to check")
	}
	return verdict("every committed global = FedAvg of exactly its accepted (clipped) updates",
		fmt.Sprintf("%d rounds checked", len(h.Rounds)), bad)
}

// checkRounds: stored rounds are 0..k without gaps or repeats; every
// logged commit is stored with the same hash; no round is logged
// committed twice (across coordinator incarnations).
func checkRounds(h History) Verdict {
	var bad []string
	logged := map[string]Commit{}
	for _, c := range h.Commits {
		k := fmt.Sprintf("%s/%d", c.Job, c.Round)
		if prev, ok := logged[k]; ok {
			bad = append(bad, fmt.Sprintf("%s committed twice (incarnations %d and %d, hashes %.12s %.12s)", k, prev.Incarnation, c.Incarnation, prev.Hash, c.Hash))
		}
		logged[k] = c
	}
	n := 0
	for _, job := range sortedJobs(h.Stored) {
		rs := h.Stored[job]
		for i, r := range rs {
			n++
			if r.Round != i {
				bad = append(bad, fmt.Sprintf("%s: stored round %d at position %d (gap or repeat)", job, r.Round, i))
			}
		}
	}
	stored := map[string]string{}
	for job, rs := range h.Stored {
		for _, r := range rs {
			stored[fmt.Sprintf("%s/%d", job, r.Round)] = r.Hash
		}
	}
	for k, c := range logged {
		if hash, ok := stored[k]; !ok {
			bad = append(bad, fmt.Sprintf("%s logged committed (hash %.12s) but not in the store: lost", k, c.Hash))
		} else if hash != c.Hash {
			bad = append(bad, fmt.Sprintf("%s logged hash %.12s, stored %.12s", k, c.Hash, hash))
		}
	}
	sort.Strings(bad)
	return verdict("no committed round lost or committed twice across coordinator restarts",
		fmt.Sprintf("%d commits logged over %d coordinator restarts, %d rounds stored", len(h.Commits), len(h.CoordinatorStarts), n), bad)
}

// siteEvents are the audit events that record a site missing or refused.
var siteEvents = map[string]bool{coordinator.EventDropout: true, coordinator.EventAbsent: true, coordinator.EventSiteDown: true, coordinator.EventRejected: true,
	coordinator.EventTaskFailed: true, coordinator.EventCallRefused: true, coordinator.EventAttempt: true}

// checkAudit: every injected site fault during which the coordinator was
// auditing at all has an audit entry naming each of its sites within its
// window (plus AuditGrace); a corrupted checkpoint fails its job with a
// reason naming the file.
func checkAudit(h History) Verdict {
	var bad []string
	n := 0
	for _, in := range h.Injected {
		if in.Skipped != "" {
			continue
		}
		from, to := in.Start, in.End.Add(AuditGrace)
		switch {
		case in.Kind == CorruptCheckpoint:
			n++
			if !jobFailedNaming(h, in.Job, in.Checkpoint) {
				bad = append(bad, fmt.Sprintf("%s at %v: job %s did not fail naming checkpoint %.16s", in.Kind, in.At, in.Job, in.Checkpoint))
			}
		case in.Kind.SiteFault():
			if in.Kind != Revoke && !active(h.Audit, from, to) {
				continue
			}
			for _, site := range in.Names {
				if in.Kind != Revoke && !participated(h, site, in.inForce(), in.End) {
					continue // not in a round: nothing to drop out of
				}
				n++
				if !auditedSite(h.Audit, site, from, to, in.Kind == Revoke) {
					bad = append(bad, fmt.Sprintf("%s of %s at %v: no audit entry naming it", in.Kind, site, in.At))
				}
			}
		}
	}
	return verdict("the audit log has an entry for every refusal and dropout injected",
		fmt.Sprintf("%d injected site faults and corruptions matched against %d audit entries", n, len(h.Audit)), bad)
}

// participated reports whether site was inside a secure round at from
// (it joined one that had neither committed nor ended with its job yet)
// or joined one before to.
func participated(h History, site string, from, to time.Time) bool {
	var last *Join
	for i, j := range h.Joined[site] {
		if !j.Time.After(from) {
			last = &h.Joined[site][i]
		} else if !j.Time.After(to) {
			return true
		}
	}
	if last == nil {
		return false
	}
	if end, ok := h.JobEnds[last.Job]; ok && !end.After(from) {
		return false // its job had ended (its round never to commit)
	}
	for _, c := range h.Commits {
		if c.Job == last.Job && c.Round == last.Round && !c.Time.Before(last.Time) && !c.Time.After(from) {
			return false
		}
	}
	return true
}

func active(audit []coordinator.AuditEntry, from, to time.Time) bool {
	for _, e := range audit {
		if !e.Time.Before(from) && !e.Time.After(to) {
			return true
		}
	}
	return false
}

func auditedSite(audit []coordinator.AuditEntry, site string, from, to time.Time, refusal bool) bool {
	for _, e := range audit {
		if e.Time.Before(from) || (!refusal && e.Time.After(to)) || !strings.HasSuffix(e.Site, site) {
			continue
		}
		if refusal && e.Event == coordinator.EventCallRefused || !refusal && siteEvents[e.Event] {
			return true
		}
	}
	return false
}

func jobFailedNaming(h History, job, ckpt string) bool {
	for _, j := range h.Jobs {
		if j.ID == job {
			return j.State == string(coordinator.JobFailed) && strings.Contains(j.Err, ckpt)
		}
	}
	return false
}

func checkJobs(h History) Verdict {
	var bad []string
	done, failed := 0, 0
	note := ""
	for i, j := range h.Jobs {
		switch {
		case j.State == string(coordinator.JobDone):
			done++
		case j.State == string(coordinator.JobFailed) && j.Err != "":
			failed++
		case h.Interrupted && i == len(h.Jobs)-1 && (j.State == string(coordinator.JobRunning) || j.State == string(coordinator.JobPending)):
			note = fmt.Sprintf("; the run was interrupted while job %s ran", j.ID)
		default:
			bad = append(bad, fmt.Sprintf("job %s ended %q (reason %q)", j.ID, j.State, j.Err))
		}
	}
	if len(h.Jobs) == 0 {
		bad = append(bad, "no job submitted")
	}
	return verdict("every job ends completed or failed with a reason",
		fmt.Sprintf("%d jobs: %d done, %d failed with a reason%s", len(h.Jobs), done, failed, note), bad)
}

func checkProcesses(h History) Verdict {
	return verdict("no process left behind", "processes of the run alive after it stopped", h.Leftover)
}

func sortedJobs(m map[string][]StoredRound) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Recoveries returns, for every coordinator restart, the time from its
// start to the first task a site received after it (sorted by start).
func Recoveries(starts, tasks []time.Time) []time.Duration {
	ts := append([]time.Time(nil), tasks...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var out []time.Duration
	for _, s := range starts {
		i := sort.Search(len(ts), func(i int) bool { return !ts[i].Before(s) })
		if i < len(ts) {
			out = append(out, ts[i].Sub(s))
		}
	}
	return out
}
