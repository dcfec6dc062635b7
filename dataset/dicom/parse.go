package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of the reader. Every error it returns wraps one of them or
// ErrUnsupportedTransferSyntax.
var (
	// ErrNotDICOM marks data without the Part 10 preamble and "DICM" magic.
	ErrNotDICOM = errors.New("not a DICOM Part 10 file")
	// ErrMalformed marks truncated or inconsistent data; the error names the
	// byte offset.
	ErrMalformed = errors.New("malformed DICOM data")
	// ErrUnsupported marks a well-formed image this reader does not decode,
	// for example palette colour or 32-bit pixels.
	ErrUnsupported = errors.New("unsupported DICOM image")
	// ErrNoPixelData marks a file without a Pixel Data element.
	ErrNoPixelData = errors.New("DICOM file has no pixel data")
)

// Tag is a DICOM data element tag, group in the high 16 bits.
type Tag uint32

// The tags this reader looks at.
const (
	tagTransferSyntax Tag = 0x00020010
	tagModality       Tag = 0x00080060
	tagPatientID      Tag = 0x00100020
	tagPatientSex     Tag = 0x00100040
	tagPatientAge     Tag = 0x00101010
	tagViewPosition   Tag = 0x00185101
	tagSamples        Tag = 0x00280002
	tagPhotometric    Tag = 0x00280004
	tagPlanarConfig   Tag = 0x00280006
	tagFrames         Tag = 0x00280008
	tagRows           Tag = 0x00280010
	tagColumns        Tag = 0x00280011
	tagBitsAllocated  Tag = 0x00280100
	tagBitsStored     Tag = 0x00280101
	tagHighBit        Tag = 0x00280102
	tagPixelRep       Tag = 0x00280103
	tagWindowCenter   Tag = 0x00281050
	tagWindowWidth    Tag = 0x00281051
	tagRescaleInter   Tag = 0x00281052
	tagRescaleSlope   Tag = 0x00281053
	tagVOIFunction    Tag = 0x00281056
	tagPixelData      Tag = 0x7FE00010
	tagItem           Tag = 0xFFFEE000
	tagItemDelim      Tag = 0xFFFEE00D
	tagSeqDelim       Tag = 0xFFFEE0DD
)

// implicitVR gives the VR of the tags this reader interprets, for implicit VR
// data sets; any other tag is skipped by its length.
var implicitVR = map[Tag]string{
	tagModality: "CS", tagPatientID: "LO", tagPatientSex: "CS", tagPatientAge: "AS",
	tagViewPosition: "CS", tagSamples: "US", tagPhotometric: "CS", tagPlanarConfig: "US",
	tagFrames: "IS", tagRows: "US", tagColumns: "US", tagBitsAllocated: "US",
	tagBitsStored: "US", tagHighBit: "US", tagPixelRep: "US", tagWindowCenter: "DS",
	tagWindowWidth: "DS", tagRescaleInter: "DS", tagRescaleSlope: "DS",
	tagVOIFunction: "CS", tagPixelData: "OW",
}

// String formats the tag as (gggg,eeee).
func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", uint32(t)>>16, uint32(t)&0xFFFF) }

// element is one parsed data element; value aliases the file's bytes.
type element struct {
	tag   Tag
	vr    string
	value []byte
}

const undefinedLength = 0xFFFFFFFF

// maxDepth bounds sequence nesting, so hostile input cannot recurse deeply.
const maxDepth = 32

// parser walks little-endian data elements.
type parser struct {
	data []byte
	off  int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s: %w", p.off, fmt.Sprintf(format, args...), ErrMalformed)
}

func (p *parser) need(n int) error {
	if n < 0 || len(p.data)-p.off < n {
		return p.errorf("need %d bytes, %d left", n, len(p.data)-p.off)
	}
	return nil
}

func (p *parser) u16() uint16 {
	v := binary.LittleEndian.Uint16(p.data[p.off:])
	p.off += 2
	return v
}

func (p *parser) u32() uint32 {
	v := binary.LittleEndian.Uint32(p.data[p.off:])
	p.off += 4
	return v
}

func (p *parser) peekGroup() (uint16, bool) {
	if len(p.data)-p.off < 2 {
		return 0, false
	}
	return binary.LittleEndian.Uint16(p.data[p.off:]), true
}

