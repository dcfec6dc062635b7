package dataset

import (
	"context"
	"fmt"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// demographic is one patient's row of a demographics file.
type demographic struct {
	sex       Sex
	age       int
	hasAge    bool
	race      Race
	ethnicity string
	pos       Pos
}

// CheXpert demographics column names.
const (
	colPatient   = "PATIENT"
	colGender    = "GENDER"
	colAgeAtCXR  = "AGE_AT_CXR"
	colRace      = "PRIMARY_RACE"
	colEthnicity = "ETHNICITY"
)

// demographics reads a CheXpert demographics file into a map keyed by the
// lower-cased patient ID. A patient listed twice has the race values of all
// rows combined by ResolveRace.
func (l *loader) demographics(ctx context.Context, path string) (map[string]demographic, error) {
	out := make(map[string]demographic)
	races := make(map[string][]string)
	unknown := make(map[string]bool)
	_, err := l.readTable(path, func(t *table) error {
		idx, err := t.require(colPatient, colRace)
		if err != nil {
			return l.problem(*err.(*Problem))
		}
		gi, ai, ei := t.index(colGender), t.index(colAgeAtCXR), t.index(colEthnicity)
		return l.eachRow(ctx, t, func(r row) error {
			id := strings.ToLower(r.get(idx[0]))
			pos := Pos{File: t.name, Line: r.line}
			if id == "" {
				return l.problem(Problem{Pos: pos, Kind: KindBadPatient, Detail: "empty PATIENT"})
			}
			raw := r.get(idx[1])
			if _, known := MapRace(raw); !known && !unknown[raw] {
				unknown[raw] = true
				if err := l.problem(Problem{Pos: pos, Kind: KindUnknownRace, Detail: fmt.Sprintf("PRIMARY_RACE %q is not in the mapping table: race unknown", raw)}); err != nil {
					return err
				}
			}
			if prev, dup := out[id]; dup {
				races[id] = append(races[id], raw)
				return l.problem(Problem{Pos: pos, Kind: KindDuplicateRow, Detail: fmt.Sprintf("patient %s already listed at %s", id, prev.pos)})
			}
			d := demographic{pos: pos, ethnicity: r.get(ei)}
			d.sex, _ = ParseSex(r.get(gi))
			if age, kind, _ := parseAge(r.get(ai), &l.cfg); kind == "" {
				d.age, d.hasAge = age, true
			}
			out[id] = d
			races[id] = append(races[id], raw)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for id, vals := range races {
		d := out[id]
		var conflict bool
		d.race, conflict, _ = ResolveRace(vals)
		if conflict {
			if err := l.problem(Problem{Pos: d.pos, Kind: KindRaceConflict, Detail: fmt.Sprintf("patient %s has races %q: race unknown", id, vals)}); err != nil {
				return nil, err
			}
		}
		out[id] = d
	}
	return out, nil
}

// join copies race and ethnicity from the patient's demographics, and sex
// from there when the label file's is unknown. A patient absent from a given
// file is reported as a warning.
func (l *loader) join(rec *Record, demos map[string]demographic) error {
	if demos == nil {
		return nil
	}
	d, ok := demos[strings.ToLower(rec.PatientID)]
	if !ok {
		return l.problem(Problem{Pos: rec.Origin, Kind: KindNoDemographics, Detail: fmt.Sprintf("patient %s: race unknown", rec.PatientID)})
	}
	rec.Race, rec.Ethnicity = d.race, d.ethnicity
	if rec.Sex == SexUnknown {
		rec.Sex = d.sex
	}
	return nil
}

// labelName returns the CheXpert name of label i.
func labelName(i int) string { return model.LabelNames[i] }
