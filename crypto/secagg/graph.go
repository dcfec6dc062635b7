package secagg

import (
	"math/rand/v2"
	"sort"
)

// graph is the communication graph of a round: who exchanges pairwise masks
// and holds whose shares. SecAgg uses the complete graph; SecAgg+ (Bell et
// al. 2020) a k-regular Harary graph over a permutation of the roster drawn
// from the context hash, so every party computes the same graph and no one
// chooses it.
type graph struct {
	n   int
	k   int   // 0 for the complete graph
	pos []int // roster index -> position on the ring
}

// newGraph builds the graph of a round.
func newGraph(ctx *Context, hash [32]byte) graph {
	g := graph{n: len(ctx.Roster), k: ctx.Params.Neighbours}
	if g.k == 0 {
		return g
	}
	perm := make([]int, g.n)
	for i := range perm {
		perm[i] = i
	}
	rng := rand.New(rand.NewChaCha8(hashParts("graph", hash[:])))
	rng.Shuffle(g.n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	g.pos = make([]int, g.n)
	for p, idx := range perm {
		g.pos[idx] = p
	}
	return g
}

// adjacent reports whether distinct sites i and j are neighbours.
func (g graph) adjacent(i, j int) bool {
	if i == j {
		return false
	}
	if g.k == 0 {
		return true
	}
	d := g.pos[i] - g.pos[j]
	if d < 0 {
		d = -d
	}
	return min(d, g.n-d) <= g.k/2
}

// neighbours returns the sorted roster indices adjacent to i.
func (g graph) neighbours(i int) []int {
	out := make([]int, 0, g.degree())
	for j := 0; j < g.n; j++ {
		if g.adjacent(i, j) {
			out = append(out, j)
		}
	}
	sort.Ints(out)
	return out
}

// degree is the number of neighbours of every site.
func (g graph) degree() int {
	if g.k == 0 {
		return g.n - 1
	}
	return g.k
}

// shareThreshold is the number of shares that recover a secret: t on the
// complete graph, t_k inside a neighbourhood on the sparse one.
func shareThreshold(p Params) int {
	if p.Neighbours > 0 {
		return p.NeighbourThreshold
	}
	return p.Threshold
}
