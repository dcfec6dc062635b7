package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"unsafe"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/model"
)

// Joined is a whole payload a PartJoiner assembled. When it is also an
// io.Closer, the engine closes it once it has read it.
type Joined interface {
	io.ReaderAt
	Size() int64
}

// PartJoiner joins the parts of the sites' masked inputs in a secure
// round's masked-input phase: one payload per site, its parts in order. A
// part out of order, inconsistent with the earlier ones, or of a payload
// over the limit is refused (secagg.ErrMalformed) and the site's
// unfinished payload dropped. It is used by the engine's goroutine only.
type PartJoiner interface {
	// Add takes the next part from site. When the payload is complete it
	// returns its kind and the payload; until then a nil payload.
	Add(site string, p *secagg.Part) (string, Joined, error)
	// Drop forgets site's unfinished payload.
	Drop(site string)
	// Close forgets every unfinished payload (the phase has closed).
	Close()
}

// memJoiner is the default PartJoiner: a secagg.Assembler in memory (one
// payload per site with an unfinished one).
type memJoiner struct{ a *secagg.Assembler }

// NewMemoryJoiner returns a PartJoiner that keeps payloads of at most
// limit bytes in memory.
func NewMemoryJoiner(limit int) PartJoiner { return memJoiner{secagg.NewAssembler(limit)} }

func (m memJoiner) Add(site string, p *secagg.Part) (string, Joined, error) {
	kind, b, err := m.a.Add(site, p)
	if err != nil || b == nil {
		return "", nil, err
	}
	return kind, bytes.NewReader(b), nil
}

func (m memJoiner) Drop(site string) { m.a.Drop(site) }

func (m memJoiner) Close() {}

// joinedPiece is how many bytes of a joined masked input are summed at a
// time.
const joinedPiece = 1 << 20

// maskedInput hands a joined MaskedInput to the aggregator in pieces, so
// that a study-size input is never decoded whole.
func (s *secureRound) maskedInput(site string, whole Joined) error {
	head := make([]byte, min(whole.Size(), 64<<10))
	if _, err := whole.ReadAt(head, 0); err != nil && err != io.EOF {
		return fmt.Errorf("%w: masked input of %s: %v", secagg.ErrMalformed, site, err)
	}
	m, off, n, err := secagg.DecodeMaskedInputHead(head)
	if err != nil {
		return err
	}
	if int64(off)+4*int64(n) != whole.Size() {
		return fmt.Errorf("%w: masked input of %d bytes holds a head of %d and %d elements", secagg.ErrMalformed, whole.Size(), off, n)
	}
	return s.srv.HandleMaskedInputStream(site, m, n, func(fn func([]uint32) error) error {
		buf := make([]byte, joinedPiece)
		words := make([]uint32, joinedPiece/4)
		for at := int64(off); at < whole.Size(); {
			k := min(int64(len(buf)), whole.Size()-at)
			if _, err := whole.ReadAt(buf[:k], at); err != nil && !(err == io.EOF && k == whole.Size()-at) {
				return err
			}
			w := words[:k/4]
			for i := range w {
				w[i] = binary.LittleEndian.Uint32(buf[4*i:])
			}
			if err := fn(w); err != nil {
				return err
			}
			at += k
		}
		return nil
	})
}

// meanInRing decodes a ring sum (RingOnly) into the mean model, global +
// sum/weightSum element by element in float64 and rounded once to float32
// (each element decoded as secagg.DecodeSum does), writing each value over
// its ring element: the ring's memory becomes the model's (uint32 and
// float32 have the same size and alignment), so a study-size round holds
// no third copy. The ring must not be read as a ring afterwards.
func meanInRing(global model.Weights, ring []uint32, p secagg.Params, n int, weightSum float64) (model.Weights, error) {
	total := global.NumParams()
	if len(ring) < total {
		return model.Weights{}, fmt.Errorf("ring of %d elements for a model of %d: %w", len(ring), total, model.ErrShape)
	}
	flat := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(ring))), total)
	off := 0
	for _, t := range global.Tensors() {
		for j, g := range t.Data {
			v := secagg.DecodeElement(ring, off+j, p, n)
			flat[off+j] = float32(float64(g) + v/weightSum)
		}
		off += len(t.Data)
	}
	return unflattenShared(global.Specs(), flat)
}
