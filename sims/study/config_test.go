package study

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/internal/config"
)

func TestProfilesLoad(t *testing.T) {
	for _, name := range Profiles() {
		c, err := Profile(name)
		if err != nil {
			t.Fatalf("profile %s: %v", name, err)
		}
		if c.Profile != name {
			t.Errorf("profile %s recorded as %q", name, c.Profile)
		}
	}
	q := DefaultConfig()
	if q.Profile != "quick" || q.DDPM.Arch.ImageSize != 16 || q.DDPM.Arch.NumResBlocks != 1 || q.DDPM.Train.Adam.Beta2 != 0.999 {
		t.Errorf("quick profile decoded as %+v", q.DDPM)
	}
	if got := q.MaxLevel(); got != 300 {
		t.Errorf("quick max level %d", got)
	}
	if q.SiteLevel() != 100 || q.Data.TestImagesPerSite == 0 || q.Eval.TargetHalfWidth != 0.02 {
		t.Errorf("quick: E5 level %d, held-out test images %d, target half-width %v", q.SiteLevel(), q.Data.TestImagesPerSite, q.Eval.TargetHalfWidth)
	}
	s, err := Profile("standard")
	if err != nil || len(s.Seeds.Classifier) < 3 || s.Data.TestImagesPerSite < 3000 || s.MaxLevel() != 1000 || len(s.Experiments.SiteConditioned) == 0 {
		t.Errorf("standard profile: %v, %+v", err, s.Experiments)
	}
	if _, err := Profile("nope"); !errors.Is(err, config.ErrInvalid) {
		t.Errorf("unknown profile: %v", err)
	}
}

func TestLoadConfigIsStrictAndOverlays(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("[ddpm]\nrounds = 3\n[experiments]\nlevels = [0, 200]\nsynthetic_only = [200]\nmixing = [200]\nfederation_level = 200\n"), 0o644)
	c, err := LoadConfig(good, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if c.DDPM.Rounds != 3 || c.DDPM.LocalSteps != 40 || c.MaxLevel() != 200 {
		t.Errorf("overlay gave rounds %d, local steps %d, max level %d", c.DDPM.Rounds, c.DDPM.LocalSteps, c.MaxLevel())
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[ddpm]\nroundz = 3\n"), 0o644)
	if _, err := LoadConfig(bad, DefaultConfig()); err == nil || !strings.Contains(err.Error(), "bad.toml") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := DefaultConfig()
	c.Sites = 1
	c.Experiments.Levels = []int{100, 50}
	c.Experiments.FederationLevel = 700
	c.Data.Size = 24
	c.Consortium.TLS = false
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"sites = 1", "ascending", "must start with 0", "federation_level = 700", "image_size", "secure_aggregation = true needs consortium.tls"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestFederatedJobsFollowSecureAggregation checks that the consortium's
// secure_aggregation switch reaches the federated train jobs (and the
// default profile runs them securely).
func TestFederatedJobsFollowSecureAggregation(t *testing.T) {
	for _, on := range []bool{true, false} {
		c := DefaultConfig()
		if !c.Consortium.SecureAggregation || !c.Consortium.TLS {
			t.Fatalf("quick profile: tls %v, secure aggregation %v", c.Consortium.TLS, c.Consortium.SecureAggregation)
		}
		c.Consortium.SecureAggregation = on
		job, err := trainJob(c, JobDDPM, ModelDDPM, []string{"a", "b"}, 2, 3, 4, c.DDPM.Config, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if job.SecureAggregation == nil || *job.SecureAggregation != on {
			t.Errorf("secure_aggregation %v: job has %v", on, job.SecureAggregation)
		}
	}
}
