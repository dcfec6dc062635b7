package siteagent

import (
	"errors"
	"slices"
	"testing"

	"github.com/synthfed/synthfed/model/ddpm"
)

// replicaSites maps a sample job's as_site to each replica's site index:
// own, any, the other sites in turn, or one named site; a model without
// sites gets none, and a site or name the model does not know is refused.
func TestReplicaSites(t *testing.T) {
	a := ddpm.DefaultArch()
	a.Sites = []string{"a", "b", "c"}
	for _, tc := range []struct {
		self, as string
		want     []int
	}{
		{"b", "", []int{1, 1, 1, 1}},
		{"b", "own", []int{1, 1, 1, 1}},
		{"b", "any", []int{ddpm.AnySite, ddpm.AnySite, ddpm.AnySite, ddpm.AnySite}},
		{"b", "others", []int{0, 2, 0, 2}},
		{"a", "others", []int{1, 2, 1, 2}},
		{"c", "others", []int{0, 1, 0, 1}},
		{"a", "c", []int{2, 2, 2, 2}},
	} {
		got, err := replicaSites(a, tc.self, tc.as, 4)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("site %s as %q: %v, %v; want %v", tc.self, tc.as, got, err, tc.want)
		}
	}
	if got, err := replicaSites(ddpm.DefaultArch(), "a", "others", 3); got != nil || err != nil {
		t.Errorf("model without sites: %v, %v", got, err)
	}
	for _, tc := range []struct{ self, as string }{{"d", ""}, {"a", "d"}} {
		if _, err := replicaSites(a, tc.self, tc.as, 2); !errors.Is(err, ErrModelConfig) {
			t.Errorf("site %s as %q: %v, want ErrModelConfig", tc.self, tc.as, err)
		}
	}
	one := ddpm.DefaultArch()
	one.Sites = []string{"a"}
	if _, err := replicaSites(one, "a", "others", 2); !errors.Is(err, ErrModelConfig) {
		t.Errorf("others with one site: %v", err)
	}
	if siteName(a, ddpm.AnySite) != "any" || siteName(a, 2) != "c" {
		t.Error("site names")
	}
}
