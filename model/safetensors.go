package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
)

// The safetensors layout (https://huggingface.co/docs/safetensors): an
// 8-byte little-endian header length N, N bytes of JSON header, then the
// tensors' bytes. The header maps each tensor name to its dtype, shape and
// [begin, end) byte offsets into the data section, plus an optional
// "__metadata__" map of strings. This package reads and writes only F32.

// ErrFormat reports input that is not a valid safetensors file of float32
// tensors: a bad header, an unsupported dtype, overlapping or out-of-range
// offsets, or a truncated data section.
var ErrFormat = errors.New("invalid safetensors data")

// MaxSafetensorsHeader bounds the JSON header length accepted by the decoder,
// as the reference implementation does (100 MB).
const MaxSafetensorsHeader = 100 << 20

const safetensorsMetaKey = "__metadata__"

// stEntry is one tensor's header entry.
type stEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// EncodeSafetensors returns w in the safetensors format with meta as the
// "__metadata__" string map (omitted when empty). Tensors are laid out in
// w's canonical order and the header is padded with spaces to a multiple of
// 8 bytes, as Python's safetensors writes it.
func EncodeSafetensors(w Weights, meta map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, w, meta); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// safetensorsHeader returns the header EncodeSafetensors writes (padded)
// and the length of the data section.
func safetensorsHeader(w Weights, meta map[string]string) ([]byte, int64, error) {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	writeKey := func(k string, v any) error {
		if !first {
			hdr.WriteByte(',')
		}
		first = false
		kb, err := json.Marshal(k)
		if err != nil {
			return err
		}
		vb, err := json.Marshal(v)
		if err != nil {
			return err
		}
		hdr.Write(kb)
		hdr.WriteByte(':')
		hdr.Write(vb)
		return nil
	}
	if len(meta) > 0 {
		if err := writeKey(safetensorsMetaKey, meta); err != nil {
			return nil, 0, fmt.Errorf("safetensors: metadata: %w", err)
		}
	}
	var off int64
	for _, t := range w.Tensors() {
		if t.Name == safetensorsMetaKey {
			return nil, 0, fmt.Errorf("safetensors: tensor %q: reserved name: %w", t.Name, ErrFormat)
		}
		end := off + 4*int64(len(t.Data))
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		if err := writeKey(t.Name, stEntry{Dtype: "F32", Shape: shape, DataOffsets: [2]int64{off, end}}); err != nil {
			return nil, 0, fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		off = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	return hdr.Bytes(), off, nil
}

// WriteSafetensors writes EncodeSafetensors(w, meta) to dst, streaming
// the values through a small buffer (a study-size model is never held
// twice).
func WriteSafetensors(dst io.Writer, w Weights, meta map[string]string) error {
	hdr, _, err := safetensorsHeader(w, meta)
	if err != nil {
		return err
	}
	buf := make([]byte, 8, 64<<10)
	binary.LittleEndian.PutUint64(buf, uint64(len(hdr)))
	if _, err := dst.Write(buf); err != nil {
		return err
	}
	if _, err := dst.Write(hdr); err != nil {
		return err
	}
	buf = buf[:0]
	for _, t := range w.Tensors() {
		for _, v := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := dst.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		_, err = dst.Write(buf)
	}
	return err
}

// DecodeSafetensors parses a safetensors buffer of F32 tensors. It checks
// everything the reference implementation checks: the header length, the
// JSON, duplicate names, each tensor's dtype, that its shape matches its
// byte range, and that the ranges tile the data section exactly. Every
// error wraps ErrFormat (or ErrShape / ErrDuplicate) and names the tensor.
func DecodeSafetensors(data []byte) (Weights, map[string]string, error) {
	if len(data) < 8 {
		return Weights{}, nil, fmt.Errorf("safetensors: %d bytes, shorter than the 8-byte header length: %w", len(data), ErrFormat)
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > MaxSafetensorsHeader || n > uint64(len(data)-8) {
		return Weights{}, nil, fmt.Errorf("safetensors: header length %d exceeds the %d bytes after it (truncated?): %w", n, len(data)-8, ErrFormat)
	}
	hdr := data[8 : 8+n]
	body := data[8+n:]
	entries, names, meta, err := parseSafetensorsHeader(hdr)
	if err != nil {
		return Weights{}, nil, err
	}
	tensors, err := sliceSafetensorsBody(entries, names, body)
	if err != nil {
		return Weights{}, nil, err
	}
	w, err := NewWeights(tensors...)
	if err != nil {
		return Weights{}, nil, fmt.Errorf("safetensors: %w", err)
	}
	return w, meta, nil
}

// parseSafetensorsHeader decodes the header object token by token so that a
// duplicate name is reported rather than silently overwritten.
func parseSafetensorsHeader(hdr []byte) (map[string]stEntry, []string, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.DisallowUnknownFields()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, nil, nil, fmt.Errorf("safetensors: header is not a JSON object: %w", ErrFormat)
	}
	entries := map[string]stEntry{}
	var names []string
	var meta map[string]string
	seenMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("safetensors: header: %v: %w", err, ErrFormat)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, nil, fmt.Errorf("safetensors: header key %v: %w", tok, ErrFormat)
		}
		if _, dup := entries[name]; dup || (name == safetensorsMetaKey && seenMeta) {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, ErrDuplicate)
		}
		if name == safetensorsMetaKey {
			seenMeta = true
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, nil, fmt.Errorf("safetensors: %s is not a string map: %v: %w", safetensorsMetaKey, err, ErrFormat)
			}
			continue
		}
		var e stEntry
		if err := dec.Decode(&e); err != nil {
			return nil, nil, nil, fmt.Errorf("safetensors: tensor %q: header entry: %v: %w", name, err, ErrFormat)
		}
		entries[name] = e
		names = append(names, name)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, nil, fmt.Errorf("safetensors: header object not closed: %w", ErrFormat)
	}
	if rest := bytes.TrimRight(hdr[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, nil, nil, fmt.Errorf("safetensors: %d bytes of trailing garbage after the header: %w", len(rest), ErrFormat)
	}
	return entries, names, meta, nil
}

