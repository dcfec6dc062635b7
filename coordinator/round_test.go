package coordinator

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

func initW() model.Weights { return model.MustWeights(vec("w", 0, 0)) }

// TestRoundStateMachine drives one job through scripted scenarios with a
// fake time and checks the outcome of each.
func TestRoundStateMachine(t *testing.T) {
	cases := []struct {
		name string
		run  func(h *harness)
	}{
		{"all sites report: fedavg weighted by samples", func(h *harness) {
			h.join("a", "b", "c")
			h.startJob(testSpec(), initW())
			if len(h.tasks) != 3 {
				h.t.Fatalf("tasks %v", h.tasks)
			}
			must(h.t, h.deliver("a", model.MustWeights(vec("w", 1, 2)), 1))
			must(h.t, h.deliver("b", model.MustWeights(vec("w", 3, 4)), 3))
			if len(h.commits) != 1 {
				h.t.Fatal("committed before every site reported or the deadline")
			}
			must(h.t, h.deliver("c", model.MustWeights(vec("w", 0, 0)), 4))
			c := h.commitLast()
			// (1*1 + 3*3 + 4*0)/8 = 1.25, (1*2 + 3*4)/8 = 1.75
			wantData(h.t, c.Global, "w", 1.25, 1.75)
			if c.Round != 1 || len(c.Summary.Accepted) != 3 {
				h.t.Fatalf("round %d accepted %v", c.Round, c.Summary.Accepted)
			}
		}},
		{"deadline with quorum commits without the straggler", func(h *harness) {
			h.join("a", "b", "c")
			h.startJob(testSpec(), initW())
			must(h.t, h.deliver("a", model.MustWeights(vec("w", 1, 1)), 1))
			must(h.t, h.deliver("b", model.MustWeights(vec("w", 3, 3)), 1))
			h.advance(19 * time.Second)
			if len(h.commits) != 1 {
				h.t.Fatal("committed before the deadline")
			}
			old := h.tasks["c"]
			h.advance(time.Second)
			if !h.cancels["c"] {
				h.t.Error("straggler's task not cancelled")
			}
			c := h.commitLast()
			wantData(h.t, c.Global, "w", 2, 2)
			if err := h.e.Deliver("c", metaOf(old, 1), model.MustWeights(vec("w", 9, 9)), h.now); !errors.Is(err, protocol.ErrStale) {
				h.t.Fatalf("late upload after commit: %v", err)
			}
		}},
		{"upload after the deadline before the tick is late", func(h *harness) {
			h.join("a", "b", "c")
			h.startJob(testSpec(), initW())
			h.now = h.now.Add(21 * time.Second)
			err := h.deliver("a", model.MustWeights(vec("w", 1, 1)), 1)
			if !errors.Is(err, protocol.ErrLate) || h.rejections(ReasonLate) != 1 {
				h.t.Fatalf("err %v, late rejections %d", err, h.rejections(ReasonLate))
			}
		}},
		{"dropout: round stops waiting when the quorum still holds", func(h *harness) {
			h.join("a", "b", "c")
			h.startJob(testSpec(), initW())
			must(h.t, h.deliver("a", model.MustWeights(vec("w", 2, 2)), 1))
			must(h.t, h.deliver("b", model.MustWeights(vec("w", 4, 4)), 1))
			h.e.SiteDown("c", "gossip", h.now)
			h.drain()
			c := h.commitLast()
			wantData(h.t, c.Global, "w", 3, 3)
			if len(c.Summary.Dropped) != 1 || h.e.Counters().Dropouts != 1 {
				h.t.Fatalf("dropped %v", c.Summary.Dropped)
			}
			// The next round waits for a and b only: c failed.
			if len(h.tasks) != 3 || h.tasks["a"].Round != 2 || h.tasks["c"].Round != 1 {
				h.t.Fatalf("round 2 tasks %v", h.tasks)
			}
		}},
		{"quorum out of reach fails the attempt and retries", func(h *harness) {
			h.join("a", "b", "c")
			h.startJob(testSpec(), initW())
			h.e.SiteDown("b", "gossip", h.now)
			h.e.SiteDown("c", "gossip", h.now)
			h.drain()
			st := h.e.Jobs()[0]
			if st.Attempt != 1 || st.Phase != PhaseSelect || h.e.Counters().AttemptsFailed != 1 {
				h.t.Fatalf("status %+v", st)
			}
			h.join("b")
			if h.tasks["a"].Attempt != 1 || h.tasks["b"].Attempt != 1 {
				h.t.Fatalf("attempt 1 tasks %v", h.tasks)
			}
		}},
		{"select deadline without quorum fails the job after max attempts", func(h *harness) {
			spec := testSpec()
			spec.MaxAttempts = 2
			h.join("a")
			h.startJob(spec, initW())
			h.advance(10 * time.Second)
			h.advance(10 * time.Second)
			if len(h.ended) != 1 || h.ended[0].State != JobFailed {
				h.t.Fatalf("ended %v", h.ended)
			}
		}},
		{"sites absent at the select deadline are not waited for again", func(h *harness) {
			h.join("a", "b")
			h.startJob(testSpec(), initW())
			if len(h.tasks) != 0 {
				h.t.Fatal("started without c before the select deadline")
			}
			h.advance(10 * time.Second)
			must(h.t, h.deliver("a", initW(), 1))
			must(h.t, h.deliver("b", initW(), 1))
			h.commitLast()
			if h.tasks["a"].Round != 2 {
				h.t.Fatalf("round 2 waits for absent c: %+v", h.e.Jobs())
			}
			h.join("c") // c comes back: it is waited for again
			must(h.t, h.deliver("a", initW(), 1))
			must(h.t, h.deliver("b", initW(), 1))
			h.commitLast()
			if len(h.ended) != 1 {
				h.t.Fatalf("job did not end: %+v", h.e.Jobs())
			}
		}},
		{"stale, duplicate, bad nonce and not-in-cohort are refused and counted", func(h *harness) {
			h.join("a", "b", "c")
			h.startJob(testSpec(), initW())
			ta := h.tasks["a"]
			must(h.t, h.deliver("a", model.MustWeights(vec("w", 1, 1)), 1))
			w := model.MustWeights(vec("w", 1, 1))
			if err := h.deliver("a", w, 1); !errors.Is(err, protocol.ErrDuplicate) {
				h.t.Errorf("duplicate: %v", err)
			}
			bad := metaOf(h.tasks["b"], 1)
			bad.Nonce = append([]byte(nil), bad.Nonce...)
			bad.Nonce[0] ^= 1
			if err := h.e.Deliver("b", bad, w, h.now); !errors.Is(err, protocol.ErrBadNonce) {
				h.t.Errorf("bad nonce: %v", err)
			}
			stale := metaOf(ta, 1)
			stale.Round = 0
			if err := h.e.Deliver("a", stale, w, h.now); !errors.Is(err, protocol.ErrStale) {
				h.t.Errorf("stale: %v", err)
			}
			if err := h.e.Deliver("d", metaOf(ta, 1), w, h.now); !errors.Is(err, ErrNotInCohort) {
				h.t.Errorf("outsider: %v", err)
			}
			h.drain()
			got := h.e.Counters().Rejected
			for _, r := range []string{ReasonDuplicate, ReasonBadNonce, ReasonStale, ReasonNotInCohort} {
				if got[r] != 1 {
					h.t.Errorf("counter %s = %d", r, got[r])
				}
			}
			// b's real task is still open: nonce refusals do not burn it.
			must(h.t, h.deliver("b", w, 1))
		}},
		{"wrong shape, NaN and norm bound are refused while the round completes", func(h *harness) {
			spec := testSpec()
			spec.Sites = []string{"a", "b", "c", "d"}
			spec.Validation.MaxUpdateNorm = 10
			h.join("a", "b", "c", "d")
			h.startJob(spec, initW())
			if err := h.deliver("a", model.MustWeights(vec("w", 1, 2, 3)), 1); !errors.Is(err, model.ErrShape) {
				h.t.Errorf("shape: %v", err)
			}
			if err := h.deliver("b", model.MustWeights(vec("w", float32(math.NaN()), 0)), 1); !errors.Is(err, model.ErrNonFinite) {
				h.t.Errorf("nan: %v", err)
			}
			if err := h.deliver("c", model.MustWeights(vec("w", 100, 0)), 1); !errors.Is(err, ErrNormBound) {
				h.t.Errorf("norm: %v", err)
			}
			if len(h.commits) != 1 {
				h.t.Fatal("round ended early")
			}
			// a, b, c refused and d silent: the quorum of 2 is out of reach.
			if h.e.Counters().AttemptsFailed != 1 {
				h.t.Fatalf("attempt should fail: %+v", h.e.Jobs())
			}
			// Attempt 1: two good updates and one NaN: the round completes.
			must(h.t, h.deliver("a", model.MustWeights(vec("w", 1, 1)), 1))
			if err := h.deliver("b", model.MustWeights(vec("w", float32(math.Inf(1)), 0)), 1); !errors.Is(err, model.ErrNonFinite) {
				h.t.Errorf("inf: %v", err)
			}
			must(h.t, h.deliver("c", model.MustWeights(vec("w", 3, 3)), 1))
			h.e.SiteDown("d", "gone", h.now)
			h.drain()
			c := h.commitLast()
			wantData(h.t, c.Global, "w", 2, 2)
			if c.Summary.Rejected["b"] != ReasonNonFinite {
				h.t.Errorf("summary rejected %v", c.Summary.Rejected)
			}
		}},
		{"init round asks one site for Trainer.Init", func(h *harness) {
			h.join("b", "a")
			spec := testSpec()
			spec.Sites = nil
			spec.Rounds = 1
			must(h.t, h.e.Submit(spec, nil, h.now))
			h.drain()
			ti, ok := h.tasks["a"]
			if !ok || ti.Kind != protocol.KindInit || len(h.tasks) != 1 || ti.InitSeed != spec.Seed {
				h.t.Fatalf("init tasks %v", h.tasks)
			}
			must(h.t, h.deliver("a", model.MustWeights(vec("w", 5, 5)), 0))
			c := h.commitLast()
			if c.Round != 0 {
				h.t.Fatalf("round %d", c.Round)
			}
			if h.tasks["b"].ModelHash != c.Hash || h.tasks["b"].Kind != protocol.KindTrain {
				h.t.Fatalf("round 1 task %+v", h.tasks["b"])
			}
			must(h.t, h.deliver("a", model.MustWeights(vec("w", 1, 1)), 1))
			must(h.t, h.deliver("b", model.MustWeights(vec("w", 1, 1)), 1))
			h.commitLast()
			if len(h.ended) != 1 || h.ended[0].State != JobDone {
				h.t.Fatalf("ended %v", h.ended)
			}
		}},
		{"heartbeat timeout marks a silent site failed", func(h *harness) {
			h.e.cfg.HeartbeatTimeout = 3 * time.Second
			h.join("a", "b", "c")
			h.startJob(testSpec(), initW())
			h.advance(2 * time.Second)
			h.e.SiteSeen("a", h.now)
			h.e.SiteSeen("b", h.now)
			h.advance(2 * time.Second)
			if h.e.SiteUpNow("c") || !h.e.SiteUpNow("a") {
				h.t.Fatal("heartbeat timeout not applied")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(newHarness(t, EngineConfig{}))
		})
	}
}

func TestCohortSelectionReproducible(t *testing.T) {
	pick := func() [][]string {
		h := newHarness(t, EngineConfig{})
		spec := testSpec()
		spec.Sites = []string{"a", "b", "c", "d", "e"}
		spec.CohortSize, spec.Quorum, spec.Rounds = 2, 2, 3
		h.join(spec.Sites...)
		h.startJob(spec, initW())
		var out [][]string
		for r := 1; r <= 3; r++ {
			var cohort []string
			for _, s := range spec.Sites {
				if tk, ok := h.tasks[s]; ok && tk.Round == r {
					cohort = append(cohort, s)
				}
			}
			if len(cohort) != 2 {
				t.Fatalf("round %d cohort %v", r, cohort)
			}
			for _, s := range cohort {
				must(t, h.deliver(s, model.MustWeights(vec("w", 1, 1)), 1))
			}
			h.commitLast()
			out = append(out, cohort)
		}
		return out
	}
	a, b := pick(), pick()
	for i := range a {
		if a[i][0] != b[i][0] || a[i][1] != b[i][1] {
			t.Fatalf("cohorts differ: %v vs %v", a, b)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantData(t *testing.T, w model.Weights, name string, want ...float32) {
	t.Helper()
	tt, ok := w.Get(name)
	if !ok {
		t.Fatalf("no tensor %s", name)
	}
	for i, v := range want {
		if math.Abs(float64(tt.Data[i]-v)) > 1e-6 {
			t.Fatalf("%s = %v, want %v", name, tt.Data, want)
		}
	}
}
