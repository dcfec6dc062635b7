package classifier

import (
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/model/loader"
)

// bench256 returns a 256-px test image with values in [-1, 1].
func bench256() []float32 {
	img := make([]float32, 256*256)
	for i := range img {
		img[i] = float32((i*7919)%255)/127.5 - 1
	}
	return img
}

// BenchmarkAugment256 is the in-memory augmentation of one 256-px image.
func BenchmarkAugment256(b *testing.B) {
	src, dst := bench256(), make([]float32, 256*256)
	r := rand.New(rand.NewPCG(1, 2))
	c := DefaultAugmentConfig()
	b.SetBytes(256 * 256 * 4)
	for b.Loop() {
		Augment(dst, src, 256, c, r)
	}
}

// BenchmarkStreamAugment256Bytes is the streams' augmentation of one
// 256-px image from 8-bit pixels (dequantised in the same pass).
func BenchmarkStreamAugment256Bytes(b *testing.B) {
	src, dst := make([]byte, 256*256), make([]float32, 256*256)
	for i := range src {
		src[i] = byte(i * 7919 % 255)
	}
	a := StreamAugmenter(DefaultAugmentConfig())
	b.SetBytes(256 * 256)
	k := loader.Key{Hi: 1}
	for b.Loop() {
		k.Lo++
		a.AugmentBytes(dst, src, 256, k)
	}
}

// BenchmarkStreamAugment256Float is the streams' augmentation of one
// 256-px float image.
func BenchmarkStreamAugment256Float(b *testing.B) {
	src, dst := bench256(), make([]float32, 256*256)
	a := StreamAugmenter(DefaultAugmentConfig())
	b.SetBytes(256 * 256 * 4)
	k := loader.Key{Hi: 1}
	for b.Loop() {
		k.Lo++
		a.AugmentFloat(dst, src, 256, k)
	}
}