// sliceSafetensorsBody checks each entry against the data section and
// decodes its values. The ranges, sorted by start, must tile the body.
func sliceSafetensorsBody(entries map[string]stEntry, names []string, body []byte) ([]Tensor, error) {
	sorted := append([]string(nil), names...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := entries[sorted[i]].DataOffsets, entries[sorted[j]].DataOffsets
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		return a[1] < b[1]
	})
	var next int64
	tensors := make([]Tensor, 0, len(names))
	for _, name := range sorted {
		e := entries[name]
		if e.Dtype != "F32" {
			return nil, fmt.Errorf("safetensors: tensor %q: dtype %q, only F32 is supported: %w", name, e.Dtype, ErrFormat)
		}
		count, ok := NumElements(e.Shape)
		if !ok {
			return nil, fmt.Errorf("safetensors: tensor %q: invalid shape %v: %w", name, e.Shape, ErrShape)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		switch {
		case begin != next:
			return nil, fmt.Errorf("safetensors: tensor %q: starts at byte %d, want %d (gap or overlap): %w", name, begin, next, ErrFormat)
		case end < begin || end-begin != 4*int64(count):
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v needs %d bytes, offsets [%d,%d) hold %d: %w", name, e.Shape, 4*count, begin, end, end-begin, ErrShape)
		case end > int64(len(body)):
			return nil, fmt.Errorf("safetensors: tensor %q: ends at byte %d of a %d-byte data section (truncated): %w", name, end, len(body), ErrFormat)
		}
		vals := make([]float32, count)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[begin+4*int64(i):]))
		}
		tensors = append(tensors, Tensor{Name: name, Shape: append([]int{}, e.Shape...), Data: vals})
		next = end
	}
	if next != int64(len(body)) {
		return nil, fmt.Errorf("safetensors: data section has %d bytes, tensors cover %d: %w", len(body), next, ErrFormat)
	}
	return tensors, nil
}

// metaInt reads an integer metadata value, naming the key on error.
func metaInt(meta map[string]string, key string) (int64, error) {
	s, ok := meta[key]
	if !ok {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("metadata %q = %q: not an integer: %w", key, s, ErrFormat)
	}
	return v, nil
}
