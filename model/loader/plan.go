package loader

import (
	"math"
	"math/rand/v2"
	"sync"
)

// plan maps a step to the source indices of its batch: one or two
// streams (pooled, or real and synthetic), each an endless sequence of
// epochs, each epoch a fresh permutation of its list seeded by (seed,
// salt, stream, epoch).
type plan struct {
	batch   int
	streams []*epochStream
	// take[i] is how many images of a batch stream i gives.
	take []int
}

// newPlan splits src into real and synthetic lists when frac asks for a
// fixed mix and both kinds are present.
func newPlan(src Source, c Config) *plan {
	var real, synth []int32
	for i := range src.Len() {
		if src.Synthetic(i) {
			synth = append(synth, int32(i))
		} else {
			real = append(real, int32(i))
		}
	}
	p := &plan{batch: c.Batch}
	if c.RealFraction <= 0 || len(real) == 0 || len(synth) == 0 {
		all := make([]int32, src.Len())
		for i := range all {
			all[i] = int32(i)
		}
		p.streams = []*epochStream{newEpochStream(all, c.Seed, c.Salt, 0)}
		p.take = []int{c.Batch}
		return p
	}
	nReal := int(math.Round(c.RealFraction * float64(c.Batch)))
	p.streams = []*epochStream{newEpochStream(real, c.Seed, c.Salt, 1), newEpochStream(synth, c.Seed, c.Salt, 2)}
	p.take = []int{nReal, c.Batch - nReal}
	return p
}

// fill writes step's source indices into dst (len batch).
func (p *plan) fill(step int, dst []int) {
	k := 0
	for i, s := range p.streams {
		n := p.take[i]
		for j := range n {
			dst[k] = s.at(int64(step)*int64(n) + int64(j))
			k++
		}
	}
}

// epochStream is an endless sequence over a list, one permutation per
// epoch; it caches the permutations of the two most recent epochs asked.
type epochStream struct {
	list       []int32
	seed, salt uint64
	id         uint64

	mu    sync.Mutex
	cache [2]struct {
		epoch int64
		perm  []int32
	}
}

func newEpochStream(list []int32, seed int64, salt, id uint64) *epochStream {
	s := &epochStream{list: list, seed: uint64(seed), salt: salt, id: id}
	s.cache[0].epoch, s.cache[1].epoch = -1, -1
	return s
}

// at returns the source index at position pos of the sequence.
func (s *epochStream) at(pos int64) int {
	n := int64(len(s.list))
	perm := s.perm(pos / n)
	return int(s.list[perm[pos%n]])
}

// perm returns epoch e's permutation of positions.
func (s *epochStream) perm(e int64) []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cache {
		if c.epoch == e {
			return c.perm
		}
	}
	r := rand.New(rand.NewPCG(s.seed^0x9e3779b97f4a7c15*(s.id+1), s.salt<<24^uint64(e)))
	p := make([]int32, len(s.list))
	for i := range p {
		p[i] = int32(i)
	}
	r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	// Replace an empty slot, else the older epoch.
	slot := 0
	if s.cache[0].epoch >= 0 && (s.cache[1].epoch < 0 || s.cache[1].epoch < s.cache[0].epoch) {
		slot = 1
	}
	s.cache[slot].epoch, s.cache[slot].perm = e, p
	return p
}
