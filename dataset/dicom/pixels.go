package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
)

// greyPixels decodes n monochrome samples through a lookup table indexed by
// the stored bit pattern: mask to Bits Stored, sign-extend, Modality LUT, VOI
// window, and MONOCHROME1 inversion.
func greyPixels(raw []byte, n int, in *Info) ([]float32, error) {
	bytesPer := in.BitsAllocated / 8
	if len(raw) < n*bytesPer {
		return nil, fmt.Errorf("pixel data has %d bytes, the first frame needs %d: %w", len(raw), n*bytesPer, ErrMalformed)
	}
	lut := greyLUT(in)
	shift := uint(in.HighBit + 1 - in.BitsStored)
	mask := uint32(1)<<uint(in.BitsStored) - 1
	out := make([]float32, n)
	if bytesPer == 1 {
		for i := range out {
			out[i] = lut[(uint32(raw[i])>>shift)&mask]
		}
	} else {
		for i := range out {
			out[i] = lut[(uint32(binary.LittleEndian.Uint16(raw[2*i:]))>>shift)&mask]
		}
	}
	if in.Photometric == "MONOCHROME1" && !in.Windowed {
		invertRange(out)
	}
	return out, nil
}

// greyLUT maps every stored bit pattern to a display value.
func greyLUT(in *Info) []float32 {
	size := 1 << uint(in.BitsStored)
	lut := make([]float32, size)
	for p := range lut {
		v := float64(p)
		if in.Signed && p >= size/2 {
			v -= float64(size)
		}
		v = v*in.Slope + in.Intercept
		if in.Windowed {
			v = applyWindow(v, in.WindowCenter, in.WindowWidth, in.VOIFunction)
			if in.Photometric == "MONOCHROME1" {
				v = 1 - v
			}
		}
		lut[p] = float32(v)
	}
	return lut
}

// applyWindow maps x through the VOI LUT function of PS3.3 C.11.2.1.2 onto
// [0, 1].
func applyWindow(x, c, w float64, fn string) float64 {
	switch fn {
	case "SIGMOID":
		return 1 / (1 + math.Exp(-4*(x-c)/w))
	case "LINEAR_EXACT":
		switch {
		case x <= c-w/2:
			return 0
		case x > c+w/2:
			return 1
		}
		return (x-c)/w + 0.5
	}
	// LINEAR: the width must be at least 1.
	if w < 1 {
		w = 1
	}
	lo, hi := c-0.5-(w-1)/2, c-0.5+(w-1)/2
	switch {
	case x <= lo:
		return 0
	case x > hi:
		return 1
	}
	if w == 1 {
		return 1
	}
	return (x-(c-0.5))/(w-1) + 0.5
}

// invertRange flips values within their own range: v -> min+max-v.
func invertRange(v []float32) {
	if len(v) == 0 {
		return
	}
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	for i, x := range v {
		v[i] = lo + hi - x
	}
}

// colourPixels reduces 8-bit RGB or YBR_FULL pixels to luminance: ITU-R
// BT.601 weights for RGB, the Y sample for YBR_FULL.
func colourPixels(raw []byte, n int, in Info, planar int) ([]float32, error) {
	if len(raw) < 3*n {
		return nil, fmt.Errorf("pixel data has %d bytes, the first frame needs %d: %w", len(raw), 3*n, ErrMalformed)
	}
	out := make([]float32, n)
	at := func(i, ch int) float32 {
		if planar == 1 {
			return float32(raw[ch*n+i])
		}
		return float32(raw[3*i+ch])
	}
	for i := range out {
		if in.Photometric == "YBR_FULL" {
			out[i] = at(i, 0)
			continue
		}
		out[i] = 0.299*at(i, 0) + 0.587*at(i, 1) + 0.114*at(i, 2)
	}
	return out, nil
}
