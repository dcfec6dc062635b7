package model

import (
	"fmt"
)

// NumLabels is the number of CheXpert pathology labels.
const NumLabels = 14

// CondDim is the length of the DDPM condition vector: Age//10 (1), sex
// one-hot (2), race one-hot (5) and the 14 labels.
const CondDim = 22

// LabelNames lists the CheXpert labels in the study's order; index i of every
// label vector refers to LabelNames[i].
var LabelNames = [NumLabels]string{
	"No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity",
	"Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis",
	"Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices",
}

// Label is one CheXpert label value.
type Label int8

// The four label states of a CheXpert row.
const (
	// LabelNegative is an explicit 0.0.
	LabelNegative Label = 0
	// LabelPositive is 1.0.
	LabelPositive Label = 1
	// LabelUncertain is -1.0.
	LabelUncertain Label = -1
	// LabelBlank is an empty cell (not mentioned).
	LabelBlank Label = -2
)

// String returns the CSV spelling of the label.
func (l Label) String() string {
	switch l {
	case LabelNegative:
		return "0.0"
	case LabelPositive:
		return "1.0"
	case LabelUncertain:
		return "-1.0"
	case LabelBlank:
		return ""
	}
	return fmt.Sprintf("Label(%d)", int8(l))
}

// ImageSet is a batch of preprocessed single-channel square images with their
// conditions and labels, the in-memory form that trainers, samplers and
// evaluators exchange. Image i occupies Pixels[i*Size*Size:(i+1)*Size*Size]
// in row-major order with values in [-1, 1].
type ImageSet struct {
	// Size is the side length in pixels.
	Size int
	// Pixels holds len(Labels) images of Size*Size values.
	Pixels []float32
	// Cond holds each image's 22-number condition vector.
	Cond [][CondDim]float32
	// Labels holds each image's 14 label values.
	Labels [][NumLabels]Label
	// PatientIDs holds each image's patient, for patient-level resampling.
	// It may be nil for synthetic sets.
	PatientIDs []string
	// Synthetic marks images that came from a generator, when mixing sets.
	// It may be nil when no image is synthetic.
	Synthetic []bool
}

// Len returns the number of images.
func (s *ImageSet) Len() int { return len(s.Labels) }

// Image returns the pixels of image i (shared, not copied).
func (s *ImageSet) Image(i int) []float32 {
	n := s.Size * s.Size
	return s.Pixels[i*n : (i+1)*n]
}

// Validate checks that the parallel slices agree in length.
func (s *ImageSet) Validate() error {
	n := len(s.Labels)
	switch {
	case s.Size <= 0:
		return fmt.Errorf("image set: size %d: %w", s.Size, ErrShape)
	case len(s.Pixels) != n*s.Size*s.Size:
		return fmt.Errorf("image set: %d pixels for %d images of %dx%d: %w", len(s.Pixels), n, s.Size, s.Size, ErrShape)
	case len(s.Cond) != n:
		return fmt.Errorf("image set: %d conditions for %d images: %w", len(s.Cond), n, ErrShape)
	case s.PatientIDs != nil && len(s.PatientIDs) != n:
		return fmt.Errorf("image set: %d patient IDs for %d images: %w", len(s.PatientIDs), n, ErrShape)
	case s.Synthetic != nil && len(s.Synthetic) != n:
		return fmt.Errorf("image set: %d synthetic flags for %d images: %w", len(s.Synthetic), n, ErrShape)
	}
	return nil
}

// Append adds every image of other, which must have the same Size.
func (s *ImageSet) Append(other *ImageSet) error {
	if s.Len() == 0 && s.Size == 0 {
		s.Size = other.Size
	}
	if other.Size != s.Size {
		return fmt.Errorf("image set: append size %d to size %d: %w", other.Size, s.Size, ErrShape)
	}
	n0 := s.Len()
	s.Pixels = append(s.Pixels, other.Pixels...)
	s.Cond = append(s.Cond, other.Cond...)
	s.Labels = append(s.Labels, other.Labels...)
	if s.PatientIDs != nil || other.PatientIDs != nil {
		s.PatientIDs = padStrings(s.PatientIDs, n0)
		s.PatientIDs = append(s.PatientIDs, padStrings(other.PatientIDs, other.Len())...)
	}
	if s.Synthetic != nil || other.Synthetic != nil {
		s.Synthetic = padBools(s.Synthetic, n0)
		s.Synthetic = append(s.Synthetic, padBools(other.Synthetic, other.Len())...)
	}
	return nil
}

// Subset returns a copy of the rows idx of s, in that order.
func (s *ImageSet) Subset(idx []int) *ImageSet {
	out := &ImageSet{Size: s.Size, Pixels: make([]float32, 0, len(idx)*s.Size*s.Size)}
	for _, i := range idx {
		out.Pixels = append(out.Pixels, s.Image(i)...)
		out.Cond = append(out.Cond, s.Cond[i])
		out.Labels = append(out.Labels, s.Labels[i])
		if s.PatientIDs != nil {
			out.PatientIDs = append(out.PatientIDs, s.PatientIDs[i])
		}
		if s.Synthetic != nil {
			out.Synthetic = append(out.Synthetic, s.Synthetic[i])
		}
	}
	return out
}

func padStrings(v []string, n int) []string {
	if v == nil {
		return make([]string, n)
	}
	return v
}

func padBools(v []bool, n int) []bool {
	if v == nil {
		return make([]bool, n)
	}
	return v
}
