package soak

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Kind is a kind of injected fault.
type Kind string

// Fault kinds.
const (
	// KillAgents kill -9s several site agents at once (up to and beyond
	// the quorum) and restarts them after For.
	KillAgents Kind = "kill-agents"
	// KillCoordinatorRound kill -9s the coordinator while sites train a
	// round, then restarts it.
	KillCoordinatorRound Kind = "kill-coordinator-round"
	// KillCoordinatorSecAgg kill -9s the coordinator inside a secure
	// aggregation round's phases, then restarts it.
	KillCoordinatorSecAgg Kind = "kill-coordinator-secagg"
	// Stall SIGSTOPs a site agent for longer than the deadline, then
	// SIGCONTs it.
	Stall Kind = "stall"
	// Partition cuts a site's connections to the coordinator for For.
	Partition Kind = "partition"
	// DataUnreadable takes a site's data folder away for For.
	DataUnreadable Kind = "data-unreadable"
	// CorruptCheckpoint overwrites the running job's last committed
	// checkpoint and restarts the coordinator, which must detect it.
	CorruptCheckpoint Kind = "corrupt-checkpoint"
	// Revoke revokes a site's certificate for good.
	Revoke Kind = "revoke"
	// DiskFull fills the coordinator's data folder (a tmpfs of its own)
	// for For, then frees it.
	DiskFull Kind = "disk-full"
)

// AllKinds lists every fault kind.
var AllKinds = []Kind{KillAgents, KillCoordinatorRound, KillCoordinatorSecAgg, Stall, Partition, DataUnreadable, CorruptCheckpoint, Revoke, DiskFull}

func (k Kind) valid() bool { return slices.Contains(AllKinds, k) }

// SiteFault reports whether the fault hits sites (as opposed to the coordinator).
func (k Kind) SiteFault() bool {
	switch k {
	case KillAgents, Stall, Partition, DataUnreadable, Revoke:
		return true
	}
	return false
}

// Fault is one scheduled fault: at At after the start, on Sites (indexes),
// lasting For (restart, SIGCONT, heal or restore after it).
type Fault struct {
	At    time.Duration `json:"at"`
	Kind  Kind          `json:"kind"`
	Sites []int         `json:"sites,omitempty"`
	For   time.Duration `json:"for"`
}

// Plan draws the chaos schedule of cfg: a pure function of the config
// (its seed, sites, duration, deadline, gap and kinds). Faults do not
// overlap: each one ends (and its recovery has a gap to show) before the
// next starts, so that every effect can be attributed. Every kind of
// cfg.Kinds appears once before any repeats; at most one site is revoked.
func Plan(cfg Config) []Fault {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x736f616b))
	kinds := cfg.Kinds
	if len(kinds) == 0 {
		kinds = AllKinds
	}
	order := slices.Clone(kinds)
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	start, end := cfg.Duration/10+10*time.Second, cfg.Duration*85/100
	revoked := map[int]bool{}
	var out []Fault
	at := start
	for i := 0; ; i++ {
		var k Kind
		if i < len(order) {
			k = order[i]
		} else {
			k = kinds[r.IntN(len(kinds))]
		}
		if k == Revoke && len(revoked) > 0 {
			k = KillAgents
		}
		f := Fault{At: at, Kind: k}
		switch k {
		case KillAgents:
			// From one site to one more than the quorum can lose.
			f.Sites = pick(r, cfg.Sites, 1+r.IntN(cfg.Sites-cfg.Quorum()+1), revoked)
			f.For = time.Duration(3+r.IntN(8)) * time.Second
		case Stall:
			f.Sites = pick(r, cfg.Sites, 1, revoked)
			f.For = cfg.Deadline + time.Duration(2+r.IntN(4))*time.Second
		case Partition, DataUnreadable:
			f.Sites = pick(r, cfg.Sites, 1, revoked)
			f.For = time.Duration(5+r.IntN(10)) * time.Second
		case DiskFull:
			f.For = time.Duration(5+r.IntN(10)) * time.Second
		case Revoke:
			f.Sites = pick(r, cfg.Sites, 1, revoked)
			revoked[f.Sites[0]] = true
		}
		if f.At+f.For > end {
			break
		}
		out = append(out, f)
		gap := cfg.FaultGap/2 + time.Duration(r.Int64N(int64(cfg.FaultGap)))
		at = f.At + f.For + gap
	}
	return out
}

// pick draws n distinct site indexes below sites, skipping revoked ones.
func pick(r *rand.Rand, sites, n int, revoked map[int]bool) []int {
	var pool []int
	for i := range sites {
		if !revoked[i] {
			pool = append(pool, i)
		}
	}
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	out := slices.Clone(pool[:min(n, len(pool))])
	slices.Sort(out)
	return out
}
