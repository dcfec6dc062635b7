package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrNotPrepared reports a store folder without a committed index.
var ErrNotPrepared = errors.New("store not prepared")

// Store is an opened settings folder: its committed index and its chunks,
// memory-mapped read-only. Lookups and reads are safe for concurrent use;
// Close unmaps the chunks, after which no Ref may be read.
type Store struct {
	dir      string
	settings Settings
	x        *index
	chunks   []mapped
	pos      map[uint32]int32
	byPath   map[string]int
	corrupt  []error
}

// mapped is one chunk file mapped into memory.
type mapped struct {
	id    uint32
	count int
	data  []byte
}

// Ref locates one prepared image in a Store.
type Ref struct {
	chunk int32
	slot  uint32
}

// FolderFor returns the settings folder of cfg: cfg.Dir/cfg.Settings().Key().
func FolderFor(cfg Config) string { return filepath.Join(cfg.Dir, cfg.Settings().Key()) }

// Open opens the prepared store of cfg's settings for reading. A missing
// index is ErrNotPrepared. With cfg.Verify every chunk's checksum is
// checked; a corrupt or truncated chunk is left out (its images are then
// missing from Lookup) and listed by Corrupt; Prepare rebuilds it.
func Open(cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return open(FolderFor(cfg), cfg.Settings(), cfg.Verify, false, log)
}