// longVR lists the explicit VRs with a 2-byte reserved field and 4-byte length.
func longVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// header reads a tag, VR and length.
func (p *parser) header(explicit bool) (Tag, string, uint32, error) {
	if err := p.need(8); err != nil {
		return 0, "", 0, err
	}
	g, e := p.u16(), p.u16()
	tag := Tag(uint32(g)<<16 | uint32(e))
	if g == 0xFFFE {
		return tag, "", p.u32(), nil
	}
	if !explicit {
		vr, ok := implicitVR[tag]
		if !ok {
			vr = "UN"
		}
		return tag, vr, p.u32(), nil
	}
	vr := string(p.data[p.off : p.off+2])
	if vr[0] < 'A' || vr[0] > 'Z' || vr[1] < 'A' || vr[1] > 'Z' {
		return 0, "", 0, p.errorf("tag %s has invalid VR %q", tag, vr)
	}
	p.off += 2
	if !longVR(vr) {
		return tag, vr, uint32(p.u16()), nil
	}
	p.off += 2
	if err := p.need(4); err != nil {
		return 0, "", 0, err
	}
	return tag, vr, p.u32(), nil
}

// element reads one data element, skipping the contents of sequences.
func (p *parser) element(explicit bool, depth int) (element, error) {
	start := p.off
	tag, vr, n, err := p.header(explicit)
	if err != nil {
		return element{}, err
	}
	if n == undefinedLength {
		if tag == tagPixelData {
			p.off = start
			return element{}, p.errorf("encapsulated (compressed) pixel data in an uncompressed transfer syntax")
		}
		// An undefined length is legal only for sequences; UN with an
		// undefined length holds implicit VR little endian items.
		nested := explicit && vr == "SQ"
		if err := p.skipSequence(nested, depth+1); err != nil {
			return element{}, err
		}
		return element{tag: tag, vr: vr}, nil
	}
	if err := p.need(int(n)); err != nil {
		return element{}, fmt.Errorf("tag %s length %d: %w", tag, n, err)
	}
	el := element{tag: tag, vr: vr, value: p.data[p.off : p.off+int(n)]}
	p.off += int(n)
	return el, nil
}

// skipSequence skips items until the sequence delimiter.
func (p *parser) skipSequence(explicit bool, depth int) error {
	if depth > maxDepth {
		return p.errorf("sequences nested deeper than %d", maxDepth)
	}
	for {
		tag, _, n, err := p.header(false)
		if err != nil {
			return err
		}
		switch {
		case tag == tagSeqDelim:
			return nil
		case tag != tagItem:
			return p.errorf("tag %s inside a sequence, want an item", tag)
		case n != undefinedLength:
			if err := p.need(int(n)); err != nil {
				return err
			}
			p.off += int(n)
		default:
			if err := p.skipItem(explicit, depth); err != nil {
				return err
			}
		}
	}
}

// skipItem skips the elements of an undefined-length item.
func (p *parser) skipItem(explicit bool, depth int) error {
	for {
		if g, ok := p.peekGroup(); ok && g == 0xFFFE {
			tag, _, _, err := p.header(false)
			if err != nil {
				return err
			}
			if tag == tagItemDelim {
				return nil
			}
			return p.errorf("tag %s inside an item", tag)
		}
		if _, err := p.element(explicit, depth); err != nil {
			return err
		}
	}
}

// dataSet holds the interpreted elements of a file.
type dataSet struct {
	syntax string
	els    map[Tag]element
}

// parse reads the meta information and the data set up to Pixel Data.
func parse(data []byte) (*dataSet, error) {
	if len(data) < 132 || string(data[128:132]) != "DICM" {
		return nil, ErrNotDICOM
	}
	p := &parser{data: data, off: 132}
	ds := &dataSet{els: make(map[Tag]element)}
	for {
		g, ok := p.peekGroup()
		if !ok || g != 0x0002 {
			break
		}
		el, err := p.element(true, 0)
		if err != nil {
			return nil, fmt.Errorf("file meta information: %w", err)
		}
		if el.tag == tagTransferSyntax {
			ds.syntax = trimValue(el.value)
		}
	}
	if ds.syntax == "" {
		return nil, fmt.Errorf("file meta information has no Transfer Syntax UID (0002,0010): %w", ErrMalformed)
	}
	explicit, err := checkTransferSyntax(ds.syntax)
	if err != nil {
		return nil, err
	}
	for p.off < len(p.data) {
		el, err := p.element(explicit, 0)
		if err != nil {
			return nil, err
		}
		if el.tag>>16 == 0xFFFE {
			return nil, p.errorf("item tag %s at the top level", el.tag)
		}
		if _, want := implicitVR[el.tag]; want {
			ds.els[el.tag] = el
		}
		if el.tag == tagPixelData {
			break
		}
	}
	return ds, nil
}

// trimValue returns a string value without padding spaces or NULs.
func trimValue(b []byte) string { return strings.Trim(string(b), " \x00") }

// str returns the first value of a string element, or "".
func (d *dataSet) str(t Tag) string {
	el, ok := d.els[t]
	if !ok {
		return ""
	}
	v := trimValue(el.value)
	if i := strings.IndexByte(v, '\\'); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v
}
