package phantom

import (
	"syscall"
	"testing"
	"time"

	"github.com/synthfed/synthfed/dataset"
)

// benchRender plans and renders studies on one goroutine, including the
// 16-bit quantisation and preprocessing that RenderSite applies, and
// reports images per second.
func benchRender(b *testing.B, size int) {
	cfg := DefaultConfig()
	cfg.Size = size
	const n = 512
	sites := make([][]Study, 3)
	for s := range sites {
		sites[s] = cfg.Plan(s, n)
	}
	rd := NewRenderer(cfg)
	img := make([]float32, size*size)
	out := make([]float32, size*size)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := i % 3
		prof := cfg.SiteProfile(s)
		rd.Render(&sites[s][(i/3)%n], &prof, img)
		quantize(img)
		dataset.PreprocessInto(out, &dataset.Gray{Width: size, Height: size, Pix: img}, size)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	// On a shared machine wall time overstates the cost: also report images
	// per second of this process's CPU time.
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "images/cpu-s")
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRender64 is the speed requirement: >= 2000 images/s at 64x64
// (rendered at 128x128) on one core.
func BenchmarkRender64(b *testing.B) { benchRender(b, 64) }

// BenchmarkRender32 is the project's default image size.
func BenchmarkRender32(b *testing.B) { benchRender(b, 32) }

// BenchmarkPlan measures drawing demographics, findings and labels.
func BenchmarkPlan(b *testing.B) {
	cfg := DefaultConfig()
	for i := 0; i < b.N; i++ {
		cfg.Plan(i%3, 64)
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "studies/s")
}
