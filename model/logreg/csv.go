package logreg

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Names of a data directory's files (Config.DataDir).
const (
	TrainFile = "train.csv"
	ValFile   = "val.csv"
)

// ErrData reports a data file that cannot be read or parsed.
var ErrData = errors.New("logreg data")

// WriteCSV writes d as CSV rows "label,x1,...,xDim" with a header.
func WriteCSV(w io.Writer, d *Dataset) error {
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, "label")
	for j := 0; j < d.Dim; j++ {
		fmt.Fprintf(bw, ",x%d", j+1)
	}
	fmt.Fprintln(bw)
	for i := 0; i < d.Len(); i++ {
		bw.WriteString(strconv.FormatFloat(d.Y[i], 'g', -1, 64))
		for _, v := range d.Row(i) {
			bw.WriteByte(',')
			bw.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// ReadCSV parses rows written by WriteCSV with dim features each. name is
// used in errors, which name the line.
func ReadCSV(r io.Reader, name string, dim int) (*Dataset, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	d := &Dataset{Dim: dim}
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			continue // header
		}
		f := strings.Split(sc.Text(), ",")
		if len(f) != dim+1 {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d: %w", name, line, len(f), dim+1, ErrData)
		}
		for j, s := range f {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s:%d: field %d %q: not a finite number: %w", name, line, j+1, s, ErrData)
			}
			if j == 0 {
				if v != 0 && v != 1 {
					return nil, fmt.Errorf("%s:%d: label %v: want 0 or 1: %w", name, line, v, ErrData)
				}
				d.Y = append(d.Y, v)
			} else {
				d.X = append(d.X, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrData, err)
	}
	if d.Len() == 0 {
		return nil, fmt.Errorf("%s: no rows: %w", name, ErrData)
	}
	return d, nil
}

// WriteDataDir writes cfg's generated train and validation sets into dir,
// for a site whose trainer reads them back (Config.DataDir).
func WriteDataDir(dir string, cfg Config) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, d := range map[string]*Dataset{TrainFile: Generate(cfg, cfg.TrainSamples, 0), ValFile: Generate(cfg, cfg.ValSamples, 1)} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = WriteCSV(f, d)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readDataFile loads one file of the data directory.
func readDataFile(dir, name string, dim int) (*Dataset, error) {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrData, err)
	}
	defer f.Close()
	return ReadCSV(f, path, dim)
}
