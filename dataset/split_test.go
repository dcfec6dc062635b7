package dataset

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// syntheticRecords makes n patients with 1-4 records each and correlated
// labels of varied prevalence.
func syntheticRecords(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	var recs []Record
	for p := 0; p < n; p++ {
		sick := rng.Float64()
		for s := 0; s < 1+rng.IntN(4); s++ {
			r := Record{PatientID: fmt.Sprintf("patient%05d", p), Path: fmt.Sprintf("p%d/s%d.png", p, s), View: ViewFrontal, Age: 20 + rng.IntN(70)}
			for j := range r.Labels {
				prev := 0.02 + 0.4*float64(j)/14*sick
				switch {
				case rng.Float64() < prev:
					r.Labels[j] = model.LabelPositive
				case rng.Float64() < 0.1:
					r.Labels[j] = model.LabelUncertain
				default:
					r.Labels[j] = model.LabelBlank
				}
			}
			recs = append(recs, r)
		}
	}
	return recs
}

func TestSplitPatients(t *testing.T) {
	recs := syntheticRecords(600, 1)
	fr := []float64{0.7, 0.15, 0.15}
	parts, err := SplitPatients(recs, fr, 42)
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]int{}
	total := 0
	for s, part := range parts {
		total += len(part)
		for _, r := range part {
			if o, ok := owner[r.PatientID]; ok && o != s {
				t.Fatalf("patient %s in parts %d and %d", r.PatientID, o, s)
			}
			owner[r.PatientID] = s
		}
	}
	if total != len(recs) {
		t.Fatalf("%d records in parts, want %d", total, len(recs))
	}
	var allPos [model.NumLabels]int
	for _, r := range recs {
		for j, l := range r.Labels {
			if l == model.LabelPositive {
				allPos[j]++
			}
		}
	}
	for s, part := range parts {
		share := float64(len(part)) / float64(len(recs))
		if math.Abs(share-fr[s]) > 0.03 {
			t.Errorf("part %d has %.3f of records, want %.2f", s, share, fr[s])
		}
		var pos [model.NumLabels]int
		for _, r := range part {
			for j, l := range r.Labels {
				if l == model.LabelPositive {
					pos[j]++
				}
			}
		}
		for j := range pos {
			if allPos[j] < 40 {
				continue
			}
			if got := float64(pos[j]) / float64(allPos[j]); math.Abs(got-fr[s]) > 0.06 {
				t.Errorf("part %d holds %.3f of %s positives, want about %.2f", s, got, model.LabelNames[j], fr[s])
			}
		}
	}
	again, _ := SplitPatients(recs, fr, 42)
	other, _ := SplitPatients(recs, fr, 43)
	same, differs := true, false
	for s := range parts {
		same = same && len(again[s]) == len(parts[s])
		for i := range again[s] {
			same = same && again[s][i].Path == parts[s][i].Path
		}
		if len(other[s]) != len(parts[s]) || (len(other[s]) > 0 && other[s][0].Path != parts[s][0].Path) {
			differs = true
		}
	}
	if !same || !differs {
		t.Errorf("seeded split: same seed equal = %v, other seed differs = %v", same, differs)
	}
}

