package secagg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/synthfed/synthfed/crypto/internal/wire"
)

// A transport carries this package's payloads as opaque bytes tagged with a
// type URL (for example a protobuf Any): the protocol messages under
// TypeURL(m.Type()), and the round envelope below, which the aggregator and
// the sites need around the protocol itself: the round announcement
// (RoundSpec), the masked-input phase opening (InputRequest), parts of a
// payload too large for one transport message (Part) and a site's refusal
// to take part (Refusal).

// TypeURLPrefix prefixes the type URL of every payload of this package.
const TypeURLPrefix = "type.synthfed.org/synthfed.secagg.v1."

// Envelope payload kinds (the type URL is TypeURLPrefix + kind); protocol
// messages use their MessageType name as kind.
const (
	KindRoundSpec    = "RoundSpec"
	KindInputRequest = "InputRequest"
	KindPart         = "Part"
	KindRefusal      = "Refusal"
)

// Limits of the envelope decoders.
const (
	// MaxTrainSpec bounds the opaque training instructions of an InputRequest.
	MaxTrainSpec = 1 << 20
	// MaxRelay bounds an encoded ShareKeysRelay inside an InputRequest.
	MaxRelay = 64 << 20
	// MaxParts bounds the number of parts of one payload.
	MaxParts = 1 << 16
	// maxSpecJSON bounds an encoded RoundSpec.
	maxSpecJSON = 1 << 20
	// maxRefusal bounds an encoded Refusal.
	maxRefusal = 16 << 10
)

// TypeURL returns the type URL of a payload kind.
func TypeURL(kind string) string { return TypeURLPrefix + kind }

// KindOf returns the payload kind named by a type URL of this package.
func KindOf(url string) (string, error) {
	kind, ok := strings.CutPrefix(url, TypeURLPrefix)
	if !ok || kind == "" || len(kind) > 64 {
		return "", fmt.Errorf("%w: type URL %.80q is not a secagg payload", ErrMalformed, url)
	}
	return kind, nil
}

// DecodeTyped decodes a protocol message carried under type URL url and
// refuses bytes whose message type is not the one the URL names. A
// MaskedInput may alias b (see DecodeMaskedInput).
func DecodeTyped(url string, b []byte) (Message, error) {
	kind, err := KindOf(url)
	if err != nil {
		return nil, err
	}
	m, err := Decode(b)
	if err != nil {
		return nil, err
	}
	if m.Type().String() != kind {
		return nil, fmt.Errorf("%w: type URL names %s, bytes hold %s", ErrMalformed, kind, m.Type())
	}
	return m, nil
}

// PrivacySpec is a job's differential-privacy setting as announced to the
// sites: each clips its update to ClipNorm (L2) and adds Gaussian noise of
// standard deviation NoiseMultiplier*ClipNorm/sqrt(t) per element, so that
// the sum of at least t survivors carries NoiseMultiplier*ClipNorm (see
// crypto/dp).
type PrivacySpec struct {
	Enabled         bool    `json:"enabled"`
	ClipNorm        float64 `json:"clip_norm"`
	NoiseMultiplier float64 `json:"noise_multiplier"`
}

// RoundSpec is what the aggregator announces to open a round: the Context
// that binds every message, and how a site must prepare its input before
// encoding it. A site checks it against its own policy before taking part.
type RoundSpec struct {
	// Version is the envelope version (1).
	Version int `json:"version"`
	// Context is the round: session, round, roster and parameters.
	Context Context `json:"context"`
	// Job names the job, for the site's privacy ledger.
	Job string `json:"job"`
	// Attempt numbers the attempt at this round (retries after an abort).
	Attempt int `json:"attempt"`
	// RoundsLeft is how many rounds the job still plans, this one included,
	// for the site's check of its whole privacy cost.
	RoundsLeft int `json:"rounds_left"`
	// NormBound is the L2 bound a site clips its update (local weights
	// minus the global ones) to before pre-scaling; 0 means none.
	NormBound float64 `json:"norm_bound"`
	// MaxWeight caps the raw weight (sample count) a site declares; 0
	// means Params.MaxWeight only.
	MaxWeight float64 `json:"max_weight"`
	// Privacy is the job's differential-privacy setting.
	Privacy PrivacySpec `json:"privacy"`
}

// specVersion is the only RoundSpec version.
const specVersion = 1

// MarshalBinary encodes the spec as JSON.
func (s *RoundSpec) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

