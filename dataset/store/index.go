package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"sort"
)

// indexName is the committed index file in a settings folder.
const indexName = "INDEX"

// Index files (little-endian), all fields fixed-width except paths:
//
//	"SFIX", u32 version 1, u32 size, u32 pixel bits, u32 preprocess version,
//	u32 next chunk ID, u32 chunks, u32 entries,
//	chunks:  u32 ID, u32 count, u32 crc
//	entries: 16 B hash, u32 chunk ID, u32 slot, u8 flags, u64 source length,
//	         i64 source mtime (ns), u16 path length, path bytes
//	u32 CRC-32C of everything before it
const (
	indexMagic   = "SFIX"
	indexVersion = 1
	indexFixed   = 32
	chunkRecLen  = 12
	entryFixed   = hashLen + 4 + 4 + 1 + 8 + 8 + 2
	maxPathLen   = math.MaxUint16
)

// flagConstant marks a source image with one value (preprocessed to all -1).
const flagConstant = 1

// chunkInfo is one chunk as the index knows it.
type chunkInfo struct {
	ID    uint32
	Count uint32
	CRC   uint32
}

// Entry is one prepared source file.
type Entry struct {
	// Path is the source file as the records name it (Record.File).
	Path string
	// Hash is the SHA-256 prefix of its content.
	Hash Hash
	// Chunk and Slot locate its pixels.
	Chunk, Slot uint32
	// Constant is true for a one-valued image (all -1 after preprocessing).
	Constant bool
	// Length and ModTime (Unix ns) are the source file's when it was hashed,
	// so an unchanged file is not read again.
	Length  int64
	ModTime int64
}

// index is the committed state of a settings folder.
type index struct {
	settings  Settings
	nextChunk uint32
	chunks    []chunkInfo
	entries   []Entry
}

// encode returns the index file's bytes (entries sorted by path, chunks by
// ID, so equal states encode equally).
func (x *index) encode() ([]byte, error) {
	sort.Slice(x.chunks, func(i, j int) bool { return x.chunks[i].ID < x.chunks[j].ID })
	sort.Slice(x.entries, func(i, j int) bool { return x.entries[i].Path < x.entries[j].Path })
	n := indexFixed + chunkRecLen*len(x.chunks) + 4
	for _, e := range x.entries {
		if len(e.Path) > maxPathLen {
			return nil, fmt.Errorf("index: path of %d bytes: want at most %d", len(e.Path), maxPathLen)
		}
		n += entryFixed + len(e.Path)
	}
	b := make([]byte, 0, n)
	le := binary.LittleEndian
	b = append(b, indexMagic...)
	for _, v := range []uint32{indexVersion, uint32(x.settings.Size), uint32(x.settings.PixelBits), PreprocessVersion, x.nextChunk, uint32(len(x.chunks)), uint32(len(x.entries))} {
		b = le.AppendUint32(b, v)
	}
	for _, c := range x.chunks {
		b = le.AppendUint32(le.AppendUint32(le.AppendUint32(b, c.ID), c.Count), c.CRC)
	}
	for _, e := range x.entries {
		b = append(b, e.Hash[:]...)
		b = le.AppendUint32(le.AppendUint32(b, e.Chunk), e.Slot)
		var fl byte
		if e.Constant {
			fl = flagConstant
		}
		b = append(b, fl)
		b = le.AppendUint64(le.AppendUint64(b, uint64(e.Length)), uint64(e.ModTime))
		b = le.AppendUint16(b, uint16(len(e.Path)))
		b = append(b, e.Path...)
	}
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// decodeIndex parses and checks an index file: magic, version, checksum,
// counts against the length, every entry naming a listed chunk and a slot
// inside it.
func decodeIndex(b []byte) (*index, error) {
	le := binary.LittleEndian
	if len(b) < indexFixed+4 || string(b[:4]) != indexMagic {
		return nil, fmt.Errorf("index: bad magic or %d bytes: %w", len(b), ErrCorrupt)
	}
	body := b[:len(b)-4]
	if got, want := crc32.Checksum(body, castagnoli), le.Uint32(b[len(b)-4:]); got != want {
		return nil, fmt.Errorf("index: checksum %08x, trailer says %08x: %w", got, want, ErrCorrupt)
	}
	if v := le.Uint32(b[4:]); v != indexVersion {
		return nil, fmt.Errorf("index: version %d, want %d: %w", v, indexVersion, ErrCorrupt)
	}
	x := &index{settings: Settings{Size: int(le.Uint32(b[8:])), PixelBits: int(le.Uint32(b[12:]))}, nextChunk: le.Uint32(b[20:])}
	if err := x.settings.Validate(); err != nil {
		return nil, fmt.Errorf("index: %v: %w", err, ErrCorrupt)
	}
	if v := le.Uint32(b[16:]); v != PreprocessVersion {
		return nil, fmt.Errorf("index: preprocess version %d, want %d: %w", v, PreprocessVersion, ErrCorrupt)
	}
	nc, ne := uint64(le.Uint32(b[24:])), uint64(le.Uint32(b[28:]))
	if nc*chunkRecLen+ne*entryFixed > uint64(len(body)-indexFixed) {
		return nil, fmt.Errorf("index: %d chunks and %d entries do not fit %d bytes: %w", nc, ne, len(b), ErrCorrupt)
	}
	p := body[indexFixed:]
	counts := make(map[uint32]uint32, nc)
	x.chunks = make([]chunkInfo, nc)
	for i := range x.chunks {
		c := chunkInfo{ID: le.Uint32(p), Count: le.Uint32(p[4:]), CRC: le.Uint32(p[8:])}
		if _, dup := counts[c.ID]; dup || c.ID >= x.nextChunk {
			return nil, fmt.Errorf("index: chunk %d listed twice or not below next ID %d: %w", c.ID, x.nextChunk, ErrCorrupt)
		}
		counts[c.ID] = c.Count
		x.chunks[i] = c
		p = p[chunkRecLen:]
	}
	x.entries = make([]Entry, ne)
	for i := range x.entries {
		if len(p) < entryFixed {
			return nil, fmt.Errorf("index: entry %d truncated: %w", i, ErrCorrupt)
		}
		e := &x.entries[i]
		copy(e.Hash[:], p)
		e.Chunk, e.Slot = le.Uint32(p[16:]), le.Uint32(p[20:])
		e.Constant = p[24]&flagConstant != 0
		e.Length, e.ModTime = int64(le.Uint64(p[25:])), int64(le.Uint64(p[33:]))
		n := int(le.Uint16(p[41:]))
		p = p[entryFixed:]
		if len(p) < n {
			return nil, fmt.Errorf("index: entry %d path truncated: %w", i, ErrCorrupt)
		}
		e.Path = string(p[:n])
		p = p[n:]
		if cnt, ok := counts[e.Chunk]; !ok || e.Slot >= cnt {
			return nil, fmt.Errorf("index: entry %q names chunk %d slot %d, not in the index: %w", e.Path, e.Chunk, e.Slot, ErrCorrupt)
		}
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("index: %d trailing bytes: %w", len(p), ErrCorrupt)
	}
	return x, nil
}