func TestSplitFractionsChecked(t *testing.T) {
	for _, f := range [][]float64{nil, {0.5, 0.4}, {1.2, -0.2}, {0, 1}} {
		if _, err := SplitPatients(nil, f, 1); err == nil {
			t.Errorf("fractions %v accepted", f)
		}
	}
}

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var real []Record
	for i, r := range syntheticRecords(5, 3) {
		r.Sex, r.Race, r.Projection, r.Split = Sex(1+i%2), Race(i%6), "PA", "train"
		real = append(real, r)
	}
	var synth []Record
	for i, r := range real {
		for rep := 0; rep < 2; rep++ {
			p := fmt.Sprintf("synthetic/%d-%d.png", i, rep)
			synth = append(synth, Replica(r, rep, p, "sha256:abc"))
			writeFile(t, filepath.Join(dir, p), png8(4, 4))
		}
	}
	var b bytes.Buffer
	if err := WriteSyntheticManifest(&b, synth); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "synthetic.csv")
	writeFile(t, path, b.Bytes())
	ds := load(t, Source{Format: FormatManifest, Path: path}, nil)
	if ds.Report.Errors()+ds.Report.Warnings() != 0 || len(ds.Records) != len(synth) {
		t.Fatalf("%d records, problems %v", len(ds.Records), ds.Report.Problems())
	}
	for i, r := range ds.Records {
		w := synth[i]
		if r.Path != w.Path || r.PatientID != w.PatientID || r.Sex != w.Sex || r.Age != w.Age || r.Race != w.Race ||
			r.Labels != w.Labels || !r.Synthetic || r.ReplicaID != w.ReplicaID || r.Checkpoint != "sha256:abc" || r.Split != "train" {
			t.Fatalf("row %d: got %+v want %+v", i, r, w)
		}
	}
	if !strings.HasPrefix(b.String(), "Path,PID,Sex,Age,Race,Frontal/Lateral,AP/PA,No Finding,") || !strings.Contains(b.String(), ",ReplicaID,Checkpoint\n") {
		t.Errorf("header: %s", strings.SplitN(b.String(), "\n", 2)[0])
	}
	set, _, err := ToImageSet(context.Background(), ds.Records, nil, DefaultConfig(), ds.Report)
	if err != nil || len(set.Synthetic) != len(synth) || !set.Synthetic[0] {
		t.Fatalf("synthetic image set: %v", err)
	}

	// A site-conditioned generator's replicas carry their site condition
	// in a SiteCondition column, which a set without one does not have.
	for i := range synth {
		synth[i].SiteCondition = []string{"site-b", "site-c"}[i%2]
	}
	b.Reset()
	if err := WriteSyntheticManifest(&b, synth); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ",ReplicaID,Checkpoint,SiteCondition\n") {
		t.Errorf("header with site conditions: %s", strings.SplitN(b.String(), "\n", 2)[0])
	}
	writeFile(t, path, b.Bytes())
	ds = load(t, Source{Format: FormatManifest, Path: path}, nil)
	if ds.Report.Errors()+ds.Report.Warnings() != 0 || len(ds.Records) != len(synth) {
		t.Fatalf("%d records, problems %v", len(ds.Records), ds.Report.Problems())
	}
	for i, r := range ds.Records {
		if r.SiteCondition != synth[i].SiteCondition {
			t.Fatalf("row %d: site condition %q, want %q", i, r.SiteCondition, synth[i].SiteCondition)
		}
	}
}

func TestCheXpertWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site-a")
	var recs []Record
	for i, r := range syntheticRecords(6, 5) {
		r.Path = fmt.Sprintf("site-a/train/%s/study%d/view1_frontal.png", r.PatientID, i)
		r.Sex, r.Race, r.Projection, r.Ethnicity = Sex(1+i%2), Race(1+i%5), "AP", "Unknown"
		writeFile(t, filepath.Join(dir, r.Path), png8(4, 4))
		recs = append(recs, r)
	}
	var csvB, demoB bytes.Buffer
	if err := WriteCheXpertCSV(&csvB, recs); err != nil {
		t.Fatal(err)
	}
	if err := WriteDemographicsCSV(&demoB, recs); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(site, "train.csv"), csvB.Bytes())
	writeFile(t, filepath.Join(site, "demographics.csv"), demoB.Bytes())
	ds := load(t, Source{Format: FormatCheXpert, Path: site}, nil)
	if ds.Report.Errors()+ds.Report.Warnings() != 0 || len(ds.Records) != len(recs) {
		t.Fatalf("%d records, problems %v", len(ds.Records), ds.Report.Problems())
	}
	for i, r := range ds.Records {
		w := recs[i]
		if r.Path != w.Path || r.PatientID != w.PatientID || r.Sex != w.Sex || r.Age != w.Age || r.Labels != w.Labels || r.Projection != "AP" {
			t.Fatalf("row %d: got %+v want %+v", i, r, w)
		}
	}
	// The demographics file lists each patient once, with the first
	// record's race.
	for _, r := range ds.Records {
		for _, w := range recs {
			if w.PatientID == r.PatientID && r.Race != w.Race {
				t.Fatalf("%s race %v, want %v", r.PatientID, r.Race, w.Race)
			}
			if w.PatientID == r.PatientID {
				break
			}
		}
	}
}

func TestSummary(t *testing.T) {
	recs := []Record{
		{PatientID: "a", Age: 34, Sex: SexFemale, Race: RaceWhite, View: ViewFrontal, Projection: "PA", Labels: [model.NumLabels]model.Label{P, N, U}},
		{PatientID: "a", Age: 35, Sex: SexFemale, Race: RaceWhite, View: ViewFrontal, Projection: "AP"},
		{PatientID: "b", Age: 95, Sex: SexMale, View: ViewLateral},
	}
	s := Summarize(recs)
	if s.Records != 3 || s.Patients != 2 || s.Views["Frontal"] != 2 || s.Sex["Female"] != 2 || s.Race["Unknown"] != 1 ||
		s.AgeDecades[3] != 2 || s.AgeDecades[9] != 1 || s.Labels[0].Positive != 1 || s.Labels[1].Negative != 3 || s.Labels[2].Uncertain != 1 ||
		s.Labels[3].Negative != 3 {
		t.Fatalf("summary %+v", s)
	}
	var b bytes.Buffer
	if err := s.Write(&b); err != nil || !strings.Contains(b.String(), "patients: 2") || !strings.Contains(b.String(), "No Finding") {
		t.Fatalf("summary text %q %v", b.String(), err)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
