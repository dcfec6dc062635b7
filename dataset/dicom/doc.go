// Package dicom reads the pixel data of DICOM Part 10 files, the project's own
// reader because no Go DICOM module is served here.
//
// Supported: files with the 128-byte preamble and "DICM" magic whose transfer
// syntax is Implicit VR Little Endian (1.2.840.10008.1.2) or Explicit VR
// Little Endian (1.2.840.10008.1.2.1); Bits Allocated 8 or 16 with any Bits
// Stored and High Bit; unsigned or two's-complement pixels; MONOCHROME1,
// MONOCHROME2, RGB and YBR_FULL photometric interpretations (colour is
// reduced to luminance); the Modality LUT as Rescale Slope and Intercept; the
// VOI LUT as Window Center and Width (LINEAR, LINEAR_EXACT or SIGMOID).
// Multi-frame files yield their first frame.
//
// Refused with a typed error: every other transfer syntax (compressed, deflated
// or big endian), which TransferSyntaxError names by UID and name; 1- and
// 32-bit pixels; palette colour; VOI LUT sequences are ignored in favour of
// the window.
//
// Decode returns display intensities, higher meaning brighter: MONOCHROME1 is
// inverted so that callers never need to know the photometric
// interpretation. The reader never panics on malformed input; it returns an
// error wrapping ErrMalformed and naming the byte offset.
package dicom
