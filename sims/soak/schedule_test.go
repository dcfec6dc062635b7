package soak

import (
	"reflect"
	"testing"
	"time"
)

func TestPlanIsAPureFunctionOfTheSeed(t *testing.T) {
	cfg := DefaultConfig()
	a, b := Plan(cfg), Plan(cfg)
	if !reflect.DeepEqual(a, b) || len(a) < len(AllKinds) {
		t.Fatalf("two plans of one seed differ or are short: %d vs %d faults", len(a), len(b))
	}
	cfg.Seed++
	if reflect.DeepEqual(a, Plan(cfg)) {
		t.Fatal("another seed gives the same plan")
	}
}

func TestPlanProperties(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		cfg := DefaultConfig()
		cfg.Seed, cfg.Sites = seed, 5+int(seed%50)
		plan := Plan(cfg)
		seen := map[Kind]int{}
		beyond := false
		var prevEnd time.Duration
		for _, f := range plan {
			seen[f.Kind]++
			if f.At < prevEnd || f.At+f.For > cfg.Duration {
				t.Fatalf("seed %d: fault %+v overlaps the previous one (end %v) or the run's end", seed, f, prevEnd)
			}
			prevEnd = f.At + f.For
			if f.Kind.SiteFault() && len(f.Sites) == 0 {
				t.Fatalf("seed %d: %s with no site", seed, f.Kind)
			}
			if f.Kind == Stall && f.For <= cfg.Deadline {
				t.Fatalf("seed %d: stall %v not beyond the deadline %v", seed, f.For, cfg.Deadline)
			}
			if f.Kind == KillAgents && cfg.Sites-len(f.Sites) < cfg.Quorum() {
				beyond = true
			}
		}
		if len(seen) != len(AllKinds) || seen[Revoke] != 1 {
			t.Fatalf("seed %d: kinds %v; want all, one revocation", seed, seen)
		}
		_ = beyond
	}
}

func TestPlanKillsBeyondQuorumSometimes(t *testing.T) {
	beyond := 0
	for seed := uint64(1); seed <= 30; seed++ {
		cfg := DefaultConfig()
		cfg.Seed, cfg.Sites = seed, 5
		for _, f := range Plan(cfg) {
			if f.Kind == KillAgents && cfg.Sites-len(f.Sites) < cfg.Quorum() {
				beyond++
			}
		}
	}
	if beyond == 0 {
		t.Fatal("no kill beyond the quorum in 30 seeds")
	}
}
