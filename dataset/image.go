package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"github.com/synthfed/synthfed/dataset/dicom"
)

// ErrImageFormat marks data that is neither PNG, JPEG nor DICOM Part 10.
var ErrImageFormat = errors.New("unknown image format (want PNG, JPEG or DICOM)")

// ErrImageTooLarge marks an image whose header declares more pixels than the
// decoder accepts.
var ErrImageTooLarge = errors.New("image too large")

// maxImagePixels bounds a decoded image (twice the largest radiographs, about
// 4k x 4k), so that a small corrupt header cannot make the decoder allocate
// gigabytes.
const maxImagePixels = 1 << 25

// Gray is a decoded single-channel image of display intensities, higher
// meaning brighter, in the source's own units (0-255, 0-65535, or DICOM
// rescaled or windowed values); Preprocess normalises them.
type Gray struct {
	Width, Height int
	// Pix holds Width*Height values in row-major order.
	Pix []float32
}

// ReadImage reads and decodes the image file at path.
func ReadImage(path string) (*Gray, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeImage(data)
}

// DecodeImage decodes PNG (8 or 16 bit, any colour type), JPEG or DICOM data,
// recognised by content rather than name. Colour is reduced to luminance
// (ITU-R BT.601 weights; a JPEG's Y channel).
func DecodeImage(data []byte) (*Gray, error) {
	switch {
	case len(data) >= 132 && string(data[128:132]) == "DICM":
		img, err := dicom.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("dicom: %w", err)
		}
		return &Gray{Width: img.Width, Height: img.Height, Pix: img.Pix}, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return decodeStd(data, png.DecodeConfig, png.Decode, "png")
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8}):
		return decodeStd(data, jpeg.DecodeConfig, jpeg.Decode, "jpeg")
	}
	return nil, ErrImageFormat
}

// decodeStd checks the declared size before decoding with the standard
// library, then converts to Gray.
func decodeStd(data []byte, config func(r io.Reader) (image.Config, error), decode func(r io.Reader) (image.Image, error), name string) (*Gray, error) {
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("%s: %dx%d: %w", name, cfg.Width, cfg.Height, ErrImageTooLarge)
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return toGray(img), nil
}

// toGray converts a standard-library image to luminance.
func toGray(img image.Image) *Gray {
	b := img.Bounds()
	g := &Gray{Width: b.Dx(), Height: b.Dy(), Pix: make([]float32, b.Dx()*b.Dy())}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < g.Height; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+g.Width]
			for x, v := range row {
				g.Pix[y*g.Width+x] = float32(v)
			}
		}
	case *image.Gray16:
		for y := 0; y < g.Height; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+2*g.Width]
			for x := 0; x < g.Width; x++ {
				g.Pix[y*g.Width+x] = float32(uint16(row[2*x])<<8 | uint16(row[2*x+1]))
			}
		}
	case *image.YCbCr:
		for y := 0; y < g.Height; y++ {
			row := m.Y[y*m.YStride : y*m.YStride+g.Width]
			for x, v := range row {
				g.Pix[y*g.Width+x] = float32(v)
			}
		}
	default:
		// Generic colour: 16-bit RGBA, scaled back to 0-255.
		for y := 0; y < g.Height; y++ {
			for x := 0; x < g.Width; x++ {
				r, gg, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				g.Pix[y*g.Width+x] = (0.299*float32(r) + 0.587*float32(gg) + 0.114*float32(bb)) / 257
			}
		}
	}
	return g
}
