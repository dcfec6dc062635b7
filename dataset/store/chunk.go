package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// ErrCorrupt marks a chunk or index whose bytes do not match their header
// or checksum (truncated, overwritten or from another version).
var ErrCorrupt = errors.New("corrupt store file")

// castagnoli is the CRC-32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Chunk files (little-endian):
//
//	0  "SFCK"          magic
//	4  u32 version     1
//	8  u32 pixel bits  8 or 16
//	12 u32 size        image side
//	16 u32 count       images
//	20 u32 reserved    0
//	24 u32 crc         CRC-32C of everything after the header
//	28 u32 reserved    0
//	32 count x 16 B    SHA-256 prefix of each image's source
//	.. padding to a multiple of 64
//	.. count x size*size pixels (uint8, or little-endian uint16)
const (
	chunkMagic   = "SFCK"
	chunkVersion = 1
	chunkHeader  = 32
	hashLen      = 16
)

// Hash is the SHA-256 prefix of a source file's content.
type Hash [hashLen]byte

// chunkHeaderInfo is a decoded chunk header.
type chunkHeaderInfo struct {
	settings Settings
	count    int
	crc      uint32
}

// pixelOffset returns where the pixels of a chunk of count images start.
func pixelOffset(count int) int {
	n := chunkHeader + count*hashLen
	return (n + 63) &^ 63
}

// chunkLen returns the byte length of a chunk of count images.
func chunkLen(s Settings, count int) int {
	return pixelOffset(count) + count*s.BytesPerImage()
}

// encodeChunk returns a chunk file holding the images pix (count images of
// s.BytesPerImage() bytes, back to back) with their source hashes.
func encodeChunk(s Settings, hashes []Hash, pix []byte) []byte {
	count := len(hashes)
	b := make([]byte, chunkLen(s, count))
	copy(b, chunkMagic)
	binary.LittleEndian.PutUint32(b[4:], chunkVersion)
	binary.LittleEndian.PutUint32(b[8:], uint32(s.PixelBits))
	binary.LittleEndian.PutUint32(b[12:], uint32(s.Size))
	binary.LittleEndian.PutUint32(b[16:], uint32(count))
	for i, h := range hashes {
		copy(b[chunkHeader+i*hashLen:], h[:])
	}
	copy(b[pixelOffset(count):], pix)
	binary.LittleEndian.PutUint32(b[24:], crc32.Checksum(b[chunkHeader:], castagnoli))
	return b
}

// decodeChunkHeader reads and checks a chunk header against the file's
// length (not the checksum: see verifyChunk).
func decodeChunkHeader(b []byte) (chunkHeaderInfo, error) {
	if len(b) < chunkHeader || string(b[:4]) != chunkMagic {
		return chunkHeaderInfo{}, fmt.Errorf("chunk: bad magic or %d-byte header: %w", len(b), ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v != chunkVersion {
		return chunkHeaderInfo{}, fmt.Errorf("chunk: version %d, want %d: %w", v, chunkVersion, ErrCorrupt)
	}
	h := chunkHeaderInfo{
		settings: Settings{PixelBits: int(binary.LittleEndian.Uint32(b[8:])), Size: int(binary.LittleEndian.Uint32(b[12:]))},
		crc:      binary.LittleEndian.Uint32(b[24:]),
	}
	count := binary.LittleEndian.Uint32(b[16:])
	if err := h.settings.Validate(); err != nil {
		return h, fmt.Errorf("chunk: %v: %w", err, ErrCorrupt)
	}
	if count > math.MaxInt32/uint32(h.settings.BytesPerImage()+hashLen) {
		return h, fmt.Errorf("chunk: %d images: %w", count, ErrCorrupt)
	}
	h.count = int(count)
	if want := chunkLen(h.settings, h.count); len(b) != want {
		return h, fmt.Errorf("chunk: %d bytes, header says %d images of %dx%d (%d bytes): truncated or overwritten: %w",
			len(b), h.count, h.settings.Size, h.settings.Size, want, ErrCorrupt)
	}
	return h, nil
}

// verifyChunk checks a whole chunk: header, length and checksum.
func verifyChunk(b []byte) (chunkHeaderInfo, error) {
	h, err := decodeChunkHeader(b)
	if err != nil {
		return h, err
	}
	if got := crc32.Checksum(b[chunkHeader:], castagnoli); got != h.crc {
		return h, fmt.Errorf("chunk: checksum %08x, header says %08x: %w", got, h.crc, ErrCorrupt)
	}
	return h, nil
}

// chunkHash returns the source hash of image slot of a chunk.
func chunkHash(b []byte, slot int) Hash {
	var h Hash
	copy(h[:], b[chunkHeader+slot*hashLen:])
	return h
}

// chunkImage returns the stored bytes of image slot of a chunk.
func chunkImage(b []byte, s Settings, count, slot int) []byte {
	n := s.BytesPerImage()
	off := pixelOffset(count) + slot*n
	return b[off : off+n]
}

// Quantize writes the values of src (in [-1, 1]; clamped) into dst as
// pixels of bits 8 or 16 (len(dst) = len(src)*bits/8).
func Quantize(dst []byte, src []float32, bits int) {
	if bits == 8 {
		for i, v := range src {
			dst[i] = uint8(math.Round(float64(min(max(v, -1), 1)+1) * 127.5))
		}
		return
	}
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], uint16(math.Round(float64(min(max(v, -1), 1)+1)*32767.5)))
	}
}

// lut8 maps a stored byte back to [-1, 1].
var lut8 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i)/127.5 - 1
	}
	return t
}()

// Dequantize writes the pixels of src (bits 8 or 16) into dst as values in
// [-1, 1].
func Dequantize(dst []float32, src []byte, bits int) {
	if bits == 8 {
		src = src[:len(dst)]
		for i, q := range src {
			dst[i] = lut8[q]
		}
		return
	}
	for i := range dst {
		dst[i] = float32(binary.LittleEndian.Uint16(src[2*i:]))/32767.5 - 1
	}
}
