package dicom

import (
	"errors"
	"fmt"
)

// Transfer syntax UIDs this package reads.
const (
	// ImplicitVRLittleEndian is the DICOM default transfer syntax.
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	// ExplicitVRLittleEndian is the commonest uncompressed transfer syntax.
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
)

// ErrUnsupportedTransferSyntax marks a file whose transfer syntax this reader
// refuses; the error is a *TransferSyntaxError naming it.
var ErrUnsupportedTransferSyntax = errors.New("unsupported DICOM transfer syntax")

// TransferSyntaxError reports a refused transfer syntax by UID and name.
type TransferSyntaxError struct {
	// UID is the Transfer Syntax UID found in the file meta information.
	UID string
	// Name is the syntax's registered name, or "unknown transfer syntax".
	Name string
}

// Error names the syntax and says why it is refused.
func (e *TransferSyntaxError) Error() string {
	return fmt.Sprintf("transfer syntax %s (%s) is not supported: only %s (Implicit VR Little Endian) and %s (Explicit VR Little Endian) are read; convert the file first, for example with dcmtk's dcmdjpeg or gdcmconv --raw",
		e.UID, e.Name, ImplicitVRLittleEndian, ExplicitVRLittleEndian)
}

// Unwrap returns ErrUnsupportedTransferSyntax.
func (e *TransferSyntaxError) Unwrap() error { return ErrUnsupportedTransferSyntax }

