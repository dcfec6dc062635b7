package dp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
)

// stateVersion is the version of the accountant's JSON file.
const stateVersion = 1

// Charge is one round's privacy cost in a site's ledger.
type Charge struct {
	Job   string    `json:"job"`
	Round uint64    `json:"round"`
	Rho   float64   `json:"rho"`
	Time  time.Time `json:"time"`
}

// ledger is the accountant's persisted state.
type ledger struct {
	Version int      `json:"version"`
	Site    string   `json:"site"`
	Charges []Charge `json:"charges"`
}

// Budget is a site's total privacy budget.
type Budget struct {
	Epsilon float64
	Delta   float64
}

// Task is the planned cost of a job: Rounds rounds of RhoPerRound each.
type Task struct {
	Job         string
	Rounds      int
	RhoPerRound float64
}

// BudgetError explains a refusal: what the task needs, what is spent, and
// the budget. It wraps ErrBudgetExceeded.
type BudgetError struct {
	Site           string
	Job            string
	NeedRho        float64
	SpentRho       float64
	SpentEpsilon   float64
	ResultEpsilon  float64
	Budget         Budget
	RemainingRho   float64
	RemainingRound int
}

// Error says why the task is refused, in words an operator can act on.
func (e *BudgetError) Error() string {
	return fmt.Sprintf("dp: site %q refuses job %q: it needs rho=%.4g, %.4g is spent (epsilon %.3g at delta %g); "+
		"together epsilon would be %.3g, over the budget of %.3g. Rho left: %.4g (%d rounds at this noise)",
		e.Site, e.Job, e.NeedRho, e.SpentRho, e.SpentEpsilon, e.Budget.Delta, e.ResultEpsilon, e.Budget.Epsilon,
		e.RemainingRho, e.RemainingRound)
}

// Unwrap returns ErrBudgetExceeded.
func (e *BudgetError) Unwrap() error { return ErrBudgetExceeded }

// Accountant is one site's zCDP ledger across rounds and jobs, persisted
// in a JSON file. It is not safe for concurrent use; the site agent's task
// executor owns it.
type Accountant struct {
	path   string
	budget Budget
	clk    clock.Clock
	state  ledger
}

// OpenAccountant loads the ledger at path (a missing file is an empty
// ledger) for site with the given budget.
func OpenAccountant(path, site string, b Budget, clk clock.Clock) (*Accountant, error) {
	if !(b.Epsilon > 0) || !(b.Delta > 0 && b.Delta < 1) {
		return nil, fmt.Errorf("dp: budget epsilon %v delta %v: %w", b.Epsilon, b.Delta, ErrInvalid)
	}
	if clk == nil {
		clk = clock.New()
	}
	a := &Accountant{path: path, budget: b, clk: clk, state: ledger{Version: stateVersion, Site: site}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dp: reading ledger: %w", err)
	}
	st, err := decodeLedger(data)
	if err != nil {
		return nil, fmt.Errorf("dp: ledger %s: %w", path, err)
	}
	if st.Site != site {
		return nil, fmt.Errorf("dp: ledger %s belongs to site %q, not %q: %w", path, st.Site, site, ErrInvalid)
	}
	a.state = st
	return a, nil
}

// decodeLedger parses and checks a ledger file.
func decodeLedger(data []byte) (ledger, error) {
	var st ledger
	if err := json.Unmarshal(data, &st); err != nil {
		return ledger{}, fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	if st.Version != stateVersion {
		return ledger{}, fmt.Errorf("version %d, want %d: %w", st.Version, stateVersion, ErrInvalid)
	}
	for i, c := range st.Charges {
		if !(c.Rho >= 0) || c.Rho > 1e12 {
			return ledger{}, fmt.Errorf("charge %d (job %q round %d) has rho %v: %w", i, c.Job, c.Round, c.Rho, ErrInvalid)
		}
	}
	return st, nil
}

// Spent returns the total rho charged and its epsilon at the budget's delta.
func (a *Accountant) Spent() (rho, epsilon float64) {
	for _, c := range a.state.Charges {
		rho += c.Rho
	}
	return rho, Epsilon(rho, a.budget.Delta)
}

// Charges returns a copy of the ledger.
func (a *Accountant) Charges() []Charge { return append([]Charge(nil), a.state.Charges...) }

// Check refuses a task whose planned cost, on top of what is spent, would
// exceed the budget; the *BudgetError says by how much.
func (a *Accountant) Check(t Task) error {
	if t.Rounds < 0 || !(t.RhoPerRound >= 0) {
		return fmt.Errorf("dp: task %q with %d rounds of rho %v: %w", t.Job, t.Rounds, t.RhoPerRound, ErrInvalid)
	}
	return a.check(t.Job, float64(t.Rounds)*t.RhoPerRound, t.RhoPerRound)
}

func (a *Accountant) check(job string, need, perRound float64) error {
	spent, spentEps := a.Spent()
	after := Epsilon(spent+need, a.budget.Delta)
	if after <= a.budget.Epsilon {
		return nil
	}
	left := a.remainingRho(spent)
	e := &BudgetError{Site: a.state.Site, Job: job, NeedRho: need, SpentRho: spent, SpentEpsilon: spentEps,
		ResultEpsilon: after, Budget: a.budget, RemainingRho: left}
	if perRound > 0 {
		e.RemainingRound = int(left / perRound)
	}
	return e
}

// remainingRho is the largest extra rho that keeps epsilon within budget
// (bisection on the monotone Epsilon).
func (a *Accountant) remainingRho(spent float64) float64 {
	if Epsilon(spent, a.budget.Delta) >= a.budget.Epsilon {
		return 0
	}
	lo, hi := 0.0, a.budget.Epsilon
	for i := 0; i < 100; i++ {
		mid := (lo + hi) / 2
		if Epsilon(spent+mid, a.budget.Delta) <= a.budget.Epsilon {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// Charge records one round's cost and saves the ledger before returning, so
// call it before the round's update leaves the site. Charging the same job
// and round twice records it once. A charge over budget is refused.
func (a *Accountant) Charge(job string, round uint64, rho float64) error {
	if !(rho >= 0) {
		return fmt.Errorf("dp: rho %v: %w", rho, ErrInvalid)
	}
	for _, c := range a.state.Charges {
		if c.Job == job && c.Round == round {
			return nil
		}
	}
	if err := a.check(job, rho, rho); err != nil {
		return err
	}
	a.state.Charges = append(a.state.Charges, Charge{Job: job, Round: round, Rho: rho, Time: a.clk.Now().UTC()})
	if err := a.save(); err != nil {
		a.state.Charges = a.state.Charges[:len(a.state.Charges)-1]
		return err
	}
	return nil
}

// save writes the ledger atomically: a temporary file in the same
// directory, synced, then renamed over the old one.
func (a *Accountant) save() error {
	data, err := json.MarshalIndent(a.state, "", "  ")
	if err != nil {
		return fmt.Errorf("dp: encoding ledger: %w", err)
	}
	dir := filepath.Dir(a.path)
	f, err := os.CreateTemp(dir, ".ledger-*")
	if err != nil {
		return fmt.Errorf("dp: saving ledger: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(data, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dp: saving ledger %s: %w", a.path, err)
	}
	if err := os.Rename(tmp, a.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dp: saving ledger %s: %w", a.path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
