//go:build race

package protocol

// raceEnabled shrinks the large-stream test under the race detector, which
// slows byte loops about tenfold; the full size runs without it and in
// BenchmarkStream200MB.
const raceEnabled = true
