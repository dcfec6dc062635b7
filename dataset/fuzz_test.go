package dataset

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// FuzzCSVRows feeds arbitrary bytes to the CheXpert and manifest row parsers:
// they must never panic, and every problem must name a line.
func FuzzCSVRows(f *testing.F) {
	for _, p := range []string{"testdata/chexpert/train.csv", "testdata/manifest/manifest.csv", "testdata/chexpert/chexpert_demo.csv"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Path,PID,Sex,Age,Frontal/Lateral,AP/PA\n\"a,b\",1,M,\"3\"x,Frontal,PA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, manifest := range []bool{false, true} {
			l := &loader{cfg: DefaultConfig(), rep: NewReport(100), seen: map[string]Pos{}}
			tb, err := newTable("fuzz.csv", bytes.NewReader(data))
			if err != nil {
				if _, ok := err.(*Problem); !ok {
					t.Fatalf("header error %v is not a *Problem", err)
				}
				continue
			}
			if manifest {
				err = l.manifestTable(context.Background(), tb)
			} else {
				err = l.chexpertCSV(context.Background(), tb, nil)
			}
			if err != nil {
				t.Fatalf("lenient load returned %v", err)
			}
			for _, p := range l.rep.Problems() {
				if p.Pos.File != "fuzz.csv" || (p.Pos.Line < 1 && !strings.Contains(string(p.Kind), "column")) {
					t.Fatalf("problem without a line: %v", &p)
				}
			}
		}
	})
}

// FuzzDecodeImage feeds arbitrary bytes to the image decode path (format
// sniffing, PNG, JPEG, DICOM, preprocessing).
func FuzzDecodeImage(f *testing.F) {
	f.Add(png8(5, 3))
	f.Add(png16(3, 5))
	f.Add(jpegGray(4, 4))
	f.Add(dicomFile(3, 2, "1.2.840.10008.1.2"))
	f.Add(rgbPNG(2, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := DecodeImage(data)
		if err != nil {
			return
		}
		if len(g.Pix) != g.Width*g.Height || g.Width <= 0 || g.Height <= 0 {
			t.Fatalf("%d pixels for %dx%d", len(g.Pix), g.Width, g.Height)
		}
		out, _ := Preprocess(g, 8)
		for _, v := range out {
			if !(v >= -1 && v <= 1) && v == v {
				t.Fatalf("value %g outside [-1, 1]", v)
			}
		}
	})
}
