package device

import (
	"errors"
	"fmt"
)

// ErrDoesNotFit reports a training job whose estimated memory exceeds the
// backend's cap. FitError carries the figures.
var ErrDoesNotFit = errors.New("job does not fit in device memory")

// Job is what a training job needs, for the memory estimate: the model's
// parameter count and its activations per image (the float32 values of
// every intermediate tensor of one image's forward pass).
type Job struct {
	// Model names the model, e.g. "ddpm" (for the error).
	Model string
	// Batch is the training batch size.
	Batch int
	// Params is the number of float32 parameters.
	Params int64
	// ActivationsPerImage is the number of float32 intermediate values of
	// one image's forward pass.
	ActivationsPerImage int64
	// Sampling marks an inference job (sampling, scoring): no gradients,
	// optimiser state or EMA copy.
	Sampling bool
	// Passes is the number of images the network runs per batch image
	// (2 for classifier-free guidance: conditional and unconditional
	// together); 0 means 1.
	Passes int
}

// images returns the images one step runs through the network.
func (j Job) images() int64 { return int64(j.Batch) * int64(max(j.Passes, 1)) }

// Estimate factors. Parameters: the weights, their gradients, AdamW's two
// moments and the EMA copy (5 float32 each). Activations: the forward
// values kept for backward, their gradients, and as much again for
// workspace (im2col columns, attention scores, transposes): 3 per value.
// Inference keeps the weights once and the activations twice (values and
// workspace).
const (
	paramCopies      = 5
	activationCopies = 3

	sampleParamCopies      = 1
	sampleActivationCopies = 2
)

// copies returns the job's parameter and activation factors.
func (j Job) copies() (params, acts int64) {
	if j.Sampling {
		return sampleParamCopies, sampleActivationCopies
	}
	return paramCopies, activationCopies
}

// Bytes is the estimated memory of one step (training or sampling), in
// bytes.
func (j Job) Bytes() int64 {
	pc, ac := j.copies()
	return 4 * (pc*j.Params + ac*j.images()*j.ActivationsPerImage)
}

// maxBatch is the largest batch whose estimate fits in capBytes (0 if even
// the parameters alone do not fit).
func (j Job) maxBatch(capBytes int64) int64 {
	pc, ac := j.copies()
	free := capBytes/4 - pc*j.Params
	per := ac * j.ActivationsPerImage * int64(max(j.Passes, 1))
	if free <= 0 || per <= 0 {
		return 0
	}
	return free / per
}

// FitError is a job that does not fit: it names the model, the batch size,
// the estimate, the cap and the largest batch that would fit.
type FitError struct {
	Job      Job
	Need     int64
	Cap      int64
	Device   string
	MaxBatch int64
}

// Error says what does not fit and what would.
func (e *FitError) Error() string {
	hint := "even the parameters alone exceed the cap: use a smaller model or a device with more memory"
	if e.MaxBatch > 0 {
		hint = fmt.Sprintf("batch size %d or less would fit", e.MaxBatch)
	}
	what := "model " + e.Job.Model
	if e.Job.Sampling {
		what += " sampling"
	}
	batch := fmt.Sprint(e.Job.Batch)
	if e.Job.Passes > 1 {
		batch += fmt.Sprintf(" (%d passes per image)", e.Job.Passes)
	}
	return fmt.Sprintf("%s at batch size %s needs about %s (%d parameters, %d activations per image), over the %s memory cap of %s: %s",
		what, batch, mib(e.Need), e.Job.Params, e.Job.ActivationsPerImage, e.Device, mib(e.Cap), hint)
}

// Unwrap returns ErrDoesNotFit.
func (e *FitError) Unwrap() error { return ErrDoesNotFit }

// Fits returns nil when the job's estimate fits the backend's cap (always,
// with no cap), or a *FitError.
func (b *Backend) Fits(j Job) error {
	if b.cap <= 0 {
		return nil
	}
	need := j.Bytes()
	if need <= b.cap && j.Params >= 0 && j.ActivationsPerImage >= 0 {
		return nil
	}
	return &FitError{Job: j, Need: need, Cap: b.cap, Device: b.Name(), MaxBatch: j.maxBatch(b.cap)}
}
