package soak

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sample is one resource reading of one process.
type Sample struct {
	T       float64 `json:"t"` // seconds since the start
	Role    string  `json:"role"`
	Name    string  `json:"name"`
	Started float64 `json:"started"` // when this incarnation started (seconds)
	RSSKB   int64   `json:"rss_kb"`
	// AnonKB and FileKB split RSS: anonymous memory (the Go heap, stacks)
	// and file-backed pages mapped in (the binary, bbolt's mmap of the
	// store), from /proc/PID/status.
	AnonKB  int64 `json:"rss_anon_kb"`
	FileKB  int64 `json:"rss_file_kb"`
	Threads int   `json:"threads"`
	FDs     int   `json:"fds"`
	// Goroutines and HeapKB (Go heap in use) come from the member's
	// /metrics (0: not read this time).
	Goroutines int   `json:"goroutines,omitempty"`
	HeapKB     int64 `json:"heap_kb,omitempty"`
	// LiveKB is the live heap after the last collection (half the next
	// collection's target at GOGC = 100).
	LiveKB int64 `json:"live_heap_kb,omitempty"`
}

// StoreSample is the coordinator's data folder's size on disk against the
// rounds committed so far.
type StoreSample struct {
	T       float64 `json:"t"`
	Commits int     `json:"commits"`
	Bytes   int64   `json:"bytes"`
}

// readProc reads RSS (and its anonymous and file parts), threads and open
// file descriptors of pid from /proc.
func readProc(pid int) (s Sample, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return s, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			s.RSSKB, _ = strconv.ParseInt(f[1], 10, 64)
		case "RssAnon:":
			s.AnonKB, _ = strconv.ParseInt(f[1], 10, 64)
		case "RssFile:":
			s.FileKB, _ = strconv.ParseInt(f[1], 10, 64)
		case "Threads:":
			s.Threads, _ = strconv.Atoi(f[1])
		}
	}
	ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err == nil {
		s.FDs = len(ents)
	}
	return s, true
}

// TrendFigures are one role's resource figures over a run.
type TrendFigures struct {
	Role string `json:"role"`
	// Peak and last are over every process of the role (agents: the
	// median agent at each sampling time).
	PeakRSSKB int64 `json:"peak_rss_kb"`
	LastRSSKB int64 `json:"last_rss_kb"`
	PeakFDs   int   `json:"peak_fds"`
	PeakThr   int   `json:"peak_threads"`
	// Growth is the second half's relative growth of RSS, FDs and
	// threads: the mean of its last quarter against the mean of its
	// first quarter, over processes up for at least Warm (NaN-free: 0
	// when there are too few samples).
	RSSGrowth     float64 `json:"rss_growth"`
	FDGrowth      float64 `json:"fd_growth"`
	ThreadsGrowth float64 `json:"threads_growth"`
	// GoroutinesGrowth and HeapGrowth are the same for the goroutines
	// and the Go heap in use (from /metrics; 0 when not read).
	GoroutinesGrowth float64 `json:"goroutines_growth"`
	AnonGrowth       float64 `json:"rss_anon_growth"`
	LiveGrowth       float64 `json:"live_heap_growth"`
	PeakLiveKB       int64   `json:"peak_live_heap_kb"`
	LastLiveKB       int64   `json:"last_live_heap_kb"`
	FileGrowth       float64 `json:"rss_file_growth"`
	HeapGrowth       float64 `json:"heap_growth"`
	PeakGoroutines   int     `json:"peak_goroutines"`
	PeakHeapKB       int64   `json:"peak_heap_kb"`
	LastHeapKB       int64   `json:"last_heap_kb"`
	Samples          int     `json:"samples"`
}

// Warm is how long a process must have been up before its samples count
// in the growth figures (start-up allocations are not leaks).
const Warm = 20 * time.Second

