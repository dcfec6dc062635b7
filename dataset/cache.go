package dataset

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// Cache keeps preprocessed tensors so that epochs do not decode again: in
// memory (least recently used first out, bounded in bytes) keyed by path,
// modification time, file length and size; and optionally on disk keyed by
// the SHA-256 of the file's content and the size, so that a renamed or
// re-exported identical image is not decoded again either. It is safe for
// concurrent use. Returned slices are shared: callers must not modify them.
type Cache struct {
	dir      string
	maxBytes int64

	mu    sync.Mutex
	mem   map[memKey]*list.Element
	lru   *list.List
	bytes int64
	stats CacheStats
}

// CacheStats counts how requests were served.
type CacheStats struct {
	// MemoryHits were served from memory, DiskHits from the disk cache.
	MemoryHits, DiskHits int64
	// Decodes decoded and preprocessed the image.
	Decodes int64
	// DiskErrors counts unreadable or corrupt disk entries (recomputed) and
	// failed writes.
	DiskErrors int64
}

type memKey struct {
	file   string
	size   int
	mod    int64
	length int64
}

type entry struct {
	key      memKey
	pix      []float32
	constant bool
}

// NewCache returns a cache holding up to maxMemoryBytes of tensors in memory
// (0 disables the memory level) and, when dir is not empty, a disk level in
// dir (created if needed).
func NewCache(dir string, maxMemoryBytes int64) (*Cache, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cache dir: %w", err)
		}
	}
	return &Cache{dir: dir, maxBytes: maxMemoryBytes, mem: make(map[memKey]*list.Element), lru: list.New()}, nil
}

// NewCacheFromConfig builds the cache that cfg describes.
func NewCacheFromConfig(cfg Config) (*Cache, error) {
	return NewCache(cfg.CacheDir, int64(cfg.CacheMemoryMB)<<20)
}

// Stats returns the counters so far.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Get returns the preprocessed size x size tensor of the image at path and
// whether the image was constant (see Preprocess).
func (c *Cache) Get(path string, size int) (pix []float32, constant bool, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	key := memKey{file: path, size: size, mod: st.ModTime().UnixNano(), length: st.Size()}
	if e, ok := c.fromMemory(key); ok {
		return e.pix, e.constant, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	var diskPath string
	if c.dir != "" {
		sum := sha256.Sum256(data)
		diskPath = filepath.Join(c.dir, fmt.Sprintf("%s-%d.f32", hex.EncodeToString(sum[:16]), size))
		if pix, constant, err := readTensor(diskPath, size); err == nil {
			c.count(func(s *CacheStats) { s.DiskHits++ })
			c.remember(key, pix, constant)
			return pix, constant, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			c.count(func(s *CacheStats) { s.DiskErrors++ })
		}
	}
	g, err := DecodeImage(data)
	if err != nil {
		return nil, false, err
	}
	pix, constant = Preprocess(g, size)
	c.count(func(s *CacheStats) { s.Decodes++ })
	if diskPath != "" {
		if err := writeTensor(diskPath, size, pix, constant); err != nil {
			c.count(func(s *CacheStats) { s.DiskErrors++ })
		}
	}
	c.remember(key, pix, constant)
	return pix, constant, nil
}

func (c *Cache) count(f func(*CacheStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *Cache) fromMemory(k memKey) (*entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.mem[k]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	c.stats.MemoryHits++
	return el.Value.(*entry), true
}

func (c *Cache) remember(k memKey, pix []float32, constant bool) {
	n := int64(4 * len(pix))
	if n > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.mem[k]; ok {
		return
	}
	c.mem[k] = c.lru.PushFront(&entry{key: k, pix: pix, constant: constant})
	c.bytes += n
	for c.bytes > c.maxBytes {
		old := c.lru.Back()
		e := old.Value.(*entry)
		c.lru.Remove(old)
		delete(c.mem, e.key)
		c.bytes -= int64(4 * len(e.pix))
	}
}

// Disk entries: magic, version, size, flags, CRC-32 of the data, then
// size*size little-endian float32 values.
const (
	tensorMagic   = "SFPX"
	tensorVersion = 1
	tensorHeader  = 20
)

var errCorrupt = errors.New("corrupt cache entry")

func readTensor(path string, size int) ([]float32, bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	n := size * size
	if len(b) != tensorHeader+4*n || string(b[:4]) != tensorMagic ||
		binary.LittleEndian.Uint32(b[4:]) != tensorVersion || int(binary.LittleEndian.Uint32(b[8:])) != size {
		return nil, false, errCorrupt
	}
	data := b[tensorHeader:]
	if crc32.ChecksumIEEE(data) != binary.LittleEndian.Uint32(b[16:]) {
		return nil, false, errCorrupt
	}
	pix := make([]float32, n)
	for i := range pix {
		pix[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return pix, binary.LittleEndian.Uint32(b[12:])&1 == 1, nil
}

func writeTensor(path string, size int, pix []float32, constant bool) error {
	b := make([]byte, tensorHeader+4*len(pix))
	copy(b, tensorMagic)
	binary.LittleEndian.PutUint32(b[4:], tensorVersion)
	binary.LittleEndian.PutUint32(b[8:], uint32(size))
	if constant {
		binary.LittleEndian.PutUint32(b[12:], 1)
	}
	for i, v := range pix {
		binary.LittleEndian.PutUint32(b[tensorHeader+4*i:], math.Float32bits(v))
	}
	binary.LittleEndian.PutUint32(b[16:], crc32.ChecksumIEEE(b[tensorHeader:]))
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
