package dataset

import (
	"fmt"
	"strings"

	"github.com/synthfed/synthfed/model"
)

// Sex is a patient's recorded sex.
type Sex int8

// The sex values; SexUnknown yields an all-zero one-hot.
const (
	SexUnknown Sex = iota
	SexFemale
	SexMale
)

// String returns the CheXpert spelling: Female, Male or Unknown.
func (s Sex) String() string {
	switch s {
	case SexFemale:
		return "Female"
	case SexMale:
		return "Male"
	}
	return "Unknown"
}

// ParseSex reads Female/Male/F/M (any case) and Unknown/U/empty; ok is false
// for any other value.
func ParseSex(s string) (sex Sex, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "female", "f":
		return SexFemale, true
	case "male", "m":
		return SexMale, true
	case "", "unknown", "u":
		return SexUnknown, true
	}
	return SexUnknown, false
}

// View is the radiograph's orientation.
type View int8

// The views.
const (
	ViewUnknown View = iota
	ViewFrontal
	ViewLateral
)

// String returns Frontal, Lateral or Unknown.
func (v View) String() string {
	switch v {
	case ViewFrontal:
		return "Frontal"
	case ViewLateral:
		return "Lateral"
	}
	return "Unknown"
}

// ParseView reads Frontal or Lateral (any case); ok is false otherwise.
func ParseView(s string) (View, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "frontal":
		return ViewFrontal, true
	case "lateral":
		return ViewLateral, true
	}
	return ViewUnknown, false
}

// Pos is where a record or problem comes from: a file and a 1-based line
// (0 when the problem concerns the whole file).
type Pos struct {
	File string
	Line int
}

// String formats file:line, or the file alone for line 0.
func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Record is one radiograph with its patient's demographics and labels.
type Record struct {
	// Path is the image path as written in the source.
	Path string
	// File is the resolved image path on disk.
	File string
	// PatientID identifies the patient; splits never separate a patient.
	PatientID string
	// StudyID identifies the study when the source has one.
	StudyID string
	// Sex, Age (years) and Race are the patient's demographics.
	Sex  Sex
	Age  int
	Race Race
	// Ethnicity is the source's ethnicity string, kept for reporting only.
	Ethnicity string
	// View is frontal or lateral; Projection is AP, PA, LL, ... upper-case.
	View       View
	Projection string
	// Labels holds the 14 CheXpert labels in model.LabelNames order.
	Labels [model.NumLabels]model.Label
	// Split is the source's split (train, valid, validate, test), if any.
	Split string
	// Origin is the source row.
	Origin Pos
	// Synthetic marks generated images; ReplicaID numbers the replicas of
	// one real row and Checkpoint is the generating checkpoint's hash.
	Synthetic  bool
	ReplicaID  int
	Checkpoint string
	// SiteCondition names the site a site-conditioned generator drew the
	// image as acquired at ("any" for the sites' mixture); empty for real
	// images and generators without a site condition.
	SiteCondition string
}

// Frontal reports whether the record is a frontal view.
func (r *Record) Frontal() bool { return r.View == ViewFrontal }

// Condition returns the study's 22-number condition vector with the default
// policy for uncertain labels (UncertainZeros): see ConditionWith.
func (r *Record) Condition() [model.CondDim]float32 { return r.ConditionWith(UncertainZeros) }

// ConditionWith returns the condition vector in the study's layout:
//
//	[0]      Age//10 as one number (integer division, e.g. 67 -> 6);
//	[1:3]    sex one-hot in the study's order (Female, Male); unknown: zeros;
//	[3:8]    race one-hot in the order American Indian/Alaska Native,
//	         Black/African American, White, Native Hawaiian/Pacific
//	         Islander, Asian; unknown race: all zeros;
//	[8:22]   the 14 labels in model.LabelNames (CheXpert) order:
//	         positive -> 1, negative -> 0, blank (not mentioned) -> 0, and
//	         uncertain (-1) -> 0 under UncertainZeros, 1 under
//	         UncertainOnes, -1 under UncertainKeep.
//
// The study's released manifests hold only 0 and 1 for every label, so blanks
// and uncertain values were mapped to 0 or 1 before conditioning; U-Zeros is
// the default here because blanks already map to 0. The study's code lists
// the labels in the reverse of CheXpert order; this project uses CheXpert
// order everywhere (model.LabelNames).
func (r *Record) ConditionWith(u UncertainPolicy) [model.CondDim]float32 {
	var c [model.CondDim]float32
	c[0] = float32(r.Age / 10)
	switch r.Sex {
	case SexFemale:
		c[1] = 1
	case SexMale:
		c[2] = 1
	}
	if r.Race >= RaceAIAN && r.Race <= RaceAsian {
		c[3+int(r.Race)-1] = 1
	}
	for i, l := range r.Labels {
		c[8+i] = u.value(l)
	}
	return c
}

// UncertainPolicy says how an uncertain label enters the condition vector.
type UncertainPolicy string

// The policies of CheXpert's paper: U-Zeros, U-Ones, and keeping -1.
const (
	UncertainZeros UncertainPolicy = "zeros"
	UncertainOnes  UncertainPolicy = "ones"
	UncertainKeep  UncertainPolicy = "keep"
)

// Validate reports an unknown policy.
func (u UncertainPolicy) Validate() error {
	switch u {
	case UncertainZeros, UncertainOnes, UncertainKeep:
		return nil
	}
	return fmt.Errorf("dataset: uncertain %q: want zeros, ones or keep", string(u))
}

func (u UncertainPolicy) value(l model.Label) float32 {
	switch l {
	case model.LabelPositive:
		return 1
	case model.LabelUncertain:
		switch u {
		case UncertainOnes:
			return 1
		case UncertainKeep:
			return -1
		}
	}
	return 0
}
