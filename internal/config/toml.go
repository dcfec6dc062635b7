// Package config loads TOML configuration strictly: an unknown key or a
// malformed value is an error that names the file and line. Each package owns
// its Config type with DefaultConfig and Validate; this package only decodes.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// ErrInvalid marks a configuration that failed to decode or validate.
var ErrInvalid = errors.New("invalid configuration")

// LoadFile decodes the TOML file at path into v strictly. v should already
// hold the defaults: keys absent from the file keep them.
func LoadFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return Decode(data, path, v)
}

// Decode decodes TOML data into v strictly; name labels errors (a file path).
func Decode(data []byte, name string, v any) error {
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for _, e := range strict.Errors {
			row, col := e.Position()
			errs = append(errs, fmt.Errorf("%s:%d:%d: unknown key %q: %w", name, row, col, strings.Join(e.Key(), "."), ErrInvalid))
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Errorf("%s:%d:%d: %s: %w", name, row, col, de.Error(), ErrInvalid)
	}
	return fmt.Errorf("%s: %v: %w", name, err, ErrInvalid)
}

// Problems collects validation failures so that Validate reports every
// problem at once.
type Problems struct{ errs []error }

// Addf records one problem.
func (p *Problems) Addf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

// Add records err when it is not nil.
func (p *Problems) Add(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// Err returns the joined problems wrapped with ErrInvalid, or nil.
func (p *Problems) Err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n%w", ErrInvalid, errors.Join(p.errs...))
}
