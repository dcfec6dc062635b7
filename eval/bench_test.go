package eval

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model"
)

func benchPair(n int) ([]float64, []float64, []model.Label) {
	r := rand.New(rand.NewPCG(42, 42))
	y := simLabels(r, n, 0.3, 0.05)
	a := simScores(r, y, 1, 4) // rounded: many ties, as in real scores
	b := make([]float64, n)
	for i := range b {
		b[i] = a[i] + 0.5*r.NormFloat64()
	}
	return a, b, y
}

// BenchmarkAUROCDeLong100k is the speed target: the AUROC of one
// score vector and DeLong's paired test against another on 100,000 rows
// (under 100 ms). Run:
//
//	go test -run '^$' -bench 'AUROCDeLong100k|SortFloat64s100k' -count 5 ./eval/
func BenchmarkAUROCDeLong100k(b *testing.B) {
	s1, s2, y := benchPair(100_000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := AUROC(s1, y); err != nil {
			b.Fatal(err)
		}
		if _, err := DeLongPaired(s1, s2, y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSortFloat64s100k is the yardstick for the benchmark above: one
// plain sort of 100,000 floats, measured in the same run.
func BenchmarkSortFloat64s100k(b *testing.B) {
	s1, _, _ := benchPair(100_000)
	buf := make([]float64, len(s1))
	b.ResetTimer()
	for b.Loop() {
		copy(buf, s1)
		slices.Sort(buf)
	}
}

// BenchmarkBootstrap14Labels measures 1000 patient resamples of two score
// sets on a 2,000-row, 14-label test set.
func BenchmarkBootstrap14Labels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 2000
	ts := &TestSet{Names: model.LabelNames[:], Labels: make([][]model.Label, model.NumLabels)}
	sets := []Scores{make(Scores, model.NumLabels), make(Scores, model.NumLabels)}
	for j := range ts.Labels {
		ts.Labels[j] = simLabels(r, n, 0.2, 0.2)
		sets[0][j] = simScores(r, ts.Labels[j], 1, 3)
		sets[1][j] = simScores(r, ts.Labels[j], 0.8, 3)
	}
	cfg := BootstrapConfig{Reps: 1000, Level: 0.95, Seed: 1}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Bootstrap(context.Background(), ts, sets, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemorisation32px compares 1,000 synthetic 32x32 images with
// 1,000 training images in pixel space and 64-dimensional feature space.
func BenchmarkMemorisation32px(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	in := MemorisationInput{
		Synthetic: gaussFeatures(r, 1000, 1024, 0, 0.5), Training: gaussFeatures(r, 1000, 1024, 0, 0.5),
		SyntheticFeatures: gaussFeatures(r, 1000, 64, 0, 1), TrainingFeatures: gaussFeatures(r, 1000, 64, 0, 1),
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Memorisation(context.Background(), in, MemorisationConfig{Percentile: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQuality measures Fréchet distance and precision/recall (k = 3)
// on 2,000 real and 2,000 synthetic 128-dimensional feature vectors.
func BenchmarkQuality(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	real, synth := gaussFeatures(r, 2000, 128, 0, 1), gaussFeatures(r, 2000, 128, 0.1, 1.1)
	b.ResetTimer()
	for b.Loop() {
		if _, err := FrechetDistance(real, synth); err != nil {
			b.Fatal(err)
		}
		if _, err := PrecisionRecall(context.Background(), real, synth, 3); err != nil {
			b.Fatal(err)
		}
	}
}
