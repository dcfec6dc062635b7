package logreg

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// TestDataDirTrainsLikeGenerated: a trainer reading the files WriteDataDir
// wrote trains exactly as one generating the data; once the folder is
// gone, Train fails with ErrData naming the file.
func TestDataDirTrainsLikeGenerated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Site, cfg.TrainSamples, cfg.ValSamples = 3, 50, 20
	dir := filepath.Join(t.TempDir(), "data")
	if err := WriteDataDir(dir, cfg); err != nil {
		t.Fatal(err)
	}
	gen, _ := New(cfg, nil)
	fcfg := cfg
	fcfg.DataDir = dir
	file, err := New(fcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, _ := gen.Init(ctx, 1)
	spec := model.TrainSpec{Round: 2, Seed: 7, LocalSteps: 10}
	a, err1 := gen.Train(ctx, w, spec)
	b, err2 := file.Train(ctx, w, spec)
	if err1 != nil || err2 != nil || a.Weights.Hash() != b.Weights.Hash() || a.NumSamples != b.NumSamples {
		t.Fatalf("generated %v %v, from files %v %v", a.Weights.Hash(), err1, b.Weights.Hash(), err2)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	_, err = file.Train(ctx, w, spec)
	if !errors.Is(err, ErrData) || !strings.Contains(err.Error(), TrainFile) {
		t.Fatalf("train without data: %v", err)
	}
}

func TestReadCSVRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"fields", "label,x1\n1,2,3\n"},
		{"label", "label,x1\n2,0.5\n"},
		{"nan", "label,x1\n1,NaN\n"},
		{"inf", "label,x1\n1,Inf\n"},
		{"empty", "label,x1\n"},
	} {
		if _, err := ReadCSV(strings.NewReader(tc.in), "f.csv", 1); !errors.Is(err, ErrData) || !strings.Contains(err.Error(), "f.csv") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteCSV(&buf, Generate(DefaultConfig(), 3, 0))
	f.Add(buf.Bytes())
	f.Add([]byte("label,x1\n1,Inf\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ReadCSV(bytes.NewReader(data), "fuzz", 16)
		if err == nil && (d.Len() == 0 || len(d.X) != 16*d.Len()) {
			t.Fatalf("accepted %d rows with %d values", d.Len(), len(d.X))
		}
	})
}
