package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// StreamWriter encodes weights as a chunk stream: a header with every
// tensor's name and shape, data chunks of at most chunkSize bytes holding
// the values as one little-endian float32 sequence, and a trailer with the
// content hash (the same as model.Weights.Hash). Values may be written in
// pieces, so a sender never needs the whole model in wire form.
type StreamWriter struct {
	send      func(*fedpb.Chunk) error
	chunkSize int
	buf       []byte
	hasher    *streamHasher
	total     uint64
	written   uint64
}

// NewStreamWriter sends the header for specs and returns a writer for the
// values. chunkSize 0 means DefaultChunkSize; it is rounded down to a
// multiple of 4 and capped at MaxChunkSize.
func NewStreamWriter(specs []model.TensorSpec, chunkSize int, send func(*fedpb.Chunk) error) (*StreamWriter, error) {
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	chunkSize = min(chunkSize, MaxChunkSize) &^ 3
	if chunkSize == 0 {
		chunkSize = 4
	}
	hdr := &fedpb.StreamHeader{Tensors: make([]*fedpb.TensorSpec, len(specs))}
	for i, s := range specs {
		n, ok := model.NumElements(s.Shape)
		if !ok {
			return nil, fmt.Errorf("stream: tensor %q shape %v: %w", s.Name, s.Shape, model.ErrShape)
		}
		hdr.TotalValues += uint64(n)
		shape := make([]int64, len(s.Shape))
		for j, d := range s.Shape {
			shape[j] = int64(d)
		}
		hdr.Tensors[i] = &fedpb.TensorSpec{Name: s.Name, Shape: shape}
	}
	w := &StreamWriter{send: send, chunkSize: chunkSize, hasher: newStreamHasher(specs), total: hdr.TotalValues}
	if err := send(&fedpb.Chunk{Body: &fedpb.Chunk_Header{Header: hdr}}); err != nil {
		return nil, err
	}
	return w, nil
}

// Write appends values to the stream, sending each full chunk.
func (w *StreamWriter) Write(values []float32) error {
	if w.written+uint64(len(values)) > w.total {
		return fmt.Errorf("stream: %d values written past the header's %d: %w", w.written+uint64(len(values)), w.total, ErrMalformed)
	}
	for len(values) > 0 {
		if w.buf == nil {
			// A fresh buffer per chunk: gRPC may read a sent message lazily.
			w.buf = make([]byte, 0, w.chunkSize)
		}
		n := min(len(values), (w.chunkSize-len(w.buf))/4)
		for _, v := range values[:n] {
			w.buf = binary.LittleEndian.AppendUint32(w.buf, math.Float32bits(v))
		}
		values = values[n:]
		w.written += uint64(n)
		if len(w.buf) == w.chunkSize {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *StreamWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	w.hasher.write(w.buf)
	c := &fedpb.Chunk{Body: &fedpb.Chunk_Data{Data: w.buf}}
	w.buf = nil
	return w.send(c)
}

// Close sends the last data chunk and the trailer. It returns the content
// hash, or an error when fewer values were written than the header promised.
func (w *StreamWriter) Close() (string, error) {
	if w.written != w.total {
		return "", fmt.Errorf("stream: closed after %d of %d values: %w", w.written, w.total, ErrMalformed)
	}
	if err := w.flush(); err != nil {
		return "", err
	}
	sum := w.hasher.sum()
	return sum, w.send(&fedpb.Chunk{Body: &fedpb.Chunk_Trailer{Trailer: &fedpb.StreamTrailer{Hash: sum}}})
}

// SendWeights streams w through send in chunks of chunkSize bytes and
// returns its hash.
func SendWeights(w model.Weights, chunkSize int, send func(*fedpb.Chunk) error) (string, error) {
	sw, err := NewStreamWriter(w.Specs(), chunkSize, send)
	if err != nil {
		return "", err
	}
	for _, t := range w.Tensors() {
		if err := sw.Write(t.Data); err != nil {
			return "", err
		}
	}
	return sw.Close()
}

// streamHasher computes model.Weights.Hash incrementally from the specs and
// the little-endian value bytes as they stream past.
type streamHasher struct {
	h      hash.Hash
	specs  []model.TensorSpec
	left   []int // bytes left per tensor
	cur    int
	opened bool
}

func newStreamHasher(specs []model.TensorSpec) *streamHasher {
	left := make([]int, len(specs))
	for i, s := range specs {
		n, _ := model.NumElements(s.Shape)
		left[i] = 4 * n
	}
	return &streamHasher{h: sha256.New(), specs: specs, left: left}
}

func (s *streamHasher) openTensor() {
	var buf [8]byte
	sp := s.specs[s.cur]
	binary.LittleEndian.PutUint32(buf[:4], uint32(len(sp.Name)))
	s.h.Write(buf[:4])
	s.h.Write([]byte(sp.Name))
	binary.LittleEndian.PutUint32(buf[:4], uint32(len(sp.Shape)))
	s.h.Write(buf[:4])
	for _, d := range sp.Shape {
		binary.LittleEndian.PutUint64(buf[:], uint64(d))
		s.h.Write(buf[:])
	}
	s.opened = true
}

// write hashes data bytes; the caller guarantees they fit the specs.
func (s *streamHasher) write(b []byte) {
	for {
		for s.cur < len(s.specs) && s.opened && s.left[s.cur] == 0 {
			s.cur++
			s.opened = false
		}
		if s.cur >= len(s.specs) {
			return
		}
		if !s.opened {
			s.openTensor()
			continue
		}
		if len(b) == 0 {
			return
		}
		n := min(len(b), s.left[s.cur])
		s.h.Write(b[:n])
		s.left[s.cur] -= n
		b = b[n:]
	}
}

func (s *streamHasher) sum() string {
	s.write(nil) // open trailing empty tensors
	return hex.EncodeToString(s.h.Sum(nil))
}
