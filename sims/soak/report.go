package soak

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Report is the run's summary figures.
type Report struct {
	Minutes          float64      `json:"minutes"`
	RoundsCommitted  int          `json:"rounds_committed"`
	RoundsPerMinute  float64      `json:"rounds_per_minute"`
	Jobs             int          `json:"jobs"`
	JobsDone         int          `json:"jobs_done"`
	FaultsByKind     map[Kind]int `json:"faults_by_kind"`
	FaultsSkipped    int          `json:"faults_skipped"`
	Restarts         int          `json:"coordinator_restarts"`
	RecoveryMedianMS int64        `json:"recovery_median_ms"`
	RecoveryMaxMS    int64        `json:"recovery_max_ms"`
	RecoveriesMS     []int64      `json:"recoveries_ms"`
	// ListenMedianMS and ListenToTaskMedianMS split the recovery: start
	// to listening, listening to the first task.
	ListenMedianMS       int64          `json:"listen_median_ms"`
	ListenToTaskMedianMS int64          `json:"listen_to_task_median_ms"`
	Load                 [2]float64     `json:"load_average"`
	Held                 bool           `json:"invariants_held"`
	Trends               []TrendFigures `json:"trends"`
	// StoreBytes is the coordinator's data folder on disk at the last
	// sample, against StoreCommits logged by then; BytesPerCommit is the
	// least-squares slope of size against commits over the run.
	StoreBytes     int64   `json:"store_bytes"`
	StoreCommits   int     `json:"store_commits"`
	BytesPerCommit float64 `json:"store_bytes_per_commit"`
	// CoordinatorExits are the coordinator's own stops (a full disk),
	// each followed by a restart.
	CoordinatorExits int `json:"coordinator_exits"`
}

// slope is the least-squares slope of bytes against commits.
func slope(ss []StoreSample) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, s := range ss {
		x, y := float64(s.Commits), float64(s.Bytes)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

func buildReport(res *Result) Report {
	h := res.History
	rep := Report{Minutes: h.End.Sub(h.Start).Minutes(), Jobs: len(h.Jobs), FaultsByKind: map[Kind]int{},
		Restarts: len(h.CoordinatorStarts), Held: Held(res.Invariants), Trends: res.Trends, CoordinatorExits: len(h.Exits)}
	if n := len(res.Store); n > 0 {
		rep.StoreBytes, rep.StoreCommits, rep.BytesPerCommit = res.Store[n-1].Bytes, res.Store[n-1].Commits, slope(res.Store)
	}
	for _, rs := range h.Stored {
		for _, r := range rs {
			if r.Round > 0 {
				rep.RoundsCommitted++
			}
		}
	}
	for _, j := range h.Jobs {
		if j.State == "done" {
			rep.JobsDone++
		}
	}
	if rep.Minutes > 0 {
		rep.RoundsPerMinute = float64(rep.RoundsCommitted) / rep.Minutes
	}
	for _, in := range h.Injected {
		if in.Skipped != "" {
			rep.FaultsSkipped++
			continue
		}
		rep.FaultsByKind[in.Kind]++
	}
	rep.Load = h.Load
	var listen []time.Duration
	for i, l := range h.CoordinatorListens {
		if i < len(h.CoordinatorStarts) {
			listen = append(listen, l.Sub(h.CoordinatorStarts[i]))
		}
	}
	rep.ListenMedianMS = medianMS(listen)
	rep.ListenToTaskMedianMS = medianMS(Recoveries(h.CoordinatorListens, h.Tasks))
	rec := Recoveries(h.CoordinatorStarts, h.Tasks)
	for _, d := range rec {
		rep.RecoveriesMS = append(rep.RecoveriesMS, d.Milliseconds())
	}
	if len(rec) > 0 {
		s := append([]time.Duration(nil), rec...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		rep.RecoveryMedianMS, rep.RecoveryMaxMS = s[len(s)/2].Milliseconds(), s[len(s)-1].Milliseconds()
	}
	return rep
}

func medianMS(ds []time.Duration) int64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Milliseconds()
}

// WriteJSON writes the result as JSON (with the resource samples) to path.
func (res *Result) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(struct {
		*Result
		Samples []Sample `json:"samples"`
	}{res, res.Samples}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Print writes the short human report.
func (res *Result) Print(w io.Writer) {
	rep := res.Report
	fmt.Fprintf(w, "soak: %s\n", res.Config.String())
	fmt.Fprintf(w, "mode %s: %s\n", res.Mode, res.Setup)
	if res.ModeNote != "" {
		fmt.Fprintf(w, "(%s)\n", res.ModeNote)
	}
	fmt.Fprintf(w, "ran %.1f min: %d jobs (%d done), %d rounds committed, %.1f rounds/min\n", rep.Minutes, rep.Jobs, rep.JobsDone, rep.RoundsCommitted, rep.RoundsPerMinute)
	var kinds []string
	for k := range rep.FaultsByKind {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	fmt.Fprint(w, "faults:")
	for _, k := range kinds {
		fmt.Fprintf(w, " %s=%d", k, rep.FaultsByKind[Kind(k)])
	}
	fmt.Fprintf(w, " (skipped %d)\n", rep.FaultsSkipped)
	fmt.Fprintf(w, "coordinator restarts %d: recovery to first task median %d ms, max %d ms (start to listening median %d ms, listening to first task %d ms); load average %.1f at the start, %.1f at the end\n",
		rep.Restarts, rep.RecoveryMedianMS, rep.RecoveryMaxMS, rep.ListenMedianMS, rep.ListenToTaskMedianMS, rep.Load[0], rep.Load[1])
	for _, t := range rep.Trends {
		fmt.Fprintf(w, "%-11s peak RSS %d MB, last %d MB; Go heap in use peak %d MB, last %d MB; live heap peak %d MB, last %d MB; peak fds %d, threads %d, goroutines %d\n",
			t.Role, t.PeakRSSKB/1024, t.LastRSSKB/1024, t.PeakHeapKB/1024, t.LastHeapKB/1024, t.PeakLiveKB/1024, t.LastLiveKB/1024, t.PeakFDs, t.PeakThr, t.PeakGoroutines)
		fmt.Fprintf(w, "%-11s second-half growth: RSS %+.1f%% (anon %+.1f%%, file-backed %+.1f%%), Go heap in use %+.1f%%, live heap %+.1f%%, fds %+.1f%%, threads %+.1f%%, goroutines %+.1f%% (%d samples)\n",
			"", 100*t.RSSGrowth, 100*t.AnonGrowth, 100*t.FileGrowth, 100*t.HeapGrowth, 100*t.LiveGrowth, 100*t.FDGrowth, 100*t.ThreadsGrowth, 100*t.GoroutinesGrowth, t.Samples)
	}
	fmt.Fprintf(w, "store: %.1f MB on disk after %d commits (%.0f bytes per commit, least squares); the coordinator stopped itself %d times (restarted)\n",
		float64(rep.StoreBytes)/(1<<20), rep.StoreCommits, rep.BytesPerCommit, rep.CoordinatorExits)
	for _, v := range res.Invariants {
		state := "held"
		if !v.Held {
			state = "BROKEN"
		}
		fmt.Fprintf(w, "[%s] %s: %s\n", state, v.Name, v.Detail)
		for _, b := range v.Broken {
			fmt.Fprintf(w, "    %s\n", b)
		}
	}
}
