package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"

	"github.com/synthfed/synthfed/dataset"
)

// Writer writes images into a new store folder as they are made (a
// synthetic set as it is sampled), in the prepared store's format: chunks
// of ChunkImages images written as each fills, so memory holds one chunk
// of pixels whatever the set's size, then, at Close, the index (an entry
// per image, named by the path the set's manifest gives it) and the
// records file (its compact index). A folder without a committed index is
// not a store (Open refuses it), so an interrupted writer never leaves a
// half set that reads as whole. It is not safe for concurrent use.
type Writer struct {
	cfg    Config
	dir    string
	write  writeFunc
	x      *index
	items  []Item
	buf    []byte
	hashes []Hash
	closed bool
}

// ErrExists reports a Writer asked to write where a store already is.
var ErrExists = errors.New("store already exists")

// NewWriter starts a store under cfg.Dir (its settings folder, FolderFor),
// which must not hold a committed index yet.
func NewWriter(cfg Config) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir := FolderFor(cfg)
	if _, err := os.Stat(indexPath(dir)); err == nil {
		return nil, fmt.Errorf("store %s: %w", dir, ErrExists)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, diskErr(dir, err)
	}
	return &Writer{cfg: cfg, dir: dir, write: writeAtomic, x: &index{settings: cfg.Settings()}}, nil
}

// Add quantises px (Size*Size values in [-1, 1]) and appends it as the
// image named path (unique: the caller's naming), described by rec (its labels, demographics, view,
// patient and replica go to the records file; its paths do not).
func (w *Writer) Add(path string, px []float32, rec *dataset.Record) error {
	if w.closed {
		return fmt.Errorf("store %s: add after close", w.dir)
	}
	s := w.cfg.Settings()
	if len(px) != s.Size*s.Size {
		return fmt.Errorf("store %s: %s: %d pixels, want %d", w.dir, path, len(px), s.Size*s.Size)
	}
	if len(path) > maxPathLen {
		return fmt.Errorf("store %s: path of %d bytes: want at most %d", w.dir, len(path), maxPathLen)
	}
	n := len(w.buf)
	w.buf = append(w.buf, make([]byte, s.BytesPerImage())...)
	Quantize(w.buf[n:], px, s.PixelBits)
	sum := sha256.Sum256(w.buf[n:])
	e := Entry{Path: path, Chunk: w.x.nextChunk, Slot: uint32(len(w.hashes))}
	copy(e.Hash[:], sum[:hashLen])
	w.hashes = append(w.hashes, e.Hash)
	w.x.entries = append(w.x.entries, e)
	w.items = append(w.items, itemOf(rec, e))
	if len(w.hashes) >= w.cfg.ChunkImages {
		return w.flush()
	}
	return nil
}

// Len returns the number of images added.
func (w *Writer) Len() int { return len(w.items) }

// flush writes the chunk being filled.
func (w *Writer) flush() error {
	if len(w.hashes) == 0 {
		return nil
	}
	id := w.x.nextChunk
	data := encodeChunk(w.cfg.Settings(), w.hashes, w.buf)
	if err := w.write(chunkPath(w.dir, id), data); err != nil {
		return fmt.Errorf("store: chunk %d: %w", id, err)
	}
	w.x.chunks = append(w.x.chunks, chunkInfo{ID: id, Count: uint32(len(w.hashes)), CRC: decodeCRC(data)})
	w.x.nextChunk++
	w.buf, w.hashes = w.buf[:0], w.hashes[:0]
	return nil
}

// Close writes the last chunk, then the records file and the index (the
// commit), and opens the store for reading.
func (w *Writer) Close() (*Store, error) {
	if w.closed {
		return nil, fmt.Errorf("store %s: closed twice", w.dir)
	}
	w.closed = true
	if err := w.flush(); err != nil {
		return nil, err
	}
	if err := writeRecords(w.write, w.dir, w.cfg.Settings(), w.items); err != nil {
		return nil, err
	}
	b, err := w.x.encode()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := w.write(indexPath(w.dir), b); err != nil {
		return nil, fmt.Errorf("store: index: %w", err)
	}
	return open(w.dir, w.cfg.Settings(), false, false, nil)
}
