package optim

// RoundMoments carries a site's AdamW moments from one round of a job to
// the next (a known federated variant: the local optimiser state persists
// at the site while the weights are replaced by the global model). The
// moments saved after round r are used only by round r+1, so a site that
// skipped a round, restarted, or begins a new job starts from zero moments,
// and a retried round starts from the same moments as its first attempt:
// the result stays a function of the site's rounds, bit for bit.
type RoundMoments struct {
	saved map[int]Moments
}

// Begin prepares a for round: it restores the moments saved after round-1
// and reports true, or zeroes them (Reset) and reports false. Moments of
// rounds before round-1 are dropped. The schedule step is left at 0.
func (r *RoundMoments) Begin(a *Adam, round int) bool {
	m, ok := r.saved[round-1]
	for k := range r.saved {
		if k < round-1 {
			delete(r.saved, k)
		}
	}
	a.Reset()
	if ok {
		a.SetMoments(m)
	}
	return ok
}

// End saves a's moments as those after round.
func (r *RoundMoments) End(a *Adam, round int) {
	if r.saved == nil {
		r.saved = map[int]Moments{}
	}
	r.saved[round] = a.Moments()
}

// StartRound prepares a for the steps local steps of a job's round (round
// 1 is the first; round 0 is the initial model): the moments are zero, or,
// with keep, those keep saved after the site's previous round; the base
// learning rate is lr; and the schedule is placed at the job's global step
// (round-1)*steps (RoundStart), so that warm-up and decay run over the
// whole job instead of restarting every round.
func StartRound(a *Adam, keep *RoundMoments, lr float64, round, steps int) {
	if keep != nil {
		keep.Begin(a, round)
	} else {
		a.Reset()
	}
	a.SetLR(lr)
	a.SetScheduleStep(RoundStart(round, steps))
}
