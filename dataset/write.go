package dataset

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/synthfed/synthfed/model"
)

// cheXpertRace is the spelling of each class in CheXpert's PRIMARY_RACE.
var cheXpertRace = [...]string{"Unknown", "American Indian or Alaska Native", "Black or African American", "White", "Native Hawaiian or Other Pacific Islander", "Asian"}

// WriteCheXpertCSV writes records as a CheXpert train.csv or valid.csv:
// Path, Sex, Age, Frontal/Lateral, AP/PA and the 14 labels.
func WriteCheXpertCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	header := []string{colPath, colSex, colAge, colView, colProjection}
	header = append(header, model.LabelNames[:]...)
	if err := cw.Write(header); err != nil {
		return err
	}
	for i := range recs {
		r := &recs[i]
		row := []string{r.Path, r.Sex.String(), strconv.Itoa(r.Age), r.View.String(), r.Projection}
		row = appendLabels(row, r.Labels)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteDemographicsCSV writes one row per patient in the CheXpert
// demographics layout: PATIENT, GENDER, AGE_AT_CXR (the patient's first
// record), PRIMARY_RACE and ETHNICITY ("Unknown" when not recorded).
func WriteDemographicsCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{colPatient, colGender, colAgeAtCXR, colRace, colEthnicity}); err != nil {
		return err
	}
	seen := make(map[string]bool)
	for i := range recs {
		r := &recs[i]
		if seen[r.PatientID] {
			continue
		}
		seen[r.PatientID] = true
		eth := r.Ethnicity
		if eth == "" {
			eth = "Unknown"
		}
		race := "Unknown"
		if r.Race >= 0 && int(r.Race) < len(cheXpertRace) {
			race = cheXpertRace[r.Race]
		}
		if err := cw.Write([]string{r.PatientID, r.Sex.String(), strconv.Itoa(r.Age), race, eth}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteManifest writes records as a generic manifest: Path, PID, Sex, Age,
// Race, Frontal/Lateral, AP/PA, the 14 labels and Split. Path is written as
// it is; the manifest loader resolves relative paths against the manifest's
// folder.
func WriteManifest(w io.Writer, recs []Record) error { return writeManifest(w, recs, false) }

// WriteSyntheticManifest writes the manifest columns plus ReplicaID and
// Checkpoint (the generating checkpoint's hash), the form of a synthetic
// supplement: one row per generated image, carrying the sex, age, race and
// labels of the real row it replicates; and SiteCondition when any record
// has one (a site-conditioned generator's acquisition site).
func WriteSyntheticManifest(w io.Writer, recs []Record) error { return writeManifest(w, recs, true) }

func writeManifest(w io.Writer, recs []Record, synthetic bool) error {
	sited := false
	for i := range recs {
		sited = sited || (synthetic && recs[i].SiteCondition != "")
	}
	mw, err := newManifestWriter(w, synthetic, sited)
	if err != nil {
		return err
	}
	for i := range recs {
		if err := mw.Write(&recs[i]); err != nil {
			return err
		}
	}
	return mw.Flush()
}

// ManifestWriter writes a synthetic manifest row by row (as a sample job
// draws its images), so that the records need not all be in memory; its
// output is WriteSyntheticManifest's for the same records.
type ManifestWriter struct {
	cw               *csv.Writer
	synthetic, sited bool
}

// NewSyntheticManifestWriter writes the header of a synthetic manifest to
// w; sited adds the SiteCondition column (a site-conditioned generator's
// records all have one).
func NewSyntheticManifestWriter(w io.Writer, sited bool) (*ManifestWriter, error) {
	return newManifestWriter(w, true, sited)
}

func newManifestWriter(w io.Writer, synthetic, sited bool) (*ManifestWriter, error) {
	cw := csv.NewWriter(w)
	header := []string{colPath, colPID, colSex, colAge, colRaceName, colView, colProjection}
	header = append(header, model.LabelNames[:]...)
	header = append(header, colSplit)
	if synthetic {
		header = append(header, colReplicaID, colCheckpoint)
		if sited {
			header = append(header, colSiteCond)
		}
	}
	return &ManifestWriter{cw: cw, synthetic: synthetic, sited: sited}, cw.Write(header)
}

// Write writes one record's row.
func (m *ManifestWriter) Write(r *Record) error {
	row := []string{r.Path, r.PatientID, r.Sex.String(), strconv.Itoa(r.Age), r.Race.String(), r.View.String(), r.Projection}
	row = appendLabels(row, r.Labels)
	row = append(row, r.Split)
	if m.synthetic {
		row = append(row, strconv.Itoa(r.ReplicaID), r.Checkpoint)
	}
	if m.sited {
		row = append(row, r.SiteCondition)
	}
	return m.cw.Write(row)
}

// Flush writes any buffered rows and reports the first write error.
func (m *ManifestWriter) Flush() error {
	m.cw.Flush()
	return m.cw.Error()
}

func appendLabels(row []string, labels [model.NumLabels]model.Label) []string {
	for _, l := range labels {
		row = append(row, l.String())
	}
	return row
}

// Replica returns the synthetic copy number id of a real record: the same
// patient, sex, age, race, view and labels, with the given image path and
// generating checkpoint hash.
func Replica(real Record, id int, path, checkpoint string) Record {
	r := real
	r.Path, r.File = path, ""
	r.Synthetic, r.ReplicaID, r.Checkpoint = true, id, checkpoint
	r.Origin = Pos{}
	return r
}
