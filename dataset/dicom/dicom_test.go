package dicom_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synthfed/synthfed/dataset/dicom"
	"github.com/synthfed/synthfed/dataset/dicom/dicomtest"
)

// ramp returns n stored values cycling through [lo, hi].
func ramp(n, lo, hi int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = lo + (i*7919)%(hi-lo+1)
	}
	return v
}

// reference computes the expected display value of one stored value the
// slow way, straight from PS3.3 C.11: rescale, then the LINEAR window.
func reference(stored int, slope, intercept float64, window bool, c, w float64, mono1 bool) float64 {
	x := float64(stored)*slope + intercept
	if !window {
		return x
	}
	var y float64
	switch {
	case x <= c-0.5-(w-1)/2:
		y = 0
	case x > c-0.5+(w-1)/2:
		y = 1
	default:
		y = (x-(c-0.5))/(w-1) + 0.5
	}
	if mono1 {
		y = 1 - y
	}
	return y
}

func TestDecodeSyntaxesAndTransforms(t *testing.T) {
	tests := []struct {
		name   string
		file   dicomtest.File
		slope  float64
		inter  float64
		window bool
		c, w   float64
	}{
		{name: "explicit 16-bit", file: dicomtest.File{TransferSyntax: dicomtest.ExplicitLE}, slope: 1},
		{name: "implicit 16-bit", file: dicomtest.File{TransferSyntax: dicomtest.ImplicitLE}, slope: 1},
		{name: "explicit 8-bit", file: dicomtest.File{BitsAllocated: 8}, slope: 1},
		{name: "implicit 8-bit", file: dicomtest.File{TransferSyntax: dicomtest.ImplicitLE, BitsAllocated: 8}, slope: 1},
		{name: "12 of 16 bits with garbage above", file: dicomtest.File{BitsStored: 12, HighGarbage: true}, slope: 1},
		{name: "12 bits shifted high", file: dicomtest.File{BitsStored: 12, HighBit: 13}, slope: 1},
		{name: "rescale", file: dicomtest.File{BitsStored: 12, RescaleSlope: "0.5", RescaleIntercept: "-1024"}, slope: 0.5, inter: -1024},
		{name: "window", file: dicomtest.File{BitsStored: 12, WindowCenter: "2000", WindowWidth: "1500"}, slope: 1, window: true, c: 2000, w: 1500},
		{name: "multi-valued window", file: dicomtest.File{BitsStored: 12, WindowCenter: "2000\\40", WindowWidth: "1500\\400"}, slope: 1, window: true, c: 2000, w: 1500},
		{name: "rescale then window implicit", file: dicomtest.File{TransferSyntax: dicomtest.ImplicitLE, BitsStored: 12, RescaleSlope: "2", RescaleIntercept: "-100", WindowCenter: "3000", WindowWidth: "4000"}, slope: 2, inter: -100, window: true, c: 3000, w: 4000},
		{name: "monochrome1 windowed", file: dicomtest.File{BitsStored: 12, Photometric: "MONOCHROME1", WindowCenter: "2048", WindowWidth: "4096"}, slope: 1, window: true, c: 2048, w: 4096},
		{name: "sequences explicit", file: dicomtest.File{Sequences: true}, slope: 1},
		{name: "sequences implicit", file: dicomtest.File{TransferSyntax: dicomtest.ImplicitLE, Sequences: true}, slope: 1},
		{name: "odd size 8-bit", file: dicomtest.File{BitsAllocated: 8, Rows: 3, Columns: 5}, slope: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.file
			if f.Rows == 0 {
				f.Rows, f.Columns = 6, 9
			}
			bits := f.BitsStored
			if bits == 0 {
				bits = f.BitsAllocated
			}
			if bits == 0 {
				bits = 16
			}
			f.Pixels = ramp(f.Rows*f.Columns, 0, 1<<bits-1)
			img, err := dicom.Decode(f.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if img.Width != f.Columns || img.Height != f.Rows {
				t.Fatalf("size %dx%d, want %dx%d", img.Width, img.Height, f.Columns, f.Rows)
			}
			mono1 := f.Photometric == "MONOCHROME1"
			for i, p := range f.Pixels {
				want := reference(p, tc.slope, tc.inter, tc.window, tc.c, tc.w, mono1)
				if math.Abs(float64(img.Pix[i])-want) > 1e-4*math.Max(1, math.Abs(want)) {
					t.Fatalf("pixel %d (stored %d) = %g, want %g", i, p, img.Pix[i], want)
				}
			}
			if img.Info.TransferSyntax != f.TransferSyntax && f.TransferSyntax != "" {
				t.Fatalf("syntax %q", img.Info.TransferSyntax)
			}
		})
	}
}

