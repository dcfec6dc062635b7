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
	blocks, err := r.experimentPlots(id, e.title, e.exp.Rows)
	if err != nil {
		return s, err
	}
	s.Blocks = append(s.Blocks, blocks...)
	s.Blocks = append(s.Blocks, Block{Table: rowTable(e.exp.Rows)})
	if len(e.exp.PerLabel) == 0 {
		s.Blocks = append(s.Blocks, Block{Para: "per-label tables: " + NotRun})
	}
	for _, lt := range e.exp.PerLabel {
		s.Blocks = append(s.Blocks, Block{Heading: labelTableTitle(lt)}, Block{Table: labelTable(lt)})
	}
	return s, nil
}

// experimentPlots draws AUROC against the level, internal and external,
// when some site and arm was scored at two levels or more; otherwise one
// figure of every row's internal and external AUROC side by side.
func (r *renderer) experimentPlots(id, title string, rows []Row) ([]Block, error) {
	var blocks []Block
	if !hasLevelSeries(rows) {
		png, err := armPlot(title+": internal and external", rows, r.cfg)
		if err != nil {
			return nil, err
		}
		return append(blocks, r.doc.addImage(id+"-arms", png, "Macro AUROC of each row, internal and external; bars are bootstrap CIs")), nil
	}
	for _, scope := range []struct {
		name     string
		external bool
	}{{"internal", false}, {"external", true}} {
		ss := levelSeries(rows, scope.external)
		if len(ss) == 0 {
			blocks = append(blocks, Block{Para: scope.name + " AUROC: " + NotRun})
			continue
		}
		png, err := levelPlot(fmt.Sprintf("%s: %s test sets", title, scope.name), ss, r.cfg)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, r.doc.addImage(id+"-"+scope.name, png,
			fmt.Sprintf("%s macro AUROC against the synthetic level; bands are bootstrap CIs", strings.ToUpper(scope.name[:1])+scope.name[1:])))
	}
	return blocks, nil
}

// hasLevelSeries reports whether some site and arm appears at two levels.
func hasLevelSeries(rows []Row) bool {
	levels := map[string]map[int]bool{}
	for _, r := range rows {
		key := r.Site + "\x00" + r.Arm
		if levels[key] == nil {
			levels[key] = map[int]bool{}
		}
		levels[key][r.LevelPct] = true
		if len(levels[key]) >= 2 {
			return true
		}
	}
	return false
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
