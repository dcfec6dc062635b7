package phantom

import "math/bits"

// pcg is the PCG-DXSM generator of math/rand/v2's PCG (128-bit LCG state,
// the same multiplier, increment and output permutation), so that a
// stream seeded alike yields the same words; its state is open to the
// noise loop, which steps it in registers instead of calling through
// rand.Rand once a pixel. TestPCGMatchesStdlib checks it against
// rand.PCG.
type pcg struct {
	hi, lo uint64
}

// newPCG returns a generator seeded as rand.NewPCG(seed1, seed2).
func newPCG(seed1, seed2 uint64) *pcg { return &pcg{hi: seed1, lo: seed2} }

// pcgStep advances the 128-bit LCG state (hi, lo).
func pcgStep(hi, lo uint64) (uint64, uint64) {
	const (
		mulHi = 2549297995355413924
		mulLo = 4865540595714422341
		incHi = 6364136223846793005
		incLo = 1442695040888963407
	)
	h, l := bits.Mul64(lo, mulLo)
	h += hi*mulLo + lo*mulHi
	l, c := bits.Add64(l, incLo, 0)
	h, _ = bits.Add64(h, incHi, c)
	return h, l
}

// pcgOut is the DXSM output permutation of a (stepped) state.
func pcgOut(hi, lo uint64) uint64 {
	const cheapMul = 0xda942042e4dd58b5
	hi ^= hi >> 32
	hi *= cheapMul
	hi ^= hi >> 48
	hi *= lo | 1
	return hi
}

// Uint64 returns the next word, as rand.PCG.Uint64 does.
func (p *pcg) Uint64() uint64 {
	p.hi, p.lo = pcgStep(p.hi, p.lo)
	return pcgOut(p.hi, p.lo)
}
