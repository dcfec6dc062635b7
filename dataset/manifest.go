package dataset

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// Manifest column names beyond CheXpert's.
const (
	colPID        = "PID"
	colRaceName   = "Race"
	colSplit      = "Split"
	colStudy      = "Study"
	colReplicaID  = "ReplicaID"
	colCheckpoint = "Checkpoint"
	colSiteCond   = "SiteCondition"
)

// manifest loads a generic manifest: Path, PID, Sex, Age, Frontal/Lateral and
// AP/PA are required; Race, Split, Study, ReplicaID, Checkpoint,
// SiteCondition and any subset of the 14 label columns are optional (absent
// labels are blank).
// Relative paths are resolved against the manifest's folder.
func (l *loader) manifest(ctx context.Context, path string) error {
	ok, err := l.readTable(path, func(t *table) error { return l.manifestTable(ctx, t) })
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("manifest %s: %w", path, ErrNoData)
	}
	return nil
}

// manifestTable reads the rows of an open manifest.
func (l *loader) manifestTable(ctx context.Context, t *table) error {
	t.main = true
	idx, err := t.require(colPath, colPID, colSex, colAge, colView, colProjection)
	if err != nil {
		return l.problem(*err.(*Problem))
	}
	c := common{path: idx[0], sex: idx[2], age: idx[3], view: idx[4], proj: idx[5], labels: labelColumns(t)}
	m := manifestCols{pid: idx[1], race: t.index(colRaceName), split: t.index(colSplit), study: t.index(colStudy),
		replica: t.index(colReplicaID), checkpoint: t.index(colCheckpoint), siteCond: t.index(colSiteCond)}
	if err := l.unknownColumns(t); err != nil {
		return err
	}
	rv := &resolver{dir: filepath.Dir(t.name)}
	unknownRace := make(map[string]bool)
	return l.eachRow(ctx, t, func(r row) error {
		rec, ps := l.parseCommon(t, r, c)
		ps = append(ps, m.parse(&rec, r)...)
		if len(ps) > 0 {
			return l.problems(ps)
		}
		if raw := r.get(m.race); !unknownRace[raw] {
			var known bool
			if rec.Race, known = MapRace(raw); !known {
				unknownRace[raw] = true
				if err := l.problem(Problem{Pos: rec.Origin, Kind: KindUnknownRace, Detail: fmt.Sprintf("Race %q is not in the mapping table: race unknown", raw)}); err != nil {
					return err
				}
			}
		}
		rec.File = rv.resolveManifest(rec.Path)
		return l.accept(rec)
	})
}

// resolveManifest resolves a manifest path against the manifest's folder.
func (rv *resolver) resolveManifest(p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(rv.dir, p)
}

// manifestCols holds the optional manifest columns (-1 when absent).
type manifestCols struct {
	pid, race, split, study, replica, checkpoint, siteCond int
}

// parse fills the manifest-only fields of rec.
func (m manifestCols) parse(rec *Record, r row) []Problem {
	var ps []Problem
	rec.PatientID = r.get(m.pid)
	if rec.PatientID == "" {
		ps = append(ps, Problem{Pos: rec.Origin, Kind: KindBadPatient, Detail: "empty PID"})
	}
	rec.Split, rec.StudyID, rec.Checkpoint, rec.SiteCondition = r.get(m.split), r.get(m.study), r.get(m.checkpoint), r.get(m.siteCond)
	if s := r.get(m.replica); s != "" {
		id, err := strconv.Atoi(s)
		if err != nil || id < 0 {
			ps = append(ps, Problem{Pos: rec.Origin, Kind: KindBadReplica, Detail: fmt.Sprintf("ReplicaID %q: want an integer >= 0", s)})
		}
		rec.Synthetic, rec.ReplicaID = true, id
	}
	return ps
}

// unknownColumns warns about each column the manifest loader ignores.
func (l *loader) unknownColumns(t *table) error {
	known := map[string]bool{}
	for _, n := range []string{colPath, colPID, colSex, colAge, colView, colProjection, colRaceName, colSplit, colStudy, colReplicaID, colCheckpoint, colSiteCond} {
		known[strings.ToLower(n)] = true
	}
	for _, n := range model.LabelNames {
		known[strings.ToLower(n)] = true
	}
	var extra []string
	for _, h := range t.header {
		if !known[strings.ToLower(h)] {
			extra = append(extra, fmt.Sprintf("%q", h))
		}
	}
	if len(extra) == 0 {
		return nil
	}
	return l.problem(Problem{Pos: Pos{File: t.name, Line: 1}, Kind: KindUnknownColumn, Detail: "ignored columns " + strings.Join(extra, ", ")})
}