func TestSignedPixels(t *testing.T) {
	f := dicomtest.File{Rows: 1, Columns: 4, BitsStored: 12, Signed: true, HighGarbage: true, Pixels: []int{-2048, -1, 0, 2047}}
	img, err := dicom.Decode(f.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-2048, -1, 0, 2047}
	for i := range want {
		if img.Pix[i] != want[i] {
			t.Fatalf("pixel %d = %g, want %g", i, img.Pix[i], want[i])
		}
	}
}

func TestMonochrome1WithoutWindowInverts(t *testing.T) {
	f := dicomtest.File{Rows: 1, Columns: 3, Photometric: "MONOCHROME1", Pixels: []int{100, 300, 1000}}
	img, err := dicom.Decode(f.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1000, 800, 100}
	for i := range want {
		if img.Pix[i] != want[i] {
			t.Fatalf("pixel %d = %g, want %g (inverted)", i, img.Pix[i], want[i])
		}
	}
}

func TestVOIFunctions(t *testing.T) {
	tests := []struct {
		fn   string
		x    int
		want float64
	}{
		{"LINEAR_EXACT", 100, 0.5},
		{"LINEAR_EXACT", 50, 0},
		{"LINEAR_EXACT", 151, 1},
		{"LINEAR_EXACT", 125, 0.75},
		{"SIGMOID", 100, 0.5},
		{"SIGMOID", 150, 1 / (1 + math.Exp(-2))},
	}
	for _, tc := range tests {
		f := dicomtest.File{Rows: 1, Columns: 1, Pixels: []int{tc.x}, WindowCenter: "100", WindowWidth: "100", VOIFunction: tc.fn}
		img, err := dicom.Decode(f.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(img.Pix[0])-tc.want) > 1e-6 {
			t.Errorf("%s(%d) = %g, want %g", tc.fn, tc.x, img.Pix[0], tc.want)
		}
	}
}