// DecodeRoundSpec decodes and checks a RoundSpec: known fields only, the
// version, a valid Context, finite non-negative bounds.
func DecodeRoundSpec(b []byte) (*RoundSpec, error) {
	if len(b) > maxSpecJSON {
		return nil, fmt.Errorf("%w: round spec of %d bytes", ErrMalformed, len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s RoundSpec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: round spec: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: round spec: trailing data", ErrMalformed)
	}
	if s.Version != specVersion {
		return nil, fmt.Errorf("%w: round spec version %d, want %d", ErrMalformed, s.Version, specVersion)
	}
	if err := s.Context.Validate(); err != nil {
		return nil, fmt.Errorf("%w: round spec: %v", ErrMalformed, err)
	}
	bad := func(v float64) bool { return !(v >= 0) || math.IsInf(v, 0) }
	p := s.Privacy
	switch {
	case s.Job == "" || len(s.Job) > MaxSessionLen:
		return nil, fmt.Errorf("%w: round spec job %.80q", ErrMalformed, s.Job)
	case s.Attempt < 0 || s.RoundsLeft < 1:
		return nil, fmt.Errorf("%w: round spec attempt %d, rounds left %d", ErrMalformed, s.Attempt, s.RoundsLeft)
	case bad(s.NormBound) || bad(s.MaxWeight):
		return nil, fmt.Errorf("%w: round spec norm bound %v, max weight %v", ErrMalformed, s.NormBound, s.MaxWeight)
	case p.Enabled && (bad(p.ClipNorm) || bad(p.NoiseMultiplier) || p.ClipNorm == 0 || p.NoiseMultiplier == 0):
		return nil, fmt.Errorf("%w: round spec privacy clip %v, noise multiplier %v", ErrMalformed, p.ClipNorm, p.NoiseMultiplier)
	}
	return &s, nil
}

// InputRequest opens the masked-input phase for one site: the share-keys
// relay addressed to it, and the transport's opaque training instructions
// (the site trains, then answers with its MaskedInput).
type InputRequest struct {
	Relay *ShareKeysRelay
	Train []byte
}

// MarshalBinary encodes the request.
func (q *InputRequest) MarshalBinary() ([]byte, error) {
	if q.Relay == nil {
		return nil, fmt.Errorf("%w: input request without relay", ErrMalformed)
	}
	relay, err := q.Relay.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return EncodeInputRequest(relay, q.Train), nil
}

// EncodeInputRequest encodes an InputRequest from its relay, already
// encoded (ShareKeysRelay.MarshalBinary), and the training instructions.
func EncodeInputRequest(relay, train []byte) []byte {
	w := wire.NewWriter(16 + len(relay) + len(train))
	w.Fixed([]byte("SFIR"))
	w.Blob(relay)
	w.Blob(train)
	return w.Bytes()
}

// DecodeInputRequest decodes an InputRequest.
func DecodeInputRequest(b []byte) (*InputRequest, error) {
	r := wire.NewReader(b)
	if string(r.Fixed(4, "magic")) != "SFIR" && r.Err() == nil {
		r.Failf("bad magic")
	}
	relay := r.Blob(MaxRelay, "relay")
	train := r.Blob(MaxTrainSpec, "train")
	if err := r.Done(); err != nil {
		return nil, err
	}
	rel, err := DecodeShareKeysRelay(relay)
	if err != nil {
		return nil, err
	}
	return &InputRequest{Relay: rel, Train: train}, nil
}

// Refusal is a site's statement that it does not take part in a round, and
// why (for example its privacy budget); the aggregator records it and
// treats the site as dropped.
type Refusal struct {
	// Reason is a short machine-readable cause ("privacy_budget", ...).
	Reason string `json:"reason"`
	// Detail explains it in words.
	Detail string `json:"detail"`
}

// MarshalBinary encodes the refusal as JSON.
func (f *Refusal) MarshalBinary() ([]byte, error) { return json.Marshal(f) }

// DecodeRefusal decodes a Refusal.
func DecodeRefusal(b []byte) (*Refusal, error) {
	if len(b) > maxRefusal {
		return nil, fmt.Errorf("%w: refusal of %d bytes", ErrMalformed, len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f Refusal
	if err := dec.Decode(&f); err != nil || f.Reason == "" || len(f.Reason) > 64 {
		return nil, fmt.Errorf("%w: refusal: %v", ErrMalformed, err)
	}
	return &f, nil
}
