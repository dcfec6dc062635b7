package classifier

import (
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// The label policies for uncertain (-1) and blank CheXpert entries.
const (
	// PolicyIgnore masks the entry out of the loss.
	PolicyIgnore = "ignore"
	// PolicyOnes treats the entry as positive (U-Ones).
	PolicyOnes = "ones"
	// PolicyZeros treats the entry as negative (U-Zeros).
	PolicyZeros = "zeros"
)

// LabelPolicy says how uncertain and blank labels enter the masked BCE.
// The study (and CheXpert practice) reads a blank as "not mentioned", so
// the default treats blanks as negative and ignores uncertain labels.
type LabelPolicy struct {
	// Uncertain is PolicyIgnore, PolicyOnes or PolicyZeros.
	Uncertain string `toml:"uncertain" json:"uncertain"`
	// Blank is PolicyIgnore, PolicyOnes or PolicyZeros.
	Blank string `toml:"blank" json:"blank"`
}

// DefaultLabelPolicy ignores uncertain labels and counts blanks as negative.
func DefaultLabelPolicy() LabelPolicy {
	return LabelPolicy{Uncertain: PolicyIgnore, Blank: PolicyZeros}
}

func validPolicy(s string) bool {
	return s == PolicyIgnore || s == PolicyOnes || s == PolicyZeros
}

// Validate reports each unknown policy.
func (p LabelPolicy) Validate() error {
	var errs []error
	if !validPolicy(p.Uncertain) {
		errs = append(errs, fmt.Errorf("labels.uncertain %q: want ignore, ones or zeros", p.Uncertain))
	}
	if !validPolicy(p.Blank) {
		errs = append(errs, fmt.Errorf("labels.blank %q: want ignore, ones or zeros", p.Blank))
	}
	return errors.Join(errs...)
}

// apply returns target and mask for one policy.
func apply(policy string) (target, mask float32) {
	switch policy {
	case PolicyOnes:
		return 1, 1
	case PolicyZeros:
		return 0, 1
	}
	return 0, 0
}

// Targets turns one row of labels into BCE targets and a 0/1 mask under p.
// Positive and negative labels always count; a label value outside the
// four states is reported.
func (p LabelPolicy) Targets(labels [model.NumLabels]model.Label) (target, mask [model.NumLabels]float32, err error) {
	for i, l := range labels {
		switch l {
		case model.LabelPositive:
			target[i], mask[i] = 1, 1
		case model.LabelNegative:
			target[i], mask[i] = 0, 1
		case model.LabelUncertain:
			target[i], mask[i] = apply(p.Uncertain)
		case model.LabelBlank:
			target[i], mask[i] = apply(p.Blank)
		default:
			return target, mask, fmt.Errorf("label %q = %v: %w", model.LabelNames[i], l, ErrLabel)
		}
	}
	return target, mask, nil
}
