package store

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
)

// TestRecordsFileMatchesKept: Prepare writes the compact index of the
// records it kept, in their order, and Records reads it back equal to
// NewSet's; the set reads the same pixels as a lookup by path.
func TestRecordsFileMatchesKept(t *testing.T) {
	dir := t.TempDir()
	recs, rep := loadRecords(t, writeSite(t, dir, 11))
	for i := range recs {
		recs[i].Labels[i%model.NumLabels] = model.LabelPositive
		recs[i].Race, recs[i].Age = dataset.Race(i%6), 20+i
	}
	cfg := testConfig(filepath.Join(dir, "store"))
	st, kept, _, err := Prepare(context.Background(), cfg, recs, Options{Report: rep})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fromFile, err := Records(st)
	if err != nil {
		t.Fatal(err)
	}
	fromRecs, err := NewSet(st, kept)
	if err != nil {
		t.Fatal(err)
	}
	if fromFile.Len() != len(kept) || fromRecs.Len() != len(kept) {
		t.Fatalf("records file %d, NewSet %d, kept %d", fromFile.Len(), fromRecs.Len(), len(kept))
	}
	a, b := make([]float32, 16*16), make([]float32, 16*16)
	for i := range kept {
		it := fromFile.Item(i)
		if it != fromRecs.Item(i) {
			t.Fatalf("item %d: file %+v, records %+v", i, it, fromRecs.Item(i))
		}
		if it.Labels != kept[i].Labels || int(it.Age) != kept[i].Age || it.Race != kept[i].Race || it.Sex != kept[i].Sex ||
			it.Patient != PatientKey(kept[i].PatientID) {
			t.Fatalf("item %d %+v does not describe record %+v", i, it, kept[i])
		}
		if it.Condition(dataset.UncertainZeros) != kept[i].Condition() {
			t.Fatalf("item %d: condition differs from the record's", i)
		}
		ref, _, _ := st.Lookup(kept[i].File)
		st.Read(ref, a)
		fromFile.ReadImage(i, b)
		if !slices.Equal(a, b) {
			t.Fatalf("item %d reads other pixels than its record's path", i)
		}
	}
	// A damaged records file is refused, naming the file.
	path := filepath.Join(st.Dir(), recordsName)
	data, _ := os.ReadFile(path)
	data[30] ^= 1
	os.WriteFile(path, data, 0o644)
	if _, err := Records(st); err == nil || !strings.Contains(err.Error(), recordsName) {
		t.Fatalf("damaged records file: %v", err)
	}
}

// TestSetIsCompact: a set keeps no record strings: its live heap per image
// stays under 64 bytes however long the records' paths and IDs.
func TestSetIsCompact(t *testing.T) {
	dir := t.TempDir()
	recs, rep := loadRecords(t, writeSite(t, dir, 8))
	cfg := testConfig(filepath.Join(dir, "store"))
	st, kept, _, err := Prepare(context.Background(), cfg, recs, Options{Report: rep})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = 40000
	before := liveHeap()
	long := strings.Repeat("x", 300)
	big := make([]dataset.Record, n)
	for i := range big {
		big[i] = kept[i%len(kept)]
		big[i].PatientID = long + string(rune('a'+i%26))
		big[i].Path, big[i].StudyID, big[i].Ethnicity = long+"p", long+"s", long+"e"
	}
	set, err := NewSet(st, big)
	if err != nil {
		t.Fatal(err)
	}
	big = nil
	per := float64(liveHeap()-before) / n
	runtime.KeepAlive(set)
	t.Logf("set of %d images: %.1f bytes per image", n, per)
	if per > 64 {
		t.Fatalf("set keeps %.1f bytes per image, want <= 64", per)
	}
}

func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
