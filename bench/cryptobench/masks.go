package main

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/synthfed/synthfed/crypto/secagg"
)

// MaskResult is the mask-expansion throughput, with the standard library's
// raw AES-256-CTR keystream measured side by side as the reference.
type MaskResult struct {
	Bytes int `json:"bytes"`
	// ExpandGBps is secagg.Expand (keystream to uint32 words) on one core.
	ExpandGBps float64 `json:"expand_gbps_1core"`
	// AddGBps is secagg.AddMask (keystream added into a vector) on one core.
	AddGBps float64 `json:"add_gbps_1core"`
	// AESCTRGBps is crypto/cipher CTR XORKeyStream on one core.
	AESCTRGBps float64 `json:"aes_ctr_gbps_1core"`
	// AddParallelGBps is AddMask over GOMAXPROCS goroutines on disjoint
	// ranges.
	AddParallelGBps float64 `json:"add_gbps_parallel"`
	Workers         int     `json:"workers"`
}

// median returns the median of durations.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func gbps(bytes int, d time.Duration) float64 { return float64(bytes) / d.Seconds() / 1e9 }

// timeIt runs f reps times (after one warm-up) and returns the median.
func timeIt(reps int, f func()) time.Duration {
	f()
	var ds []time.Duration
	for i := 0; i < reps; i++ {
		t0 := time.Now()
		f()
		ds = append(ds, time.Since(t0))
	}
	return median(ds)
}

func measureMasks(bytes, reps int) MaskResult {
	words := bytes / 4
	v := make([]uint32, words)
	key := secagg.MaskKey{7}
	r := MaskResult{Bytes: bytes, Workers: runtime.GOMAXPROCS(0)}
	// Interleave the reference and the measured functions in each repetition
	// so that machine noise hits both alike.
	buf := make([]byte, bytes)
	block, _ := aes.NewCipher(key[:])
	var ctr, exp, add, par []time.Duration
	for i := 0; i <= reps; i++ {
		t := time.Now()
		cipher.NewCTR(block, make([]byte, 16)).XORKeyStream(buf, buf)
		d1 := time.Since(t)
		t = time.Now()
		secagg.Expand(v, key, 0)
		d2 := time.Since(t)
		t = time.Now()
		secagg.AddMask(v, key, 0, false)
		d3 := time.Since(t)
		t = time.Now()
		addParallel(v, key, r.Workers)
		d4 := time.Since(t)
		if i > 0 { // the first pass warms up
			ctr, exp, add, par = append(ctr, d1), append(exp, d2), append(add, d3), append(par, d4)
		}
	}
	r.AESCTRGBps = gbps(bytes, median(ctr))
	r.ExpandGBps = gbps(bytes, median(exp))
	r.AddGBps = gbps(bytes, median(add))
	r.AddParallelGBps = gbps(bytes, median(par))
	return r
}

func addParallel(v []uint32, key secagg.MaskKey, workers int) {
	step := (len(v)/workers + 3) &^ 3
	var wg sync.WaitGroup
	for lo := 0; lo < len(v); lo += step {
		hi := min(lo+step, len(v))
		wg.Add(1)
		go func() {
			defer wg.Done()
			secagg.AddMask(v[lo:hi], key, lo, false)
		}()
	}
	wg.Wait()
}

func printMasks(r MaskResult) {
	fmt.Printf("mask expansion (%d MB, medians): Expand %.2f GB/s, AddMask %.2f GB/s, raw AES-256-CTR %.2f GB/s (1 core); AddMask on %d workers %.2f GB/s\n",
		r.Bytes>>20, r.ExpandGBps, r.AddGBps, r.AESCTRGBps, r.Workers, r.AddParallelGBps)
}
