package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrResults marks a results file that failed to decode or validate.
var ErrResults = errors.New("invalid results")

// maxDepth bounds the nesting of results.json.
const maxDepth = 64

// DecodeError locates a problem in a results file; it matches ErrResults
// with errors.Is.
type DecodeError struct {
	// File names the source.
	File string
	// Line and Col locate the problem (1-based); 0 when unknown.
	Line, Col int
	// Err is the cause.
	Err error
}

// Error formats the problem as file:line:col: cause.
func (e *DecodeError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Col, e.Err)
}

// Unwrap returns ErrResults and the cause.
func (e *DecodeError) Unwrap() []error { return []error{ErrResults, e.Err} }

// Load reads and decodes the results file at path.
func Load(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results %s: %w", path, err)
	}
	return Decode(data, path)
}

// Decode parses results.json strictly: unknown keys, duplicated keys,
// wrong types, trailing data, nesting deeper than 64 and a wrong schema
// version are errors naming name:line:col, and the decoded results must
// pass Validate.
func Decode(data []byte, name string) (*Results, error) {
	if err := checkKeys(data, name); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Results
	if err := dec.Decode(&r); err != nil {
		return nil, decodeError(name, data, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(data, dec.InputOffset())
		return nil, &DecodeError{File: name, Line: line, Col: col, Err: errors.New("data after the results object")}
	}
	if err := r.Validate(); err != nil {
		return nil, &DecodeError{File: name, Err: err}
	}
	return &r, nil
}

// decodeError converts an encoding/json error to a DecodeError with the
// line and column of the offending byte.
func decodeError(name string, data []byte, dec *json.Decoder, err error) error {
	off := dec.InputOffset()
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
		err = fmt.Errorf("field %q: %s value where %s is expected", te.Field, te.Value, te.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = errors.New("unexpected end of input")
		off = int64(len(data))
	}
	line, col := position(data, off)
	return &DecodeError{File: name, Line: line, Col: col, Err: err}
}

// position converts a byte offset to a 1-based line and column.
func position(data []byte, off int64) (int, int) {
	off = max(0, min(off, int64(len(data))))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// frame is an open JSON object or array during checkKeys.
type frame struct {
	obj       bool
	expectKey bool
	keys      map[string]bool
}

// checkKeys walks the JSON tokens and rejects duplicated object keys,
// which encoding/json would silently resolve to the last one, and nesting
// deeper than maxDepth. Syntax errors are left to the decoder.
func checkKeys(data []byte, name string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.obj && top.expectKey {
			if top.keys[s] {
				line, col := position(data, dec.InputOffset())
				return &DecodeError{File: name, Line: line, Col: col, Err: fmt.Errorf("duplicated key %q", s)}
			}
			top.keys[s], top.expectKey = true, false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= maxDepth {
				line, col := position(data, dec.InputOffset())
				return &DecodeError{File: name, Line: line, Col: col, Err: fmt.Errorf("nesting deeper than %d", maxDepth)}
			}
			stack = append(stack, &frame{obj: tok == json.Delim('{'), expectKey: true, keys: map[string]bool{}})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				top = stack[len(stack)-1]
			} else {
				top = nil
			}
		}
		if top != nil && top.obj {
			top.expectKey = true
		}
	}
}

// Encode validates r and writes it as indented JSON.
func Encode(w io.Writer, r *Results) error {
	if err := r.Validate(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Save validates r and writes it to path through a temporary file renamed
// into place, so that a reader never sees half a file.
func Save(path string, r *Results) error {
	var buf bytes.Buffer
	if err := Encode(&buf, r); err != nil {
		return fmt.Errorf("results %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".results-*.json")
	if err != nil {
		return fmt.Errorf("results %s: %w", path, err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("results %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("results %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
