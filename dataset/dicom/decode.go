package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// maxPixels bounds the first frame's size, so a hostile header cannot make
// the reader allocate without bound (the largest radiographs are ~4k x 4k).
const maxPixels = 1 << 26

// Info describes a decoded file: how its pixels were stored and which
// transforms Decode applied, with a few identifying attributes.
type Info struct {
	// TransferSyntax is the file's Transfer Syntax UID.
	TransferSyntax string
	// Photometric is the Photometric Interpretation, e.g. MONOCHROME2.
	Photometric string
	// SamplesPerPixel is 1 for grey images and 3 for colour.
	SamplesPerPixel int
	// BitsAllocated, BitsStored and HighBit describe each stored sample.
	BitsAllocated, BitsStored, HighBit int
	// Signed is true when Pixel Representation is 1 (two's complement).
	Signed bool
	// Frames is Number of Frames (1 when absent); Decode returns frame 1.
	Frames int
	// Slope and Intercept are the Modality LUT (1 and 0 when absent).
	Slope, Intercept float64
	// Windowed is true when a VOI window was applied.
	Windowed bool
	// WindowCenter and WindowWidth are the first window values found.
	WindowCenter, WindowWidth float64
	// VOIFunction is LINEAR, LINEAR_EXACT or SIGMOID.
	VOIFunction string
	// Modality, PatientID, PatientSex, PatientAge and ViewPosition are copied
	// from the data set when present.
	Modality, PatientID, PatientSex, PatientAge, ViewPosition string
}

// Image is a decoded frame of display intensities: higher is brighter,
// in [0, 1] when a window was applied and in rescaled units otherwise.
type Image struct {
	// Width and Height are Columns and Rows.
	Width, Height int
	// Pix holds Width*Height values in row-major order.
	Pix []float32
	// Info describes the source.
	Info Info
}

