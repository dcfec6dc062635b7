package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// mimicPatient is one row of MIMIC-IV patients.csv.
type mimicPatient struct {
	sex        Sex
	anchorAge  int
	anchorYear int // 0 when absent
}

// mimic loads MIMIC-CXR-JPG: the -metadata file lists images, -chexpert
// gives study labels, -split the official split, and MIMIC-IV patients.csv
// and admissions.csv give sex, age and race.
//
// Age at the study is anchor_age + (year of StudyDate - anchor_year) when
// both dates are present, anchor_age otherwise. Race combines every
// admission's race by ResolveRace: uninformative values are ignored, and a
// patient whose admissions name different classes gets an unknown race and
// a KindRaceConflict warning. A study without a -chexpert row is dropped
// (KindNoLabels), as is an image whose subject is not in patients.csv
// (KindNoPatient).
func (l *loader) mimic(ctx context.Context, src Source) error {
	meta, err := findFile(src.Path, "metadata")
	if err != nil {
		return err
	}
	labelsFile, err := findFile(src.Path, "chexpert")
	if err != nil {
		return err
	}
	labels, err := l.mimicLabels(ctx, labelsFile)
	if err != nil {
		return err
	}
	splits := map[string]string{}
	if f, err := findFile(src.Path, "split"); err == nil {
		if splits, err = l.mimicSplits(ctx, f); err != nil {
			return err
		}
	}
	patientsFile, admissionsFile := mimicDemographicFiles(src)
	patients, err := l.mimicPatients(ctx, patientsFile)
	if err != nil {
		return err
	}
	races, err := l.mimicRaces(ctx, admissionsFile)
	if err != nil {
		return err
	}
	ok, err := l.readTable(meta, func(t *table) error {
		return l.mimicMetadata(ctx, t, src.Path, labels, splits, patients, races)
	})
	if err == nil && !ok {
		err = fmt.Errorf("mimic %s: %w", meta, ErrNoData)
	}
	return err
}

// findFile finds mimic-cxr-*<part>.csv or .csv.gz under root.
func findFile(root, part string) (string, error) {
	for _, ext := range []string{".csv", ".csv.gz"} {
		m, _ := filepath.Glob(filepath.Join(root, "mimic-cxr-*"+part+ext))
		if len(m) > 0 {
			return m[len(m)-1], nil
		}
	}
	return "", fmt.Errorf("mimic %s: no mimic-cxr-*-%s.csv(.gz): %w", root, part, ErrNoData)
}

// mimicDemographicFiles locates patients.csv and admissions.csv (or .gz).
func mimicDemographicFiles(src Source) (patients, admissions string) {
	dirs := []string{src.Path, filepath.Join(src.Path, "hosp")}
	if d := src.Demographics; d != "" {
		if st, err := os.Stat(d); err == nil && !st.IsDir() {
			d = filepath.Dir(d)
		}
		dirs = []string{d, filepath.Join(d, "hosp")}
	}
	find := func(name string) string {
		for _, d := range dirs {
			for _, ext := range []string{".csv", ".csv.gz"} {
				p := filepath.Join(d, name+ext)
				if _, err := os.Stat(p); err == nil {
					return p
				}
			}
		}
		return filepath.Join(dirs[0], name+".csv")
	}
	return find("patients"), find("admissions")
}

// mimicLabels reads the study-level labels keyed by study_id.
func (l *loader) mimicLabels(ctx context.Context, path string) (map[string][model.NumLabels]model.Label, error) {
	out := make(map[string][model.NumLabels]model.Label)
	ok, err := l.readTable(path, func(t *table) error {
		idx, err := t.require("study_id")
		if err != nil {
			return l.problem(*err.(*Problem))
		}
		c := common{labels: labelColumns(t)}
		if err := l.missingLabels(t, c); err != nil {
			return err
		}
		return l.eachRow(ctx, t, func(r row) error {
			pos := Pos{File: t.name, Line: r.line}
			labels, err := parseLabels(r, c.labels)
			if err != nil {
				return l.problem(Problem{Pos: pos, Kind: KindBadLabel, Detail: err.Error()})
			}
			id := r.get(idx[0])
			if _, dup := out[id]; dup {
				return l.problem(Problem{Pos: pos, Kind: KindDuplicateRow, Detail: "study " + id + " listed again; first row kept"})
			}
			out[id] = labels
			return nil
		})
	})
	if err == nil && !ok {
		err = fmt.Errorf("mimic labels %s: %w", path, ErrNoData)
	}
	return out, err
}

// mimicSplits reads the official split keyed by dicom_id.
func (l *loader) mimicSplits(ctx context.Context, path string) (map[string]string, error) {
	out := make(map[string]string)
	_, err := l.readTable(path, func(t *table) error {
		idx, err := t.require("dicom_id", "split")
		if err != nil {
			return l.problem(*err.(*Problem))
		}
		return l.eachRow(ctx, t, func(r row) error {
			out[r.get(idx[0])] = strings.ToLower(r.get(idx[1]))
			return nil
		})
	})
	return out, err
}

