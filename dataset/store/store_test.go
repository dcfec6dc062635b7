package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/synthfed/synthfed/dataset"
)

// writeImage writes a w x h 8-bit PNG whose pattern depends on seed.
func writeImage(t testing.TB, path string, w, h, seed int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		x, y := i%w, i/w
		img.Pix[i] = uint8((x*(3+seed%7) + y*(5+seed%11) + seed*13) % 251)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeSite writes n images and a manifest into dir and returns the
// manifest's path.
func writeSite(t testing.TB, dir string, n int) string {
	t.Helper()
	var recs []dataset.Record
	for i := range n {
		name := fmt.Sprintf("img-%04d.png", i)
		writeImage(t, filepath.Join(dir, name), 40+i%9, 36, i)
		recs = append(recs, dataset.Record{Path: name, PatientID: fmt.Sprintf("p%d", i/2), Sex: dataset.SexFemale, Age: 50, View: dataset.ViewFrontal, Projection: "PA"})
	}
	return writeManifest(t, dir, recs)
}

func writeManifest(t testing.TB, dir string, recs []dataset.Record) string {
	t.Helper()
	var b bytes.Buffer
	if err := dataset.WriteManifest(&b, recs); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadRecords loads a manifest as a site does.
func loadRecords(t testing.TB, manifest string) ([]dataset.Record, *dataset.Report) {
	t.Helper()
	ds, err := dataset.Load(context.Background(), dataset.Source{Format: dataset.FormatManifest, Path: manifest}, dataset.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ds.Records, ds.Report
}

func testConfig(dir string) Config {
	c := DefaultConfig()
	c.Dir, c.Size, c.ChunkImages, c.Workers = dir, 16, 4, 2
	return c
}

// checkContent compares every record's stored image with a fresh
// preprocessing, within half a quantisation step.
func checkContent(t *testing.T, st *Store, recs []dataset.Record) {
	t.Helper()
	s := st.Settings()
	got := make([]float32, s.Size*s.Size)
	for _, r := range recs {
		ref, _, ok := st.Lookup(r.File)
		if !ok {
			t.Fatalf("%s: not in the store", r.File)
		}
		g, err := dataset.ReadImage(r.File)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := dataset.Preprocess(g, s.Size)
		st.Read(ref, got)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1.0/255+1e-6 {
				t.Fatalf("%s pixel %d: stored %v, preprocessed %v", r.File, i, got[i], want[i])
			}
		}
	}
}

func TestPrepareRoundTrip(t *testing.T) {
	for _, bits := range []int{8, 16} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			dir := t.TempDir()
			recs, _ := loadRecords(t, writeSite(t, dir, 10))
			cfg := testConfig(filepath.Join(dir, "store"))
			cfg.PixelBits = bits
			var last Progress
			st, kept, stats, err := Prepare(context.Background(), cfg, recs, Options{Progress: func(p Progress) { last = p }})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if len(kept) != 10 || stats.Decoded != 10 || stats.Chunks != 3 || st.Len() != 10 {
				t.Fatalf("kept %d, stats %+v, len %d", len(kept), stats, st.Len())
			}
			if !last.Final || last.Done != 10 || !strings.Contains(last.String(), "images/s") {
				t.Fatalf("last progress %+v %q", last, last)
			}
			checkContent(t, st, recs)
		})
	}
}

