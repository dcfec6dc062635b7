package soak

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/synthfed/synthfed/coordinator"
	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/sims/scenario"
)

// candidate is one update a site recorded for a round (a site may train a
// round more than once, across a coordinator restart).
type candidate struct {
	w       model.Weights
	samples int
}

// maxCombos bounds the search over the sites' candidate updates.
const maxCombos = 1 << 14

// MatchFedAvg checks a committed global against the sample-weighted mean
// of its accepted sites' updates, each clipped as the site clips it under
// secure aggregation (L2 bound, then the fixed-point element range of
// sc), trying each combination of candidates; it is pure.
func matchFedAvg(prev, global model.Weights, cands [][]candidate, bound float64, sc secagg.Config) (bool, float64) {
	for i := range cands {
		for k := range cands[i] {
			cands[i][k].w = scenario.ClipUpdate(prev, cands[i][k].w, bound, cands[i][k].samples, sc)
		}
	}
	pick := make([]int, len(cands))
	combos := 1
	for _, c := range cands {
		combos = min(combos*len(c), maxCombos+1)
	}
	if combos > maxCombos {
		return descend(global, cands)
	}
	best := math.Inf(1)
	for n := 0; n < maxCombos; n++ {
		ws, ss := make([]model.Weights, len(cands)), make([]int, len(cands))
		for i := range cands {
			ws[i], ss[i] = cands[i][pick[i]].w, cands[i][pick[i]].samples
		}
		d := scenario.RelDiff(scenario.FedAvg(ws, ss), global)
		if d <= scenario.Tolerance {
			return true, d
		}
		best = min(best, d)
		if !scenario.NextPick(pick, cands) {
			break
		}
	}
	return false, best
}

// descend searches too many combinations by coordinate descent: from each
// site's newest candidate, it changes one site's pick at a time while that
// brings the mean closer to global (the mean is linear in each pick, so an
// exact combination is reached when one exists and picks differ enough).
func descend(global model.Weights, cands [][]candidate) (bool, float64) {
	pick := make([]int, len(cands))
	for i := range cands {
		pick[i] = len(cands[i]) - 1
	}
	diff := func() float64 {
		ws, ss := make([]model.Weights, len(cands)), make([]int, len(cands))
		for i := range cands {
			ws[i], ss[i] = cands[i][pick[i]].w, cands[i][pick[i]].samples
		}
		return scenario.RelDiff(scenario.FedAvg(ws, ss), global)
	}
	best := diff()
	for sweep := 0; sweep < 8 && best > scenario.Tolerance; sweep++ {
		improved := false
		for i := range cands {
			keep := pick[i]
			for k := range cands[i] {
				if k == keep {
					continue
				}
				pick[i] = k
				if d := diff(); d < best {
					best, keep, improved = d, k, true
				}
			}
			pick[i] = keep
		}
		if !improved {
			break
		}
	}
	return best <= scenario.Tolerance, best
}

// loadCandidates reads the updates a site recorded for a job's round
// (site-agent --record-updates), one per distinct weights.
func loadCandidates(dir, job string, round int) ([]candidate, error) {
	ents, err := os.ReadDir(filepath.Join(dir, job))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	seen := map[string]bool{}
	var out []candidate
	prefix := strconv.Itoa(round) + "-"
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, job, e.Name()))
		if err != nil {
			return nil, err
		}
		w, meta, err := model.DecodeSafetensors(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		n, _ := strconv.Atoi(meta["samples"])
		if h := w.Hash(); !seen[h] {
			seen[h] = true
			out = append(out, candidate{w, n})
		}
	}
	return out, nil
}

// storeView is what the checks need from the coordinator's store.
type storeView struct {
	stored map[string][]StoredRound
	jobs   []JobOutcome
	audit  []coordinator.AuditEntry
	rounds []RoundCheck
}

// readStore opens the stopped coordinator's store and checkpoints, and
// checks every committed round of the jobs against the recorded updates
// (updates(site) is the site's record folder). A checkpoint the run
// corrupted on purpose is read from its saved copy in saved.
func readStore(dataDir, saved string, jobs []string, updates func(string) string, bound float64, sc secagg.Config) (storeView, error) {
	var v storeView
	st, err := coordinator.OpenStore(filepath.Join(dataDir, "state.db"), 10*time.Second)
	if err != nil {
		return v, err
	}
	defer st.Close()
	ck, err := coordinator.OpenCheckpoints(filepath.Join(dataDir, "checkpoints"))
	if err != nil {
		return v, err
	}
	if v.audit, err = st.AuditLog(); err != nil {
		return v, err
	}
	v.stored = map[string][]StoredRound{}
	for _, id := range jobs {
		rec, found, err := st.Job(id)
		if err != nil {
			return v, err
		}
		if !found {
			v.jobs = append(v.jobs, JobOutcome{ID: id, State: "unknown to the store"})
			continue
		}
		v.jobs = append(v.jobs, JobOutcome{ID: id, State: string(rec.State), Err: rec.Err})
		rs, err := st.Rounds(id)
		if err != nil {
			return v, err
		}
		var prev model.Weights
		for _, r := range rs {
			s := r.Summary
			acc := append([]string(nil), s.Accepted...)
			sort.Strings(acc)
			v.stored[id] = append(v.stored[id], StoredRound{Round: s.Round, Hash: s.GlobalHash, Accepted: acc})
			global, err := readCheckpoint(ck, saved, r.Checkpoint)
			if err != nil {
				v.rounds = append(v.rounds, RoundCheck{Job: id, Round: s.Round, Detail: err.Error()})
				prev = model.Weights{}
				continue
			}
			if s.Round > 0 && prev.Len() > 0 {
				v.rounds = append(v.rounds, checkRound(id, s.Round, acc, prev, global, updates, bound, sc))
			}
			prev = global
		}
	}
	return v, nil
}

func readCheckpoint(ck *coordinator.Checkpoints, saved, name string) (model.Weights, error) {
	w, _, err := ck.Read(name)
	if err == nil {
		return w, nil
	}
	data, serr := os.ReadFile(filepath.Join(saved, name))
	if serr != nil {
		return model.Weights{}, err
	}
	w, _, err = model.DecodeSafetensors(data)
	return w, err
}

func checkRound(job string, round int, acc []string, prev, global model.Weights, updates func(string) string, bound float64, sc secagg.Config) RoundCheck {
	rc := RoundCheck{Job: job, Round: round}
	if err := global.CheckFinite(); err != nil {
		rc.Detail = err.Error()
		return rc
	}
	cands := make([][]candidate, len(acc))
	for i, site := range acc {
		c, err := loadCandidates(updates(site), job, round)
		if err != nil || len(c) == 0 {
			rc.Detail = fmt.Sprintf("accepted %s, which recorded no update for it (%v)", site, err)
			return rc
		}
		cands[i] = c
	}
	ok, d := matchFedAvg(prev, global, cands, bound, sc)
	rc.OK = ok
	rc.Detail = fmt.Sprintf("FedAvg of %d accepted sites, relative difference %.2g", len(acc), d)
	return rc
}
