package store

import (
	"bytes"
	"testing"
)

// FuzzDecodeIndex feeds arbitrary bytes to the index decoder: it must
// refuse or accept without panicking, and what it accepts must re-encode
// to an index that decodes to the same entries.
func FuzzDecodeIndex(f *testing.F) {
	x := &index{settings: Settings{Size: 16, PixelBits: 8}, nextChunk: 2,
		chunks:  []chunkInfo{{ID: 0, Count: 2, CRC: 7}, {ID: 1, Count: 1, CRC: 9}},
		entries: []Entry{{Path: "a.png", Chunk: 0, Slot: 1, Length: 10, ModTime: 5}, {Path: "b/c.png", Chunk: 1, Constant: true}}}
	b, _ := x.encode()
	f.Add(b)
	f.Add(b[:len(b)-3])
	f.Add([]byte("SFIX"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := decodeIndex(data)
		if err != nil {
			return
		}
		b, err := x.encode()
		if err != nil {
			t.Fatal(err)
		}
		y, err := decodeIndex(b)
		if err != nil || len(y.entries) != len(x.entries) || len(y.chunks) != len(x.chunks) {
			t.Fatalf("re-encoded index: %v", err)
		}
	})
}

// FuzzDecodeChunk feeds arbitrary bytes to the chunk decoder: an accepted
// chunk's images must lie inside it.
func FuzzDecodeChunk(f *testing.F) {
	s := Settings{Size: 4, PixelBits: 16}
	f.Add(encodeChunk(s, []Hash{{1}, {2}}, make([]byte, 2*s.BytesPerImage())))
	f.Add(encodeChunk(Settings{Size: 3, PixelBits: 8}, []Hash{{3}}, make([]byte, 9)))
	f.Add([]byte("SFCK\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := verifyChunk(data)
		if err != nil {
			return
		}
		for i := range h.count {
			_ = chunkHash(data, i)
			if got := len(chunkImage(data, h.settings, h.count, i)); got != h.settings.BytesPerImage() {
				t.Fatalf("image %d: %d bytes", i, got)
			}
		}
	})
}

// FuzzDecodeItems feeds arbitrary bytes to the records-file decoder: it
// must refuse or accept without panicking, and what it accepts must
// re-encode to the same bytes.
func FuzzDecodeItems(f *testing.F) {
	s := Settings{Size: 16, PixelBits: 8}
	items := []Item{{Chunk: 1, Slot: 2, Patient: 99, Sex: 2, Age: 61, Race: 3, View: 1, Replica: 4, Synthetic: true}, {Chunk: 0}}
	items[0].Labels[3], items[1].Labels[0] = 1, -2
	b := encodeItems(s, items)
	f.Add(b)
	f.Add(b[:len(b)-3])
	f.Add([]byte("SFRS"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeItems(data, s)
		if err != nil {
			return
		}
		if re := encodeItems(s, got); !bytes.Equal(re, data) {
			t.Fatalf("re-encoded records differ")
		}
	})
}
