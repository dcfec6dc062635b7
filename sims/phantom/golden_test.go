// The hashes hold for linux/amd64 built with GOAMD64 v1 or v2: from v3 the
// compiler fuses multiply-adds (as it does on arm64, ppc64 and s390x), which
// rounds differently. math.Exp also takes an FMA path on CPUs with FMA,
// which every x86-64 CPU since 2013 has; the hashes were recorded on one.

//go:build amd64 && !amd64.v3

package phantom

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"

	"github.com/synthfed/synthfed/model"
)

// goldenStudies is the number of studies per site the golden test renders.
const goldenStudies = 64

// TestRenderGolden pins the phantom's pixels: the study's published numbers
// depend on them, so a speed-up of the renderer must leave every image
// bit-identical. For each case it hashes (SHA-256 over the float32 bits,
// little endian) the raw display images Render returns for the three
// default sites' planned studies, before quantisation, and separately the
// preprocessed images RenderSite returns (quantised, as loaded from PNG).
// The constants were recorded from the renderer as of the golden test's
// commit; a mismatch means the renderer's output changed.
func TestRenderGolden(t *testing.T) {
	cases := []struct {
		name        string
		size, ss    int
		raw, loaded string
	}{
		{"64x2", 64, 2,
			"bf7a28ef3d0949a2c527abb0bb4d484fc26be5707f9d60f8e330af3f4b4ce940",
			"27ae2269c1277bf5abcc4045ad76d92336c1c53c7be548453bc805a822601f98"},
		{"32x2", 32, 2,
			"dc7c9432a55e2d495286709db46e2fc4eee4d581dbc9fc676f8ae863c0bb656c",
			"6e09a8648afb6744a71a8d59e9499de03da7e9b9f3bfda56ff6799c73a1095cd"},
		{"32x4", 32, 4,
			"5dfb31a6f1c26c92786e9f04dfcbd2d8972eccb3f61add8df5a0dbc81f24a916",
			"278182cafba8682760132279bb9003e71ba4b57c9ba7d5ad45e1dccae54fe700"},
		{"64x1", 64, 1,
			"335e7b2fa2d56de82028085b6aab5c1a4f041515cb6a28e067d579b0417fd52a",
			"5396f991fbaa986b02cb557701a7a4624761f1a40ce664926bb560a1bfc2f3e3"},
		{"16x4", 16, 4,
			"f1104692ef21731f57774f61439268c883897bce5590117d651edf37514269c3",
			"98491be4132ef6d3295a72a13ab5151c76c0f5e6c73cc56bc9f8196be9db04d0"},
		{"8x2", 8, 2,
			"254b80fa0c6e16f8be25db3140b7f050f95a41258dc9eeb43c7bcb30aac80656",
			"9d932ef68cbaf569164990292034edfdd5c6c12ea2cd9823c6f81d4667709b85"},
		{"16x3", 16, 3,
			"605fbcca5222a279371439d374da023d5fb6f9eb2bffae3c30ab52d8733beece",
			"6c4559f84282b18714b443447a57fa314453d245938c7fef34d0718d149d8543"},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Size, cfg.Supersample = tc.size, tc.ss
			raw, loaded := sha256.New(), sha256.New()
			var seen [model.NumLabels]bool
			var ap, pa int
			for site := range 3 {
				prof := cfg.SiteProfile(site)
				studies := cfg.Plan(site, goldenStudies)
				rd := NewRenderer(cfg)
				img := make([]float32, tc.size*tc.size)
				for i := range studies {
					for j := range img {
						img[j] = float32(math.NaN()) // Render must write every pixel
					}
					rd.Render(&studies[i], &prof, img)
					hashFloats(raw, img)
					for l, p := range studies[i].Truth.Present {
						seen[l] = seen[l] || p
					}
					if studies[i].Truth.AP {
						ap++
					} else {
						pa++
					}
				}
				s, err := cfg.RenderSite(ctx, site, goldenStudies)
				if err != nil {
					t.Fatal(err)
				}
				hashFloats(loaded, s.Images.Pixels)
			}
			for l, ok := range seen {
				if !ok {
					t.Errorf("no study shows label %d: the golden set does not cover it", l)
				}
			}
			if ap == 0 || pa == 0 {
				t.Errorf("%d AP and %d PA films: want both", ap, pa)
			}
			if got := hex.EncodeToString(raw.Sum(nil)); got != tc.raw {
				t.Errorf("raw display images: hash %s, want %s", got, tc.raw)
			}
			if got := hex.EncodeToString(loaded.Sum(nil)); got != tc.loaded {
				t.Errorf("RenderSite images: hash %s, want %s", got, tc.loaded)
			}
		})
	}
}

// hashFloats writes the float32 bits of xs, little endian, to h.
func hashFloats(h interface{ Write([]byte) (int, error) }, xs []float32) {
	buf := make([]byte, 0, 4*len(xs))
	for _, x := range xs {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	_, _ = h.Write(buf)
}
