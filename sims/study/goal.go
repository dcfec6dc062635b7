package study

import (
	"fmt"
	"strings"

	"github.com/synthfed/synthfed/eval/report"
)

// FindingGoal is synthfed's own claim, beyond the study's findings: that
// synthetic data from the federated DDPM makes a site's classifier
// generalise.
const FindingGoal = "Synthetic data from the federated DDPM raises external AUROC at most sites (DeLong p < 0.05) without costing more than 0.01 internal AUROC"

// MaxInternalCost is the largest site-averaged internal AUROC loss the
// goal allows.
const MaxInternalCost = 0.01

// goalArms are the arms whose synthetic images come from a federated DDPM,
// by experiment (E4's federated-DDPM arm is E1's model at one level).
func goalArms(res *report.Results) []struct {
	exp *report.Experiment
	arm string
} {
	return []struct {
		exp *report.Experiment
		arm string
	}{{res.Supplementation, ArmSupplemented}, {res.Mixing, ArmMixed}, {res.SiteConditioned, ArmSiteConditioned}}
}

// GoalFinding states whether any federated-synthetic arm and level raised
// external AUROC significantly at a majority of sites (at least two of
// three) while the site-averaged internal AUROC fell by at most
// MaxInternalCost, and, when none did, which link fails (Diagnosis).
func GoalFinding(res *report.Results) (report.Finding, bool) {
	var lines, met []string
	sites := 0
	for _, a := range goalArms(res) {
		if a.exp == nil {
			continue
		}
		for _, s := range a.exp.Summary {
			if s.Arm != a.arm || s.Internal.Value == nil {
				continue
			}
			sites = max(sites, s.Sites)
			need := (2*s.Sites + 2) / 3
			ok := s.Rises[1] >= need && *s.Internal.Value >= -MaxInternalCost
			line := fmt.Sprintf("%s at %d%%: external AUROC rose significantly at %d of %d sites (fell at %d), site-averaged internal change %s", a.arm, s.LevelPct, s.Rises[1], s.Sites, s.Falls[1], change(*s.Internal.Value, s.Internal.CI))
			lines = append(lines, line)
			if ok {
				met = append(met, fmt.Sprintf("%s at %d%%", a.arm, s.LevelPct))
			}
		}
	}
	if len(lines) == 0 {
		return report.Finding{}, false
	}
	f := report.Finding{Finding: FindingGoal, Reproduced: len(met) > 0}
	if f.Reproduced {
		f.Evidence = "Met by " + strings.Join(met, ", ") + ". " + upper(strings.Join(lines, "; ")) + "."
	} else {
		f.Evidence = "Not met by any arm: " + strings.Join(lines, "; ") + ". " + Diagnosis(res)
	}
	return f, true
}

// Diagnosis says which link between the federated DDPM and a classifier
// that generalises fails, with the numbers: the regime (no gap to close),
// the generator (its conditioning fidelity well below real images'), or
// the mix (synthetic images cost internal AUROC although the generator is
// faithful).
func Diagnosis(res *report.Results) string {
	var parts []string
	if g := res.Regime; g != nil && !g.HasProblem {
		return "The link that fails is the regime: " + g.Verdict
	}
	ref, fed := qualityRow(res, QualityReference), qualityRow(res, "federated")
	weak := false
	if ref != nil && fed != nil && ref.FidelityAUROC != nil && fed.FidelityAUROC != nil {
		gap := *ref.FidelityAUROC - *fed.FidelityAUROC
		weak = gap > FidelityGap
		parts = append(parts, fmt.Sprintf("the federated DDPM's conditioning fidelity is %.3f against %.3f for real test images (a gap of %.3f; more than %.2f counts as a weak generator), Fréchet distance %s", *fed.FidelityAUROC, *ref.FidelityAUROC, gap, FidelityGap, num(fed.FD)))
	}
	if g := gains(res.Supplementation, ArmSupplemented, ArmReal); len(g) > 0 {
		parts = append(parts, fmt.Sprintf("supplementation changed internal AUROC by %s and external by %s at %d%%", change(g[0].internal, g[0].ci[0]), change(g[0].external, g[0].ci[1]), g[0].level))
	}
	link := "the mix (the generator is faithful, but its images still cost internal AUROC or do not move external AUROC at enough sites)"
	if weak {
		link = "the generator (its synthetic images carry their conditioning labels much less faithfully than real images do)"
	}
	return "The link that fails is " + link + ": " + strings.Join(parts, "; ") + "."
}

// FidelityGap is how far a generator's conditioning fidelity may fall
// below real images' before Diagnosis calls the generator the weak link.
const FidelityGap = 0.05

func qualityRow(res *report.Results, name string) *report.Quality {
	for i := range res.Quality {
		if res.Quality[i].Model == name {
			return &res.Quality[i]
		}
	}
	return nil
}

func num(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", *v)
}
