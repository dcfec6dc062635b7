package siteagent

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/synthfed/synthfed/crypto/dp"
	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/protocol"
)

// PrivacyConfig is the site's own privacy policy for secure rounds. The
// job decides the clip norm and noise; the site decides what it accepts
// and keeps its privacy ledger, which holds across jobs and restarts.
type PrivacyConfig struct {
	// StateDir holds the site's privacy ledger (privacy-budget.json) and the
	// secure-aggregation rounds it has contributed to (secagg-rounds.json).
	StateDir string `toml:"state_dir"`
	// EpsilonBudget is the site's total epsilon across all jobs, at Delta.
	EpsilonBudget float64 `toml:"epsilon_budget"`
	// Delta is the delta at which epsilon is budgeted.
	Delta float64 `toml:"delta"`
	// AssumedColluders is c, the number of sites assumed to collude with the
	// coordinator when a round is charged: rho = t/(2 z^2 (t-c)).
	AssumedColluders int `toml:"assumed_colluders"`
	// RequireDP refuses secure rounds of jobs without differential privacy.
	RequireDP bool `toml:"require_dp"`
	// MinThreshold refuses secure rounds whose threshold t is lower: fewer
	// colluding sites would then see this site's update.
	MinThreshold int `toml:"min_threshold"`
	// RequireSecureAggregation refuses train tasks that would upload the
	// site's update in plaintext (jobs with secure_aggregation = false);
	// the refusal is reported to the coordinator.
	RequireSecureAggregation bool `toml:"require_secure_aggregation"`
}

// ErrPolicy reports a task the site's own policy refuses.
var ErrPolicy = errors.New("refused by the site's policy")

// admits checks a task against the site's policy before it runs.
func (c PrivacyConfig) admits(t Task) error {
	if c.RequireSecureAggregation && !t.Cancel && t.Kind == protocol.KindTrain {
		return fmt.Errorf("task %s (job %s round %d) would upload a plaintext update and this site requires secure aggregation: %w",
			t.ID, t.Job, t.Round, ErrPolicy)
	}
	return nil
}

// DefaultPrivacyConfig returns a ledger in ./site-state, a budget of
// epsilon 10 at delta 1e-6, no assumed colluders, DP not required and a
// threshold of at least 2.
func DefaultPrivacyConfig() PrivacyConfig {
	return PrivacyConfig{StateDir: "site-state", EpsilonBudget: 10, Delta: 1e-6, MinThreshold: 2}
}

// Validate reports every problem at once; prefix names the table.
func (c PrivacyConfig) Validate(prefix string) error {
	var p config.Problems
	if c.StateDir == "" {
		p.Addf("%s.state_dir is empty: the privacy budget must persist across jobs", prefix)
	}
	if !(c.EpsilonBudget > 0) || math.IsInf(c.EpsilonBudget, 0) {
		p.Addf("%s.epsilon_budget = %v: want a finite positive number", prefix, c.EpsilonBudget)
	}
	if !(c.Delta > 0 && c.Delta < 1) {
		p.Addf("%s.delta = %v: want in (0, 1)", prefix, c.Delta)
	}
	if c.AssumedColluders < 0 {
		p.Addf("%s.assumed_colluders = %d: want >= 0", prefix, c.AssumedColluders)
	}
	if c.MinThreshold < 2 {
		p.Addf("%s.min_threshold = %d: want >= 2", prefix, c.MinThreshold)
	}
	return p.Err()
}

// Names of the files in PrivacyConfig.StateDir.
const (
	ledgerFile = "privacy-budget.json"
	roundsFile = "secagg-rounds.json"
)

// openLedger opens (creating its directory) the site's privacy ledger.
func openLedger(c PrivacyConfig, site string, clk clock.Clock) (*dp.Accountant, error) {
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("site %s: privacy state: %w", site, err)
	}
	return dp.OpenAccountant(filepath.Join(c.StateDir, ledgerFile), site, dp.Budget{Epsilon: c.EpsilonBudget, Delta: c.Delta}, clk)
}

// maxRounds bounds the contributed-round list; the oldest are forgotten.
const maxRounds = 4096

// contributed is the persisted list of secure-aggregation contexts this
// site produced a masked input for. crypto/secagg requires that a site
// never masks a second input under the same context (two inputs under the
// same masks would reveal their difference), also across restarts.
type contributed struct {
	path string
	set  map[string]bool
	list []string
}

// openContributed loads the list at path (missing: empty).
func openContributed(path string) (*contributed, error) {
	c := &contributed{path: path, set: map[string]bool{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secure rounds list: %w", err)
	}
	if err := json.Unmarshal(data, &c.list); err != nil {
		return nil, fmt.Errorf("secure rounds list %s: %v: %w", path, err, config.ErrInvalid)
	}
	for _, h := range c.list {
		c.set[h] = true
	}
	return c, nil
}

// has reports whether a masked input was produced under the context hash.
func (c *contributed) has(hash [32]byte) bool { return c.set[hex.EncodeToString(hash[:])] }

// add records a context hash durably (temporary file, sync, rename).
func (c *contributed) add(hash [32]byte) error {
	h := hex.EncodeToString(hash[:])
	if c.set[h] {
		return nil
	}
	list := append(c.list, h)
	if len(list) > maxRounds {
		list = list[len(list)-maxRounds:]
	}
	data, _ := json.Marshal(list)
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".rounds-*")
	if err != nil {
		return fmt.Errorf("secure rounds list: %w", err)
	}
	_, werr := tmp.Write(data)
	err = errors.Join(werr, tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), c.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("secure rounds list %s: %w", c.path, err)
	}
	c.list, c.set[h] = list, true
	return nil
}
