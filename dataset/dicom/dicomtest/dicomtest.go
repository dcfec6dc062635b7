// Package dicomtest writes small DICOM Part 10 files for tests: every
// transfer syntax header, explicit or implicit VR little endian data sets,
// nested sequences of defined and undefined length, and the pixel module
// attributes the reader interprets. It is a test helper, not a general
// DICOM writer.
package dicomtest

import (
	"bytes"
	"encoding/binary"
	"sort"
)

// Transfer syntax UIDs commonly used by tests.
const (
	ImplicitLE   = "1.2.840.10008.1.2"
	ExplicitLE   = "1.2.840.10008.1.2.1"
	ExplicitBE   = "1.2.840.10008.1.2.2"
	Deflated     = "1.2.840.10008.1.2.1.99"
	JPEGBaseline = "1.2.840.10008.1.2.4.50"
	JPEG2000     = "1.2.840.10008.1.2.4.90"
	RLELossless  = "1.2.840.10008.1.2.5"
)

// File describes one single-frame image. Zero values select defaults:
// Explicit VR Little Endian, MONOCHROME2, one sample, 16 bits allocated and
// stored. String attributes are written only when non-empty.
type File struct {
	TransferSyntax   string
	Rows, Columns    int
	Samples          int
	Planar           int
	BitsAllocated    int
	BitsStored       int
	HighBit          int
	Signed           bool
	Photometric      string
	Pixels           []int // stored values, Rows*Columns*Samples of them
	HighGarbage      bool  // set the unused bits above High Bit to 1
	Frames           string
	RescaleSlope     string
	RescaleIntercept string
	WindowCenter     string
	WindowWidth      string
	VOIFunction      string
	PatientID        string
	PatientSex       string
	PatientAge       string
	ViewPosition     string
	Sequences        bool // add nested sequences of defined and undefined length
	OmitPixelData    bool
	NoMagic          bool
}

type elem struct {
	tag   uint32
	vr    string
	value []byte
	raw   []byte // pre-encoded value (sequence body), written with undefined length when undef is set
	undef bool
}

// Bytes encodes the file.
func (f File) Bytes() []byte {
	f.defaults()
	var out bytes.Buffer
	out.Write(make([]byte, 128))
	if f.NoMagic {
		out.WriteString("NOPE")
	} else {
		out.WriteString("DICM")
	}
	out.Write(metaGroup(f.TransferSyntax))
	explicit := f.TransferSyntax != ImplicitLE
	els := f.elements(explicit)
	sort.Slice(els, func(i, j int) bool { return els[i].tag < els[j].tag })
	for _, e := range els {
		writeElem(&out, e, explicit)
	}
	return out.Bytes()
}

func (f *File) defaults() {
	if f.TransferSyntax == "" {
		f.TransferSyntax = ExplicitLE
	}
	if f.Samples == 0 {
		f.Samples = 1
	}
	if f.BitsAllocated == 0 {
		f.BitsAllocated = 16
	}
	if f.BitsStored == 0 {
		f.BitsStored = f.BitsAllocated
	}
	if f.HighBit == 0 {
		f.HighBit = f.BitsStored - 1
	}
	if f.Photometric == "" {
		f.Photometric = "MONOCHROME2"
	}
}

func metaGroup(ts string) []byte {
	var body bytes.Buffer
	for _, e := range []elem{
		{tag: 0x00020001, vr: "OB", value: []byte{0, 1}},
		{tag: 0x00020002, vr: "UI", value: uid("1.2.840.10008.5.1.4.1.1.1.1")},
		{tag: 0x00020003, vr: "UI", value: uid("1.2.826.0.1.3680043.8.498.1")},
		{tag: 0x00020010, vr: "UI", value: uid(ts)},
		{tag: 0x00020012, vr: "UI", value: uid("1.2.826.0.1.3680043.8.498.2")},
	} {
		writeElem(&body, e, true)
	}
	var out bytes.Buffer
	writeElem(&out, elem{tag: 0x00020000, vr: "UL", value: u32(uint32(body.Len()))}, true)
	out.Write(body.Bytes())
	return out.Bytes()
}

