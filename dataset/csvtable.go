package dataset

import (
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// table reads a CSV file with a header row, keeping line numbers for
// problems. Columns are found by name, case-insensitively.
type table struct {
	name   string
	r      *csv.Reader
	header []string
	col    map[string]int
	// main marks a table listing images, whose rows the report counts.
	main bool
}

// row is one data row with its 1-based line number.
type row struct {
	line   int
	fields []string
}

// openCSV opens path for reading, through gzip when the name ends in .gz.
func openCSV(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// newTable reads the header row of rd; name labels positions.
func newTable(name string, rd io.Reader) (*table, error) {
	r := csv.NewReader(rd)
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if err == io.EOF {
		return nil, &Problem{Pos: Pos{File: name, Line: 1}, Kind: KindBadCSV, Detail: "empty file, no header row"}
	}
	if err != nil {
		return nil, &Problem{Pos: Pos{File: name, Line: 1}, Kind: KindBadCSV, Detail: "header row", Err: err}
	}
	t := &table{name: name, r: r, header: header, col: make(map[string]int, len(header))}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		header[i] = h
		key := strings.ToLower(h)
		if _, dup := t.col[key]; !dup {
			t.col[key] = i
		}
	}
	return t, nil
}

// index returns the column of name, or -1.
func (t *table) index(name string) int {
	if i, ok := t.col[strings.ToLower(name)]; ok {
		return i
	}
	return -1
}

// require returns the columns of names, or a missing-column problem naming
// every absent one.
func (t *table) require(names ...string) ([]int, error) {
	idx := make([]int, len(names))
	var missing []string
	for i, n := range names {
		idx[i] = t.index(n)
		if idx[i] < 0 {
			missing = append(missing, fmt.Sprintf("%q", n))
		}
	}
	if len(missing) > 0 {
		return nil, &Problem{Pos: Pos{File: t.name, Line: 1}, Kind: KindMissingColumn,
			Detail: fmt.Sprintf("header lacks %s (has %s)", strings.Join(missing, ", "), strings.Join(t.header, ","))}
	}
	return idx, nil
}

// next returns the next row, io.EOF at the end, or a *Problem for a row
// that cannot be parsed or has the wrong number of fields; reading may
// continue after a *Problem.
func (t *table) next() (row, error) {
	fields, err := t.r.Read()
	if err == io.EOF {
		return row{}, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return row{}, &Problem{Pos: Pos{File: t.name, Line: pe.StartLine}, Kind: KindBadCSV, Detail: pe.Err.Error()}
	}
	if err != nil {
		return row{}, err
	}
	line, _ := t.r.FieldPos(0)
	if len(fields) != len(t.header) {
		return row{}, &Problem{Pos: Pos{File: t.name, Line: line}, Kind: KindBadCSV,
			Detail: fmt.Sprintf("%d fields, header has %d", len(fields), len(t.header))}
	}
	return row{line: line, fields: fields}, nil
}

// get returns field i of the row trimmed, or "" when i < 0.
func (r row) get(i int) string {
	if i < 0 || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}
