package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"runtime"
	"sync"
	"unsafe"

	"github.com/synthfed/synthfed/crypto/internal/wire"
)

// MaskKey is a 32-byte PRG seed: AES-256 keyed by it in counter mode from a
// zero counter block yields the mask, read as little-endian uint32 words.
type MaskKey [32]byte

// prgChunk is the keystream buffer size in bytes: small enough that the
// buffer and the matching slice of the vector stay in the L1/L2 cache while
// every mask is applied to them.
const prgChunk = 8 << 10

var zeroChunk [prgChunk]byte

// bufPool recycles keystream buffers across calls and goroutines.
var bufPool = sync.Pool{New: func() any { b := make([]byte, prgChunk); return &b }}

// maskTerm is one mask to add to or subtract from a vector.
type maskTerm struct {
	key MaskKey
	sub bool
}

// Expand writes elements [off, off+len(dst)) of the mask stream of key into
// dst. off must be a multiple of 4 (one AES block holds four elements).
func Expand(dst []uint32, key MaskKey, off int) {
	clear(dst)
	applyRange(dst, off, []maskTerm{{key: key}})
}

// AddMask adds (sub false) or subtracts (sub true) elements
// [off, off+len(dst)) of key's mask stream to dst in the ring Z/2^32.
func AddMask(dst []uint32, key MaskKey, off int, sub bool) {
	applyRange(dst, off, []maskTerm{{key: key, sub: sub}})
}

// maskStream is one key's mask stream from some element on.
type maskStream interface {
	// apply adds (sub false) or subtracts (sub true) the stream's next
	// len(d) words to d and advances past them.
	apply(d []uint32, sub bool)
}

// newMaskStream returns key's mask stream positioned at element off (a
// multiple of 4): the fused AES-NI kernel where the CPU has one, else the
// standard library's AES-CTR through a keystream buffer.
func newMaskStream(key MaskKey, off int, buf []byte) maskStream {
	if off%4 != 0 {
		panic("secagg: mask offset not a multiple of 4")
	}
	if s := newFastStream(key, uint64(off/4)); s != nil {
		return s
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 32-byte key cannot fail
	}
	var iv [16]byte
	binary.BigEndian.PutUint64(iv[8:], uint64(off/4))
	return &ctrStream{s: cipher.NewCTR(block, iv[:]), buf: buf}
}

// ctrStream is the portable mask stream: keystream into buf (at least as
// long as 4x the longest d), then a ring addition.
type ctrStream struct {
	s   cipher.Stream
	buf []byte
}

func (c *ctrStream) apply(d []uint32, sub bool) {
	for len(d) > 0 {
		n := min(len(d), len(c.buf)/4)
		ks := c.buf[:4*n]
		c.s.XORKeyStream(ks, zeroChunk[:4*n])
		addWords(d[:n], ks, sub)
		d = d[n:]
	}
}

// applyRange applies every term to dst, which holds elements starting at
// off. It walks the vector chunk by chunk and applies all terms to a chunk
// before moving on, so each vector element is loaded once per chunk.
func applyRange(dst []uint32, off int, terms []maskTerm) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	streams := make([]maskStream, len(terms))
	for i, t := range terms {
		streams[i] = newMaskStream(t.key, off, *bp)
	}
	for len(dst) > 0 {
		n := min(len(dst), prgChunk/4)
		d := dst[:n]
		for i, s := range streams {
			s.apply(d, terms[i].sub)
		}
		dst = dst[n:]
	}
}

// addWords adds (or subtracts) the little-endian words of ks to d; len(ks)
// is 4*len(d).
func addWords(d []uint32, ks []byte, sub bool) {
	if wire.LittleEndian {
		addVec(d, unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(ks))), len(ks)/4), sub)
		return
	}
	for j := range d {
		x := binary.LittleEndian.Uint32(ks[4*j:])
		if sub {
			d[j] -= x
		} else {
			d[j] += x
		}
	}
}

// applyTerms applies every term to dst, splitting the vector into
// contiguous ranges processed by up to workers goroutines (0 means
// GOMAXPROCS). Each range expands every key from its own counter offset, so
// the result does not depend on the split.
func applyTerms(dst []uint32, terms []maskTerm, workers int) {
	if len(terms) == 0 {
		return
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	const minRange = 32 << 10
	parts := min(workers, max(1, len(dst)/minRange))
	if parts <= 1 {
		applyRange(dst, 0, terms)
		return
	}
	step := (len(dst)/parts + 3) &^ 3
	var wg sync.WaitGroup
	for lo := 0; lo < len(dst); lo += step {
		hi := min(lo+step, len(dst))
		wg.Add(1)
		go func() {
			defer wg.Done()
			applyRange(dst[lo:hi], lo, terms)
		}()
	}
	wg.Wait()
}
