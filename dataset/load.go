package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// Format names a source layout.
type Format string

// The supported formats.
const (
	FormatCheXpert Format = "chexpert"
	FormatMIMIC    Format = "mimic"
	FormatManifest Format = "manifest"
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case FormatCheXpert, FormatMIMIC, FormatManifest:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want chexpert, mimic or manifest", s)
}

// Source says where a site's data lives.
type Source struct {
	// Format selects the layout.
	Format Format
	// Path is, for chexpert, a CSV file or a folder holding train.csv and
	// valid.csv; for mimic, the MIMIC-CXR-JPG root (metadata, -chexpert and
	// -split CSVs, optionally gzipped, and the files/ tree); for manifest,
	// the manifest CSV.
	Path string
	// Demographics is, for chexpert, the demographics CSV (PATIENT, GENDER,
	// AGE_AT_CXR, PRIMARY_RACE, ETHNICITY); when empty, a file in the folder
	// whose name contains "demo" and ends in .csv is used if there is one.
	// For mimic it is the folder (or one of the files) holding MIMIC-IV
	// patients.csv and admissions.csv; when empty, Path and Path/hosp are
	// searched. Unused for manifests, which carry a Race column.
	Demographics string
}

// Dataset is the result of a load: the accepted records in source order and
// the report of everything refused or suspicious.
type Dataset struct {
	Source  Source
	Records []Record
	Report  *Report
}

// Load reads a source as a site agent does. Bad rows and missing images are
// reported and skipped; the returned error is nil unless no source file could
// be read (ErrNoData), ctx was cancelled, or Config.Strict is set and a
// problem was found (then the error is that *Problem).
func Load(ctx context.Context, src Source, cfg Config, log *slog.Logger) (*Dataset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &loader{cfg: cfg, rep: NewReport(cfg.MaxProblems), log: log, seen: make(map[string]Pos)}
	var err error
	switch src.Format {
	case FormatCheXpert:
		err = l.chexpert(ctx, src)
	case FormatMIMIC:
		err = l.mimic(ctx, src)
	case FormatManifest:
		err = l.manifest(ctx, src.Path)
	default:
		_, err = ParseFormat(string(src.Format))
	}
	ds := &Dataset{Source: src, Records: l.recs, Report: l.rep}
	log.Info("dataset loaded", "format", src.Format, "path", src.Path, "records", len(l.recs),
		"rows", l.rep.Rows(), "filtered", l.rep.Filtered(), "errors", l.rep.Errors(), "warnings", l.rep.Warnings())
	return ds, err
}

// loader accumulates records and problems of one load.
type loader struct {
	cfg  Config
	rep  *Report
	log  *slog.Logger
	seen map[string]Pos
	recs []Record
}

// problem records p; it returns p as an error in strict mode for an error
// kind, nil otherwise.
func (l *loader) problem(p Problem) error {
	l.rep.Add(p)
	if l.cfg.Strict && !p.Kind.Warning() {
		return &p
	}
	return nil
}

