package engine

import (
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol"
)

// TestSoloRostersAggregateInPlain: under a coordinator whose default is
// secure aggregation (TLS), a local-mode job and a round of one site run a
// plain train phase when secure_aggregation is unset, and commit.
func TestSoloRostersAggregateInPlain(t *testing.T) {
	cases := []struct {
		name string
		spec func(w *secWorld) JobSpec
	}{
		{"mode local", func(w *secWorld) JobSpec {
			s := w.spec()
			s.Mode, s.Quorum = ModeLocal, 1
			return ExpandJob(s)[0]
		}},
		{"fedavg over a roster of one", func(w *secWorld) JobSpec {
			s := w.spec()
			s.Sites, s.Quorum = nil, 1
			return s
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newSecWorld(t, 3)
			site := w.ids[0]
			w.join(site)
			spec := tc.spec(w)
			if err := spec.Validate("job"); err != nil {
				t.Fatal(err)
			}
			w.startJob(spec, secInit())
			tk, ok := w.tasks[site]
			if !ok || tk.Kind != protocol.KindTrain {
				t.Fatalf("site %s task %+v, want a plain train task; audit %+v, jobs %+v", site, tk, w.audit, w.e.Jobs())
			}
			must(t, w.deliver(site, model.MustWeights(vec("w", 1, 2, 3)), 10))
			c := w.commitLast()
			wantData(t, c.Global, "w", 1, 2, 3)
			if _, ok := c.Summary.Metrics["secagg_survivors"]; ok {
				t.Errorf("a plain round reports secure metrics: %v", c.Summary.Metrics)
			}
		})
	}
}

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
