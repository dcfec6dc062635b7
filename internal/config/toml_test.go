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

func TestDurationText(t *testing.T) {
	var v struct {
		D Duration `toml:"d"`
	}
	if err := Decode([]byte("d = \"1m30s\"\n"), "x.toml", &v); err != nil {
		t.Fatal(err)
	}
	if v.D.D().Seconds() != 90 {
		t.Fatalf("got %v", v.D.D())
	}
	if err := Decode([]byte("d = \"soon\"\n"), "x.toml", &v); err == nil || !strings.Contains(err.Error(), "x.toml:1") {
		t.Fatalf("bad duration error %v", err)
	}
	b, _ := v.D.MarshalText()
	if string(b) != "1m30s" {
		t.Fatalf("marshal %q", b)
	}
}
