package classifier

import "errors"

// Sentinel errors of the package; the wrapping errors name the row, label
// or tensor concerned.
var (
	// ErrLabel reports a label value outside the four CheXpert states.
	ErrLabel = errors.New("invalid label value")
	// ErrNoData reports a trainer or predictor given no images.
	ErrNoData = errors.New("classifier: no images")
)
