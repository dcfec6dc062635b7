package siteagent

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/crypto/dp"
)

// TestPrivacyBudgetMetrics checks that the privacy gauges follow the
// site's ledger as secure rounds charge it.
func TestPrivacyBudgetMetrics(t *testing.T) {
	c := DefaultPrivacyConfig()
	c.StateDir = t.TempDir()
	budget := ledgerBudget(c, "a")
	m := newAgentMetrics("a", budget)
	left := func() float64 {
		fams, err := m.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == "synthfed_agent_privacy_epsilon_left" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no privacy gauge")
		return 0
	}
	if got := left(); got != c.EpsilonBudget {
		t.Fatalf("budget left before any charge: %v, want %v", got, c.EpsilonBudget)
	}
	acct, err := dp.OpenAccountant(filepath.Join(c.StateDir, ledgerFile), "a", dp.Budget{Epsilon: c.EpsilonBudget, Delta: c.Delta}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Charge("job", 1, 0.05); err != nil {
		t.Fatal(err)
	}
	_, spent := acct.Spent()
	if got := left(); math.Abs(got-(c.EpsilonBudget-spent)) > 1e-9 || spent <= 0 {
		t.Errorf("budget left %v after spending %v of %v", got, spent, c.EpsilonBudget)
	}
}
