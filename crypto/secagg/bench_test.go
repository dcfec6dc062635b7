package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

func BenchmarkAESCTRKeystream(b *testing.B) {
	buf := make([]byte, 4<<20)
	block, _ := aes.NewCipher(make([]byte, 32))
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		cipher.NewCTR(block, make([]byte, 16)).XORKeyStream(buf, buf)
	}
}

func BenchmarkExpand(b *testing.B) {
	v := make([]uint32, 1<<20)
	b.SetBytes(4 << 20)
	for b.Loop() {
		Expand(v, MaskKey{1}, 0)
	}
}

func BenchmarkAddMask(b *testing.B) {
	v := make([]uint32, 1<<20)
	b.SetBytes(4 << 20)
	for b.Loop() {
		AddMask(v, MaskKey{1}, 0, false)
	}
}

func BenchmarkEncode(b *testing.B) {
	p := Params{Length: 1 << 20, Clip: 1, MaxWeight: 1}
	in := Input{Values: make([]float32, p.Length), Weight: 0.5}
	for i := range in.Values {
		in.Values[i] = float32(i%1000)/1000 - 0.5
	}
	b.SetBytes(4 << 20)
	for b.Loop() {
		if _, _, err := Encode(in, p, 10); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMaskTerms expands ten masks into one vector on one worker, as
// a site of a ten-site round does: with the fused AES-NI kernels (where the
// CPU has them) and with the portable path (the standard library's AES-CTR
// into a buffer, then a ring addition).
func BenchmarkMaskTerms(b *testing.B) {
	v := make([]uint32, 1<<20)
	terms := make([]maskTerm, 10)
	for i := range terms {
		terms[i] = maskTerm{key: MaskKey{byte(i)}, sub: i%2 == 0}
	}
	fast := haveAESCTR
	defer func() { haveAESCTR = fast }()
	for _, kernel := range []bool{true, false} {
		name := "portable"
		if kernel {
			name = "fused"
		}
		b.Run(name, func(b *testing.B) {
			if kernel && !fast {
				b.Skip("no AES-NI/AVX")
			}
			haveAESCTR = kernel
			b.SetBytes(int64(len(terms)) * 4 << 20)
			for b.Loop() {
				applyTerms(v, terms, 1)
			}
		})
	}
}