// ReadFile reads and decodes the DICOM file at path.
func ReadFile(path string) (*Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Decode parses a DICOM Part 10 file held in data and returns its first
// frame, with Modality LUT, VOI window and MONOCHROME1 inversion applied.
func Decode(data []byte) (*Image, error) {
	ds, err := parse(data)
	if err != nil {
		return nil, err
	}
	info, err := ds.info()
	if err != nil {
		return nil, err
	}
	px, ok := ds.els[tagPixelData]
	if !ok {
		return nil, ErrNoPixelData
	}
	w, h := ds.int(tagColumns, 0), ds.int(tagRows, 0)
	if w <= 0 || h <= 0 || w*h > maxPixels {
		return nil, fmt.Errorf("image of %dx%d pixels: %w", w, h, ErrUnsupported)
	}
	img := &Image{Width: w, Height: h, Info: info}
	if info.SamplesPerPixel == 3 {
		img.Pix, err = colourPixels(px.value, w*h, info, ds.int(tagPlanarConfig, 0))
	} else {
		img.Pix, err = greyPixels(px.value, w*h, &img.Info)
	}
	if err != nil {
		return nil, err
	}
	return img, nil
}

// info reads and checks the image pixel module.
func (d *dataSet) info() (Info, error) {
	in := Info{
		TransferSyntax:  d.syntax,
		Photometric:     strings.ToUpper(d.str(tagPhotometric)),
		SamplesPerPixel: d.int(tagSamples, 1),
		BitsAllocated:   d.int(tagBitsAllocated, 0),
		Signed:          d.int(tagPixelRep, 0) == 1,
		Frames:          d.int(tagFrames, 1),
		Slope:           d.float(tagRescaleSlope, 1),
		Intercept:       d.float(tagRescaleInter, 0),
		VOIFunction:     strings.ToUpper(d.str(tagVOIFunction)),
		Modality:        d.str(tagModality),
		PatientID:       d.str(tagPatientID),
		PatientSex:      d.str(tagPatientSex),
		PatientAge:      d.str(tagPatientAge),
		ViewPosition:    d.str(tagViewPosition),
	}
	in.BitsStored = d.int(tagBitsStored, in.BitsAllocated)
	in.HighBit = d.int(tagHighBit, in.BitsStored-1)
	if in.Photometric == "" {
		in.Photometric = "MONOCHROME2"
	}
	if in.VOIFunction == "" {
		in.VOIFunction = "LINEAR"
	}
	if in.Slope == 0 || math.IsNaN(in.Slope) || math.IsInf(in.Slope, 0) || math.IsNaN(in.Intercept) || math.IsInf(in.Intercept, 0) {
		in.Slope, in.Intercept = 1, 0
	}
	switch {
	case in.BitsAllocated != 8 && in.BitsAllocated != 16:
		return in, fmt.Errorf("Bits Allocated %d (only 8 and 16 are read): %w", in.BitsAllocated, ErrUnsupported)
	case in.BitsStored < 1 || in.BitsStored > in.BitsAllocated:
		return in, fmt.Errorf("Bits Stored %d with Bits Allocated %d: %w", in.BitsStored, in.BitsAllocated, ErrMalformed)
	case in.HighBit >= in.BitsAllocated || in.HighBit+1 < in.BitsStored:
		return in, fmt.Errorf("High Bit %d with Bits Stored %d and Bits Allocated %d: %w", in.HighBit, in.BitsStored, in.BitsAllocated, ErrMalformed)
	}
	switch in.Photometric {
	case "MONOCHROME1", "MONOCHROME2":
		if in.SamplesPerPixel != 1 {
			return in, fmt.Errorf("%s with %d samples per pixel: %w", in.Photometric, in.SamplesPerPixel, ErrMalformed)
		}
	case "RGB", "YBR_FULL":
		if in.SamplesPerPixel != 3 || in.BitsAllocated != 8 {
			return in, fmt.Errorf("%s with %d samples of %d bits: %w", in.Photometric, in.SamplesPerPixel, in.BitsAllocated, ErrUnsupported)
		}
	default:
		return in, fmt.Errorf("photometric interpretation %q: %w", in.Photometric, ErrUnsupported)
	}
	c, w, ok := d.window()
	if ok && in.SamplesPerPixel == 1 {
		in.Windowed, in.WindowCenter, in.WindowWidth = true, c, w
	}
	return in, nil
}

// window returns the first valid Window Center and Width.
func (d *dataSet) window() (c, w float64, ok bool) {
	cs, ws := d.str(tagWindowCenter), d.str(tagWindowWidth)
	if cs == "" || ws == "" {
		return 0, 0, false
	}
	c, err1 := strconv.ParseFloat(cs, 64)
	w, err2 := strconv.ParseFloat(ws, 64)
	if err1 != nil || err2 != nil || math.IsNaN(c) || math.IsInf(c, 0) || !(w > 0) || math.IsInf(w, 0) {
		return 0, 0, false
	}
	return c, w, true
}

// int returns an integer element, binary (US, SS, UL, SL) or text (IS, DS),
// or def when absent or unreadable.
func (d *dataSet) int(t Tag, def int) int {
	el, ok := d.els[t]
	if !ok {
		return def
	}
	switch {
	case (el.vr == "US" || el.vr == "UN" || el.vr == "OW") && len(el.value) >= 2:
		return int(binary.LittleEndian.Uint16(el.value))
	case el.vr == "SS" && len(el.value) >= 2:
		return int(int16(binary.LittleEndian.Uint16(el.value)))
	case el.vr == "UL" && len(el.value) >= 4:
		return int(binary.LittleEndian.Uint32(el.value))
	case el.vr == "SL" && len(el.value) >= 4:
		return int(int32(binary.LittleEndian.Uint32(el.value)))
	}
	f, err := strconv.ParseFloat(d.str(t), 64)
	if err != nil || math.IsNaN(f) || f > 1<<30 || f < -(1<<30) {
		return def
	}
	return int(f)
}

// float returns a decimal string element, or def.
func (d *dataSet) float(t Tag, def float64) float64 {
	s := d.str(t)
	if s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return def
	}
	return f
}
