package device

import (
	"errors"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
		ok   bool
	}{
		{"auto", Spec{Kind: KindAuto}, true},
		{"cpu", Spec{Kind: KindCPU}, true},
		{"opencl:0", Spec{Kind: KindOpenCL}, true},
		{"opencl:12", Spec{Kind: KindOpenCL, Index: 12}, true},
		{"opencl:255", Spec{Kind: KindOpenCL, Index: 255}, true},
		{"opencl:256", Spec{}, false},
		{"opencl:-1", Spec{}, false},
		{"opencl:01", Spec{}, false},
		{"opencl:+1", Spec{}, false},
		{"opencl:", Spec{}, false},
		{"opencl", Spec{}, false},
		{"cuda:0", Spec{}, false},
		{"GPU", Spec{}, false},
		{"", Spec{}, false},
	} {
		got, err := ParseSpec(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadDevice) {
			t.Errorf("ParseSpec(%q): %v does not wrap ErrBadDevice", tc.in, err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("Spec %+v prints %q, parsed from %q", got, got.String(), tc.in)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	err := Config{Device: "gpu0", MemoryCapMiB: -1}.Validate()
	if !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("bad config: %v, want config.ErrInvalid", err)
	}
	for _, want := range []string{"compute.device", "gpu0", "compute.memory_cap_mib = -1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if err := (Config{Device: "opencl:1", MemoryCapMiB: 8192}).Validate(); err != nil {
		t.Errorf("opencl:1 with an 8 GiB cap: %v", err)
	}
}
