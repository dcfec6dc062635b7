package phantom

import (
	"syscall"
	"testing"
	"time"

	"github.com/synthfed/synthfed/dataset"
)

// benchBatch is the number of images one benchmark operation renders, so
// that even -benchtime 1x (make bench-go) measures a meaningful batch.
const benchBatch = 256

// benchRender renders pre-planned studies of the three default sites on one
// goroutine, including the 16-bit quantisation and preprocessing that
// RenderSite applies, and reports images per second of wall time and of
// process CPU time (on a shared machine the latter is the honest figure).
func benchRender(b *testing.B, size int) {
	cfg := DefaultConfig()
	cfg.Size = size
	const n = 512
	var studies [3][]Study
	var profs [3]Profile
	for s := range studies {
		studies[s], profs[s] = cfg.Plan(s, n), cfg.SiteProfile(s)
	}
	rd := NewRenderer(cfg)
	img := make([]float32, size*size)
	out := make([]float32, size*size)
	k := 0
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < benchBatch; j++ {
			s := k % 3
			rd.Render(&studies[s][(k/3)%n], &profs[s], img)
			quantize(img)
			dataset.PreprocessInto(out, &dataset.Gray{Width: size, Height: size, Pix: img}, size)
			k++
		}
	}
	images := float64(b.N * benchBatch)
	b.ReportMetric(images/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(images/(cpuTime()-cpu0).Seconds(), "images/cpu-s")
}

// BenchmarkRender64 is the speed requirement: >= 2000 images/s at 64x64
// (rendered at 128x128) on one core.
func BenchmarkRender64(b *testing.B) { benchRender(b, 64) }

// BenchmarkRender32 is the project's default image size (rendered at 64x64).
func BenchmarkRender32(b *testing.B) { benchRender(b, 32) }

// BenchmarkPlan measures drawing demographics, findings and labels.
func BenchmarkPlan(b *testing.B) {
	cfg := DefaultConfig()
	for i := 0; i < b.N; i++ {
		cfg.Plan(i%3, 256)
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "studies/s")
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
