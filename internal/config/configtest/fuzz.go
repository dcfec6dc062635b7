// Package configtest holds the test helper every configuration decoder's
// fuzz target shares.
package configtest

import (
	"errors"
	"testing"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/synthfed/synthfed/internal/config"
)

// Fuzz fuzzes a configuration decoder from seeds: decode (decoding data
// over a package's defaults, then validating) must never panic, and every
// refusal must wrap config.ErrInvalid, so that the CLI reports it as a
// configuration error (exit status 2) naming the file.
func Fuzz(f *testing.F, seeds [][]byte, decode func(data []byte) error) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := decode(data); err != nil && !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("refusal without config.ErrInvalid: %v", err)
		}
	})
}

// DecodeValidate decodes data strictly over def and validates the result
// with validate: the usual body of a decode function for Fuzz.
func DecodeValidate[C any](data []byte, def C, validate func(C) error) error {
	c := def
	if err := config.Decode(data, "fuzz.toml", &c); err != nil {
		return err
	}
	return validate(c)
}

// Marshal returns v as TOML, a seed that holds every key of a
// configuration (nil when v does not marshal).
func Marshal(v any) []byte {
	b, err := toml.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
