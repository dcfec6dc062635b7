package soak

import (
	"testing"
	"time"

	"github.com/synthfed/synthfed/coordinator"
)

var t0 = time.Unix(1_800_000_000, 0)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// goodHistory is a run in which every invariant holds: two jobs, a
// coordinator restart between round 1 and 2 of the second, a killed
// site audited as a dropout, a revocation refused, a corrupt checkpoint
// failing its job, the coordinator's disk full (an error naming it, then
// j3 commits).
func goodHistory() History {
	return History{
		Start: at(0), End: at(200),
		Commits: []Commit{
			{at(5), 0, "j1", 0, "a0"}, {at(10), 0, "j1", 1, "a1"},
			{at(20), 0, "j2", 0, "b0"}, {at(25), 0, "j2", 1, "b1"}, {at(40), 1, "j2", 2, "b2"},
			{at(75), 2, "j3", 0, "c0"}, {at(80), 2, "j3", 1, "c1"},
		},
		Stored: map[string][]StoredRound{
			"j1": {{0, "a0", nil}, {1, "a1", []string{"s0", "s1"}}},
			"j2": {{0, "b0", nil}, {1, "b1", []string{"s0"}}, {2, "b2", []string{"s0", "s1"}}},
			"j3": {{0, "c0", nil}, {1, "c1", []string{"s0", "s1"}}},
		},
		Jobs: []JobOutcome{{ID: "j1", State: "done"}, {ID: "j2", State: "failed", Err: "checkpoint ab12: content hash differs: bad checkpoint"},
			{ID: "j3", State: "done"}},
		DiskErrors: []LogLine{{Time: at(61), Msg: "persist round failed; stopping: write x: no space left on device"}},
		Exits:      []LogLine{{Time: at(61), Msg: "incarnation 2 exited by itself"}},
		Audit: []coordinator.AuditEntry{
			{Time: at(8), Event: coordinator.EventDropout, Site: "s1", Reason: "task_stream_closed"},
			{Time: at(31), Event: coordinator.EventCallRefused, Site: "site/s2", Reason: "revoked"},
		},
		Injected: []Injection{
			{Fault: Fault{Kind: KillAgents, Sites: []int{1}}, Names: []string{"s1"}, Start: at(7), End: at(12)},
			{Fault: Fault{Kind: Revoke, Sites: []int{2}}, Names: []string{"s2"}, Start: at(30), End: at(30)},
			{Fault: Fault{Kind: CorruptCheckpoint}, Start: at(50), End: at(50), Job: "j2", Checkpoint: "ab12"},
			{Fault: Fault{Kind: DiskFull}, Start: at(60), InForce: at(60), End: at(70)},
		},
		Joined:            map[string][]Join{"s1": {{at(6), "j1", 1}}, "s0": {{at(4), "j1", 1}}},
		Rounds:            []RoundCheck{{"j1", 1, true, ""}, {"j2", 1, true, ""}, {"j2", 2, true, ""}, {"j3", 1, true, ""}},
		CoordinatorStarts: []time.Time{at(30)},
	}
}

func TestCheckGoodHistoryHolds(t *testing.T) {
	for _, v := range Check(goodHistory()) {
		if !v.Held {
			t.Errorf("%s broken: %v", v.Name, v.Broken)
		}
	}
}

// TestCheckBrokenHistories: each broken history must break exactly its
// invariant.
func TestCheckBrokenHistories(t *testing.T) {
	for _, tc := range []struct {
		name   string
		index  int
		break_ func(*History)
	}{
		{"fedavg mismatch", 0, func(h *History) { h.Rounds[1].OK = false }},
		{"nothing checked", 0, func(h *History) { h.Rounds = nil }},
		{"round committed twice", 1, func(h *History) { h.Commits = append(h.Commits, Commit{at(41), 2, "j2", 2, "b2x"}) }},
		{"logged commit lost", 1, func(h *History) { h.Stored["j2"] = h.Stored["j2"][:2] }},
		{"stored gap", 1, func(h *History) { h.Stored["j1"][1].Round = 2 }},
		{"hash differs", 1, func(h *History) { h.Stored["j1"][1].Hash = "zz" }},
		{"dropout not audited", 2, func(h *History) { h.Audit = h.Audit[1:] }},
		{"revocation not audited", 2, func(h *History) { h.Audit = h.Audit[:1] }},
		{"corruption not failing its job", 2, func(h *History) { h.Jobs[1] = JobOutcome{ID: "j2", State: "done"} }},
		{"job without end", 3, func(h *History) { h.Jobs = append(h.Jobs, JobOutcome{ID: "j3", State: "running"}) }},
		{"failed without reason", 3, func(h *History) { h.Jobs = append(h.Jobs, JobOutcome{ID: "j3", State: "failed"}) }},
		{"disk full without an error", 4, func(h *History) { h.DiskErrors, h.Commits[5].Time = nil, at(65) }},
		{"no commit after the disk is freed", 4, func(h *History) { h.Commits[5].Time, h.Commits[6].Time = at(140), at(141) }},
		{"process left", 5, func(h *History) { h.Leftover = []string{"pid 42: synthfed site-agent"} }},
	} {
		h := goodHistory()
		tc.break_(&h)
		vs := Check(h)
		for i, v := range vs {
			if v.Held == (i == tc.index) {
				t.Errorf("%s: invariant %d (%s) held=%v", tc.name, i, v.Name, v.Held)
			}
		}
		if Held(vs) {
			t.Errorf("%s: Held", tc.name)
		}
	}
}

