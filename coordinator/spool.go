package coordinator

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/synthfed/synthfed/model"
)

// spoolPiece is how many bytes of a spool the engine reads at a time.
const spoolPiece = 1 << 20

// spool is an upload's body on disk: the value bytes of a chunk stream,
// written as they arrive (after the Reassembler checked each chunk
// against the header) and read back in pieces by the engine, which
// validates the whole update before it folds any of it into the round's
// sum. So the coordinator holds one chunk per upload in memory, not one
// model, and an upload that fails or is refused half-way leaves nothing
// in the sum. The file is unlinked as soon as it is created: it vanishes
// when closed, or when the process dies.
type spool struct {
	f     *os.File
	specs []model.TensorSpec
	size  int64
}

// newSpool creates an unlinked spool file in dir.
func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("upload spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("upload spool: %w", err)
	}
	return &spool{f: f}, nil
}

// write appends value bytes (whole little-endian float32s).
func (s *spool) write(b []byte) error {
	n, err := s.f.Write(b)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("upload spool: %w", err)
	}
	return nil
}

// Specs returns the stream's tensor specs (set once its header is in).
func (s *spool) Specs() []model.TensorSpec { return s.specs }

// Each reads the spool back in pieces of at most spoolPiece bytes.
func (s *spool) Each(fn func([]float32) error) error {
	buf := make([]byte, spoolPiece)
	vals := make([]float32, spoolPiece/4)
	for off := int64(0); off < s.size; {
		n, err := s.f.ReadAt(buf[:min(int64(len(buf)), s.size-off)], off)
		if n%4 != 0 || (err != nil && err != io.EOF) || n == 0 {
			return fmt.Errorf("upload spool: read %d bytes at %d of %d: %w", n, off, s.size, err)
		}
		v := vals[:n/4]
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		if err := fn(v); err != nil {
			return err
		}
		off += int64(n)
	}
	return nil
}

// ReadAt reads the spool's bytes at off (engine.Joined).
func (s *spool) ReadAt(b []byte, off int64) (int, error) { return s.f.ReadAt(b, off) }

// Size returns the spool's length in bytes (engine.Joined).
func (s *spool) Size() int64 { return s.size }

// Close removes the spool (engine.Joined's io.Closer).
func (s *spool) Close() error { return s.f.Close() }

// close removes the spool.
func (s *spool) close() { s.f.Close() }

// specBytes is the float32 size of a model with these specs.
func specBytes(specs []model.TensorSpec) int64 {
	var n int64
	for _, sp := range specs {
		k, _ := model.NumElements(sp.Shape)
		n += int64(k)
	}
	return 4 * n
}