// open reads dir's index and maps its chunks. writable also removes
// temporary files, chunks no index names, and corrupt chunks.
func open(dir string, s Settings, verify, writable bool, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := &Store{dir: dir, settings: s, pos: map[uint32]int32{}, byPath: map[string]int{}}
	b, err := os.ReadFile(filepath.Join(dir, indexName))
	switch {
	case errors.Is(err, fs.ErrNotExist) && writable:
		st.x = &index{settings: s}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store %s: %w (run synthfed data prepare)", dir, ErrNotPrepared)
	case err != nil:
		return nil, fmt.Errorf("store %s: %w", dir, err)
	default:
		if st.x, err = decodeIndex(b); err != nil {
			if !writable {
				return nil, fmt.Errorf("store %s: %w", dir, err)
			}
			log.Warn("store index unreadable: preparing from scratch", "dir", dir, "err", err)
			st.corrupt = append(st.corrupt, fmt.Errorf("%s: %w", filepath.Join(dir, indexName), err))
			st.x = &index{settings: s}
		}
	}
	if st.x.settings != s {
		return nil, fmt.Errorf("store %s: index holds %+v, want %+v: %w", dir, st.x.settings, s, ErrCorrupt)
	}
	st.mapChunks(verify, log)
	if writable {
		if err := st.sweep(); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// chunkPath returns the file of chunk id.
func chunkPath(dir string, id uint32) string {
	return filepath.Join(dir, fmt.Sprintf("chunk-%08d.sfc", id))
}

// mapChunks maps every chunk of the index, dropping (with their entries)
// those that are missing, truncated or corrupt.
func (st *Store) mapChunks(verify bool, log *slog.Logger) {
	good := st.x.chunks[:0]
	for _, c := range st.x.chunks {
		path := chunkPath(st.dir, c.ID)
		data, err := mapChunk(path, st.settings, c, verify)
		if err != nil {
			log.Warn("store chunk dropped: its images will be prepared again", "chunk", path, "err", err)
			st.corrupt = append(st.corrupt, fmt.Errorf("%s: %w", path, err))
			continue
		}
		st.pos[c.ID] = int32(len(st.chunks))
		st.chunks = append(st.chunks, mapped{id: c.ID, count: int(c.Count), data: data})
		good = append(good, c)
	}
	st.x.chunks = good
	entries := st.x.entries[:0]
	for _, e := range st.x.entries {
		if _, ok := st.pos[e.Chunk]; ok {
			st.byPath[e.Path] = len(entries)
			entries = append(entries, e)
		}
	}
	st.x.entries = entries
}

// mapChunk maps one chunk and checks it against its index record.
func mapChunk(path string, s Settings, c chunkInfo, verify bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < chunkHeader || fi.Size() != int64(chunkLen(s, int(c.Count))) {
		return nil, fmt.Errorf("%d bytes, index says %d images (%d bytes): truncated: %w", fi.Size(), c.Count, chunkLen(s, int(c.Count)), ErrCorrupt)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	check := decodeChunkHeader
	if verify {
		check = verifyChunk
	}
	h, err := check(data)
	if err == nil && (h.settings != s || h.count != int(c.Count) || h.crc != c.CRC) {
		err = fmt.Errorf("header %+v, %d images, crc %08x; index says %+v, %d, %08x: %w", h.settings, h.count, h.crc, s, c.Count, c.CRC, ErrCorrupt)
	}
	if err != nil {
		syscall.Munmap(data)
		return nil, err
	}
	return data, nil
}

// sweep removes temporary files, chunks the index does not name (written
// before a crash, or dropped as corrupt).
func (st *Store) sweep() error {
	des, err := os.ReadDir(st.dir)
	if err != nil {
		return fmt.Errorf("store %s: %w", st.dir, err)
	}
	for _, de := range des {
		name := de.Name()
		var id uint32
		_, scanErr := fmt.Sscanf(name, "chunk-%08d.sfc", &id)
		_, named := st.pos[id]
		if strings.HasPrefix(name, tmpPrefix) || (scanErr == nil && !named) {
			if err := os.Remove(filepath.Join(st.dir, name)); err != nil {
				return fmt.Errorf("store %s: %w", st.dir, err)
			}
		}
	}
	return nil
}

// Settings returns the store's preprocessing settings.
func (st *Store) Settings() Settings { return st.settings }

// Dir returns the settings folder.
func (st *Store) Dir() string { return st.dir }

// Len returns the number of prepared source files.
func (st *Store) Len() int { return len(st.x.entries) }

// Chunks returns the number of chunk files.
func (st *Store) Chunks() int { return len(st.chunks) }

// Corrupt lists the chunks (and index) found corrupt when the store was
// opened, each error naming the file.
func (st *Store) Corrupt() []error { return st.corrupt }

// Lookup returns the prepared image of the source file path (a
// Record.File) and whether the source was constant.
func (st *Store) Lookup(path string) (ref Ref, constant, ok bool) {
	i, ok := st.byPath[path]
	if !ok {
		return Ref{}, false, false
	}
	e := st.x.entries[i]
	return Ref{chunk: st.pos[e.Chunk], slot: e.Slot}, e.Constant, true
}

// entry returns the index entry of path.
func (st *Store) entry(path string) (Entry, bool) {
	i, ok := st.byPath[path]
	if !ok {
		return Entry{}, false
	}
	return st.x.entries[i], true
}

// Raw returns the stored pixels of ref (shared with the mapping: do not
// modify, and do not keep past Close).
func (st *Store) Raw(ref Ref) []byte {
	c := &st.chunks[ref.chunk]
	return chunkImage(c.data, st.settings, c.count, int(ref.slot))
}

// Read writes ref's image, as values in [-1, 1], into dst (Size*Size).
func (st *Store) Read(ref Ref, dst []float32) {
	Dequantize(dst[:st.settings.Size*st.settings.Size], st.Raw(ref), st.settings.PixelBits)
}

// pageSize is the mapping granularity.
var pageSize = os.Getpagesize()

// Evict tells the kernel that ref's pages will not be needed soon, so
// that they leave this process's resident set (they stay in the page
// cache): a long pass over a store then does not grow the trainer's RSS
// with the data set. It only advises; reading ref again is still valid.
func (st *Store) Evict(ref Ref) {
	c := &st.chunks[ref.chunk]
	n := st.settings.BytesPerImage()
	off := pixelOffset(c.count) + int(ref.slot)*n
	lo, hi := off&^(pageSize-1), min((off+n+pageSize-1)&^(pageSize-1), len(c.data))
	if hi > lo {
		_ = syscall.Madvise(c.data[lo:hi], syscall.MADV_DONTNEED)
	}
}

// Close unmaps the chunks.
func (st *Store) Close() error {
	var errs []error
	for _, c := range st.chunks {
		errs = append(errs, syscall.Munmap(c.data))
	}
	st.chunks = nil
	return errors.Join(errs...)
}