// Trend computes the role's figures from samples taken over a run of
// length total; it is pure. At each sampling time the role's value is
// the median over its warm processes.
func Trend(samples []Sample, role string, total time.Duration) TrendFigures {
	tf := TrendFigures{Role: role}
	byT := map[float64][]Sample{}
	for _, s := range samples {
		if s.Role != role {
			continue
		}
		tf.Samples++
		tf.PeakRSSKB, tf.PeakFDs, tf.PeakThr = max(tf.PeakRSSKB, s.RSSKB), max(tf.PeakFDs, s.FDs), max(tf.PeakThr, s.Threads)
		tf.PeakGoroutines, tf.PeakHeapKB = max(tf.PeakGoroutines, s.Goroutines), max(tf.PeakHeapKB, s.HeapKB)
		tf.PeakLiveKB = max(tf.PeakLiveKB, s.LiveKB)
		if s.T-s.Started >= Warm.Seconds() {
			byT[s.T] = append(byT[s.T], s)
		}
	}
	var ts []float64
	for t := range byT {
		ts = append(ts, t)
	}
	sort.Float64s(ts)
	type point struct{ t, rss, fds, thr, gor, heap, anon, file, live float64 }
	var pts []point
	for _, t := range ts {
		ss := byT[t]
		pts = append(pts, point{t, median(ss, func(s Sample) float64 { return float64(s.RSSKB) }),
			median(ss, func(s Sample) float64 { return float64(s.FDs) }), median(ss, func(s Sample) float64 { return float64(s.Threads) }),
			medianRead(ss, func(s Sample) float64 { return float64(s.Goroutines) }), medianRead(ss, func(s Sample) float64 { return float64(s.HeapKB) }),
			median(ss, func(s Sample) float64 { return float64(s.AnonKB) }), median(ss, func(s Sample) float64 { return float64(s.FileKB) }),
			medianRead(ss, func(s Sample) float64 { return float64(s.LiveKB) })})
	}
	if len(pts) > 0 {
		last := pts[len(pts)-1]
		tf.LastRSSKB, tf.LastHeapKB, tf.LastLiveKB = int64(last.rss), int64(last.heap), int64(last.live)
	}
	half := total.Seconds() / 2
	var second []point
	for _, p := range pts {
		if p.t >= half {
			second = append(second, p)
		}
	}
	q := len(second) / 4
	if q < 1 {
		return tf
	}
	// growth compares the means of the first and last quarter's readings
	// (0: not read at that time, skipped).
	growth := func(f func(point) float64) float64 {
		var a, b float64
		var na, nb int
		for i := 0; i < q; i++ {
			if v := f(second[i]); v != 0 {
				a, na = a+v, na+1
			}
			if v := f(second[len(second)-1-i]); v != 0 {
				b, nb = b+v, nb+1
			}
		}
		if na == 0 || nb == 0 || a == 0 {
			return 0
		}
		a, b = a/float64(na), b/float64(nb)
		return (b - a) / a
	}
	tf.RSSGrowth = growth(func(p point) float64 { return p.rss })
	tf.FDGrowth = growth(func(p point) float64 { return p.fds })
	tf.ThreadsGrowth = growth(func(p point) float64 { return p.thr })
	tf.GoroutinesGrowth = growth(func(p point) float64 { return p.gor })
	tf.HeapGrowth = growth(func(p point) float64 { return p.heap })
	tf.AnonGrowth = growth(func(p point) float64 { return p.anon })
	tf.FileGrowth = growth(func(p point) float64 { return p.file })
	tf.LiveGrowth = growth(func(p point) float64 { return p.live })
	return tf
}

// medianRead is the median over the samples that read the value (non-zero).
func medianRead(ss []Sample, f func(Sample) float64) float64 {
	var read []Sample
	for _, s := range ss {
		if f(s) != 0 {
			read = append(read, s)
		}
	}
	if len(read) == 0 {
		return 0
	}
	return median(read, f)
}

func median(ss []Sample, f func(Sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	sort.Float64s(v)
	return v[len(v)/2]
}