func TestIncrementalUpdate(t *testing.T) {
	dir := t.TempDir()
	manifest := writeSite(t, dir, 10)
	recs, _ := loadRecords(t, manifest)
	cfg := testConfig(filepath.Join(dir, "store"))
	st, _, _, err := Prepare(context.Background(), cfg, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Change one image, copy another under a new name, add a new one,
	// drop the last row.
	writeImage(t, recs[3].File, 30, 30, 999)
	data, _ := os.ReadFile(recs[5].File)
	os.WriteFile(filepath.Join(dir, "copy.png"), data, 0o644)
	writeImage(t, filepath.Join(dir, "new.png"), 20, 25, 1234)
	var rows []dataset.Record
	for _, r := range recs[:9] {
		rows = append(rows, dataset.Record{Path: r.Path, PatientID: r.PatientID, Sex: r.Sex, Age: r.Age, View: r.View, Projection: r.Projection})
	}
	rows = append(rows, dataset.Record{Path: "copy.png", PatientID: "c", View: dataset.ViewFrontal}, dataset.Record{Path: "new.png", PatientID: "n", View: dataset.ViewFrontal})
	recs2, _ := loadRecords(t, writeManifest(t, dir, rows))
	st, kept, stats, err := Prepare(context.Background(), cfg, recs2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if stats.Reused != 8 || stats.Decoded != 2 || stats.Deduplicated != 1 || len(kept) != 11 || st.Len() != 11 {
		t.Fatalf("stats %+v, kept %d, len %d: want 8 reused, 2 decoded, 1 deduplicated, 11 kept", stats, len(kept), st.Len())
	}
	checkContent(t, st, recs2)
	if _, _, ok := st.Lookup(recs[9].File); ok {
		t.Fatalf("dropped row %s still in the index", recs[9].File)
	}
}

func TestCorruptChunkRebuilt(t *testing.T) {
	dir := t.TempDir()
	recs, _ := loadRecords(t, writeSite(t, dir, 12))
	cfg := testConfig(filepath.Join(dir, "store"))
	st, _, _, err := Prepare(context.Background(), cfg, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	folder := st.Dir()
	st.Close()
	flip := chunkPath(folder, 0)
	b, _ := os.ReadFile(flip)
	b[len(b)-7] ^= 0x40
	os.WriteFile(flip, b, 0o644)
	trunc := chunkPath(folder, 2)
	os.Truncate(trunc, 100)

	ro, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ro.Corrupt()); n != 2 || ro.Len() != 4 {
		t.Fatalf("open: %d corrupt chunks %v, %d images: want 2 and 4", n, ro.Corrupt(), ro.Len())
	}
	msg := fmt.Sprint(ro.Corrupt())
	if !strings.Contains(msg, "checksum") || !strings.Contains(msg, "truncated") || !strings.Contains(msg, filepath.Base(trunc)) {
		t.Fatalf("corruption not named: %s", msg)
	}
	ro.Close()

	st, _, stats, err := Prepare(context.Background(), cfg, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(stats.Corrupt) != 2 || stats.Decoded != 8 || stats.Reused != 4 {
		t.Fatalf("stats %+v: want 2 corrupt, 8 decoded again, 4 reused", stats)
	}
	for _, err := range stats.Corrupt {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%v is not ErrCorrupt", err)
		}
	}
	checkContent(t, st, recs)
}

func TestDiskFullLeavesStoreValid(t *testing.T) {
	dir := t.TempDir()
	recs, _ := loadRecords(t, writeSite(t, dir, 12))
	cfg := testConfig(filepath.Join(dir, "store"))
	cfg.Workers = 1
	writes := 0
	full := func(path string, data []byte) error {
		if writes++; writes == 4 { // chunk 0, index, chunk 1, then full
			f, _ := os.CreateTemp(filepath.Dir(path), tmpPrefix+"x-")
			f.Write(data[:len(data)/2])
			f.Close()
			os.Remove(f.Name())
			return diskErr(path, &os.PathError{Op: "write", Path: path, Err: syscall.ENOSPC})
		}
		return writeAtomic(path, data)
	}
	_, _, _, err := Prepare(context.Background(), cfg, recs, Options{Report: dataset.NewReport(10), write: full})
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "free space") {
		t.Fatalf("err %v: want ErrDiskFull with advice", err)
	}
	ro, err := Open(cfg, nil)
	if err != nil {
		t.Fatalf("store broken after disk full: %v", err)
	}
	if ro.Len() != 4 || len(ro.Corrupt()) != 0 {
		t.Fatalf("after disk full: %d images, corrupt %v: want the 4 committed", ro.Len(), ro.Corrupt())
	}
	ro.Close()
	st, _, stats, err := Prepare(context.Background(), cfg, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if stats.Reused != 4 || stats.Decoded != 8 {
		t.Fatalf("resume after disk full: %+v", stats)
	}
	checkContent(t, st, recs)
}

func TestUnreadableReportedWithLine(t *testing.T) {
	dir := t.TempDir()
	manifest := writeSite(t, dir, 5)
	recs, _ := loadRecords(t, manifest)
	os.WriteFile(recs[2].File, []byte("not an image"), 0o644)
	rep := dataset.NewReport(10)
	st, kept, stats, err := Prepare(context.Background(), testConfig(filepath.Join(dir, "store")), recs, Options{Report: rep})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(kept) != 4 || stats.Unreadable != 1 || rep.Count(dataset.KindUnreadableImage) != 1 {
		t.Fatalf("kept %d, stats %+v", len(kept), stats)
	}
	if p := rep.Problems()[0]; p.Pos.String() != manifest+":4" {
		t.Fatalf("problem at %s, want %s:4", p.Pos, manifest)
	}
}
