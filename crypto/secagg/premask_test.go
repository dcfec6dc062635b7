package secagg

import (
	"errors"
	"math"
	"testing"
)

// TestPrecomputedMaskGivesTheSameSum runs a round in which half the sites
// expand their whole mask ahead of their input (as a training site does)
// and the others mask at the end: the masks must still cancel, so the mean
// is the inputs' mean within the fixed-point step.
func TestPrecomputedMaskGivesTheSameSum(t *testing.T) {
	f := newLateFixture(t, 4)
	_, sk := f.step(f.advertise())
	if _, err := f.cl["s00"].MaskExpander(); !errors.Is(err, ErrPhase) {
		t.Fatalf("mask expander before the relay: %v, want ErrPhase", err)
	}
	_, none := f.step(sk)
	if len(none) != 0 {
		t.Fatalf("sites without input answered the relay: %v", none)
	}
	masked := map[string]Message{}
	for i, id := range []string{"s00", "s01", "s02", "s03"} {
		c := f.cl[id]
		if i%2 == 0 {
			expand, err := c.MaskExpander()
			if err != nil {
				t.Fatal(err)
			}
			mask := expand()
			if err := c.SetMask(mask[:len(mask)-1]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("short mask: %v, want ErrMalformed", err)
			}
			if err := c.SetMask(mask); err != nil {
				t.Fatal(err)
			}
			if err := c.SetMask(mask); !errors.Is(err, ErrPhase) {
				t.Fatalf("second mask: %v, want ErrPhase", err)
			}
		}
		m, err := c.SetInput(f.inputs[id])
		if err != nil || m == nil {
			t.Fatalf("%s: input after the relay gave %v, %v", id, m, err)
		}
		masked[id] = m
	}
	_, sigs := f.step(masked)
	_, unmask := f.step(sigs)
	f.send(unmask)
	if _, err := f.srv.Advance(); err != nil {
		t.Fatal(err)
	}
	res, err := f.srv.Result()
	if err != nil {
		t.Fatal(err)
	}
	step := f.ctx.Params.Step(len(f.ctx.Roster))
	for i, got := range res.Mean {
		want := float64(f.inputs["s00"].Values[i])
		if math.Abs(float64(got)-want) > step {
			t.Fatalf("mean[%d] = %v, want %v within %v", i, got, want, step)
		}
	}
}
