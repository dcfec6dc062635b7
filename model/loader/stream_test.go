package loader

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// fakeSource is n images of side 4 whose pixels encode their index; the
// last nSynth are synthetic.
type fakeSource struct{ n, nSynth int }

func (f fakeSource) Len() int  { return f.n }
func (f fakeSource) Size() int { return 4 }
func (f fakeSource) ReadImage(i int, dst []float32) {
	for k := range dst {
		dst[k] = float32(i) + float32(k)/100
	}
}
func (f fakeSource) Labels(i int) (l [model.NumLabels]model.Label) {
	l[0] = model.Label(i % 2)
	return l
}
func (f fakeSource) Synthetic(i int) bool { return i >= f.n-f.nSynth }

// noisy adds one uniform draw to every pixel.
func noisy(dst, src []float32, _ int, r *rand.Rand) {
	v := float32(r.Float64())
	for i := range dst {
		dst[i] = src[i] + v
	}
}

// collect returns the first steps batches (copied) of a stream.
func collect(t *testing.T, src Source, cfg Config, start, steps int) []Batch {
	t.Helper()
	s, err := NewStream(src, cfg, start, AugmentFunc(noisy))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []Batch
	for range steps {
		b, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Batch{Step: b.Step, Index: slices.Clone(b.Index), Pixels: slices.Clone(b.Pixels), Synthetic: slices.Clone(b.Synthetic)})
		s.Release(b)
	}
	return out
}

func TestStreamDeterministic(t *testing.T) {
	src := fakeSource{n: 37}
	base := Config{Batch: 5, Seed: 7, Salt: 2}
	one := collect(t, src, Config{Batch: 5, Seed: 7, Salt: 2, Workers: 1, Prefetch: 1}, 0, 20)
	for _, c := range []Config{{Workers: 4, Prefetch: 8}, {Workers: 2, Prefetch: 1}, {Workers: 3}} {
		c.Batch, c.Seed, c.Salt = base.Batch, base.Seed, base.Salt
		if got := collect(t, src, c, 0, 20); !equalBatches(got, one) {
			t.Fatalf("workers %d prefetch %d: batches differ from one worker's", c.Workers, c.Prefetch)
		}
	}
	// Starting at step 7 gives steps 7.. of the same sequence.
	if got := collect(t, src, base, 7, 5); !equalBatches(got, one[7:12]) {
		t.Fatal("a stream started at step 7 differs from steps 7-11")
	}
	other := base
	other.Seed = 8
	if equalBatches(collect(t, src, other, 0, 20), one) {
		t.Fatal("another seed gave the same batches")
	}
}

func equalBatches(a, b []Batch) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Step != b[i].Step || !slices.Equal(a[i].Index, b[i].Index) || !slices.Equal(a[i].Pixels, b[i].Pixels) {
			return false
		}
	}
	return true
}

func TestStreamEpochsCoverEveryImage(t *testing.T) {
	src := fakeSource{n: 30}
	bs := collect(t, src, Config{Batch: 6, Seed: 1}, 0, 10) // two epochs
	for e := range 2 {
		var seen []int
		for _, b := range bs[e*5 : (e+1)*5] {
			seen = append(seen, b.Index...)
		}
		slices.Sort(seen)
		for i, v := range seen {
			if v != i {
				t.Fatalf("epoch %d: indices %v, want each of 0..29 once", e, seen)
			}
		}
	}
	if slices.Equal(bs[0].Index, bs[5].Index) {
		t.Fatal("the second epoch repeats the first's order")
	}
}

func TestStreamRealFraction(t *testing.T) {
	src := fakeSource{n: 40, nSynth: 30}
	for _, b := range collect(t, src, Config{Batch: 8, RealFraction: 0.25, Seed: 3}, 0, 12) {
		synth := 0
		for _, s := range b.Synthetic {
			if s {
				synth++
			}
		}
		if synth != 6 {
			t.Fatalf("step %d: %d synthetic of 8, want 6", b.Step, synth)
		}
	}
}

