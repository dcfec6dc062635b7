package dataset

import (
	"testing"

	"github.com/synthfed/synthfed/dataset/dicom/dicomtest"
)

// BenchmarkPreprocess resizes a radiograph-sized image (2500x2048) to 32x32
// and normalises it, the per-image cost of a cache miss after decoding.
func BenchmarkPreprocess(b *testing.B) {
	g := &Gray{Width: 2048, Height: 2500, Pix: make([]float32, 2048*2500)}
	for i := range g.Pix {
		g.Pix[i] = float32(i % 4093)
	}
	dst := make([]float32, 32*32)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		PreprocessInto(dst, g, 32)
	}
}

// BenchmarkDecodeDICOM decodes a 1024x1024 12-bit windowed DICOM file.
func BenchmarkDecodeDICOM(b *testing.B) {
	px := make([]int, 1024*1024)
	for i := range px {
		px[i] = i % 4096
	}
	data := dicomtest.File{Rows: 1024, Columns: 1024, BitsStored: 12, Pixels: px, WindowCenter: "2048", WindowWidth: "4096"}.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeImage(data); err != nil {
			b.Fatal(err)
		}
	}
}
