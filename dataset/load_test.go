package dataset

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/dataset/dicom"
	"github.com/synthfed/synthfed/model"
)

const (
	P = model.LabelPositive
	N = model.LabelNegative
	U = model.LabelUncertain
	B = model.LabelBlank
)

// byPath indexes records by the last three elements of their path.
func byPath(recs []Record) map[string]Record {
	m := map[string]Record{}
	for _, r := range recs {
		parts := strings.Split(filepath.ToSlash(r.Path), "/")
		m[strings.Join(parts[max(0, len(parts)-3):], "/")] = r
	}
	return m
}

// problemAt returns the kinds reported at a file (base name) and line.
func problemAt(rep *Report) map[string][]Kind {
	m := map[string][]Kind{}
	for _, p := range rep.Problems() {
		k := Pos{File: filepath.Base(p.Pos.File), Line: p.Pos.Line}.String()
		m[k] = append(m[k], p.Kind)
	}
	return m
}

func load(t *testing.T, src Source, mod func(*Config)) *Dataset {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	ds, err := Load(context.Background(), src, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestLoadCheXpert(t *testing.T) {
	ds := load(t, Source{Format: FormatCheXpert, Path: "testdata/chexpert"}, nil)
	if len(ds.Records) != 9 {
		t.Fatalf("%d records, want 9: %+v", len(ds.Records), ds.Records)
	}
	wantAt := map[string]Kind{
		"train.csv:7":  KindMissingImage,
		"train.csv:9":  KindAgeRange,
		"train.csv:10": KindBadLabel,
		"train.csv:11": KindBadSex,
		"train.csv:13": KindDuplicatePath,
		"train.csv:14": KindBadCSV,
		"train.csv:15": KindBadAge,
		"train.csv:16": KindNoDemographics,
	}
	got := problemAt(ds.Report)
	for at, k := range wantAt {
		if len(got[at]) != 1 || got[at][0] != k {
			t.Errorf("%s: problems %v, want [%s]", at, got[at], k)
		}
	}
	if ds.Report.Errors() != 7 || ds.Report.Warnings() != 4 || ds.Report.Filtered() != 1 || ds.Report.Rows() != 17 {
		t.Errorf("errors %d warnings %d filtered %d rows %d, want 7 4 1 17", ds.Report.Errors(), ds.Report.Warnings(), ds.Report.Filtered(), ds.Report.Rows())
	}
	for _, k := range []Kind{KindUnknownRace, KindRaceConflict, KindDuplicateRow} {
		if ds.Report.Count(k) != 1 {
			t.Errorf("%s counted %d times, want 1", k, ds.Report.Count(k))
		}
	}
	m := byPath(ds.Records)
	r := m["patient00001/study1/view1_frontal.png"]
	want := [model.NumLabels]model.Label{B, B, P, P, B, U, B, B, N, B, P, B, B, P}
	if r.PatientID != "patient00001" || r.Sex != SexFemale || r.Age != 68 || r.Race != RaceWhite || r.Labels != want ||
		r.Projection != "AP" || r.Split != "train" || r.StudyID != "patient00001/study1" || r.Origin.Line != 2 {
		t.Errorf("patient00001 record %+v", r)
	}
	if !strings.HasSuffix(filepath.ToSlash(r.File), "testdata/chexpert/train/patient00001/study1/view1_frontal.png") {
		t.Errorf("resolved file %s", r.File)
	}
	races := map[string]Race{"patient00002": RaceBlack, "patient00003": RaceAsian, "patient00004": RaceUnknown, "patient00005": RaceUnknown,
		"patient00006": RaceUnknown, "patient00007": RaceUnknown, "patient00009": RaceNHPI, "patient64541": RaceAIAN}
	for _, r := range ds.Records {
		if w, ok := races[r.PatientID]; ok && r.Race != w {
			t.Errorf("%s race %s, want %s", r.PatientID, r.Race, w)
		}
	}
	if v := m["patient64541/study1/view1_frontal.jpg"]; v.Split != "valid" || v.Labels[0] != N {
		t.Errorf("valid record %+v", v)
	}
}

func TestLoadCheXpertOptions(t *testing.T) {
	all := load(t, Source{Format: FormatCheXpert, Path: "testdata/chexpert"}, func(c *Config) { c.FrontalOnly = false })
	if len(all.Records) != 10 || all.Report.Filtered() != 0 {
		t.Errorf("with laterals: %d records, %d filtered; want 10, 0", len(all.Records), all.Report.Filtered())
	}
	one := load(t, Source{Format: FormatCheXpert, Path: "testdata/chexpert/valid.csv"}, nil)
	if len(one.Records) != 1 || one.Report.Count(KindNoDemographics) != 1 {
		t.Errorf("single file without demographics: %d records, %d no-demographics warnings", len(one.Records), one.Report.Count(KindNoDemographics))
	}
	ages := load(t, Source{Format: FormatCheXpert, Path: "testdata/chexpert"}, func(c *Config) { c.MinAge, c.MaxAge = 50, 80 })
	if ages.Report.Count(KindAgeRange) != 5 {
		t.Errorf("age range 50-80: %d out of range, want 5", ages.Report.Count(KindAgeRange))
	}
	_, err := Load(context.Background(), Source{Format: FormatCheXpert, Path: "testdata/nothing"}, DefaultConfig(), nil)
	if !errors.Is(err, ErrNoData) {
		t.Errorf("missing folder: %v", err)
	}
}

func TestLoadStrict(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Strict = true
	_, err := Load(context.Background(), Source{Format: FormatCheXpert, Path: "testdata/chexpert", Demographics: "testdata/chexpert/chexpert_demo.csv"}, cfg, nil)
	var p *Problem
	if !errors.As(err, &p) || !errors.Is(err, ErrBadInput) {
		t.Fatalf("strict load: %v, want a *Problem", err)
	}
	if p.Kind != KindMissingImage || p.Pos.Line != 7 {
		t.Fatalf("strict load stopped at %v, want the missing image at line 7", p)
	}
}

func TestLoadMIMIC(t *testing.T) {
	ds := load(t, Source{Format: FormatMIMIC, Path: "testdata/mimic"}, nil)
	if len(ds.Records) != 3 {
		t.Fatalf("%d records, want 3", len(ds.Records))
	}
	got := problemAt(ds.Report)
	for at, k := range map[string]Kind{"mimic-cxr-2.0.0-metadata.csv:6": KindNoLabels, "mimic-cxr-2.0.0-metadata.csv:7": KindNoPatient,
		"admissions.csv:5": KindRaceConflict, "admissions.csv:7": KindUnknownRace} {
		if len(got[at]) != 1 || got[at][0] != k {
			t.Errorf("%s: problems %v, want [%s]", at, got[at], k)
		}
	}
	tests := []struct {
		dicom  string
		age    int
		sex    Sex
		race   Race
		split  string
		proj   string
		labels [model.NumLabels]model.Label
	}{
		{"02aa804e", 52, SexFemale, RaceWhite, "train", "PA", [model.NumLabels]model.Label{P, B, B, B, B, B, B, B, B, B, B, B, B, B}},
		{"2a2277a9", 54, SexFemale, RaceWhite, "train", "AP", [model.NumLabels]model.Label{P, B, B, B, B, B, B, B, B, B, B, B, B, B}},
		{"096052b7", 86, SexMale, RaceUnknown, "validate", "AP", [model.NumLabels]model.Label{B, B, B, P, B, B, U, U, B, B, B, B, B, B}},
	}
	for i, tc := range tests {
		r := ds.Records[i]
		if !strings.Contains(r.Path, tc.dicom) || r.Age != tc.age || r.Sex != tc.sex || r.Race != tc.race || r.Split != tc.split ||
			r.Projection != tc.proj || r.Labels != tc.labels || r.View != ViewFrontal {
			t.Errorf("record %d = %+v, want %+v", i, r, tc)
		}
	}
	if ds.Records[0].Path != "files/p10/p10000032/s50414267/02aa804e.jpg" {
		t.Errorf("path %s", ds.Records[0].Path)
	}
}

func TestLoadManifest(t *testing.T) {
	ds := load(t, Source{Format: FormatManifest, Path: "testdata/manifest/manifest.csv"}, nil)
	if len(ds.Records) != 3 {
		t.Fatalf("%d records, want 3", len(ds.Records))
	}
	got := problemAt(ds.Report)
	for at, k := range map[string]Kind{"manifest.csv:1": KindUnknownColumn, "manifest.csv:5": KindMissingImage, "manifest.csv:6": KindAgeRange} {
		if len(got[at]) != 1 || got[at][0] != k {
			t.Errorf("%s: problems %v, want [%s]", at, got[at], k)
		}
	}
	r := ds.Records[1]
	want := [model.NumLabels]model.Label{B, B, U, B, B, P, B, B, B, B, B, B, B, B}
	if r.PatientID != "p2" || r.Race != RaceNHPI || r.Labels != want || r.Age != 71 || r.Sex != SexMale {
		t.Errorf("record %+v", r)
	}
}

func TestToImageSetFromFixtures(t *testing.T) {
	ds := load(t, Source{Format: FormatCheXpert, Path: "testdata/chexpert"}, nil)
	cfg := DefaultConfig()
	cfg.Size = 16
	set, kept, err := ToImageSet(context.Background(), ds.Records, nil, cfg, ds.Report)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 7 || len(kept) != 7 || set.Validate() != nil {
		t.Fatalf("%d images, %d records, want 7", set.Len(), len(kept))
	}
	if ds.Report.Count(KindUnreadableImage) != 2 {
		t.Fatalf("%d unreadable, want 2", ds.Report.Count(KindUnreadableImage))
	}
	var jpegRefused bool
	for _, p := range ds.Report.Problems() {
		if p.Kind == KindUnreadableImage && errors.Is(&p, dicom.ErrUnsupportedTransferSyntax) && strings.Contains(p.Error(), "JPEG Baseline") && p.Pos.Line == 17 {
			jpegRefused = true
		}
	}
	if !jpegRefused {
		t.Errorf("the JPEG-compressed DICOM was not reported at train.csv:17 with its syntax name: %v", ds.Report.Problems())
	}
	for i, v := range set.Pixels {
		if v < -1 || v > 1 {
			t.Fatalf("pixel %d = %g outside [-1, 1]", i, v)
		}
	}
	for i := range kept {
		if set.Cond[i] != kept[i].Condition() || set.Labels[i] != kept[i].Labels || set.PatientIDs[i] != kept[i].PatientID {
			t.Fatalf("image %d metadata does not match its record", i)
		}
	}
	if set.Synthetic != nil {
		t.Errorf("real images flagged synthetic")
	}
	cfg.Strict = true
	if _, _, err := ToImageSet(context.Background(), ds.Records, nil, cfg, ds.Report); !errors.Is(err, ErrBadInput) {
		t.Errorf("strict ToImageSet: %v, want a problem", err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"chexpert", "MIMIC", "manifest"} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseFormat("nih"); err == nil {
		t.Error("nih accepted")
	}
}

func TestCheckImages(t *testing.T) {
	ds := load(t, Source{Format: FormatCheXpert, Path: "testdata/chexpert"}, nil)
	ok, err := CheckImages(context.Background(), ds.Records, DefaultConfig(), ds.Report)
	if err != nil {
		t.Fatal(err)
	}
	if len(ok) != 7 || ds.Report.Count(KindUnreadableImage) != 2 {
		t.Fatalf("%d readable, %d unreadable; want 7 and 2", len(ok), ds.Report.Count(KindUnreadableImage))
	}
}

func TestLoadMIMICDemographicsPath(t *testing.T) {
	for _, d := range []string{"testdata/mimic/hosp", "testdata/mimic/hosp/patients.csv", "testdata/mimic"} {
		ds := load(t, Source{Format: FormatMIMIC, Path: "testdata/mimic", Demographics: d}, nil)
		if len(ds.Records) != 3 || ds.Records[0].Race != RaceWhite {
			t.Errorf("demographics %s: %d records", d, len(ds.Records))
		}
	}
	ds, err := Load(context.Background(), Source{Format: FormatMIMIC, Path: "testdata/mimic", Demographics: "testdata/chexpert"}, DefaultConfig(), nil)
	if !errors.Is(err, ErrNoData) || ds.Report.Count(KindMissingFile) != 1 || len(ds.Records) != 0 {
		t.Errorf("no patients file: %v, %d missing files, %d records", err, ds.Report.Count(KindMissingFile), len(ds.Records))
	}
}
