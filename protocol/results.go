package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/synthfed/synthfed/protocol/fedpb"
)

// Float is a float64 that JSON writes as null when it is NaN or infinite
// (an undefined AUROC, a p-value without a test) and reads back as NaN.
type Float float64

// MarshalJSON writes the number, or null when it is not finite.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or NaN for null.
func (f *Float) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// SampleResult is what a site reports after a sample task: counts and
// hashes only; the images never leave the site.
type SampleResult struct {
	// SetID is the synthetic set written, Checkpoint the DDPM used.
	SetID      string `json:"set_id"`
	Checkpoint string `json:"checkpoint"`
	// Rows is the number of real training rows replicated, Levels the
	// replicas per row and Images the images in the set.
	Rows   int `json:"rows"`
	Levels int `json:"levels"`
	Images int `json:"images"`
	// Reused is true when the set was already complete at the site.
	Reused bool `json:"reused"`
	// ManifestSHA256 is the hash of the set's manifest file.
	ManifestSHA256 string `json:"manifest_sha256"`
	// Seconds is the sampling time and ImagesPerSecond the rate.
	Seconds         Float `json:"seconds"`
	ImagesPerSecond Float `json:"images_per_second"`
}

// Interval is a confidence interval; Valid counts the bootstrap resamples
// behind it.
type Interval struct {
	Lo    Float `json:"lo"`
	Hi    Float `json:"hi"`
	Valid int   `json:"valid,omitempty"`
}

// LabelScore is one label's AUROC on a site's test set with the counts
// behind it.
type LabelScore struct {
	Name      string    `json:"name"`
	AUROC     Float     `json:"auroc"`
	Positives int       `json:"positives"`
	Negatives int       `json:"negatives"`
	Dropped   int       `json:"dropped"`
	Included  bool      `json:"included"`
	CI        *Interval `json:"ci,omitempty"`
}

// Comparison is DeLong's paired test of a model against the baseline on
// the same test rows, computed at the site.
type Comparison struct {
	Baseline string `json:"baseline"`
	// AUROC and BaselineAUROC are the macro means over the Tested labels.
	AUROC         Float `json:"auroc"`
	BaselineAUROC Float `json:"baseline_auroc"`
	Diff          Float `json:"diff"`
	SE            Float `json:"se"`
	Z             Float `json:"z"`
	P             Float `json:"p"`
	Tested        int   `json:"tested"`
	// Error says why the test could not be made, when it could not.
	Error string `json:"error,omitempty"`
}

// ModelScore is one classifier's aggregate scores on a site's test set.
type ModelScore struct {
	Hash string `json:"hash"`
	Job  string `json:"job"`
	// MacroAUROC is the mean AUROC over the Included labels.
	MacroAUROC Float        `json:"macro_auroc"`
	MacroCI    *Interval    `json:"macro_ci,omitempty"`
	Included   int          `json:"included"`
	Labels     []LabelScore `json:"labels"`
	// VsBaseline is the DeLong comparison with the baseline (nil for none
	// or for the baseline itself).
	VsBaseline *Comparison `json:"vs_baseline,omitempty"`
}

// EvaluateResult is what a site reports after an evaluate task: aggregate
// metrics of each model on its own test set. It never holds per-image
// scores or labels.
type EvaluateResult struct {
	Site string `json:"site"`
	// Split names the rows scored ("test").
	Split    string       `json:"split"`
	Images   int          `json:"images"`
	Patients int          `json:"patients"`
	Models   []ModelScore `json:"models"`
	// BootstrapReps is the number of resamples behind the intervals.
	BootstrapReps int `json:"bootstrap_reps"`
}

// DecodeEvaluateResult parses a site's evaluate result.
func DecodeEvaluateResult(data []byte) (*EvaluateResult, error) {
	var r EvaluateResult
	if err := decodeStrict(data, &r); err != nil {
		return nil, fmt.Errorf("evaluate result: %w", err)
	}
	return &r, nil
}

// DecodeSampleResult parses a site's sample result.
func DecodeSampleResult(data []byte) (*SampleResult, error) {
	var r SampleResult
	if err := decodeStrict(data, &r); err != nil {
		return nil, fmt.Errorf("sample result: %w", err)
	}
	return &r, nil
}

func decodeStrict(data []byte, v any) error {
	if len(data) > MaxResultBytes {
		return fmt.Errorf("%d bytes: %w", len(data), ErrTooLarge)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%v: %w", err, ErrMalformed)
	}
	return nil
}

// ValidateTaskReport checks a decoded TaskReport: the task binding, the
// sizes of its texts and result, and finite metrics.
func ValidateTaskReport(m *fedpb.TaskReport) error {
	id := m.GetTaskId()
	switch {
	case m.GetSessionId() == "" || id == "" || m.GetJobId() == "" || len(id) > 256:
		return fmt.Errorf("task report: missing or oversized session, task or job id: %w", ErrMalformed)
	case m.GetRound() < 0 || m.GetAttempt() < 0:
		return fmt.Errorf("task report %s: round %d attempt %d: %w", id, m.GetRound(), m.GetAttempt(), ErrMalformed)
	case len(m.GetNonce()) != NonceLen:
		return fmt.Errorf("task report %s: nonce of %d bytes: %w", id, len(m.GetNonce()), ErrMalformed)
	case len(m.GetStage()) > 64 || len(m.GetError()) > 4096 || !utf8.ValidString(m.GetError()):
		return fmt.Errorf("task report %s: oversized or invalid stage or error: %w", id, ErrMalformed)
	case len(m.GetResultJson()) > MaxResultBytes:
		return fmt.Errorf("task report %s: result of %d bytes: %w", id, len(m.GetResultJson()), ErrTooLarge)
	case m.GetFailed() && m.GetError() == "":
		return fmt.Errorf("task report %s: failure without a reason: %w", id, ErrMalformed)
	case len(m.GetMetrics()) > MaxMetrics:
		return fmt.Errorf("task report %s: %d metrics: %w", id, len(m.GetMetrics()), ErrMalformed)
	}
	if r := m.GetResultJson(); len(r) > 0 && !json.Valid(r) {
		return fmt.Errorf("task report %s: result is not JSON: %w", id, ErrMalformed)
	}
	for k, v := range m.GetMetrics() {
		if !finite(v) || len(k) > 128 {
			return fmt.Errorf("task report %s: metric %q = %v: %w", id, k, v, ErrMalformed)
		}
	}
	return nil
}

// ValidateCheckpointRequest checks a decoded CheckpointRequest.
func ValidateCheckpointRequest(m *fedpb.CheckpointRequest) error {
	if m.GetSessionId() == "" || m.GetChunkSize() > MaxChunkSize {
		return fmt.Errorf("checkpoint request: no session or chunk size %d: %w", m.GetChunkSize(), ErrMalformed)
	}
	return ValidHash(m.GetHash())
}

// ValidateJobContextRequest checks a decoded JobContextRequest.
func ValidateJobContextRequest(m *fedpb.JobContextRequest) error {
	if m.GetSessionId() == "" || m.GetJobId() == "" || len(m.GetJobId()) > 128 {
		return fmt.Errorf("job context request: missing session or job id: %w", ErrMalformed)
	}
	return nil
}
