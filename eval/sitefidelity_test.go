package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAcquisitionFeaturesConstant: a flat image has its value as mean and
// every quantile, and no spread, edges, collimation or corner contrast.
func TestAcquisitionFeaturesConstant(t *testing.T) {
	img := make([]float32, 64)
	for i := range img {
		img[i] = 0.25
	}
	f := AcquisitionFeatures(img, 8)
	if len(f) != NumAcquisitionFeatures {
		t.Fatalf("%d features, want %d", len(f), NumAcquisitionFeatures)
	}
	want := []float64{0.25, 0, 0.25, 0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0, 0, 0}[:NumAcquisitionFeatures]
	for i, w := range want {
		if math.Abs(f[i]-w) > 1e-6 {
			t.Errorf("feature %d = %v, want %v", i, f[i], w)
		}
	}
	if AcquisitionFeatures(img, 7) != nil || AcquisitionFeatures(img[:9], 3) != nil {
		t.Error("wrong sizes gave features")
	}
}

// TestAcquisitionFeaturesCorner: a bright top-left corner shows in the first
// corner feature only, and a bright border in the ring feature.
func TestAcquisitionFeaturesCorner(t *testing.T) {
	const n = 8
	img := make([]float32, n*n)
	img[0], img[1], img[n], img[n+1] = 1, 1, 1, 1
	f := AcquisitionFeatures(img, n)
	if f[9] <= 0 || f[10] >= 0 || f[11] >= 0 || f[12] >= 0 {
		t.Errorf("corner features %v: want only the top-left positive", f[9:])
	}
	ring := make([]float32, n*n)
	for i := range n {
		ring[i], ring[(n-1)*n+i], ring[i*n], ring[i*n+n-1] = 1, 1, 1, 1
	}
	if g := AcquisitionFeatures(ring, n); g[8] <= 0.9 {
		t.Errorf("ring feature %v for a bright border, want about 1", g[9])
	}
}

// siteImages renders n images of "site" k: brightness, noise and a corner
// marker differ by site, as the phantom's acquisitions do.
func siteImages(r *rand.Rand, k, n, size int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		img := make([]float32, size*size)
		for j := range img {
			img[j] = float32(-0.3+0.3*float64(k)+0.05*float64(k+1)*r.NormFloat64()) + float32(0.2*r.NormFloat64())
		}
		c := []int{0, size - 2, size*(size-2) + 0}[k]
		img[c], img[c+1], img[c+size], img[c+size+1] = 1, 1, 1, 1
		out[i] = AcquisitionFeatures(img, size)
	}
	return out
}

// TestSiteFidelity: images of distinct acquisitions are recognised far
// above chance (the reference), and the same images scored against
// shuffled intended sites come out near chance.
func TestSiteFidelity(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var train, test [][]float64
	var trainSite, testSite []int
	for k := range 3 {
		a, b := siteImages(r, k, 60, 8), siteImages(r, k, 60, 8)
		train, test = append(train, a...), append(test, b...)
		for range 60 {
			trainSite, testSite = append(trainSite, k), append(testSite, k)
		}
	}
	c, err := FitSiteClassifier(train, trainSite, 3)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := c.SiteFidelity(test, testSite)
	if err != nil || acc < 0.95 {
		t.Fatalf("fidelity of real test images %v (%v), want >= 0.95", acc, err)
	}
	wrong := make([]int, len(testSite))
	for i, k := range testSite {
		wrong[i] = (k + 1 + r.IntN(2)) % 3
	}
	if acc, _ := c.SiteFidelity(test, wrong); acc > 0.1 {
		t.Errorf("fidelity against wrong sites %v, want near 0", acc)
	}
	if c.Predict([]float64{1}) != -1 {
		t.Error("a short feature row got a site")
	}
}

// TestSiteClassifierRefusals: empty, mismatched, out-of-range and
// site-less inputs are refused with the package's sentinels.
func TestSiteClassifierRefusals(t *testing.T) {
	f := [][]float64{{1, 2}, {3, 4}}
	cases := []struct {
		name  string
		feats [][]float64
		sites []int
		n     int
		want  error
	}{
		{"empty", nil, nil, 2, ErrEmpty},
		{"length", f, []int{0}, 2, ErrLength},
		{"one site", f, []int{0, 0}, 1, ErrTooFew},
		{"dimension", [][]float64{{1, 2}, {3}}, []int{0, 1}, 2, ErrDimension},
		{"range", f, []int{0, 2}, 2, ErrLabel},
		{"no images", f, []int{0, 0}, 2, ErrTooFew},
	}
	for _, tc := range cases {
		if _, err := FitSiteClassifier(tc.feats, tc.sites, tc.n); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	c, err := FitSiteClassifier(f, []int{0, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SiteFidelity(nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty fidelity: %v", err)
	}
	if _, err := c.SiteFidelity(f, []int{0}); !errors.Is(err, ErrLength) {
		t.Errorf("mismatched fidelity: %v", err)
	}
}