// TestInterruptedRunsLastJob: a run stopped by Ctrl-C may leave its last
// job running; no other job may.
func TestInterruptedRunsLastJob(t *testing.T) {
	h := goodHistory()
	h.Jobs = append(h.Jobs, JobOutcome{ID: "j4", State: "running"})
	if Check(h)[3].Held {
		t.Fatal("a running last job held in a run that was not interrupted")
	}
	h.Interrupted = true
	if v := Check(h)[3]; !v.Held {
		t.Fatalf("an interrupted run's last job: %v", v.Broken)
	}
	h.Jobs[0].State = "running"
	if Check(h)[3].Held {
		t.Fatal("an interrupted run's first job running held")
	}
}

// TestAuditNotOwedAfterTheJobEnded: a site whose last round never
// committed because its job failed was in no round after the job's end
// (a false break of the 21:18 rerun: partition of site-009).
func TestAuditNotOwedAfterTheJobEnded(t *testing.T) {
	h := goodHistory()
	h.Joined["s0"] = append(h.Joined["s0"], Join{at(85), "j9", 3})
	h.Audit = append(h.Audit, coordinator.AuditEntry{Time: at(100), Event: coordinator.EventDropout, Site: "s1", Reason: "heartbeat_timeout"})
	h.Injected = append(h.Injected, Injection{Fault: Fault{Kind: Partition, Sites: []int{0}}, Names: []string{"s0"}, Start: at(95), End: at(99)})
	if v := Check(h)[2]; v.Held {
		t.Fatal("s0 was inside j9/3 (never committed, job not ended) and has no audit entry, yet the invariant held")
	}
	h.JobEnds = map[string]time.Time{"j9": at(90)}
	if v := Check(h)[2]; !v.Held {
		t.Fatalf("j9 had ended at 90 s, before the partition at 95 s: %v", v.Broken)
	}
}

func TestAuditNotRequiredWhileCoordinatorSilent(t *testing.T) {
	h := goodHistory()
	h.Injected = append(h.Injected, Injection{Fault: Fault{Kind: Partition, Sites: []int{0}}, Names: []string{"s0"}, Start: at(200), End: at(210)})
	if v := Check(h)[2]; !v.Held {
		t.Fatalf("a fault while nothing ran is required to be audited: %v", v.Broken)
	}
}

// TestAuditOnlyForParticipants: a site killed while in no round (its
// last round committed before the kill) owes no dropout entry; one
// killed inside a round does.
func TestAuditOnlyForParticipants(t *testing.T) {
	h := goodHistory()
	h.Injected = append(h.Injected, Injection{Fault: Fault{Kind: KillAgents, Sites: []int{0}}, Names: []string{"s0"}, Start: at(11), End: at(13)})
	if v := Check(h)[2]; !v.Held {
		t.Fatalf("s0 was in no round at 11 s (j1/1 committed at 10 s): %v", v.Broken)
	}
	h.Joined["s0"] = append(h.Joined["s0"], Join{at(10), "j1", 2})
	if v := Check(h)[2]; v.Held {
		t.Fatal("s0 was inside j1/2 when killed and has no audit entry, yet the invariant held")
	}
}

func TestRecoveries(t *testing.T) {
	got := Recoveries([]time.Time{at(10), at(50)}, []time.Time{at(60), at(5), at(12)})
	if len(got) != 2 || got[0] != 2*time.Second || got[1] != 10*time.Second {
		t.Fatalf("recoveries %v", got)
	}
}

// TestAuditFromWhenTheFaultHeld: a docker kill returns a while after it
// was asked for; a site whose round committed before the kill held (but
// after it was asked for) was in no round when it died and owes no entry.
func TestAuditFromWhenTheFaultHeld(t *testing.T) {
	h := goodHistory()
	h.Joined["s0"] = append(h.Joined["s0"], Join{at(9), "j1", 1})
	h.Injected = append(h.Injected, Injection{Fault: Fault{Kind: KillAgents, Sites: []int{0}}, Names: []string{"s0"}, Start: at(9), InForce: at(11), End: at(13)})
	if v := Check(h)[2]; !v.Held {
		t.Fatalf("s0's round j1/1 committed at 10 s, before the kill held at 11 s: %v", v.Broken)
	}
	h.Injected[len(h.Injected)-1].InForce = time.Time{} // held at once: s0 was inside j1/1
	if v := Check(h)[2]; v.Held {
		t.Fatal("s0 was inside j1/1 when the kill held and has no audit entry, yet the invariant held")
	}
}
