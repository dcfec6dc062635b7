package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

// refMask is the mask stream as its definition says: AES-256-CTR from the
// counter block 0^64 || off/4, read as little-endian words.
func refMask(key MaskKey, off, n int) []uint32 {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err)
	}
	var iv [16]byte
	binary.BigEndian.PutUint64(iv[8:], uint64(off/4))
	ks := make([]byte, 4*((n+3)&^3))
	cipher.NewCTR(block, iv[:]).XORKeyStream(ks, ks)
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(ks[4*i:])
	}
	return out
}

// TestMaskStreamMatchesAESCTR checks Expand and AddMask, on both the fused
// AES-NI kernels (where the CPU has them) and the portable path, against
// the standard library's AES-CTR for lengths around every block and chunk
// boundary and for offsets far into the stream.
func TestMaskStreamMatchesAESCTR(t *testing.T) {
	fast := haveAESCTR
	defer func() { haveAESCTR = fast }()
	rng := rand.New(rand.NewPCG(4, 2))
	lengths := []int{0, 1, 3, 4, 5, 31, 32, 33, 35, 36, 100, 2047, 2048, 2049, 2051, 4100, 3*prgChunk/4 + 7}
	offsets := []int{0, 4, 28, 4096, 1 << 34, 4 * (1<<60 - 3)}
	for _, kernel := range []bool{false, true} {
		if kernel && !fast {
			t.Log("no AES-NI/AVX here: the fused kernels are not tested")
			continue
		}
		haveAESCTR = kernel
		for _, n := range lengths {
			for _, off := range offsets {
				var key MaskKey
				for i := range key {
					key[i] = byte(rng.Uint32())
				}
				want := refMask(key, off, n)
				got := make([]uint32, n)
				Expand(got, key, off)
				if !slices.Equal(got, want) {
					t.Fatalf("kernel %v, n=%d off=%d: Expand differs from AES-CTR", kernel, n, off)
				}
				base := make([]uint32, n)
				for i := range base {
					base[i] = rng.Uint32()
				}
				added, subbed := slices.Clone(base), slices.Clone(base)
				AddMask(added, key, off, false)
				AddMask(subbed, key, off, true)
				for i := range base {
					if added[i] != base[i]+want[i] || subbed[i] != base[i]-want[i] {
						t.Fatalf("kernel %v, n=%d off=%d: element %d: add %d sub %d, want %d and %d",
							kernel, n, off, i, added[i], subbed[i], base[i]+want[i], base[i]-want[i])
					}
				}
			}
		}
	}
}
