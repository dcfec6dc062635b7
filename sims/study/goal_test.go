package study

import (
	"strings"
	"testing"

	"github.com/synthfed/synthfed/eval/report"
)

func summary(arm string, level, rises, falls int, internal float64) report.ArmSummary {
	ext := 0.01
	return report.ArmSummary{Arm: arm, LevelPct: level, Sites: 3, Internal: report.Estimate{Value: &internal}, External: report.Estimate{Value: &ext},
		Rises: [2]int{0, rises}, Falls: [2]int{0, falls}}
}

// The goal is met by an arm and level whose external AUROC rose
// significantly at two of three sites while internal AUROC fell by at most
// 0.01; otherwise the finding names the link that fails.
func TestGoalFinding(t *testing.T) {
	quality := []report.Quality{{Model: QualityReference, FidelityAUROC: report.F(0.86)}, {Model: "federated", FidelityAUROC: report.F(0.70), FD: report.F(1.2)}}
	cases := []struct {
		name   string
		res    report.Results
		met    bool
		inText []string
	}{
		{"E5 meets it", report.Results{
			Supplementation: &report.Experiment{Summary: []report.ArmSummary{summary(ArmSupplemented, 100, 1, 0, 0)}},
			SiteConditioned: &report.Experiment{Summary: []report.ArmSummary{summary(ArmSiteConditioned, 100, 2, 0, -0.005)}}},
			true, []string{"Met by " + ArmSiteConditioned + " at 100%"}},
		{"two rises but an internal cost", report.Results{Quality: quality,
			Supplementation: &report.Experiment{Summary: []report.ArmSummary{summary(ArmSupplemented, 100, 2, 0, -0.02)}}},
			false, []string{"Not met", "the generator", "0.700 against 0.860"}},
		{"faithful generator, too few rises", report.Results{Quality: []report.Quality{quality[0], {Model: "federated", FidelityAUROC: report.F(0.84)}},
			Supplementation: &report.Experiment{Summary: []report.ArmSummary{summary(ArmSupplemented, 300, 1, 1, 0)}}},
			false, []string{"the mix"}},
		{"no regime", report.Results{Regime: &report.Regime{Verdict: "No: no gap."},
			Mixing: &report.Experiment{Summary: []report.ArmSummary{summary(ArmMixed, 100, 0, 0, 0)}}},
			false, []string{"the regime: No: no gap."}},
	}
	for _, tc := range cases {
		f, ok := GoalFinding(&tc.res)
		if !ok || f.Finding != FindingGoal || f.Reproduced != tc.met {
			t.Errorf("%s: %+v (stated %v), want met %v", tc.name, f, ok, tc.met)
			continue
		}
		for _, w := range tc.inText {
			if !strings.Contains(f.Evidence, w) {
				t.Errorf("%s: evidence lacks %q: %s", tc.name, w, f.Evidence)
			}
		}
	}
	if _, ok := GoalFinding(&report.Results{}); ok {
		t.Error("a goal verdict without any synthetic arm")
	}
}
