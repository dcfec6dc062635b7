package procfs

import "testing"

func TestParseLoadAverage(t *testing.T) {
	for in, want := range map[string]float64{
		"0.52 0.58 0.59 1/345 12345\n": 0.52,
		"12.00 1 1 1/1 1":              12,
		"":                             0,
		"x 1 1":                        0,
		"-1 0 0":                       0,
	} {
		if got := parseLoadAverage(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

func FuzzParseLoadAverage(f *testing.F) {
	f.Add("0.52 0.58 0.59 1/345 12345\n")
	f.Fuzz(func(t *testing.T, s string) {
		if v := parseLoadAverage(s); v < 0 {
			t.Fatalf("%q gave %v", s, v)
		}
	})
}
