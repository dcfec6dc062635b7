package scenario

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
)

// Tolerance is the largest relative difference between a committed global
// model and the FedAvg recomputed from the sites' updates (float32 sums in
// another order).
const Tolerance = 1e-4

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
	var prev model.Weights
	for _, rec := range rs {
		s := rec.Summary
		global, _, err := ck.Read(rec.Checkpoint)
		if err != nil {
			return "", fmt.Errorf("round %d: %w", s.Round, err)
		}
		if s.Round > 0 {
			line, err := r.checkRound(s, prev, global)
			if err != nil {
				return "", err
			}
			lines = append(lines, line)
		}
		prev = global
	}
	return strings.Join(lines, "\n"), nil
}

// checkRound checks one round's global against its accepted updates, as
// the sites clipped them under secure aggregation (see clipUpdate).
func (r *Runner) checkRound(s coordinator.RoundSummary, prev, global model.Weights) (string, error) {
	if err := global.CheckFinite(); err != nil {
		return "", fmt.Errorf("round %d: global model poisoned: %w", s.Round, err)
	}
	acc := append([]string(nil), s.Accepted...)
	sort.Strings(acc)
	cands := make([][]update, len(acc))
	for i, site := range acc {
		cands[i] = r.rec.candidates(site, s.Round)
		if r.secure {
			for k := range cands[i] {
				cands[i][k].w = clipUpdate(prev, cands[i][k].w, r.maxNorm, cands[i][k].samples)
			}
		}
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
		if d := RelDiff(fedAvg(chosen), global); d <= Tolerance {
			note := ""
			for i, u := range chosen {
				switch {
				case u.poisoned == PoisonHuge && r.secure && r.maxNorm > 0:
					note += fmt.Sprintf(" (%s's huge update clipped to norm %g)", acc[i], r.maxNorm)
				case u.poisoned != "":
					return "", fmt.Errorf("round %d: the global includes %s's %s update", s.Round, acc[i], u.poisoned)
				}
			}
			return fmt.Sprintf("round %d: global finite, = FedAvg of %s%s", s.Round, strings.Join(acc, " "), note), nil
		} else if d < best {
			best = d
		}
		if !NextPick(pick, cands) {
			break
		}
	}
	return "", fmt.Errorf("round %d: global differs from the FedAvg of the accepted updates of %s (best relative difference %.3g): an accepted update was lost or another leaked in", s.Round, strings.Join(acc, " "), best)
}

// NextPick advances pick (one index into each cands[i]) to the next
// combination, like an odometer, and reports false after the last one.
func NextPick[T any](pick []int, cands [][]T) bool {
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

// FedAvg is the sample-weighted mean of ws (samples[i] for ws[i]) in
// float64: the reference a committed global is checked against.
func FedAvg(ws []model.Weights, samples []int) []float64 {
	us := make([]update, len(ws))
	for i := range ws {
		us[i] = update{w: ws[i], samples: samples[i]}
	}
	return fedAvg(us)
}

// RelDiff is the relative L2 difference between ref and w's values.
func RelDiff(ref []float64, w model.Weights) float64 {
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

// clipUpdate returns prev plus w's update (w - prev) clipped as a site's
// secure-aggregation runner clips it before masking: to L2 norm bound (when
// > 0), then each element, pre-scaled by samples/MaxWeight, to the
// fixed-point range [-Clip, Clip] (secagg.DefaultConfig).
func clipUpdate(prev, w model.Weights, bound float64, samples int) model.Weights {
	return ClipUpdate(prev, w, bound, samples, secagg.DefaultConfig())
}

// ClipUpdate is clipUpdate under the secure-aggregation config sc of the
// job: what a site masks for w trained from prev with samples examples.
func ClipUpdate(prev, w model.Weights, bound float64, samples int, sc secagg.Config) model.Weights {
	elem := sc.Clip * sc.MaxWeight / float64(max(samples, 1))
	out := w.Clone()
	var sq float64
	for i, t := range out.Tensors() {
		p := prev.Tensors()[i].Data
		for j := range t.Data {
			d := float64(t.Data[j]) - float64(p[j])
			sq += d * d
		}
	}
	scale := 1.0
	if n := math.Sqrt(sq); bound > 0 && n > bound {
		scale = bound / n
	}
	for i, t := range out.Tensors() {
		p := prev.Tensors()[i].Data
		for j := range t.Data {
			d := scale * (float64(t.Data[j]) - float64(p[j]))
			d = max(-elem, min(elem, d))
			t.Data[j] = float32(float64(p[j]) + d)
		}
	}
	return out
}
