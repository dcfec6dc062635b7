package soak

import (
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/sims/scenario"
)

// TestMatchFedAvgManyRetrainedSites: 40 sites each trained the round twice
// (2^40 combinations, beyond the exhaustive search); the global is the
// mean of their newest updates except for 4 sites whose older one counted
// (as after a retried attempt). The match must be found (the 20-minute soak
// reported a false break here before the descent), and a global off the
// FedAvg must not match. The descent can miss a match far from the newest
// picks: it then reports a break, never hides one.
func TestMatchFedAvgManyRetrainedSites(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	prev := model.MustWeights(model.Tensor{Name: "w", Shape: []int{256}, Data: make([]float32, 256)})
	mk := func() model.Weights {
		w := prev.Clone()
		for i := range w.Tensors()[0].Data {
			w.Tensors()[0].Data[i] = float32(0.05 * r.NormFloat64())
		}
		return w
	}
	cands := make([][]candidate, 40)
	var ws []model.Weights
	var ss []int
	for i := range cands {
		cands[i] = []candidate{{mk(), 400}, {mk(), 400}}
		c := cands[i][1]
		if i%10 == 3 {
			c = cands[i][0]
		}
		ws, ss = append(ws, c.w), append(ss, c.samples)
	}
	ref := scenario.FedAvg(ws, ss)
	global := prev.Clone()
	for i := range global.Tensors()[0].Data {
		global.Tensors()[0].Data[i] = float32(ref[i])
	}
	clone := func() [][]candidate {
		out := make([][]candidate, len(cands))
		for i := range cands {
			out[i] = append([]candidate(nil), cands[i]...)
		}
		return out
	}
	if ok, d := matchFedAvg(prev, global, clone(), 0, secagg.DefaultConfig()); !ok {
		t.Fatalf("no match found, best %.3g", d)
	}
	global.Tensors()[0].Data[0] += 0.01
	if ok, _ := matchFedAvg(prev, global, clone(), 0, secagg.DefaultConfig()); ok {
		t.Fatal("a global off the FedAvg matched")
	}
}
