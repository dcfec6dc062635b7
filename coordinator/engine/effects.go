package engine

import (
	"maps"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
)

// Effect is an action the Engine asks its driver to carry out. The driver
// drains them with Engine.Ready after every input.
type Effect interface{ isEffect() }

// SendTask asks the driver to deliver a task (or a cancellation) to a site.
type SendTask struct{ Task Task }

// CommitRound asks the driver to persist a round's new global model and
// optimiser state, then to step Committed. Round 0 is the initial model.
type CommitRound struct {
	Job           string
	Round         int
	Global        model.Weights
	Hash          string
	StrategyState model.Weights
	// EMA and EMAHash are the job's server EMA after this round (empty
	// when it keeps none, and in round 0).
	EMA     model.Weights
	EMAHash string
	Summary RoundSummary
}

// Audit asks the driver to append an entry to the audit log.
type Audit struct{ Entry AuditEntry }

// CommitResults asks the driver to persist the per-site results of a sample
// or evaluate job's round and its output hash, then to step Committed.
type CommitResults struct {
	Job     string
	Round   int
	Output  string
	Results map[string][]byte
	Summary RoundSummary
}

// JobEnded reports that a job finished or failed.
type JobEnded struct {
	Job   string
	State JobState
	Err   string
}

// Unmask asks the driver to run a secure round's unmasking (Work.Run,
// which expands every mask the sum still holds) away from the engine's
// goroutine, then to step Unmasked with it. The round waits meanwhile.
type Unmask struct {
	Job            string
	Round, Attempt int
	Work           *secagg.Unmasking
}

// PhaseTimed reports how long a round phase took, for the driver's
// metrics; a phase that took no time is not reported.
type PhaseTimed struct {
	Job            string
	Round, Attempt int
	// Phase is the phase as JobStatus shows it (run for the collection
	// phase of sample and evaluate jobs).
	Phase   Phase
	Seconds float64
}

func (SendTask) isEffect()      {}
func (CommitRound) isEffect()   {}
func (CommitResults) isEffect() {}
func (Audit) isEffect()         {}
func (JobEnded) isEffect()      {}
func (Unmask) isEffect()        {}
func (PhaseTimed) isEffect()    {}

// AuditEntry is one line of the audit log: a refusal, a dropout, a failed
// attempt, a commit, a job event.
type AuditEntry struct {
	Time    time.Time `json:"time"`
	Event   string    `json:"event"`
	Job     string    `json:"job,omitempty"`
	Round   int       `json:"round"`
	Attempt int       `json:"attempt"`
	// Phase is the round phase a dropout happened in (empty otherwise).
	Phase  string `json:"phase,omitempty"`
	Site   string `json:"site,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Audit event names.
const (
	EventRejected = "update_rejected"
	EventAccepted = "update_accepted"
	EventDropout  = "site_dropout"
	EventSiteUp   = "site_up"
	EventAbsent   = "site_absent"
	// EventSiteDown records a site of the running job marked down while its
	// round waited for sites (select phase): it held no task to drop out of.
	EventSiteDown  = "site_down"
	EventAttempt   = "attempt_failed"
	EventCommitted = "round_committed"
	EventJobStart  = "job_started"
	EventJobEnd    = "job_ended"
	// EventTaskFailed records a task a site reported failed: Reason is the
	// stage, Detail the error.
	EventTaskFailed = "task_failed"
	// EventResult records a sample or evaluate result accepted from a site.
	EventResult = "result_accepted"
	// EventSecureRound records the opening of a secure round: Detail names
	// its session, sites, threshold and vector length.
	EventSecureRound = "secure_round_opened"
	// EventSecureSum records a secure round's sum: Detail names its
	// survivors, dropped sites and weight sum.
	EventSecureSum = "secure_round_summed"
	// EventPlainRound records a round that aggregates in plain although
	// the coordinator's default is secure aggregation (a roster too small
	// for it, or a local-mode job).
	EventPlainRound = "plain_round"
	// EventCallRefused records a call the coordinator's transport guard
	// refused (a revoked certificate, a role that may not call the
	// method...): Site names the caller from its verified certificate
	// (a site ID, or role/ID for other roles), Reason the cause.
	EventCallRefused = "call_refused"
)

// RoundSummary describes a finished round, for the store and results.
type RoundSummary struct {
	Job      string    `json:"job"`
	Round    int       `json:"round"`
	Attempt  int       `json:"attempt"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Cohort   []string  `json:"cohort"`
	Accepted []string  `json:"accepted"`
	// Rejected maps a site to its refusal reason.
	Rejected map[string]string `json:"rejected,omitempty"`
	Dropped  []string          `json:"dropped,omitempty"`
	// Metrics are the sample-weighted means of the sites' metrics.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// SiteMetrics are each accepted site's metrics.
	SiteMetrics map[string]map[string]float64 `json:"site_metrics,omitempty"`
	NumSamples  int64                         `json:"num_samples"`
	GlobalHash  string                        `json:"global_hash"`
	// EMAHash is the server EMA's hash after this round (empty: none).
	EMAHash string `json:"ema_hash,omitempty"`
}

// Counters are running totals for monitoring.
type Counters struct {
	Accepted int64            `json:"accepted"`
	Rejected map[string]int64 `json:"rejected"`
	Dropouts int64            `json:"dropouts"`
	// DropoutReasons counts the dropouts by reason (ReasonDeadlineMissed...).
	DropoutReasons map[string]int64 `json:"dropout_reasons"`
	// CallsRefused counts calls refused by the transport guard, by reason
	// (certificate_revoked, role_not_allowed, no_identity, permission_denied).
	CallsRefused    map[string]int64 `json:"calls_refused"`
	TasksSent       int64            `json:"tasks_sent"`
	RoundsCommitted int64            `json:"rounds_committed"`
	AttemptsFailed  int64            `json:"attempts_failed"`
	TasksFailed     int64            `json:"tasks_failed"`
	BytesIn         int64            `json:"bytes_in"`
	BytesOut        int64            `json:"bytes_out"`
}

func (c Counters) clone() Counters {
	out := c
	out.Rejected, out.DropoutReasons, out.CallsRefused = maps.Clone(c.Rejected), maps.Clone(c.DropoutReasons), maps.Clone(c.CallsRefused)
	return out
}