// transferSyntaxNames maps the registered transfer syntax UIDs (PS3.6 Annex A)
// to their names, for error messages.
var transferSyntaxNames = map[string]string{
	ImplicitVRLittleEndian:      "Implicit VR Little Endian",
	ExplicitVRLittleEndian:      "Explicit VR Little Endian",
	"1.2.840.10008.1.2.1.98":    "Encapsulated Uncompressed Explicit VR Little Endian",
	"1.2.840.10008.1.2.1.99":    "Deflated Explicit VR Little Endian",
	"1.2.840.10008.1.2.2":       "Explicit VR Big Endian (retired)",
	"1.2.840.10008.1.2.4.50":    "JPEG Baseline (Process 1)",
	"1.2.840.10008.1.2.4.51":    "JPEG Extended (Process 2 & 4)",
	"1.2.840.10008.1.2.4.57":    "JPEG Lossless, Non-Hierarchical (Process 14)",
	"1.2.840.10008.1.2.4.70":    "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, Selection Value 1)",
	"1.2.840.10008.1.2.4.80":    "JPEG-LS Lossless Image Compression",
	"1.2.840.10008.1.2.4.81":    "JPEG-LS Lossy (Near-Lossless) Image Compression",
	"1.2.840.10008.1.2.4.90":    "JPEG 2000 Image Compression (Lossless Only)",
	"1.2.840.10008.1.2.4.91":    "JPEG 2000 Image Compression",
	"1.2.840.10008.1.2.4.92":    "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)",
	"1.2.840.10008.1.2.4.93":    "JPEG 2000 Part 2 Multi-component Image Compression",
	"1.2.840.10008.1.2.4.94":    "JPIP Referenced",
	"1.2.840.10008.1.2.4.95":    "JPIP Referenced Deflate",
	"1.2.840.10008.1.2.4.100":   "MPEG2 Main Profile / Main Level",
	"1.2.840.10008.1.2.4.101":   "MPEG2 Main Profile / High Level",
	"1.2.840.10008.1.2.4.102":   "MPEG-4 AVC/H.264 High Profile / Level 4.1",
	"1.2.840.10008.1.2.4.103":   "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
	"1.2.840.10008.1.2.4.104":   "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
	"1.2.840.10008.1.2.4.105":   "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
	"1.2.840.10008.1.2.4.106":   "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
	"1.2.840.10008.1.2.4.107":   "HEVC/H.265 Main Profile / Level 5.1",
	"1.2.840.10008.1.2.4.108":   "HEVC/H.265 Main 10 Profile / Level 5.1",
	"1.2.840.10008.1.2.4.110":   "JPEG XL Lossless",
	"1.2.840.10008.1.2.4.111":   "JPEG XL JPEG Recompression",
	"1.2.840.10008.1.2.4.112":   "JPEG XL",
	"1.2.840.10008.1.2.4.201":   "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
	"1.2.840.10008.1.2.4.202":   "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
	"1.2.840.10008.1.2.4.203":   "High-Throughput JPEG 2000 Image Compression",
	"1.2.840.10008.1.2.4.204":   "JPIP HTJ2K Referenced",
	"1.2.840.10008.1.2.4.205":   "JPIP HTJ2K Referenced Deflate",
	"1.2.840.10008.1.2.5":       "RLE Lossless",
	"1.2.840.10008.1.2.6.1":     "RFC 2557 MIME encapsulation (retired)",
	"1.2.840.10008.1.2.6.2":     "XML Encoding (retired)",
	"1.2.840.10008.1.2.7.1":     "SMPTE ST 2110-20 Uncompressed Progressive Active Video",
	"1.2.840.10008.1.2.7.2":     "SMPTE ST 2110-20 Uncompressed Interlaced Active Video",
	"1.2.840.10008.1.2.7.3":     "SMPTE ST 2110-30 PCM Digital Audio",
	"1.2.840.10008.1.20":        "Papyrus 3 Implicit VR Little Endian (retired)",
	"1.2.840.10008.1.2.4.52":    "JPEG Extended (Process 3 & 5) (retired)",
	"1.2.840.10008.1.2.4.53":    "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (retired)",
	"1.2.840.10008.1.2.4.55":    "JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (retired)",
	"1.2.840.10008.1.2.4.58":    "JPEG Lossless, Non-Hierarchical (Process 15) (retired)",
	"1.2.840.10008.1.2.4.59":    "JPEG Extended, Hierarchical (Process 16 & 18) (retired)",
	"1.2.840.10008.1.2.4.60":    "JPEG Extended, Hierarchical (Process 17 & 19) (retired)",
	"1.2.840.10008.1.2.4.61":    "JPEG Spectral Selection, Hierarchical (Process 20 & 22) (retired)",
	"1.2.840.10008.1.2.4.62":    "JPEG Spectral Selection, Hierarchical (Process 21 & 23) (retired)",
	"1.2.840.10008.1.2.4.63":    "JPEG Full Progression, Hierarchical (Process 24 & 26) (retired)",
	"1.2.840.10008.1.2.4.64":    "JPEG Full Progression, Hierarchical (Process 25 & 27) (retired)",
	"1.2.840.10008.1.2.4.65":    "JPEG Lossless, Hierarchical (Process 28) (retired)",
	"1.2.840.10008.1.2.4.66":    "JPEG Lossless, Hierarchical (Process 29) (retired)",
	"1.2.840.10008.1.2.4.54":    "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (retired)",
	"1.2.840.10008.1.2.4.56":    "JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (retired)",
	"1.2.840.10008.1.2.1.99.1":  "Deflated Image Frame Compression",
	"1.2.840.10008.1.2.4.100.1": "Fragmentable MPEG2 Main Profile / Main Level",
	"1.2.840.10008.1.2.4.101.1": "Fragmentable MPEG2 Main Profile / High Level",
	"1.2.840.10008.1.2.4.102.1": "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1",
	"1.2.840.10008.1.2.4.103.1": "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
	"1.2.840.10008.1.2.4.104.1": "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
	"1.2.840.10008.1.2.4.105.1": "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
	"1.2.840.10008.1.2.4.106.1": "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
}

// TransferSyntaxName returns the registered name of uid, or "unknown transfer
// syntax".
func TransferSyntaxName(uid string) string {
	if n, ok := transferSyntaxNames[uid]; ok {
		return n
	}
	return "unknown transfer syntax"
}

// checkTransferSyntax returns whether the syntax is explicit VR, or a
// *TransferSyntaxError when it is refused.
func checkTransferSyntax(uid string) (explicit bool, err error) {
	switch uid {
	case ExplicitVRLittleEndian:
		return true, nil
	case ImplicitVRLittleEndian:
		return false, nil
	}
	return false, &TransferSyntaxError{UID: uid, Name: TransferSyntaxName(uid)}
}
