package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// CheXpert column names.
const (
	colPath       = "Path"
	colSex        = "Sex"
	colAge        = "Age"
	colView       = "Frontal/Lateral"
	colProjection = "AP/PA"
)

var (
	patientRe = regexp.MustCompile(`^patient\d+$`)
	studyRe   = regexp.MustCompile(`^study\d+$`)
)

// chexpert loads train.csv and valid.csv (or one CSV) and joins the
// demographics file.
func (l *loader) chexpert(ctx context.Context, src Source) error {
	files, demo, err := chexpertFiles(src)
	if err != nil {
		return err
	}
	var demos map[string]demographic
	if demo != "" {
		demos, err = l.demographics(ctx, demo)
		if err != nil {
			return err
		}
	} else {
		if err := l.problem(Problem{Pos: Pos{File: src.Path}, Kind: KindNoDemographics, Detail: "no demographics file given or found: race is unknown for every patient"}); err != nil {
			return err
		}
	}
	read := 0
	for _, f := range files {
		ok, err := l.readTable(f, func(t *table) error { return l.chexpertCSV(ctx, t, demos) })
		if err != nil {
			return err
		}
		if ok {
			read++
		}
	}
	if read == 0 {
		return fmt.Errorf("chexpert %s: %w", src.Path, ErrNoData)
	}
	return nil
}

// chexpertFiles lists the CSVs and the demographics file of a source.
func chexpertFiles(src Source) (files []string, demo string, err error) {
	st, err := os.Stat(src.Path)
	if err != nil {
		return nil, "", fmt.Errorf("chexpert %s: %w: %w", src.Path, ErrNoData, err)
	}
	demo = src.Demographics
	if !st.IsDir() {
		return []string{src.Path}, demo, nil
	}
	for _, n := range []string{"train.csv", "valid.csv"} {
		p := filepath.Join(src.Path, n)
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, "", fmt.Errorf("chexpert %s: no train.csv or valid.csv: %w", src.Path, ErrNoData)
	}
	if demo == "" {
		entries, _ := os.ReadDir(src.Path)
		for _, e := range entries {
			n := strings.ToLower(e.Name())
			if !e.IsDir() && strings.Contains(n, "demo") && strings.HasSuffix(n, ".csv") {
				demo = filepath.Join(src.Path, e.Name())
				break
			}
		}
	}
	return files, demo, nil
}

// splitOf names the split a CSV file holds.
func splitOf(path string) string {
	n := strings.ToLower(filepath.Base(path))
	switch {
	case strings.Contains(n, "train"):
		return "train"
	case strings.Contains(n, "valid"):
		return "valid"
	case strings.Contains(n, "test"):
		return "test"
	}
	return ""
}

// chexpertCSV reads one CheXpert label file.
func (l *loader) chexpertCSV(ctx context.Context, t *table, demos map[string]demographic) error {
	t.main = true
	idx, err := t.require(colPath, colSex, colAge, colView, colProjection)
	if err != nil {
		return l.problem(*err.(*Problem))
	}
	c := common{path: idx[0], sex: idx[1], age: idx[2], view: idx[3], proj: idx[4], labels: labelColumns(t)}
	if err := l.missingLabels(t, c); err != nil {
		return err
	}
	rv := &resolver{dir: filepath.Dir(t.name)}
	split := splitOf(t.name)
	return l.eachRow(ctx, t, func(r row) error {
		rec, ps := l.parseCommon(t, r, c)
		rec.PatientID, rec.StudyID = cheXpertIDs(rec.Path)
		if rec.PatientID == "" && rec.Path != "" {
			ps = append(ps, Problem{Pos: rec.Origin, Kind: KindBadPatient, Detail: fmt.Sprintf("no patientNNNNN/studyN/ in path %q", rec.Path)})
		}
		if len(ps) > 0 {
			return l.problems(ps)
		}
		rec.Split = split
		rec.File = rv.resolve(rec.Path)
		if err := l.join(&rec, demos); err != nil {
			return err
		}
		return l.accept(rec)
	})
}

// missingLabels warns once per absent label column; absent labels are blank.
func (l *loader) missingLabels(t *table, c common) error {
	var missing []string
	for i, col := range c.labels {
		if col < 0 {
			missing = append(missing, fmt.Sprintf("%q", labelName(i)))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return l.problem(Problem{Pos: Pos{File: t.name, Line: 1}, Kind: KindUnknownColumn,
		Detail: "label columns absent, read as blank: " + strings.Join(missing, ", ")})
}

// cheXpertIDs extracts the patient and study from a CheXpert path such as
// CheXpert-v1.0/train/patient00001/study1/view1_frontal.jpg. Without
// patientNNNNN and studyN elements, the two folders above the file are used.
func cheXpertIDs(p string) (patient, study string) {
	parts := strings.Split(filepath.ToSlash(p), "/")
	for i, s := range parts {
		if patientRe.MatchString(s) {
			patient = s
			if i+1 < len(parts)-1 && studyRe.MatchString(parts[i+1]) {
				study = s + "/" + parts[i+1]
			}
			return patient, study
		}
	}
	if len(parts) >= 3 {
		return parts[len(parts)-3], parts[len(parts)-3] + "/" + parts[len(parts)-2]
	}
	return "", ""
}