// problems records each of ps, returning the first strict-mode error.
func (l *loader) problems(ps []Problem) error {
	var first error
	for _, p := range ps {
		if err := l.problem(p); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// accept applies the view filter, the duplicate check and the image check,
// then keeps the record.
func (l *loader) accept(r Record) error {
	if l.cfg.FrontalOnly && r.View != ViewFrontal {
		l.rep.addFiltered(1)
		return nil
	}
	if prev, dup := l.seen[r.File]; dup {
		return l.problem(Problem{Pos: r.Origin, Kind: KindDuplicatePath, Detail: fmt.Sprintf("%s is already listed at %s", r.Path, prev)})
	}
	if st, err := os.Stat(r.File); err != nil || st.IsDir() {
		var pe *fs.PathError
		if err == nil {
			err = errors.New("is a directory")
		} else if errors.As(err, &pe) {
			err = pe.Err
		}
		return l.problem(Problem{Pos: r.Origin, Kind: KindMissingImage, Detail: fmt.Sprintf("%s (looked for %s)", r.Path, r.File), Err: err})
	}
	l.seen[r.File] = r.Origin
	l.recs = append(l.recs, r)
	return nil
}

// common holds the column indices shared by CheXpert-style files.
type common struct {
	path, sex, age, view, proj int
	labels                     [model.NumLabels]int
}

// parseCommon reads Path, Sex, Age, Frontal/Lateral, AP/PA and the labels,
// returning every problem of the row.
func (l *loader) parseCommon(t *table, r row, c common) (Record, []Problem) {
	pos := Pos{File: t.name, Line: r.line}
	rec := Record{Path: r.get(c.path), Origin: pos, Projection: strings.ToUpper(r.get(c.proj))}
	var ps []Problem
	bad := func(k Kind, d string) { ps = append(ps, Problem{Pos: pos, Kind: k, Detail: d}) }
	if rec.Path == "" {
		bad(KindMissingImage, "empty Path")
	}
	var ok bool
	if rec.Sex, ok = ParseSex(r.get(c.sex)); !ok {
		bad(KindBadSex, fmt.Sprintf("sex %q: want Female, Male or Unknown", r.get(c.sex)))
	}
	age, kind, detail := parseAge(r.get(c.age), &l.cfg)
	if kind != "" {
		bad(kind, detail)
	}
	rec.Age = age
	if rec.View, ok = ParseView(r.get(c.view)); !ok {
		bad(KindBadView, fmt.Sprintf("Frontal/Lateral %q: want Frontal or Lateral", r.get(c.view)))
	}
	labels, err := parseLabels(r, c.labels)
	if err != nil {
		bad(KindBadLabel, err.Error())
	}
	rec.Labels = labels
	return rec, ps
}

// readTable opens path and reads its header, reporting a missing or
// malformed file as a problem; it returns nil (and a strict-mode error) then.
func (l *loader) readTable(path string, fn func(*table) error) (bool, error) {
	f, err := openCSV(path)
	if err != nil {
		return false, l.problem(Problem{Pos: Pos{File: path}, Kind: KindMissingFile, Err: err})
	}
	defer f.Close()
	t, err := newTable(path, f)
	if err != nil {
		if p, ok := err.(*Problem); ok {
			return false, l.problem(*p)
		}
		return false, err
	}
	return true, fn(t)
}

// eachRow calls fn for every well-formed row of t, reporting malformed ones
// and checking ctx every 1024 rows. Rows of a main table (one listing
// images) are counted in the report.
func (l *loader) eachRow(ctx context.Context, t *table, fn func(row) error) error {
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r, err := t.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			p, ok := err.(*Problem)
			if !ok {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			if t.main {
				l.rep.addRows(1)
			}
			if err := l.problem(*p); err != nil {
				return err
			}
			continue
		}
		if t.main {
			l.rep.addRows(1)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

// resolver finds an image named in a CSV: relative to the CSV's folder, to
// its parent (CheXpert's Path starts with the dataset folder's name), or
// relative to the CSV's folder without the first path element. It remembers
// which rule worked last.
type resolver struct {
	dir  string
	last int
}

func (rv *resolver) resolve(p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return p
	}
	cands := [3]string{filepath.Join(rv.dir, p), filepath.Join(filepath.Dir(rv.dir), p), ""}
	if i := strings.IndexRune(p, filepath.Separator); i > 0 {
		cands[2] = filepath.Join(rv.dir, p[i+1:])
	}
	order := [3]int{rv.last, (rv.last + 1) % 3, (rv.last + 2) % 3}
	for _, i := range order {
		if cands[i] == "" {
			continue
		}
		if _, err := os.Stat(cands[i]); err == nil {
			rv.last = i
			return cands[i]
		}
	}
	return cands[0]
}
