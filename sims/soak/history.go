package soak

import (
	"time"

	"github.com/synthfed/synthfed/coordinator"
)

// History is everything a run collected, the input of the invariant
// checks. Times are the soak's wall clock (audit entries: the
// coordinator's, on the same machine).
type History struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Commits are the "committed round" lines of every coordinator
	// incarnation, in order.
	Commits []Commit `json:"commits"`
	// Stored are each job's rounds as the coordinator's store holds them
	// at the end.
	Stored map[string][]StoredRound `json:"stored"`
	// Jobs are the jobs submitted and how the store says they ended.
	Jobs []JobOutcome `json:"jobs"`
	// Audit is the coordinator's audit log at the end.
	Audit []coordinator.AuditEntry `json:"-"`
	// Injected are the faults as carried out.
	Injected []Injection `json:"injected"`
	// Rounds are the per-round results of the FedAvg check.
	Rounds []RoundCheck `json:"rounds"`
	// CoordinatorStarts are the start times of every coordinator
	// incarnation after the first; Tasks the times sites received tasks.
	CoordinatorStarts []time.Time `json:"coordinator_starts"`
	CoordinatorKills  []time.Time `json:"coordinator_kills"`
	// CoordinatorListens are when each restarted incarnation listened.
	CoordinatorListens []time.Time `json:"coordinator_listens"`
	// Load are the 1-minute load averages at the start and the end.
	Load  [2]float64  `json:"load"`
	Tasks []time.Time `json:"-"`
	// Joined are the secure rounds each site joined, in order.
	Joined map[string][]Join `json:"-"`
	// JobEnds are when the coordinator logged each job's end.
	JobEnds map[string]time.Time `json:"job_ends,omitempty"`
	// Interrupted says the run was stopped before its end (Ctrl-C): its
	// last job may still have been running.
	Interrupted bool `json:"interrupted,omitempty"`
	// Leftover are processes of the run still alive after it stopped.
	Leftover []string `json:"leftover"`
	// DiskErrors are the coordinator's error lines that name a full disk.
	DiskErrors []LogLine `json:"disk_errors,omitempty"`
	// Exits are the coordinator's exits that the soak did not cause (it
	// stopped itself: the soak restarts it as a service manager would).
	Exits []LogLine `json:"coordinator_exits,omitempty"`
}

// LogLine is one line a member logged, with when the soak read it.
type LogLine struct {
	Time time.Time `json:"time"`
	Msg  string    `json:"msg"`
}

// Commit is one logged round commit.
type Commit struct {
	Time        time.Time `json:"time"`
	Incarnation int       `json:"incarnation"`
	Job         string    `json:"job"`
	Round       int       `json:"round"`
	Hash        string    `json:"hash"`
}

// Join is a site joining a secure round.
type Join struct {
	Time  time.Time
	Job   string
	Round int
}

// StoredRound is one round record of the store.
type StoredRound struct {
	Round    int      `json:"round"`
	Hash     string   `json:"hash"`
	Accepted []string `json:"accepted"`
}

// JobOutcome is a submitted job's end as stored.
type JobOutcome struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Err   string `json:"err,omitempty"`
}

// Injection is a fault as carried out: its window and, for a corrupted
// checkpoint, which job and file.
type Injection struct {
	Fault
	Names []string  `json:"names,omitempty"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// InForce is when the fault took hold (its kill, pause or cut had
	// returned; a docker command takes a while): zero means Start.
	InForce    time.Time `json:"in_force"`
	Job        string    `json:"job,omitempty"`
	Checkpoint string    `json:"checkpoint,omitempty"`
	// Skipped says why the fault could not be applied (no job running...).
	Skipped string `json:"skipped,omitempty"`
}

// RoundCheck is one committed round checked against its accepted updates.
type RoundCheck struct {
	Job   string `json:"job"`
	Round int    `json:"round"`
	OK    bool   `json:"ok"`
	// Detail is the verdict in words (the best relative difference).
	Detail string `json:"detail"`
}
