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
