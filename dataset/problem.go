package dataset

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
)

// ErrBadInput is wrapped by every Problem: match it with errors.Is.
var ErrBadInput = errors.New("bad input")

// ErrNoData means a load found no readable source file at all.
var ErrNoData = errors.New("no readable data")

// Kind classifies a problem.
type Kind string

// The problem kinds. Error kinds drop the row, image or file concerned;
// warning kinds keep it (see Kind.Warning).
const (
	KindMissingFile     Kind = "missing file"
	KindMissingColumn   Kind = "missing column"
	KindBadCSV          Kind = "malformed CSV row"
	KindMissingImage    Kind = "missing image"
	KindUnreadableImage Kind = "unreadable image"
	KindBadAge          Kind = "bad age"
	KindAgeRange        Kind = "age out of range"
	KindBadSex          Kind = "bad sex"
	KindBadView         Kind = "bad view"
	KindBadLabel        Kind = "unknown label value"
	KindBadPatient      Kind = "no patient ID"
	KindBadReplica      Kind = "bad replica ID"
	KindDuplicatePath   Kind = "duplicate path"
	KindNoLabels        Kind = "no labels for study"
	KindNoPatient       Kind = "patient not in patients file"
	// Warnings.
	KindNoDemographics Kind = "patient not in demographics"
	KindUnknownRace    Kind = "unknown race value"
	KindRaceConflict   Kind = "race conflict"
	KindDuplicateRow   Kind = "duplicate demographics or label row"
	KindUnknownColumn  Kind = "unknown column"
	KindConstantImage  Kind = "constant image"
)

// Warning reports whether the kind keeps the data it concerns.
func (k Kind) Warning() bool {
	switch k {
	case KindNoDemographics, KindUnknownRace, KindRaceConflict, KindDuplicateRow, KindUnknownColumn, KindConstantImage:
		return true
	}
	return false
}

// Problem is one bad row, image or file.
type Problem struct {
	// Pos names the file and line (line 0 for a whole file).
	Pos Pos
	// Kind classifies the problem.
	Kind Kind
	// Detail says what was wrong, e.g. the offending value.
	Detail string
	// Err is the underlying cause, if any (an I/O or decode error).
	Err error
}

// Error formats "file:line: kind: detail: cause".
func (p *Problem) Error() string {
	s := fmt.Sprintf("%s: %s", p.Pos, p.Kind)
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	if p.Err != nil {
		s += ": " + p.Err.Error()
	}
	return s
}

// Unwrap exposes ErrBadInput and the cause to errors.Is and errors.As.
func (p *Problem) Unwrap() []error {
	if p.Err == nil {
		return []error{ErrBadInput}
	}
	return []error{ErrBadInput, p.Err}
}

// Report collects the problems of a load and counts what was read. It is
// safe for concurrent use.
type Report struct {
	mu       sync.Mutex
	max      int
	problems []Problem
	counts   map[Kind]int
	rows     int
	filtered int
}

// NewReport returns a report keeping at most max problems in detail (counts
// are always complete); max 0 keeps none in detail.
func NewReport(max int) *Report {
	return &Report{max: max, counts: make(map[Kind]int)}
}

// Add records a problem.
func (r *Report) Add(p Problem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[p.Kind]++
	if len(r.problems) < r.max {
		r.problems = append(r.problems, p)
	}
}

// addRows counts data rows read from source files.
func (r *Report) addRows(n int) {
	r.mu.Lock()
	r.rows += n
	r.mu.Unlock()
}

// addFiltered counts records dropped by a filter such as frontal-only.
func (r *Report) addFiltered(n int) {
	r.mu.Lock()
	r.filtered += n
	r.mu.Unlock()
}

// Problems returns the problems kept in detail, in the order found.
func (r *Report) Problems() []Problem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Problem(nil), r.problems...)
}

// Count returns how many problems of kind k were found.
func (r *Report) Count(k Kind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[k]
}

// Errors returns the number of problems that dropped data.
func (r *Report) Errors() int { return r.total(false) }

// Warnings returns the number of problems that kept the data.
func (r *Report) Warnings() int { return r.total(true) }

func (r *Report) total(warning bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, c := range r.counts {
		if k.Warning() == warning {
			n += c
		}
	}
	return n
}

// Failed reports whether any row, image or file was dropped for a problem.
func (r *Report) Failed() bool { return r.Errors() > 0 }

// Rows returns the number of data rows read; Filtered the number of records
// dropped by filters.
func (r *Report) Rows() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rows
}

// Filtered returns the number of records dropped by a filter (not problems).
func (r *Report) Filtered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.filtered
}

// WriteSummary prints the counts per kind, then every problem kept in detail.
func (r *Report) WriteSummary(w io.Writer) error {
	r.mu.Lock()
	kinds := make([]Kind, 0, len(r.counts))
	for k := range r.counts {
		kinds = append(kinds, k)
	}
	counts := make(map[Kind]int, len(r.counts))
	for k, c := range r.counts {
		counts[k] = c
	}
	problems := append([]Problem(nil), r.problems...)
	r.mu.Unlock()
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	ew := &errWriter{w: w}
	ew.printf("problems: %d errors (data dropped), %d warnings (data kept)\n", r.Errors(), r.Warnings())
	for _, k := range kinds {
		sev := "error"
		if k.Warning() {
			sev = "warning"
		}
		ew.printf("  %-36s %7d  (%s)\n", k, counts[k], sev)
	}
	for _, p := range problems {
		ew.printf("%s\n", p.Error())
	}
	if n := r.Errors() + r.Warnings(); n > len(problems) {
		ew.printf("... %d more problems not listed\n", n-len(problems))
	}
	return ew.err
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
