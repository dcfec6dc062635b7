package secagg

import (
	"slices"
	"testing"
)

// unmaskReady runs a fixture round of n sites up to the unmask shares,
// delivered, with the sites in drop dropped before their masked input.
func unmaskReady(t *testing.T, n int, drop ...string) *fixture {
	t.Helper()
	f := newFixture(t, n)
	_, keys := f.step(f.advertise())
	_, inputs := f.step(keys)
	for _, id := range drop {
		delete(inputs, id)
	}
	_, sigs := f.step(inputs)
	_, shares := f.step(sigs)
	f.send(shares)
	return f
}

// TestUnmaskingOffTheServer: BeginUnmask, Run elsewhere and FinishUnmask
// give the same sum as Advance, and the Server takes no message meanwhile.
func TestUnmaskingOffTheServer(t *testing.T) {
	for _, drop := range [][]string{nil, {"s01"}} {
		ref := unmaskReady(t, 4, drop...)
		ref.advance()
		want, err := ref.srv.Result()
		if err != nil {
			t.Fatal(err)
		}
		f := unmaskReady(t, 4, drop...)
		u, err := f.srv.BeginUnmask()
		if err != nil {
			t.Fatal(err)
		}
		if p := f.srv.Pending(); len(p) != 0 {
			t.Errorf("pending %v while unmasking", p)
		}
		wantRefusal(t, f.srv.Handle("s00", &UnmaskShares{}), ErrPhase)
		if _, err := f.srv.Advance(); err == nil {
			t.Error("Advance while unmasking")
		}
		if err := f.srv.FinishUnmask(u); err == nil {
			t.Error("FinishUnmask before Run")
		}
		done := make(chan struct{})
		go func() { u.Run(2); close(done) }()
		<-done
		if err := f.srv.FinishUnmask(u); err != nil {
			t.Fatal(err)
		}
		got, err := f.srv.Result()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Ring, want.Ring) || !slices.Equal(got.Survivors, want.Survivors) || !slices.Equal(got.Dropped, want.Dropped) {
			t.Fatalf("dropped %v: split unmasking differs from Advance", drop)
		}
		if err := f.srv.FinishUnmask(u); err == nil {
			t.Error("FinishUnmask twice")
		}
	}
}

// TestAbortWhileUnmasking: an abort between BeginUnmask and FinishUnmask
// wins; the unmasking's result is never installed.
func TestAbortWhileUnmasking(t *testing.T) {
	f := unmaskReady(t, 3)
	u, err := f.srv.BeginUnmask()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Abort("job cancelled"); err != nil {
		t.Fatal(err)
	}
	u.Run(1)
	if err := f.srv.FinishUnmask(u); err == nil {
		t.Fatal("result installed after abort")
	}
	if _, err := f.srv.Result(); err == nil {
		t.Fatal("aborted round has a result")
	}
}
