package scenario

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/model"
)

// tolerance is the largest relative difference between a committed global
// model and the FedAvg recomputed from the sites' updates (float32 sums in
// another order).
const tolerance = 1e-4

// check verifies every committed round of the job: its global model is
// finite and equals the sample-weighted mean of exactly the updates its
// accepted sites produced for that round, none of them poisoned.
func (r *Runner) check() (string, error) {
	rs, err := r.rounds()
	if err != nil {
		return "", err
	}
	if len(rs) == 0 {
		return "", fmt.Errorf("no committed rounds (is the coordinator up?)")
	}
	ck, err := coordinator.OpenCheckpoints(filepath.Join(r.dir, "coordinator", "checkpoints"))
	if err != nil {
		return "", err
	}
	var lines []string
	for _, rec := range rs {
		s := rec.Summary
		if s.Round == 0 {
			continue
		}
		global, _, err := ck.Read(rec.Checkpoint)
		if err != nil {
			return "", fmt.Errorf("round %d: %w", s.Round, err)
		}
		line, err := r.checkRound(s, global)
		if err != nil {
			return "", err
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), nil
}

// checkRound checks one round's global against its accepted updates.
func (r *Runner) checkRound(s coordinator.RoundSummary, global model.Weights) (string, error) {
	if err := global.CheckFinite(); err != nil {
		return "", fmt.Errorf("round %d: global model poisoned: %w", s.Round, err)
	}
	acc := append([]string(nil), s.Accepted...)
	sort.Strings(acc)
	cands := make([][]update, len(acc))
	for i, site := range acc {
		cands[i] = r.rec.candidates(site, s.Round)
		if len(cands[i]) == 0 {
			return "", fmt.Errorf("round %d: accepted %s, which produced no update for it", s.Round, site)
		}
	}
	pick := make([]int, len(acc))
	best := math.Inf(1)
	for {
		chosen := make([]update, len(acc))
		for i := range acc {
			chosen[i] = cands[i][pick[i]]
		}
		if d := relDiff(fedAvg(chosen), global); d <= tolerance {
			for i, u := range chosen {
				if u.poisoned != "" {
					return "", fmt.Errorf("round %d: the global includes %s's %s update", s.Round, acc[i], u.poisoned)
				}
			}
			return fmt.Sprintf("round %d: global finite, = FedAvg of %s", s.Round, strings.Join(acc, " ")), nil
		} else if d < best {
			best = d
		}
		if !nextPick(pick, cands) {
			break
		}
	}
	return "", fmt.Errorf("round %d: global differs from the FedAvg of the accepted updates of %s (best relative difference %.3g): an accepted update was lost or another leaked in", s.Round, strings.Join(acc, " "), best)
}

// nextPick advances pick through every combination of candidates.
func nextPick(pick []int, cands [][]update) bool {
	for i := range pick {
		pick[i]++
		if pick[i] < len(cands[i]) {
			return true
		}
		pick[i] = 0
	}
	return false
}

// fedAvg is the sample-weighted mean of updates, in float64.
func fedAvg(us []update) []float64 {
	var out []float64
	total := 0.0
	for _, u := range us {
		total += float64(u.samples)
	}
	for _, u := range us {
		k := 0
		for _, t := range u.w.Tensors() {
			for _, v := range t.Data {
				if k == len(out) {
					out = append(out, 0)
				}
				out[k] += float64(u.samples) / total * float64(v)
				k++
			}
		}
	}
	return out
}

// relDiff is the relative L2 difference between ref and w's values.
func relDiff(ref []float64, w model.Weights) float64 {
	var num, den float64
	k := 0
	for _, t := range w.Tensors() {
		for _, v := range t.Data {
			if k >= len(ref) {
				return math.Inf(1)
			}
			d := float64(v) - ref[k]
			num, den = num+d*d, den+ref[k]*ref[k]
			k++
		}
	}
	if k != len(ref) || math.IsNaN(num) {
		return math.Inf(1)
	}
	return math.Sqrt(num / max(den, 1e-30))
}
