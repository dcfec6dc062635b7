// Package secaggtest runs whole secure-aggregation rounds in memory: the
// real site and aggregator state machines, every message encoded and
// decoded as on the wire, with dropouts injected by phase and an optional
// transcript of everything the aggregator sees. Tests, benchmarks and
// simulations use it; it is not for production.
package secaggtest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
)

// Site is one simulated site: its ID and identity key.
type Site struct {
	ID  string
	Key ed25519.PrivateKey
}

// NewSites returns n sites named site-000, site-001, ... with identity keys
// derived from seed, and the verifier that pins their keys.
func NewSites(n int, seed uint64) ([]Site, secagg.IdentityVerifier) {
	sites := make([]Site, n)
	pins := make(map[string]ed25519.PublicKey, n)
	for i := range sites {
		var s [32]byte
		binary.BigEndian.PutUint64(s[:], seed)
		binary.BigEndian.PutUint64(s[8:], uint64(i))
		h := sha256.Sum256(s[:])
		k := ed25519.NewKeyFromSeed(h[:])
		sites[i] = Site{ID: fmt.Sprintf("site-%03d", i), Key: k}
		pins[sites[i].ID] = k.Public().(ed25519.PublicKey)
	}
	return sites, secagg.PinnedKeys(pins)
}

// Roster returns the sorted IDs of sites.
func Roster(sites []Site) []string {
	out := make([]string, len(sites))
	for i, s := range sites {
		out[i] = s.ID
	}
	sort.Strings(out)
	return out
}

// Direction tells whether a transcript entry went to or from the aggregator.
type Direction int

// Directions of transcript entries.
const (
	ToAggregator Direction = iota
	FromAggregator
)

// Round describes one in-memory round.
type Round struct {
	// Context is the round; every site and the aggregator use it.
	Context secagg.Context
	// Sites are the participants (their IDs must match the roster).
	Sites []Site
	// Verify is the identity verifier all parties use.
	Verify secagg.IdentityVerifier
	// Inputs holds each site's input by ID.
	Inputs map[string]secagg.Input
	// DropBefore makes a site go silent before sending its message of the
	// given phase (PhaseAdvertise means it never joins).
	DropBefore map[string]secagg.Phase
	// InputLate gives each site its input only after the share-keys relay.
	InputLate bool
	// Record, when set, receives every encoded message the aggregator sends
	// or receives.
	Record func(dir Direction, site string, msg []byte)
	// Tamper, when set, may replace a message a site sends (before encoding).
	Tamper func(site string, m secagg.Message) secagg.Message
	// Rand seeds the parties' randomness (nil: crypto/rand).
	Rand io.Reader
	// Workers bounds mask-expansion goroutines in every party.
	Workers int
}

// Timing records where a round spent its time. Encoding a message counts
// for its sender and decoding it for its receiver.
type Timing struct {
	// Site is the total time spent by all sites (state machines and codec).
	Site time.Duration
	// SiteMax is, summed over phases, the slowest site of each phase: the
	// sites' share of the critical path when they run in parallel.
	SiteMax time.Duration
	// Aggregator is the time spent by the aggregator (state machine and
	// codec).
	Aggregator time.Duration
	// Bytes counts every encoded message byte, both directions.
	Bytes int64
	// SiteCPU, SiteMaxCPU and AggregatorCPU are the same measures in
	// process CPU time (all threads), which other programs' load does not
	// inflate.
	SiteCPU, SiteMaxCPU, AggregatorCPU time.Duration
}

// CriticalPath is the round's duration if sites ran in parallel and the
// network were free: the slowest site of each phase plus the aggregator.
func (t Timing) CriticalPath() time.Duration { return t.SiteMax + t.Aggregator }

// CriticalPathCPU is CriticalPath in CPU time.
func (t Timing) CriticalPathCPU() time.Duration { return t.SiteMaxCPU + t.AggregatorCPU }

// stopwatch measures wall and CPU time together.
type stopwatch struct {
	wall time.Time
	cpu  time.Duration
}

func startWatch() stopwatch { return stopwatch{wall: time.Now(), cpu: ProcessCPUTime()} }

// elapsed returns the wall and CPU time since the watch started.
func (s stopwatch) elapsed() (time.Duration, time.Duration) {
	return time.Since(s.wall), ProcessCPUTime() - s.cpu
}

// Outcome is what Run returns: the result (nil when the round failed), the
// aggregator's error and the refusals sites reported.
type Outcome struct {
	Result   *secagg.Result
	Err      error
	SiteErrs map[string]error
	Timing   Timing
}

// seededReader adapts a math/rand/v2 ChaCha8 to io.Reader for reproducible
// (test-only) randomness.
type seededReader struct{ c *rand.ChaCha8 }

func (r seededReader) Read(p []byte) (int, error) { return r.c.Read(p) }

// SeededRand returns a deterministic reader for tests.
func SeededRand(seed uint64) io.Reader {
	var s [32]byte
	binary.BigEndian.PutUint64(s[:], seed)
	return seededReader{rand.NewChaCha8(s)}
}