// mimicPatients reads MIMIC-IV patients.csv keyed by subject_id.
func (l *loader) mimicPatients(ctx context.Context, path string) (map[string]mimicPatient, error) {
	out := make(map[string]mimicPatient)
	ok, err := l.readTable(path, func(t *table) error {
		idx, err := t.require("subject_id", "gender", "anchor_age")
		if err != nil {
			return l.problem(*err.(*Problem))
		}
		yi := t.index("anchor_year")
		return l.eachRow(ctx, t, func(r row) error {
			pos := Pos{File: t.name, Line: r.line}
			sex, okSex := ParseSex(r.get(idx[1]))
			if !okSex {
				return l.problem(Problem{Pos: pos, Kind: KindBadSex, Detail: fmt.Sprintf("gender %q", r.get(idx[1]))})
			}
			age, kind, detail := parseAge(r.get(idx[2]), &l.cfg)
			if kind != "" {
				return l.problem(Problem{Pos: pos, Kind: kind, Detail: detail})
			}
			year, _ := strconv.Atoi(r.get(yi))
			out[r.get(idx[0])] = mimicPatient{sex: sex, anchorAge: age, anchorYear: year}
			return nil
		})
	})
	if err == nil && !ok {
		err = fmt.Errorf("mimic patients %s: %w", path, ErrNoData)
	}
	return out, err
}

// mimicRaces reads admissions.csv and resolves each subject's race.
func (l *loader) mimicRaces(ctx context.Context, path string) (map[string]Race, error) {
	values := make(map[string][]string)
	first := make(map[string]Pos)
	unknown := make(map[string]bool)
	_, err := l.readTable(path, func(t *table) error {
		si := t.index("subject_id")
		ri := t.index("race")
		if ri < 0 {
			ri = t.index("ethnicity") // MIMIC-IV 1.0 spelling
		}
		if si < 0 || ri < 0 {
			_, err := t.require("subject_id", "race")
			return l.problem(*err.(*Problem))
		}
		return l.eachRow(ctx, t, func(r row) error {
			id, raw := r.get(si), r.get(ri)
			if _, ok := first[id]; !ok {
				first[id] = Pos{File: t.name, Line: r.line}
			}
			values[id] = append(values[id], raw)
			if _, known := MapRace(raw); !known && !unknown[raw] {
				unknown[raw] = true
				return l.problem(Problem{Pos: Pos{File: t.name, Line: r.line}, Kind: KindUnknownRace, Detail: fmt.Sprintf("race %q is not in the mapping table: race unknown", raw)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]Race, len(values))
	for id, vals := range values {
		r, conflict, _ := ResolveRace(vals)
		if conflict {
			if err := l.problem(Problem{Pos: first[id], Kind: KindRaceConflict, Detail: fmt.Sprintf("subject %s has admissions with races %q: race unknown", id, dedupe(vals))}); err != nil {
				return nil, err
			}
		}
		out[id] = r
	}
	return out, nil
}

// mimicMetadata reads the image list and builds records.
func (l *loader) mimicMetadata(ctx context.Context, t *table, root string, labels map[string][model.NumLabels]model.Label,
	splits map[string]string, patients map[string]mimicPatient, races map[string]Race) error {
	t.main = true
	idx, err := t.require("dicom_id", "subject_id", "study_id", "ViewPosition")
	if err != nil {
		return l.problem(*err.(*Problem))
	}
	di := t.index("StudyDate")
	return l.eachRow(ctx, t, func(r row) error {
		dicom, subject, study, view := r.get(idx[0]), r.get(idx[1]), r.get(idx[2]), strings.ToUpper(r.get(idx[3]))
		pos := Pos{File: t.name, Line: r.line}
		rec := Record{PatientID: subject, StudyID: study, Projection: view, Origin: pos, Split: splits[dicom]}
		rec.View = mimicView(view)
		if len(subject) < 2 || dicom == "" || study == "" {
			return l.problem(Problem{Pos: pos, Kind: KindBadPatient, Detail: fmt.Sprintf("dicom_id %q subject_id %q study_id %q", dicom, subject, study)})
		}
		rec.Path = fmt.Sprintf("files/p%s/p%s/s%s/%s.jpg", subject[:2], subject, study, dicom)
		rec.File = filepath.Join(root, filepath.FromSlash(rec.Path))
		lab, ok := labels[study]
		if !ok {
			return l.problem(Problem{Pos: pos, Kind: KindNoLabels, Detail: "study " + study + " has no row in the -chexpert file"})
		}
		rec.Labels = lab
		p, ok := patients[subject]
		if !ok {
			return l.problem(Problem{Pos: pos, Kind: KindNoPatient, Detail: "subject " + subject + " (no sex or age)"})
		}
		rec.Sex, rec.Age, rec.Race = p.sex, studyAge(p, r.get(di)), races[subject]
		if rec.Age < l.cfg.MinAge || rec.Age > l.cfg.MaxAge {
			return l.problem(Problem{Pos: pos, Kind: KindAgeRange, Detail: fmt.Sprintf("age %d at the study outside %d to %d", rec.Age, l.cfg.MinAge, l.cfg.MaxAge)})
		}
		return l.accept(rec)
	})
}

// mimicView maps ViewPosition to a view: PA and AP are frontal, LATERAL, LL
// and RL lateral; anything else (AP AXIAL, LAO, SWIMMERS, blank) unknown.
func mimicView(v string) View {
	switch v {
	case "PA", "AP":
		return ViewFrontal
	case "LATERAL", "LL", "RL":
		return ViewLateral
	}
	return ViewUnknown
}

// studyAge shifts anchor_age by the years between anchor_year and StudyDate
// (YYYYMMDD).
func studyAge(p mimicPatient, date string) int {
	if p.anchorYear == 0 || len(date) < 4 {
		return p.anchorAge
	}
	y, err := strconv.Atoi(date[:4])
	if err != nil {
		return p.anchorAge
	}
	return p.anchorAge + y - p.anchorYear
}

func dedupe(v []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
