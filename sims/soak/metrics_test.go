package soak

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 24
go_memstats_heap_inuse_bytes 4.01408e+06
go_gc_duration_seconds{quantile="0"} 1e-05
process_open_fds 13
garbage
go_goroutines_extra 7
`
	m := parseMetrics(strings.NewReader(text), metricGoroutines, metricHeapInuse)
	if m[metricGoroutines] != 24 || m[metricHeapInuse] != 4.01408e+06 || len(m) != 2 {
		t.Fatalf("parsed %v", m)
	}
	if m := parseMetrics(strings.NewReader("go_goroutines NaNx\n"), metricGoroutines); len(m) != 0 {
		t.Fatalf("a bad value was read: %v", m)
	}
}

// FuzzParseMetrics: any exposition text parses without a panic, and only
// the asked names come back.
func FuzzParseMetrics(f *testing.F) {
	f.Add("go_goroutines 24\ngo_memstats_heap_inuse_bytes 1e6\n")
	f.Add("# TYPE x gauge\nx{a=\"b\"} 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		for k := range parseMetrics(strings.NewReader(s), metricGoroutines) {
			if k != metricGoroutines {
				t.Fatalf("unasked metric %q", k)
			}
		}
	})
}
