package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// ScoreTable is a scores CSV: a 0/1 label column, an optional patient
// column and one or more score columns, read by ReadScoreCSV.
type ScoreTable struct {
	// File names the source, for messages.
	File string
	// Columns holds the score columns' names in file order.
	Columns []string
	// Scores holds one column of values per name in Columns.
	Scores [][]float64
	// Labels holds each row's label (model.LabelPositive or
	// model.LabelNegative).
	Labels []model.Label
	// Patients holds each row's patient ID, or nil without a patient
	// column.
	Patients []string
}

// CSVError is a problem in a scores CSV; it matches ErrCSV with errors.Is.
type CSVError struct {
	// File and Line locate the problem (Line is 1-based).
	File string
	Line int
	// Column names the column concerned, if any.
	Column string
	// Err is the cause.
	Err error
}

// Error formats the problem as file:line: column "c": cause.
func (e *CSVError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("%s:%d: column %q: %v", e.File, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

// Unwrap returns ErrCSV and the cause.
func (e *CSVError) Unwrap() []error { return []error{ErrCSV, e.Err} }

// ReadScoreCSV reads a scores CSV with a header row. The column "label"
// holds 0 or 1 (also written 0.0 or 1.0); the optional column "patient"
// holds patient IDs for patient-level resampling; every other column is a
// score column of finite numbers. Any malformed cell, a missing or
// duplicated column, a ragged row or a file without data rows is a *CSVError
// naming file:line; nothing is skipped silently.
func ReadScoreCSV(r io.Reader, name string) (*ScoreTable, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, csvReadError(name, err, 1)
	}
	t, labelCol, patientCol, err := parseHeader(name, header)
	if err != nil {
		return nil, err
	}
	scoreCols := make([]int, 0, len(t.Columns))
	for i := range header {
		if i != labelCol && i != patientCol {
			scoreCols = append(scoreCols, i)
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvReadError(name, err, 0)
		}
		line, _ := cr.FieldPos(0)
		if err := t.addRow(rec, line, labelCol, patientCol, scoreCols); err != nil {
			return nil, err
		}
	}
	if len(t.Labels) == 0 {
		return nil, &CSVError{File: name, Line: 2, Err: fmt.Errorf("no data rows: %w", ErrEmpty)}
	}
	return t, nil
}

// csvReadError converts encoding/csv errors, which carry the line.
func csvReadError(name string, err error, line int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &CSVError{File: name, Line: pe.Line, Err: pe.Err}
	}
	if err == io.EOF {
		return &CSVError{File: name, Line: 1, Err: fmt.Errorf("empty file, want a header with label and score columns: %w", ErrEmpty)}
	}
	return &CSVError{File: name, Line: line, Err: err}
}

func parseHeader(name string, header []string) (*ScoreTable, int, int, error) {
	t := &ScoreTable{File: name}
	labelCol, patientCol := -1, -1
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		header[i] = h
		switch {
		case h == "":
			return nil, 0, 0, &CSVError{File: name, Line: 1, Err: fmt.Errorf("column %d has an empty name", i+1)}
		case seen[h]:
			return nil, 0, 0, &CSVError{File: name, Line: 1, Column: h, Err: errors.New("duplicated column")}
		case h == "label":
			labelCol = i
		case h == "patient":
			patientCol = i
		default:
			t.Columns = append(t.Columns, h)
		}
		seen[h] = true
	}
	if labelCol < 0 {
		return nil, 0, 0, &CSVError{File: name, Line: 1, Err: errors.New(`no "label" column`)}
	}
	if len(t.Columns) == 0 {
		return nil, 0, 0, &CSVError{File: name, Line: 1, Err: errors.New("no score column")}
	}
	t.Scores = make([][]float64, len(t.Columns))
	if patientCol >= 0 {
		t.Patients = []string{}
	}
	return t, labelCol, patientCol, nil
}

// addRow parses one data record.
func (t *ScoreTable) addRow(rec []string, line, labelCol, patientCol int, scoreCols []int) error {
	lv := strings.TrimSpace(rec[labelCol])
	f, err := strconv.ParseFloat(lv, 64)
	if err != nil || (f != 0 && f != 1) {
		return &CSVError{File: t.File, Line: line, Column: "label", Err: fmt.Errorf("value %q, want 0 or 1: %w", lv, ErrLabel)}
	}
	for k, c := range scoreCols {
		sv := strings.TrimSpace(rec[c])
		v, err := strconv.ParseFloat(sv, 64)
		if err != nil {
			return &CSVError{File: t.File, Line: line, Column: t.Columns[k], Err: fmt.Errorf("value %q is not a number", sv)}
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &CSVError{File: t.File, Line: line, Column: t.Columns[k], Err: fmt.Errorf("value %q: %w", sv, ErrNonFinite)}
		}
		t.Scores[k] = append(t.Scores[k], v)
	}
	t.Labels = append(t.Labels, model.Label(f))
	if patientCol >= 0 {
		t.Patients = append(t.Patients, strings.TrimSpace(rec[patientCol]))
	}
	return nil
}
