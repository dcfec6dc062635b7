package report

import (
	"fmt"
	"strings"
)

// experiment renders one experiment: plots of AUROC against the level when
// the rows span two levels or more, the table of rows, and the per-label
// tables.
func (r *renderer) experiment(e namedExperiment) (Section, error) {
	id := strings.ReplaceAll(e.key, "_", "-")
	if e.exp == nil {
		return notRun(id, e.title), nil
	}
	s := Section{ID: id, Title: e.title}
	if e.exp.Description != "" {
		s.Blocks = append(s.Blocks, Block{Para: e.exp.Description})
	}
	if e.exp.Baseline != "" {
		s.Blocks = append(s.Blocks, Block{Para: "p-values: DeLong's paired test against " + e.exp.Baseline + " of the same site."})
	}
	if len(e.exp.Rows) == 0 {
		s.Blocks = append(s.Blocks, Block{Para: "no rows: " + NotRun})
		return s, nil
	}
	if distinctLevels(e.exp.Rows) >= 2 {
		for _, scope := range []struct {
			name     string
			external bool
		}{{"internal", false}, {"external", true}} {
			ss := levelSeries(e.exp.Rows, scope.external)
			if len(ss) == 0 {
				s.Blocks = append(s.Blocks, Block{Para: scope.name + " AUROC: " + NotRun})
				continue
			}
			title := fmt.Sprintf("%s: %s test sets", e.title, scope.name)
			png, err := levelPlot(title, ss, r.cfg)
			if err != nil {
				return s, err
			}
			s.Blocks = append(s.Blocks, r.doc.addImage(id+"-"+scope.name, png,
				fmt.Sprintf("%s macro AUROC against the synthetic level; bands are bootstrap CIs", strings.ToUpper(scope.name[:1])+scope.name[1:])))
		}
	}
	s.Blocks = append(s.Blocks, Block{Table: rowTable(e.exp.Rows)})
	if len(e.exp.PerLabel) == 0 {
		s.Blocks = append(s.Blocks, Block{Para: "per-label tables: " + NotRun})
	}
	for _, lt := range e.exp.PerLabel {
		s.Blocks = append(s.Blocks, Block{Heading: labelTableTitle(lt)}, Block{Table: labelTable(lt)})
	}
	return s, nil
}

func distinctLevels(rows []Row) int {
	seen := map[int]bool{}
	for _, r := range rows {
		seen[r.LevelPct] = true
	}
	return len(seen)
}

// rowTable lists an experiment's rows; the arm column appears only when an
// arm is set.
func rowTable(rows []Row) *Table {
	arms := false
	for _, r := range rows {
		arms = arms || r.Arm != ""
	}
	t := &Table{Header: []string{"site"}}
	if arms {
		t.Header = append(t.Header, "arm")
	}
	t.Header = append(t.Header, "synthetic %", "AUROC internal [CI]", "p internal", "AUROC external [CI]", "p external")
	for _, r := range rows {
		cells := []string{r.Site}
		if arms {
			cells = append(cells, r.Arm)
		}
		var pi, pe *float64
		if r.PVsBaseline != nil {
			pi, pe = r.PVsBaseline.Internal, r.PVsBaseline.External
		}
		cells = append(cells, fmt.Sprint(r.LevelPct), auroc(r.AUROCInternal, r.CIInternal), pval(pi), auroc(r.AUROCExternal, r.CIExternal), pval(pe))
		t.Rows = append(t.Rows, cells)
	}
	return t
}

func labelTableTitle(lt LabelTable) string {
	parts := []string{lt.Site}
	if lt.Arm != "" {
		parts = append(parts, lt.Arm)
	}
	parts = append(parts, fmt.Sprintf("%d%% synthetic", lt.LevelPct), lt.Scope+" test set")
	return "Per label: " + strings.Join(parts, ", ")
}

func labelTable(lt LabelTable) *Table {
	t := &Table{Header: []string{"label", "AUROC", "baseline", "p (DeLong)", "positives", "negatives"}}
	for _, l := range lt.Labels {
		t.Rows = append(t.Rows, []string{l.Name, num(l.AUROC, "%.3f"), num(l.Baseline, "%.3f"), pval(l.P), fmt.Sprint(l.Positives), fmt.Sprint(l.Negatives)})
	}
	return t
}
