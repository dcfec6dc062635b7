package engine

import (
	"strings"
	"testing"
)

// TestSoloRosterSecureRefused: asking for secure aggregation (or privacy)
// where a round has one site is refused at validation, saying why.
func TestSoloRosterSecureRefused(t *testing.T) {
	on := true
	cases := []struct {
		name string
		edit func(*JobSpec)
		want string
	}{
		{"local mode, secure_aggregation = true", func(s *JobSpec) { s.Mode, s.SecureAggregation = ModeLocal, &on }, `mode = "local": each job trains one site alone`},
		{"finetune, privacy", func(s *JobSpec) {
			s.Mode, s.Init.Model, s.Privacy.Enabled = ModeFinetune, "job:fed", true
		}, `mode = "finetune": each job trains one site alone`},
		{"one listed site", func(s *JobSpec) { s.Sites, s.Quorum, s.SecureAggregation = []string{"a"}, 1, &on }, "quorum = 1"},
		{"min_threshold above the listed sites", func(s *JobSpec) { s.SecAgg.MinThreshold, s.SecureAggregation = 4, &on }, "sites lists 3 site(s): secure aggregation needs at least 4"},
	}
	for _, tc := range cases {
		s := testSpec()
		tc.edit(&s)
		err := s.Validate("job")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	s := testSpec()
	s.Mode = ModeLocal
	if err := s.Validate("job"); err != nil {
		t.Errorf("local mode with secure_aggregation unset: %v", err)
	}
}

// TestRoundMetricsUnderPrivacy: a secure round carries the job's metrics,
// except under differential privacy, whose accounting covers the update
// alone.
func TestRoundMetricsUnderPrivacy(t *testing.T) {
	s := testSpec()
	if got := s.roundMetrics(); !equalStrings(got, DefaultSecureMetrics()) {
		t.Errorf("default job carries %v", got)
	}
	s.Privacy.Enabled = true
	if got := s.roundMetrics(); len(got) != 0 {
		t.Errorf("privacy job carries %v", got)
	}
}

func TestSecureSpecValidation(t *testing.T) {
	off := false
	cases := []struct {
		name string
		edit func(*JobSpec)
		want string
	}{
		{"privacy without secagg", func(s *JobSpec) { s.SecureAggregation = &off; s.Privacy.Enabled = true }, "needs secure_aggregation"},
		{"bad noise", func(s *JobSpec) { s.Privacy = PrivacySpec{Enabled: true, ClipNorm: 1} }, "noise_multiplier"},
		{"bad threshold", func(s *JobSpec) { s.SecAgg.ThresholdFraction = 0.4 }, "threshold_fraction"},
		{"quorum 1", func(s *JobSpec) { s.Privacy.Enabled = true; s.Quorum = 1; s.CohortSize = 0 }, "at least 2 sites"},
	}
	for _, tc := range cases {
		s := testSpec()
		tc.edit(&s)
		if err := s.Validate("job"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := testSpec().Validate("job"); err != nil {
		t.Fatal(err)
	}
}
