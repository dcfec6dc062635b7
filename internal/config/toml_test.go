package config

import (
	"errors"
	"strings"
	"testing"
)

type sample struct {
	Name  string `toml:"name"`
	Sites int    `toml:"sites"`
	Inner struct {
		Rate float64 `toml:"rate"`
	} `toml:"inner"`
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr []string
	}{
		{name: "ok", in: "name = \"a\"\nsites = 3\n[inner]\nrate = 0.5\n"},
		{name: "unknown key names line", in: "name = \"a\"\nsitez = 3\n", wantErr: []string{"x.toml:2", "sitez"}},
		{name: "unknown nested", in: "[inner]\nrat = 1\n", wantErr: []string{"x.toml:2", "inner.rat"}},
		{name: "bad type", in: "sites = \"three\"\n", wantErr: []string{"x.toml:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s sample
			s.Sites = 7
			err := Decode([]byte(tc.in), "x.toml", &s)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDefaultsKept(t *testing.T) {
	s := sample{Sites: 7}
	if err := Decode([]byte("name = \"b\"\n"), "x.toml", &s); err != nil {
		t.Fatal(err)
	}
	if s.Sites != 7 || s.Name != "b" {
		t.Fatalf("got %+v", s)
	}
}

func TestProblemsJoin(t *testing.T) {
	var p Problems
	if p.Err() != nil {
		t.Fatal("empty problems is an error")
	}
	p.Addf("a is %d", 1)
	p.Add(nil)
	p.Addf("b")
	err := p.Err()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "a is 1") || !strings.Contains(err.Error(), "b") {
		t.Fatalf("got %v", err)
	}
}