func (f File) elements(explicit bool) []elem {
	var els []elem
	str := func(tag uint32, vr, v string) {
		if v != "" {
			els = append(els, elem{tag: tag, vr: vr, value: text(v)})
		}
	}
	us := func(tag uint32, v int) { els = append(els, elem{tag: tag, vr: "US", value: u16(uint16(v))}) }
	str(0x00080060, "CS", "DX")
	str(0x00100020, "LO", f.PatientID)
	str(0x00100040, "CS", f.PatientSex)
	str(0x00101010, "AS", f.PatientAge)
	str(0x00185101, "CS", f.ViewPosition)
	us(0x00280002, f.Samples)
	str(0x00280004, "CS", f.Photometric)
	if f.Samples == 3 {
		us(0x00280006, f.Planar)
	}
	str(0x00280008, "IS", f.Frames)
	us(0x00280010, f.Rows)
	us(0x00280011, f.Columns)
	us(0x00280100, f.BitsAllocated)
	us(0x00280101, f.BitsStored)
	us(0x00280102, f.HighBit)
	rep := 0
	if f.Signed {
		rep = 1
	}
	us(0x00280103, rep)
	str(0x00281050, "DS", f.WindowCenter)
	str(0x00281051, "DS", f.WindowWidth)
	str(0x00281052, "DS", f.RescaleIntercept)
	str(0x00281053, "DS", f.RescaleSlope)
	str(0x00281056, "CS", f.VOIFunction)
	if f.Sequences {
		els = append(els, sequences(explicit)...)
	}
	if !f.OmitPixelData {
		vr := "OW"
		if f.BitsAllocated == 8 {
			vr = "OB"
		}
		els = append(els, elem{tag: 0x7FE00010, vr: vr, value: f.pixelBytes()})
	}
	return els
}

// sequences returns a Referenced Image Sequence of undefined length holding
// an undefined-length item with a nested defined-length sequence, and a
// private defined-length sequence.
func sequences(explicit bool) []elem {
	var inner bytes.Buffer
	writeElem(&inner, elem{tag: 0x00081150, vr: "UI", value: uid("1.2.3")}, explicit)
	var nested bytes.Buffer
	writeElem(&nested, elem{tag: 0x00081155, vr: "UI", value: uid("1.2.3.4")}, explicit)
	nestedItem := item(nested.Bytes(), false)
	writeElem(&inner, elem{tag: 0x00082112, vr: "SQ", raw: nestedItem}, explicit)
	body := item(inner.Bytes(), true)
	body = append(body, tagBytes(0xFFFEE0DD, 0)...)
	var priv bytes.Buffer
	writeElem(&priv, elem{tag: 0x00091001, vr: "LO", value: text("private")}, explicit)
	return []elem{
		{tag: 0x00081140, vr: "SQ", raw: body, undef: true},
		{tag: 0x00091010, vr: "SQ", raw: item(priv.Bytes(), false)},
	}
}

// item wraps elements in an item of defined or undefined length.
func item(content []byte, undef bool) []byte {
	if !undef {
		return append(tagBytes(0xFFFEE000, uint32(len(content))), content...)
	}
	out := append(tagBytes(0xFFFEE000, 0xFFFFFFFF), content...)
	return append(out, tagBytes(0xFFFEE00D, 0)...)
}

func tagBytes(tag, length uint32) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint16(b, uint16(tag>>16))
	binary.LittleEndian.PutUint16(b[2:], uint16(tag))
	binary.LittleEndian.PutUint32(b[4:], length)
	return b
}

func (f File) pixelBytes() []byte {
	bytesPer := f.BitsAllocated / 8
	out := make([]byte, 0, len(f.Pixels)*bytesPer+1)
	garbage := uint32(0)
	if f.HighGarbage {
		garbage = ^uint32(0) << uint(f.HighBit+1)
	}
	shift := uint(f.HighBit + 1 - f.BitsStored)
	mask := uint32(1)<<uint(f.BitsStored) - 1
	for _, p := range f.Pixels {
		v := (uint32(p)&mask)<<shift | garbage
		if bytesPer == 1 {
			out = append(out, byte(v))
		} else {
			out = binary.LittleEndian.AppendUint16(out, uint16(v))
		}
	}
	if len(out)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

func writeElem(w *bytes.Buffer, e elem, explicit bool) {
	value := e.value
	if e.raw != nil {
		value = e.raw
	}
	length := uint32(len(value))
	if e.undef {
		length = 0xFFFFFFFF
	}
	w.Write(u16(uint16(e.tag >> 16)))
	w.Write(u16(uint16(e.tag)))
	if !explicit {
		w.Write(u32(length))
		w.Write(value)
		return
	}
	w.WriteString(e.vr)
	switch e.vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		w.Write([]byte{0, 0})
		w.Write(u32(length))
	default:
		w.Write(u16(uint16(length)))
	}
	w.Write(value)
}

func text(s string) []byte {
	if len(s)%2 == 1 {
		s += " "
	}
	return []byte(s)
}

func uid(s string) []byte {
	b := []byte(s)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func u16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
