package memlimit

import (
	"errors"
	"math"
	"testing"
)

func TestGovernorRaisesOnlyForLargerModels(t *testing.T) {
	var got []int64
	g, err := NewWith(Config{Factor: 2.5, BaseMiB: 100}, nil, func(v int64) int64 { got = append(got, v); return 0 })
	if err != nil {
		t.Fatal(err)
	}
	g.Model(400 << 20)
	g.Model(100 << 20) // smaller: the limit stays
	g.Model(MinModelBytes - 1)
	g.Model(0)
	g.Model(800 << 20)
	want := []int64{(100 + 1000) << 20, (100 + 2000) << 20}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("limits %v, want %v", got, want)
	}
	if g.Current() != want[1] {
		t.Fatalf("current %d", g.Current())
	}
}

func TestNilGovernorDoesNothing(t *testing.T) {
	var g *Governor
	g.Model(1 << 30)
	if g.Current() != 0 {
		t.Fatal("nil governor has a limit")
	}
}

func TestEnvironmentLimitWins(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	if g, err := New(DefaultConfig(), nil); !errors.Is(err, ErrEnvLimit) || g != nil {
		t.Fatalf("New with GOMEMLIMIT set: %v %v", g, err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{Factor: 0.5}, {Factor: 2, BaseMiB: -1}, {Factor: 0}, {Factor: math.NaN()}, {Factor: math.Inf(1)}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
