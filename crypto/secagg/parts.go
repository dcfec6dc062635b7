package secagg

import (
	"fmt"

	"github.com/synthfed/synthfed/crypto/internal/wire"
)

// Part is one piece of a payload too large for one transport message (a
// masked input of a million elements is 4 MB, gRPC's default limit). A
// sender splits the payload with SplitPayload and sends the parts in order;
// the receiver joins them with an Assembler. Integrity comes from the
// transport and from the signature inside the joined message.
type Part struct {
	// Kind is the payload kind of the whole (for example "MaskedInput").
	Kind string
	// Index is this part's position, Count the number of parts.
	Index, Count int
	// Total is the length of the whole payload in bytes.
	Total int
	// Data is this part's bytes.
	Data []byte
}

// SplitPayload cuts b into parts of at most size bytes (size < 1 means one
// part).
func SplitPayload(kind string, b []byte, size int) []*Part {
	if size < 1 || size > len(b) {
		size = max(len(b), 1)
	}
	n := max((len(b)+size-1)/size, 1)
	out := make([]*Part, 0, n)
	for i := 0; i < n; i++ {
		lo, hi := i*size, min((i+1)*size, len(b))
		out = append(out, &Part{Kind: kind, Index: i, Count: n, Total: len(b), Data: b[lo:hi]})
	}
	return out
}

// MarshalBinary encodes the part.
func (p *Part) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter(32 + len(p.Kind) + len(p.Data))
	w.Fixed([]byte("SFPT"))
	w.String(p.Kind)
	w.U32(uint32(p.Index))
	w.U32(uint32(p.Count))
	w.U64(uint64(p.Total))
	w.Blob(p.Data)
	return w.Bytes(), nil
}

// DecodePart decodes a Part and checks that its numbers are consistent.
func DecodePart(b []byte) (*Part, error) {
	r := wire.NewReader(b)
	if string(r.Fixed(4, "magic")) != "SFPT" && r.Err() == nil {
		r.Failf("bad magic")
	}
	p := &Part{Kind: r.String(64, "kind")}
	p.Index, p.Count = int(r.U32("index")), int(r.U32("count"))
	total := r.U64("total")
	p.Data = r.Blob(len(b), "data")
	if err := r.Done(); err != nil {
		return nil, err
	}
	if p.Kind == "" || p.Count < 1 || p.Count > MaxParts || p.Index >= p.Count || total > uint64(4*MaxLength+MaxRelay) {
		return nil, fmt.Errorf("%w: part %d of %d of %q (%d bytes)", ErrMalformed, p.Index, p.Count, p.Kind, total)
	}
	p.Total = int(total)
	return p, nil
}

// assembly is one payload being joined.
type assembly struct {
	kind  string
	count int
	next  int
	buf   []byte
}

// Assembler joins the parts of one payload per sender, in order. A sender
// that starts again (index 0) drops its unfinished payload. Memory is one
// payload per sender with an unfinished payload, each at most the limit.
// It is not safe for concurrent use.
type Assembler struct {
	limit int
	cur   map[string]*assembly
}

// NewAssembler returns an Assembler refusing payloads over limit bytes.
func NewAssembler(limit int) *Assembler {
	return &Assembler{limit: limit, cur: map[string]*assembly{}}
}

// Add takes the next part from sender. When the payload is complete it
// returns its kind and bytes and forgets it; until then it returns nil
// bytes. A part out of order, inconsistent with the earlier ones or over
// the limit is refused (ErrMalformed) and the unfinished payload dropped.
func (a *Assembler) Add(from string, p *Part) (string, []byte, error) {
	cur := a.cur[from]
	if p.Index == 0 {
		if p.Total > a.limit || p.Total < p.Count-1 {
			delete(a.cur, from)
			return "", nil, fmt.Errorf("%w: payload %q of %d bytes from %q over the limit %d", ErrMalformed, p.Kind, p.Total, from, a.limit)
		}
		cur = &assembly{kind: p.Kind, count: p.Count, buf: make([]byte, 0, p.Total)}
		a.cur[from] = cur
	}
	if cur == nil || p.Index != cur.next || p.Kind != cur.kind || p.Count != cur.count || p.Total != cap(cur.buf) ||
		len(cur.buf)+len(p.Data) > cap(cur.buf) {
		delete(a.cur, from)
		return "", nil, fmt.Errorf("%w: part %d of %d of %q from %q out of order or inconsistent", ErrMalformed, p.Index, p.Count, p.Kind, from)
	}
	cur.buf = append(cur.buf, p.Data...)
	cur.next++
	if cur.next < cur.count {
		return "", nil, nil
	}
	delete(a.cur, from)
	if len(cur.buf) != cap(cur.buf) {
		return "", nil, fmt.Errorf("%w: payload %q from %q has %d of %d bytes", ErrMalformed, cur.kind, from, len(cur.buf), cap(cur.buf))
	}
	return cur.kind, cur.buf, nil
}

// Drop forgets sender's unfinished payload.
func (a *Assembler) Drop(from string) { delete(a.cur, from) }

// Pending returns how many senders have an unfinished payload.
func (a *Assembler) Pending() int { return len(a.cur) }