func TestColour(t *testing.T) {
	rgb := []int{10, 20, 30, 200, 100, 0}
	for planar := 0; planar <= 1; planar++ {
		px := rgb
		if planar == 1 {
			px = []int{10, 200, 20, 100, 30, 0}
		}
		f := dicomtest.File{Rows: 1, Columns: 2, Samples: 3, Planar: planar, BitsAllocated: 8, Photometric: "RGB", Pixels: px}
		img, err := dicom.Decode(f.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		want := []float64{0.299*10 + 0.587*20 + 0.114*30, 0.299*200 + 0.587*100}
		for i := range want {
			if math.Abs(float64(img.Pix[i])-want[i]) > 1e-3 {
				t.Fatalf("planar %d pixel %d = %g, want %g", planar, i, img.Pix[i], want[i])
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	good := dicomtest.File{Rows: 2, Columns: 2, Pixels: []int{1, 2, 3, 4}}
	tests := []struct {
		name    string
		data    func() []byte
		want    error
		mention []string
	}{
		{name: "big endian", data: func() []byte { f := good; f.TransferSyntax = dicomtest.ExplicitBE; return f.Bytes() },
			want: dicom.ErrUnsupportedTransferSyntax, mention: []string{"1.2.840.10008.1.2.2", "Explicit VR Big Endian"}},
		{name: "jpeg baseline", data: func() []byte { f := good; f.TransferSyntax = dicomtest.JPEGBaseline; return f.Bytes() },
			want: dicom.ErrUnsupportedTransferSyntax, mention: []string{"1.2.840.10008.1.2.4.50", "JPEG Baseline"}},
		{name: "jpeg 2000", data: func() []byte { f := good; f.TransferSyntax = dicomtest.JPEG2000; return f.Bytes() },
			want: dicom.ErrUnsupportedTransferSyntax, mention: []string{"JPEG 2000"}},
		{name: "rle", data: func() []byte { f := good; f.TransferSyntax = dicomtest.RLELossless; return f.Bytes() },
			want: dicom.ErrUnsupportedTransferSyntax, mention: []string{"RLE Lossless"}},
		{name: "deflated", data: func() []byte { f := good; f.TransferSyntax = dicomtest.Deflated; return f.Bytes() },
			want: dicom.ErrUnsupportedTransferSyntax, mention: []string{"Deflated"}},
		{name: "unknown syntax", data: func() []byte { f := good; f.TransferSyntax = "1.2.3.4.5"; return f.Bytes() },
			want: dicom.ErrUnsupportedTransferSyntax, mention: []string{"1.2.3.4.5", "unknown transfer syntax"}},
		{name: "no magic", data: func() []byte { f := good; f.NoMagic = true; return f.Bytes() }, want: dicom.ErrNotDICOM},
		{name: "short", data: func() []byte { return []byte("DICM") }, want: dicom.ErrNotDICOM},
		{name: "no pixel data", data: func() []byte { f := good; f.OmitPixelData = true; return f.Bytes() }, want: dicom.ErrNoPixelData},
		{name: "truncated pixels", data: func() []byte { b := good.Bytes(); return b[:len(b)-4] }, want: dicom.ErrMalformed},
		{name: "palette", data: func() []byte { f := good; f.Photometric = "PALETTE COLOR"; return f.Bytes() }, want: dicom.ErrUnsupported},
		{name: "stored above allocated", data: func() []byte { f := good; f.BitsAllocated = 8; f.BitsStored = 12; f.HighBit = 11; return f.Bytes() }, want: dicom.ErrMalformed},
		{name: "too few pixels", data: func() []byte { f := good; f.Rows = 4; return f.Bytes() }, want: dicom.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dicom.Decode(tc.data())
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Fatalf("error %q does not mention %q", err, m)
				}
			}
			if tc.want == dicom.ErrUnsupportedTransferSyntax {
				var te *dicom.TransferSyntaxError
				if !errors.As(err, &te) || te.UID == "" {
					t.Fatalf("error %v is not a *TransferSyntaxError", err)
				}
			}
		})
	}
}

// pydicomFile returns a path among Debian python3-pydicom's test files, or
// skips the test when the package is not installed.
func pydicomFile(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{"/usr/lib/python3/dist-packages/pydicom/data/test_files"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s not found (install python3-pydicom)", name)
	return ""
}

// TestPydicomCrossCheck compares with values printed by pydicom 2.3.1:
// pixel_array, apply_voi_lut (rescaled to [0, 1]) and apply_modality_lut.
func TestPydicomCrossCheck(t *testing.T) {
	tests := []struct {
		file       string
		sum        float64
		first      []float64
		lo, hi     float64
		refusedUID string
	}{
		// apply_voi_lut(a, ds) scaled by (v+32768)/65535: window 600/1600.
		{file: "MR_small.dcm", sum: 1816.075672, first: []float64{0.69105691, 0.76235147, 0.89243277, 0.91244528}, lo: 0.20450281425891179, hi: 1},
		{file: "MR_small_implicit.dcm", sum: 1816.075672, first: []float64{0.69105691, 0.76235147, 0.89243277, 0.91244528}, lo: 0.20450281425891179, hi: 1},
		// apply_modality_lut: slope 1, intercept -1024, no window.
		{file: "CT_small.dcm", sum: -1950906, first: []float64{-849, -844, -858, -881}, lo: -896, hi: 1167},
		{file: "SC_rgb_small_odd.dcm", sum: 3 * (138.329 + 89.97 + 158), first: []float64{138.329, 138.329, 138.329, 89.97}, lo: 89.97, hi: 158},
		{file: "MR_small_bigendian.dcm", refusedUID: "1.2.840.10008.1.2.2"},
		{file: "MR_small_RLE.dcm", refusedUID: "1.2.840.10008.1.2.5"},
		{file: "JPEG2000.dcm", refusedUID: "1.2.840.10008.1.2.4.91"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			img, err := dicom.ReadFile(pydicomFile(t, tc.file))
			if tc.refusedUID != "" {
				var te *dicom.TransferSyntaxError
				if !errors.As(err, &te) || te.UID != tc.refusedUID {
					t.Fatalf("err = %v, want refusal of %s", err, tc.refusedUID)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range img.Pix {
				sum += float64(v)
				lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
			}
			tol := 1e-3 * math.Max(1, math.Abs(tc.sum))
			if math.Abs(sum-tc.sum) > tol || math.Abs(lo-tc.lo) > 1e-3 || math.Abs(hi-tc.hi) > 1e-3 {
				t.Fatalf("sum %g [%g, %g], want %g [%g, %g]", sum, lo, hi, tc.sum, tc.lo, tc.hi)
			}
			for i, w := range tc.first {
				if math.Abs(float64(img.Pix[i])-w) > 1e-3 {
					t.Fatalf("pixel %d = %g, want %g", i, img.Pix[i], w)
				}
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	seeds := []dicomtest.File{
		{Rows: 2, Columns: 3, Pixels: ramp(6, 0, 4095), BitsStored: 12, WindowCenter: "100", WindowWidth: "50"},
		{TransferSyntax: dicomtest.ImplicitLE, Rows: 2, Columns: 2, Pixels: ramp(4, 0, 255), BitsAllocated: 8, Sequences: true},
		{Rows: 1, Columns: 2, Samples: 3, BitsAllocated: 8, Photometric: "RGB", Pixels: ramp(6, 0, 255)},
		{Rows: 2, Columns: 2, Photometric: "MONOCHROME1", Pixels: ramp(4, 0, 9), Sequences: true},
	}
	for _, s := range seeds {
		f.Add(s.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := dicom.Decode(data)
		if err != nil {
			return
		}
		if len(img.Pix) != img.Width*img.Height {
			t.Fatalf("%d pixels for %dx%d", len(img.Pix), img.Width, img.Height)
		}
	})
}
