package coordinator

import (
	"fmt"
	"strings"
	"time"
)

// Failure is one entry of a job's failure log: what failed, at which site,
// round and stage, and why.
type Failure struct {
	Time    time.Time `json:"time"`
	Site    string    `json:"site,omitempty"`
	Round   int       `json:"round"`
	Attempt int       `json:"attempt"`
	// What names the event: task_failed, update_rejected, site_dropout,
	// call_refused, site_absent, attempt_failed or job_failed.
	What string `json:"what"`
	// Where is the stage at the site, or the coordinator's check.
	Where string `json:"where"`
	// Why is the reason in words.
	Why string `json:"why"`
}

// String formats the failure as one log line.
func (f Failure) String() string {
	site := f.Site
	if site == "" {
		site = "-"
	}
	return fmt.Sprintf("%s site=%s round=%d attempt=%d %s at %s: %s", f.Time.UTC().Format(time.RFC3339), site, f.Round, f.Attempt, f.What, f.Where, f.Why)
}

// failureOf turns an audit entry into a failure, or reports that it is not one.
func failureOf(e AuditEntry) (Failure, bool) {
	f := Failure{Time: e.Time, Site: e.Site, Round: e.Round, Attempt: e.Attempt, What: e.Event}
	switch e.Event {
	case EventTaskFailed:
		f.Where, f.Why = "site stage "+e.Reason, e.Detail
	case EventRejected:
		f.Where, f.Why = "coordinator check "+e.Reason, e.Detail
	case EventDropout:
		f.Where, f.Why = "round membership", joinWhy(e.Reason, e.Detail)
		if e.Phase != "" {
			f.Where = "round phase " + e.Phase
		}
	case EventCallRefused:
		f.Where, f.Why = "coordinator access check", joinWhy(e.Reason, e.Detail)
	case EventAbsent:
		f.Where, f.Why = "cohort selection", e.Reason
	case EventAttempt:
		f.Where, f.Why = "round quorum", e.Detail
	case EventJobEnd:
		if e.Reason != string(JobFailed) {
			return f, false
		}
		f.What, f.Where, f.Why = "job_failed", "job", e.Detail
	default:
		return f, false
	}
	return f, true
}

// FailureLog returns a job's failures in order, for every site or, when
// site is not empty, for that site (and the job-wide entries).
func (c *Coordinator) FailureLog(jobID, site string) ([]Failure, error) {
	entries, err := c.store.AuditLog()
	if err != nil {
		return nil, err
	}
	var out []Failure
	for _, e := range entries {
		if e.Job != jobID {
			continue
		}
		f, ok := failureOf(e)
		if !ok || (site != "" && f.Site != "" && f.Site != site) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// noteAudit keeps each site's most recent failure, for status. It runs on
// the loop goroutine.
func (c *Coordinator) noteAudit(e AuditEntry) {
	c.ops.metrics.audit(e)
	f, ok := failureOf(e)
	if !ok || e.Site == "" {
		return
	}
	c.noteSite(e.Site, fmt.Sprintf("%s: %s at %s: %s", e.Job, f.What, f.Where, oneLine(f.Why)))
}

// noteSite records a site's last error (on the loop goroutine).
func (c *Coordinator) noteSite(site, msg string) {
	if c.ops.lastErr == nil {
		c.ops.lastErr = map[string]siteError{}
	}
	c.ops.lastErr[site] = siteError{at: c.clk.Now(), msg: msg}
}

// siteError is a site's last error.
type siteError struct {
	at  time.Time
	msg string
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// joinWhy is a reason key followed by its detail, when there is one.
func joinWhy(reason, detail string) string {
	if detail == "" {
		return reason
	}
	return reason + ": " + detail
}
