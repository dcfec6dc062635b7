package phantom

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
)

// Renderer draws studies, reusing its buffers; one per goroutine.
type Renderer struct {
	size int
	c    *canvas
	tmp  []float32
	low  []float32
	// kernels caches blur kernels by standard deviation: a site's blur
	// and edge enhancement use the same few for all of its films.
	kernels []blurKernel
}

// blurKernel is a cached gaussKernel(sigma).
type blurKernel struct {
	sigma float64
	k     []float32
}

// kernel returns gaussKernel(sigma), computed once per sigma.
func (rd *Renderer) kernel(sigma float64) []float32 {
	for _, bk := range rd.kernels {
		if bk.sigma == sigma {
			return bk.k
		}
	}
	k := gaussKernel(sigma)
	if len(rd.kernels) >= 8 {
		rd.kernels = rd.kernels[:0]
	}
	rd.kernels = append(rd.kernels, blurKernel{sigma, k})
	return k
}

// NewRenderer returns a renderer for cfg's output and render sizes.
func NewRenderer(cfg Config) *Renderer {
	n := cfg.Size * cfg.Size
	return &Renderer{size: cfg.Size, c: newCanvas(cfg.RenderSize()), tmp: make([]float32, n), low: make([]float32, n)}
}

// Render draws st as acquired at a site with profile prof into dst
// (size*size display values in [0, 1], row-major, brighter is denser):
// anatomy and findings at the render size, box-downsampled, then the site's
// window, gamma and display curve, edge enhancement, collimation, blur,
// noise, and burned-in markers.
func (rd *Renderer) Render(st *Study, prof *Profile, dst []float32) {
	// Findings and acquisition draw from separate streams, so that a film's
	// exposure and noise do not depend on what it shows.
	r := rand.New(rand.NewPCG(st.Seed[0], st.Seed[1]))
	pa := newPCG(st.Seed[1], st.Seed[0]^0xac9)
	ra := rand.New(pa)
	c := rd.c
	c.reset()
	acq := &prof.Acquisition
	s := newScene(st.Anatomy, &st.Truth, acq, r)
	s.drawBody(c)
	l := s.rows(c)
	s.drawHeart(c, l)
	s.drawExtras(c)
	s.drawFilling(c, r)
	s.drawLungs(c, l)
	s.drawSkeleton(c)
	s.drawDense(c, r)
	img := dst[:rd.size*rd.size]
	downsample(c.dens, c.n, img, rd.size)
	display(img, acq, ra)
	if acq.EdgeEnhance > 0 {
		enhance(img, rd.tmp, rd.low, rd.size, acq.EdgeEnhance, rd.kernel(float64(rd.size)/40))
	}
	collimate(img, rd.size, acq, ra)
	blur(img, rd.tmp, rd.size, rd.kernel(acq.Blur))
	noise := acq.Noise
	if st.Truth.AP {
		noise *= acq.PortableNoise
	}
	addNoise(img, noise, pa)
	drawMarker(img, rd.size, acq, ra)
	if st.Truth.AP && acq.PortableMarker == "text" {
		stampText(img, rd.size, portableText, acq.PortableCorner, false, ra)
	}
	for i, v := range img {
		img[i] = min(max(v, 0), 1)
	}
}

// quantize turns display values in [0, 1] into the 16-bit levels the PNG
// files hold (0 to 65535, as whole numbers), so that in-memory images equal
// loaded ones exactly.
//
// For v in [+0, 1], x = v*65535 is exact in float64 and so is x + 0.5
// whenever it can reach 1 (x carries at most 40 significant bits below
// 2^16), so truncating x + 0.5 rounds half away from zero exactly as
// math.Round does; other values (-0, NaN, out of range) take math.Round.
func quantize(img []float32) {
	for i, v := range img {
		if math.Float32bits(v) <= 0x3f800000 {
			img[i] = float32(int32(float64(v)*65535 + 0.5))
			continue
		}
		img[i] = float32(math.Round(float64(v) * 65535))
	}
}

// Site is one rendered site in memory.
type Site struct {
	// Profile is the site's (possibly perturbed) profile.
	Profile Profile
	// Studies holds the plan behind each image, in order.
	Studies []Study
	// Records are the images' records, as the written CSVs hold them.
	Records []dataset.Record
	// Images holds the preprocessed images, exactly as dataset would load
	// the written PNGs, with conditions under dataset's default policy.
	Images *model.ImageSet
}

// RenderSite renders site i's n studies in memory using up to GOMAXPROCS
// goroutines; the result equals loading WriteSite's output.
func (c Config) RenderSite(ctx context.Context, site, n int) (*Site, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("phantom: %d images per site: want >= 1", n)
	}
	prof := c.SiteProfile(site)
	studies := c.Plan(site, n)
	px := make([]float32, n*c.Size*c.Size)
	err := c.renderAll(ctx, studies, &prof, func(i int, img []float32) {
		quantize(img)
		g := &dataset.Gray{Width: c.Size, Height: c.Size, Pix: img}
		dataset.PreprocessInto(px[i*c.Size*c.Size:(i+1)*c.Size*c.Size], g, c.Size)
	})
	if err != nil {
		return nil, err
	}
	recs := make([]dataset.Record, n)
	for i := range studies {
		recs[i] = studies[i].Record
	}
	set, err := dataset.NewImageSet(c.Size, recs, px, dataset.UncertainZeros)
	if err != nil {
		return nil, err
	}
	return &Site{Profile: prof, Studies: studies, Records: recs, Images: set}, nil
}

// renderAll renders studies in parallel; fn receives each display image
// (a buffer of its own) and its index, concurrently.
func (c Config) renderAll(ctx context.Context, studies []Study, prof *Profile, fn func(int, []float32)) error {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(studies)))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd := NewRenderer(c)
			for i := range next {
				img := make([]float32, c.Size*c.Size)
				rd.Render(&studies[i], prof, img)
				fn(i, img)
			}
		}()
	}
	var err error
	for i := range studies {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return err
}
