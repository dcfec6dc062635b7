//go:build amd64 && !purego

package secagg

import "golang.org/x/sys/cpu"

// haveAESCTR selects the fused AES-NI counter-mode kernels of
// prg_amd64.s; tests turn it off to check the portable path against them.
var haveAESCTR = cpu.X86.HasAES && cpu.X86.HasAVX

// roundKeys is an AES-256 key schedule: 15 round keys of 16 bytes.
type roundKeys [15 * 16]byte

//go:noescape
func expandKey256(key *MaskKey, rk *roundKeys)

//go:noescape
func ctrAddAES256(rk *roundKeys, d *uint32, blocks int, ctr uint64)

//go:noescape
func ctrSubAES256(rk *roundKeys, d *uint32, blocks int, ctr uint64)

// aesniStream is key's mask stream through the fused kernels.
type aesniStream struct {
	rk  roundKeys
	ctr uint64 // the next counter block
}

func newFastStream(key MaskKey, block uint64) maskStream {
	if !haveAESCTR {
		return nil
	}
	s := &aesniStream{ctr: block}
	expandKey256(&key, &s.rk)
	return s
}

// apply adds (or subtracts) the next len(d) words of the stream to d. A
// partial last block is expanded into a scratch block; it ends the stream
// (the caller's chunks are whole blocks except at the vector's end).
func (s *aesniStream) apply(d []uint32, sub bool) {
	if n := len(d) / 4; n > 0 {
		if sub {
			ctrSubAES256(&s.rk, &d[0], n, s.ctr)
		} else {
			ctrAddAES256(&s.rk, &d[0], n, s.ctr)
		}
		s.ctr += uint64(n)
		d = d[4*n:]
	}
	if len(d) > 0 {
		var ks [4]uint32
		ctrAddAES256(&s.rk, &ks[0], 1, s.ctr)
		s.ctr++
		addVecGeneric(d, ks[:len(d)], sub)
	}
}
