package secagg

import (
	"fmt"

	"github.com/synthfed/synthfed/crypto/internal/wire"
)

// Study-size inputs: a masked input of 10^8 elements is 400 MB. The
// aggregator takes it in pieces (HandleMaskedInputStream), so that it
// never holds a site's whole input, and decodes its result in place
// (ServerConfig.RingOnly, DecodeElement).

// DecodeMaskedInputHead decodes what precedes a MaskedInput's data, from
// the first bytes of its encoding (at least up to the data). It returns
// the message without Data, the byte offset of the data and the number
// of elements: the whole encoding is offset + 4*count bytes.
func DecodeMaskedInputHead(head []byte) (*MaskedInput, int, int, error) {
	r := wire.NewReader(head)
	m := &MaskedInput{}
	readPrefix(r, m.Type(), &m.Header)
	m.From = r.String(MaxIDLen, "from")
	n := r.Count(MaxLength+1, "data")
	for _, p := range r.Fixed(-r.Offset()&3, "data padding") {
		if p != 0 && r.Err() == nil {
			r.Failf("data: non-zero padding")
		}
	}
	if err := r.Err(); err != nil {
		return nil, 0, 0, err
	}
	return m, r.Offset(), n, nil
}

// HandleMaskedInputStream is Handle for a MaskedInput whose n data
// elements each reads in order, in pieces (m.Data is ignored). Every check
// Handle makes comes before the first piece is read, and a refused input
// changes nothing. A piece that does not fit, or a read that fails, after
// part of the input is in the sum aborts the round: the sum can no longer
// be trusted.
func (s *Server) HandleMaskedInputStream(from string, m *MaskedInput, n int, each func(fn func([]uint32) error) error) error {
	if f := s.precheck(from, m); f != nil {
		return s.fail(from, f)
	}
	if f := senderOK(from, m.From, s.u2, s.inputs[from]); f != nil {
		return s.fail(from, f)
	}
	if n != s.ctx.Params.Length+1 {
		return s.fail(from, failf(ErrMalformed, "masked input of %d elements, want %d", n, s.ctx.Params.Length+1))
	}
	if s.sum == nil {
		s.sum = make([]uint32, n)
	}
	off := 0
	err := each(func(p []uint32) error {
		if off+len(p) > n {
			return fmt.Errorf("%w: masked input longer than %d elements", ErrMalformed, n)
		}
		addVec(s.sum[off:off+len(p)], p, false)
		off += len(p)
		return nil
	})
	if err == nil && off != n {
		err = fmt.Errorf("%w: masked input of %d elements, %d read", ErrMalformed, n, off)
	}
	if err != nil {
		if off == 0 {
			return s.fail(from, failf(ErrMalformed, "masked input unreadable: %v", err))
		}
		return s.abort(failf(ErrAborted, "masked input of %s failed after %d of %d elements were summed: %v", from, off, n, err))
	}
	s.inputs[from] = true
	return nil
}

// DecodeWeight decodes the weight sum, the last element of a ring sum
// over n sites.
func DecodeWeight(ring []uint32, p Params, n int) float64 {
	return float64(int32(ring[p.Length])) / p.WeightScale(n)
}

// DecodeElement decodes element i of a ring sum over n sites (the
// weighted sum of the inputs' element i), as DecodeSum does.
func DecodeElement(ring []uint32, i int, p Params, n int) float64 {
	return float64(int32(ring[i])) / p.Scale(n)
}

// SplitParts passes fn the parts of m's encoding, of at most size bytes,
// exactly as SplitPayload(m.Type().String(), encoding, size) would cut
// them, without building the whole encoding: each part's bytes come from
// m.Data in place (a part that straddles the head is copied). A site
// sends a study-size input with no second copy of it.
func (m *MaskedInput) SplitParts(size int, fn func(*Part) error) error {
	if !wire.LittleEndian {
		b, err := m.MarshalBinary()
		if err != nil {
			return err
		}
		for _, p := range SplitPayload(m.Type().String(), b, size) {
			if err := fn(p); err != nil {
				return err
			}
		}
		return nil
	}
	w := wire.NewWriter(256)
	writePrefix(w, m.Type(), &m.Header)
	w.String(m.From)
	w.U32(uint32(len(m.Data)))
	w.Fixed(make([]byte, -len(w.Bytes())&3))
	head, data := w.Bytes(), wire.WordBytes(m.Data)
	total := len(head) + len(data)
	if size < 1 || size > total {
		size = max(total, 1)
	}
	n := max((total+size-1)/size, 1)
	for i := range n {
		lo, hi := i*size, min((i+1)*size, total)
		var b []byte
		if lo >= len(head) {
			b = data[lo-len(head) : hi-len(head)]
		} else {
			b = append(append(make([]byte, 0, hi-lo), head[lo:min(hi, len(head))]...), data[:max(hi-len(head), 0)]...)
		}
		if err := fn(&Part{Kind: m.Type().String(), Index: i, Count: n, Total: total, Data: b}); err != nil {
			return err
		}
	}
	return nil
}