func TestStreamCloseAndBadConfig(t *testing.T) {
	s, err := NewStream(fakeSource{n: 3}, Config{Batch: 2}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Next(context.Background()); err != ErrClosed {
		t.Fatalf("Next after Close: %v, want ErrClosed", err)
	}
	if _, err := NewStream(fakeSource{n: 3}, Config{Batch: 0}, 0, nil); err == nil {
		t.Fatal("batch 0 accepted")
	}
	if _, err := NewStream(fakeSource{n: 0}, Config{Batch: 2}, 0, nil); err == nil {
		t.Fatal("empty source accepted")
	}
}

// byteSource is n 16 x 16 8-bit images, pixels a hash of (image, pixel).
type byteSource struct{ n int }

func (f byteSource) Len() int  { return f.n }
func (f byteSource) Size() int { return 16 }
func (f byteSource) px(i int) []byte {
	b := make([]byte, 256)
	for k := range b {
		b[k] = byte((i*131 + k*7) ^ (k >> 3))
	}
	return b
}
func (f byteSource) ReadImage(i int, dst []float32) {
	for k, q := range f.px(i) {
		dst[k] = float32(q)/127.5 - 1
	}
}
func (f byteSource) Bytes(i int) ([]byte, bool) { return f.px(i), true }
func (f byteSource) Done(int)                   {}
func (f byteSource) Labels(int) (l [model.NumLabels]model.Label) {
	return l
}
func (f byteSource) Synthetic(int) bool { return false }

// floatOnly hides a byteSource's Bytes.
type floatOnly struct{ byteSource }

func (floatOnly) Bytes(int) ([]byte, bool) { return nil, false }

// TestStreamAffineDeterministic: with the fast augmentation on 8-bit
// pixels, the batches are a function of (seed, salt, step) whatever the
// workers, and the fused path is within a weight step of dequantising
// first.
func TestStreamAffineDeterministic(t *testing.T) {
	aug := Affine{FlipProb: 0.5, MaxRotateDeg: 10, MaxScale: 0.1, MaxShift: 0.1, NoiseStd: 0.02}
	run := func(src Source, c Config) []Batch {
		s, err := NewStream(src, c, 0, aug)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var out []Batch
		for range 12 {
			b, err := s.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, Batch{Step: b.Step, Index: slices.Clone(b.Index), Pixels: slices.Clone(b.Pixels)})
			s.Release(b)
		}
		return out
	}
	src := byteSource{n: 29}
	one := run(src, Config{Batch: 4, Seed: 5, Salt: 1, Workers: 1, Prefetch: 1})
	if !equalBatches(run(src, Config{Batch: 4, Seed: 5, Salt: 1, Workers: 3, Prefetch: 5}), one) {
		t.Fatal("three workers gave other batches than one")
	}
	if equalBatches(run(src, Config{Batch: 4, Seed: 6, Salt: 1, Workers: 2}), one) {
		t.Fatal("another seed gave the same batches")
	}
	float := run(floatOnly{src}, Config{Batch: 4, Seed: 5, Salt: 1, Workers: 2})
	for s := range one {
		if !slices.Equal(one[s].Index, float[s].Index) {
			t.Fatalf("step %d: indices differ between the byte and float paths", s)
		}
		for i, v := range one[s].Pixels {
			if d := v - float[s].Pixels[i]; d > 0.016 || d < -0.016 {
				t.Fatalf("step %d pixel %d: byte path %v, float path %v", s, i, v, float[s].Pixels[i])
			}
		}
	}
}

// TestConcat: the union reads each part's images, labels and flags at
// the offset, and is a ByteSource only when both parts are.
func TestConcat(t *testing.T) {
	a, b := byteSource{n: 3}, fakeSource{n: 4, nSynth: 4}
	c := Concat(byteSource{n: 3}, byteSource{n: 2})
	if _, ok := c.(ByteSource); !ok || c.Len() != 5 {
		t.Fatalf("two byte sources: %T of %d", c, c.Len())
	}
	m := Concat(a, b)
	if _, ok := m.(ByteSource); ok || m.Len() != 7 {
		t.Fatalf("mixed sources: %T of %d", m, m.Len())
	}
	got, want := make([]float32, 16), make([]float32, 16)
	m.ReadImage(5, got)
	b.ReadImage(2, want)
	if !slices.Equal(got, want) || !m.Synthetic(5) || m.Synthetic(1) || m.Labels(4) != b.Labels(1) {
		t.Fatal("image 5 of the union is not image 2 of the second part")
	}
	px, _ := c.(ByteSource).Bytes(4)
	if want, _ := (byteSource{n: 2}).Bytes(1); !slices.Equal(px, want) {
		t.Fatal("bytes of image 4 are not the second part's image 1")
	}
}
