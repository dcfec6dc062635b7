package eval

import "errors"

// Sentinel errors. Functions wrap them with %w and name the row, label or
// file concerned.
var (
	// ErrEmpty means an input has no rows.
	ErrEmpty = errors.New("no rows")
	// ErrLength means parallel inputs disagree in length.
	ErrLength = errors.New("length mismatch")
	// ErrLabel means a label value is not one of the four model.Label states.
	ErrLabel = errors.New("invalid label value")
	// ErrNonFinite means a score or feature is NaN or infinite.
	ErrNonFinite = errors.New("non-finite value")
	// ErrOneClass means a label has no positive or no negative row once
	// uncertain and blank rows are dropped, so its AUROC is undefined.
	ErrOneClass = errors.New("only one class present")
	// ErrTooFew means there are too few rows for the statistic: DeLong's
	// variance needs at least two positives and two negatives, a covariance
	// needs two rows, a k-NN radius needs k+1 rows.
	ErrTooFew = errors.New("too few rows")
	// ErrNoLabels means no label qualifies for a macro mean.
	ErrNoLabels = errors.New("no label has both classes")
	// ErrDimension means feature vectors disagree in dimension.
	ErrDimension = errors.New("feature dimension mismatch")
	// ErrCSV marks a malformed scores CSV; the error names file:line.
	ErrCSV = errors.New("malformed scores CSV")
)
