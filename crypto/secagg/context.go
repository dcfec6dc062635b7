package secagg

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"

	"github.com/synthfed/synthfed/crypto/internal/wire"
	"github.com/synthfed/synthfed/internal/config"
)

// Limits on what a round may hold; decoders refuse anything larger.
const (
	// MaxSites is the largest roster.
	MaxSites = 4096
	// MaxIDLen is the longest site ID in bytes.
	MaxIDLen = 256
	// MaxLength is the largest vector (elements, weight included).
	MaxLength = 1 << 28
	// MaxSessionLen is the longest session name in bytes.
	MaxSessionLen = 256
)

// Params are the public parameters of one round. Every site and the
// aggregator must hold the same Params; their hash is part of the Context.
type Params struct {
	// Length is the number of model elements (the weight element is extra).
	Length int
	// Threshold is t: the fewest survivors of every phase and the number of
	// shares that recover a secret (Shamir polynomials have degree t-1).
	Threshold int
	// Clip is C, the bound on every pre-scaled element.
	Clip float64
	// MaxWeight is the raw weight that pre-scales to 1.
	MaxWeight float64
	// Neighbours is k for the SecAgg+ graph; 0 means the complete graph.
	Neighbours int
	// NeighbourThreshold is the share threshold inside one neighbourhood
	// (k neighbours plus the site itself) under the sparse graph.
	NeighbourThreshold int
}

// Validate checks the parameters against a roster of n sites.
func (p Params) Validate(n int) error {
	var pr config.Problems
	if n < 2 || n > MaxSites {
		pr.Addf("secagg: roster of %d sites: want 2..%d", n, MaxSites)
	}
	if p.Length < 1 || p.Length >= MaxLength {
		pr.Addf("secagg: length %d: want 1..%d", p.Length, MaxLength-1)
	}
	if p.Threshold < 2 || p.Threshold > n || 2*p.Threshold <= n {
		pr.Addf("secagg: threshold %d for %d sites: want n/2 < t <= n and t >= 2", p.Threshold, n)
	}
	if !(p.Clip > 0) || math.IsInf(p.Clip, 0) {
		pr.Addf("secagg: clip %v: want a finite positive number", p.Clip)
	} else if n > 0 && p.Scale(n) < 1 {
		pr.Addf("secagg: clip %v for %d sites leaves a fixed-point scale below 1", p.Clip, n)
	}
	if !(p.MaxWeight > 0) || math.IsInf(p.MaxWeight, 0) {
		pr.Addf("secagg: max_weight %v: want a finite positive number", p.MaxWeight)
	}
	if p.Neighbours != 0 {
		if p.Neighbours < 2 || p.Neighbours%2 != 0 || p.Neighbours >= n {
			pr.Addf("secagg: neighbours %d for %d sites: want an even number in [2, n-1]", p.Neighbours, n)
		}
		if p.NeighbourThreshold < 2 || p.NeighbourThreshold > p.Neighbours+1 || 2*p.NeighbourThreshold <= p.Neighbours+1 {
			pr.Addf("secagg: neighbour threshold %d for k=%d: want (k+1)/2 < t_k <= k+1", p.NeighbourThreshold, p.Neighbours)
		}
	} else if p.NeighbourThreshold != 0 {
		pr.Addf("secagg: neighbour threshold %d without a sparse graph", p.NeighbourThreshold)
	}
	return pr.Err()
}

// Scale is the fixed-point scale s = floor((2^31-1)/(n*C)) of model
// elements: the sum of n clipped elements cannot overflow an int32.
func (p Params) Scale(n int) float64 {
	return math.Floor(float64(math.MaxInt32) / (float64(n) * p.Clip))
}

// WeightScale is the fixed-point scale of the weight element, which lies in
// [0, 1] after pre-scaling: floor((2^31-1)/n).
func (p Params) WeightScale(n int) float64 {
	return math.Floor(float64(math.MaxInt32) / float64(n))
}

// Sparse reports whether the round uses the SecAgg+ neighbour graph.
func (p Params) Sparse() bool { return p.Neighbours > 0 }

func (p Params) encode(w *wire.Writer) {
	w.U64(uint64(p.Length))
	w.U64(uint64(p.Threshold))
	w.F64(p.Clip)
	w.F64(p.MaxWeight)
	w.U64(uint64(p.Neighbours))
	w.U64(uint64(p.NeighbourThreshold))
}

// Context binds every message to one round: the session (for example a job
// ID), the round number, the roster and the parameters. Sites and the
// aggregator build it independently from the job description.
type Context struct {
	// Session names the job or run; a new session must never reuse keys.
	Session string
	// Round is the round number within the session.
	Round uint64
	// Roster lists the site IDs invited to the round, sorted and unique.
	Roster []string
	// Params are the round's public parameters.
	Params Params
}

// Validate checks the context and its parameters.
func (c Context) Validate() error {
	var pr config.Problems
	if c.Session == "" || len(c.Session) > MaxSessionLen {
		pr.Addf("secagg: session %q: want 1..%d bytes", c.Session, MaxSessionLen)
	}
	if !slices.IsSorted(c.Roster) {
		pr.Addf("secagg: roster is not sorted")
	}
	for i, id := range c.Roster {
		if id == "" || len(id) > MaxIDLen {
			pr.Addf("secagg: roster entry %d %q: want 1..%d bytes", i, id, MaxIDLen)
		}
		if i > 0 && c.Roster[i-1] == id {
			pr.Addf("secagg: roster lists %q twice", id)
		}
	}
	if err := c.Params.Validate(len(c.Roster)); err != nil {
		pr.Add(err)
	}
	return pr.Err()
}

// Hash is the SHA-256 digest of the whole context. Every message carries it,
// and a message whose hash differs from the receiver's is refused.
func (c Context) Hash() [32]byte {
	w := wire.NewWriter(64 + 16*len(c.Roster))
	w.Fixed([]byte(domain + " context"))
	w.String(c.Session)
	w.U64(c.Round)
	w.Strings(c.Roster)
	c.Params.encode(w)
	return sha256.Sum256(w.Bytes())
}

// index returns the 0-based roster position of id, or -1.
func (c Context) index(id string) int {
	i, ok := slices.BinarySearch(c.Roster, id)
	if !ok {
		return -1
	}
	return i
}

// header returns the message header of this context.
func (c Context) header() Header {
	return Header{Session: c.Session, Round: c.Round, Context: c.Hash()}
}

// String names the round for logs and errors.
func (c Context) String() string {
	return fmt.Sprintf("session %q round %d", c.Session, c.Round)
}

// domain prefixes every hash, signature and key derivation of this package.
const domain = "synthfed-secagg-v1"
