package soak

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metric names the soak reads from a member's /metrics (client_golang's Go
// and process collectors).
const (
	metricGoroutines = "go_goroutines"
	metricHeapInuse  = "go_memstats_heap_inuse_bytes"
	// metricNextGC is the heap size the next collection triggers at: the
	// live heap after the last one times (1 + GOGC/100), so half of it is
	// the live heap at GOGC = 100 (the members' default) — a reading
	// without the garbage between collections.
	metricNextGC = "go_memstats_next_gc_bytes"
)

// reading is what the soak reads from a member's /metrics.
type reading struct {
	goroutines     int
	heapKB, liveKB int64
}

// parseMetrics reads the unlabelled samples of the named metrics from a
// Prometheus text exposition; lines it cannot read are skipped.
func parseMetrics(r io.Reader, names ...string) map[string]float64 {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !want[f[0]] {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

// scrape reads goroutines, the Go heap in use and the live heap from url
// ("" or an error: ok is false).
func scrape(ctx context.Context, client *http.Client, url string) (rd reading, ok bool) {
	if url == "" {
		return rd, false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return rd, false
	}
	resp, err := client.Do(req)
	if err != nil {
		return rd, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return rd, false
	}
	m := parseMetrics(io.LimitReader(resp.Body, 4<<20), metricGoroutines, metricHeapInuse, metricNextGC)
	g, gok := m[metricGoroutines]
	h, hok := m[metricHeapInuse]
	n, nok := m[metricNextGC]
	return reading{goroutines: int(g), heapKB: int64(h) / 1024, liveKB: int64(n) / 2048}, gok && hok && nok
}
