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
)

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

// scrape reads goroutines and Go heap in use from url ("" or an error:
// ok is false).
func scrape(ctx context.Context, client *http.Client, url string) (goroutines int, heapKB int64, ok bool) {
	if url == "" {
		return 0, 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, false
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, false
	}
	m := parseMetrics(io.LimitReader(resp.Body, 4<<20), metricGoroutines, metricHeapInuse)
	g, gok := m[metricGoroutines]
	h, hok := m[metricHeapInuse]
	return int(g), int64(h) / 1024, gok && hok
}
