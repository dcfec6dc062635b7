package dataset

import (
	"bytes"
	"compress/gzip"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/synthfed/synthfed/dataset/dicom/dicomtest"
)

// The committed fixtures under testdata/ are written by this generator:
// go test ./dataset -run TestFixtures -update
var update = flag.Bool("update", false, "rewrite the committed fixtures under testdata/")

// gradient returns a w x h test pattern in [0, 1].
func gradient(w, h int) []float64 {
	v := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v[y*w+x] = float64((x*3+y*5)%17) / 16
		}
	}
	return v
}

func png8(w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range gradient(w, h) {
		img.Pix[i] = uint8(v * 255)
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func png16(w, h int) []byte {
	img := image.NewGray16(image.Rect(0, 0, w, h))
	for i, v := range gradient(w, h) {
		img.SetGray16(i%w, i/w, color.Gray16{Y: uint16(v * 65535)})
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func jpegGray(w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range gradient(w, h) {
		img.Pix[i] = uint8(v * 255)
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
	return b.Bytes()
}

func dicomFile(w, h int, syntax string) []byte {
	px := make([]int, w*h)
	for i, v := range gradient(w, h) {
		px[i] = int(v * 4095)
	}
	return dicomtest.File{TransferSyntax: syntax, Rows: h, Columns: w, BitsStored: 12, Pixels: px,
		WindowCenter: "2048", WindowWidth: "4096", Photometric: "MONOCHROME1"}.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	z := gzip.NewWriter(&out)
	_, _ = z.Write(b)
	_ = z.Close()
	return out.Bytes()
}

// fixtureFiles lists every committed fixture and its content.
func fixtureFiles() map[string][]byte {
	f := map[string][]byte{}
	img := func(p string, b []byte) { f[p] = b }
	c := "chexpert/"
	img(c+"train/patient00001/study1/view1_frontal.png", png8(8, 6))
	img(c+"train/patient00001/study1/view2_lateral.jpg", jpegGray(6, 8))
	img(c+"train/patient00002/study1/view1_frontal.png", png16(8, 6))
	img(c+"train/patient00003/study1/view1_frontal.dcm", dicomFile(8, 6, dicomtest.ExplicitLE))
	img(c+"train/patient00004/study1/view1_frontal.jpg", jpegGray(8, 6))
	img(c+"train/patient00005/study2/view1_frontal.png", []byte("this is not an image"))
	img(c+"train/patient00006/study1/view1_frontal.dcm", dicomFile(8, 6, dicomtest.ImplicitLE))
	img(c+"train/patient00007/study1/view1_frontal.png", png8(6, 6))
	img(c+"train/patient00009/study1/view1_frontal.dcm", dicomFile(8, 6, dicomtest.JPEGBaseline))
	img(c+"valid/patient64541/study1/view1_frontal.jpg", jpegGray(8, 8))
	f[c+"train.csv"] = []byte(`Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices
CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.png,Female,68,Frontal,AP,,,1.0,1.0,,-1.0,,,0.0,,1.0,,,1.0
CheXpert-v1.0-small/train/patient00001/study1/view2_lateral.jpg,Female,68,Lateral,,,,1.0,1.0,,-1.0,,,0.0,,1.0,,,1.0
CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.png,Male,87,Frontal,PA,1.0,,,,,,,,,0.0,,,,
CheXpert-v1.0-small/train/patient00003/study1/view1_frontal.dcm,Male,41,Frontal,AP,,,,1.0,,,-1.0,-1.0,,,,,,1.0
CheXpert-v1.0-small/train/patient00004/study1/view1_frontal.jpg,Female,55,Frontal,PA,,,,,,,,,,1.0,0.0,,,
CheXpert-v1.0-small/train/patient00005/study1/view1_frontal.jpg,Male,33,Frontal,AP,1.0,,,,,,,,,,,,,
CheXpert-v1.0-small/train/patient00005/study2/view1_frontal.png,Male,33,Frontal,AP,1.0,,,,,,,,,,,,,
CheXpert-v1.0-small/train/patient00006/study1/view1_frontal.dcm,Female,200,Frontal,AP,,,,,,,,,,,,,,
CheXpert-v1.0-small/train/patient00006/study1/view1_frontal.dcm,Female,72,Frontal,AP,,,2.0,,,,,,,,,,,
CheXpert-v1.0-small/train/patient00006/study1/view1_frontal.dcm,X,72,Frontal,AP,,,,,,,,,,,,,,
CheXpert-v1.0-small/train/patient00006/study1/view1_frontal.dcm,Female,72,Frontal,AP,,,,,,,,,,,,,,1.0
CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.png,Female,68,Frontal,AP,,,1.0,,,,,,,,,,,
CheXpert-v1.0-small/train/patient00007/study1/view1_frontal.png,Male,50,Frontal,PA
CheXpert-v1.0-small/train/patient00007/study1/view1_frontal.png,Male,fifty,Frontal,PA,,,,,,,,,,,,,,
CheXpert-v1.0-small/train/patient00007/study1/view1_frontal.png,Male,50,Frontal,PA,1.0,,,,,,,,,,,,,
CheXpert-v1.0-small/train/patient00009/study1/view1_frontal.dcm,Female,61,Frontal,PA,,,,,,1.0,,,,,1.0,,,
`)
	f[c+"valid.csv"] = []byte(`Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices
CheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg,Male,73,Frontal,AP,0.0,1.0,1.0,1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,1.0
`)
	f[c+"chexpert_demo.csv"] = []byte(`PATIENT,GENDER,AGE_AT_CXR,PRIMARY_RACE,ETHNICITY
patient00001,Female,68,"White, non-Hispanic",Non-Hispanic/Non-Latino
patient00002,Male,87,Black or African American,Non-Hispanic/Non-Latino
patient00003,Male,41,Asian - Historical Conv,Unknown
patient00004,Female,55,Other,Hispanic/Latino
patient00005,Male,33,Martian,Unknown
patient00006,Female,72,White,Non-Hispanic/Non-Latino
patient00006,Female,72,Asian,Non-Hispanic/Non-Latino
patient00009,Female,61,Native Hawaiian or Other Pacific Islander,Unknown
patient64541,Male,73,American Indian or Alaska Native,Unknown
`)
	m := "mimic/"
	img(m+"files/p10/p10000032/s50414267/02aa804e.jpg", jpegGray(8, 6))
	img(m+"files/p10/p10000032/s50414267/174413ec.jpg", jpegGray(6, 8))
	img(m+"files/p10/p10000032/s53189527/2a2277a9.jpg", jpegGray(8, 6))
	img(m+"files/p10/p10000764/s57375967/096052b7.jpg", jpegGray(8, 6))
	img(m+"files/p10/p10000898/s50771383/3f3e4c2a.jpg", jpegGray(8, 6))
	img(m+"files/p11/p11000011/s51029426/5b2c6d7e.jpg", jpegGray(8, 6))
	f[m+"mimic-cxr-2.0.0-metadata.csv"] = []byte(`dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,StudyTime
02aa804e,10000032,50414267,CHEST (PA AND LAT),PA,3056,2544,21800506,213014.531
174413ec,10000032,50414267,CHEST (PA AND LAT),LATERAL,3056,2544,21800506,213014.531
2a2277a9,10000032,53189527,CHEST (PA AND LAT),AP,3056,2544,21820626,165500.312
096052b7,10000764,57375967,CHEST (PORTABLE AP),AP,2705,2539,21321015,4217.015
3f3e4c2a,10000898,50771383,CHEST (PA AND LAT),PA,3056,2544,21490917,1.0
5b2c6d7e,11000011,51029426,CHEST (PA AND LAT),PA,3056,2544,21600101,1.0
`)
	f[m+"mimic-cxr-2.0.0-chexpert.csv"] = []byte(`subject_id,study_id,Atelectasis,Cardiomegaly,Consolidation,Edema,Enlarged Cardiomediastinum,Fracture,Lung Lesion,Lung Opacity,No Finding,Pleural Effusion,Pleural Other,Pneumonia,Pneumothorax,Support Devices
10000032,50414267,,,,,,,,,1.0,,,,,
10000032,53189527,,,,,,,,,1.0,,,,,
10000764,57375967,,,-1.0,,,,,1.0,,,,-1.0,,
11000011,51029426,1.0,1.0,,1.0,,,,,,1.0,,,,1.0
`)
	f[m+"mimic-cxr-2.0.0-split.csv.gz"] = gz([]byte(`dicom_id,study_id,subject_id,split
02aa804e,50414267,10000032,train
174413ec,50414267,10000032,train
2a2277a9,53189527,10000032,train
096052b7,57375967,10000764,validate
3f3e4c2a,50771383,10000898,test
`))
	f[m+"hosp/patients.csv"] = []byte(`subject_id,gender,anchor_age,anchor_year,anchor_year_group,dod
10000032,F,52,2180,2014 - 2016,2180-09-09
10000764,M,86,2132,2014 - 2016,
10000898,F,38,2149,2014 - 2016,
`)
	f[m+"hosp/admissions.csv"] = []byte(`subject_id,hadm_id,admittime,race
10000032,22595853,2180-05-06 22:23:00,WHITE
10000032,22841357,2180-06-26 18:27:00,UNKNOWN
10000032,25742920,2180-08-05 23:44:00,WHITE - OTHER EUROPEAN
10000764,27897940,2132-10-14 23:31:00,BLACK/CAPE VERDEAN
10000764,27897941,2133-10-14 23:31:00,ASIAN - CHINESE
10000898,20000001,2149-09-17 00:00:00,MARTIAN
`)
	s := "manifest/"
	img(s+"img/a.png", png8(8, 6))
	img(s+"img/b.dcm", dicomFile(6, 8, dicomtest.ImplicitLE))
	img(s+"img/c.jpg", jpegGray(8, 8))
	f[s+"manifest.csv"] = []byte(`Path,PID,Sex,Age,Frontal/Lateral,AP/PA,Race,Cardiomegaly,Edema,Fold
img/a.png,p1,Female,34,Frontal,PA,Black/African American,1.0,0.0,1
img/b.dcm,p2,Male,71,Frontal,AP,Pacific Islander,-1.0,1.0,2
img/c.jpg,p2,Male,71,Frontal,AP,Asian,,1.0,2
img/missing.png,p3,Male,71,Frontal,AP,White,,,3
img/a.png,p4,Female,-3,Frontal,AP,White,,,3
`)
	return f
}

func TestFixtures(t *testing.T) {
	for p, b := range fixtureFiles() {
		path := filepath.Join("testdata", p)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("fixture %s: %v (run go test ./dataset -run TestFixtures -update)", p, err)
		}
		// Encoders may change between Go releases: only text is compared.
		if filepath.Ext(p) == ".csv" && !bytes.Equal(got, b) {
			t.Errorf("fixture %s differs from its generator (run with -update)", p)
		}
	}
}

func rgbPNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, v := range gradient(w, h) {
		c := uint8(v * 255)
		img.Set(i%w, i/w, color.RGBA{R: c, G: c, B: c, A: 255})
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}
