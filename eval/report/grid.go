package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // sample files may be JPEG
	"image/png"
	"io/fs"
)

// gridGap is the spacing between tiles, in pixels.
const gridGap = 2

// tile is one decoded sample image, or nil when unreadable.
type tile = image.Image

// gridImage lays out a sample grid, one row per condition, and returns the
// PNG with a list of problems (unreadable files), which never stop it.
func gridImage(g SampleGrid, images fs.FS, cfg Config) ([]byte, []string, error) {
	var problems []string
	rows := make([][]tile, len(g.Rows))
	side, cols := 1, 1
	for i, r := range g.Rows {
		for _, px := range r.Images {
			rows[i] = append(rows[i], pixelTile(px, r.Size))
			side = max(side, r.Size)
		}
		for _, path := range r.Paths {
			t, err := fileTile(images, path)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s, row %d: %v", g.Title, i+1, err))
			} else {
				side = max(side, t.Bounds().Dx(), t.Bounds().Dy())
			}
			rows[i] = append(rows[i], t)
		}
		cols = max(cols, len(rows[i]))
	}
	side = min(side, maxTileSize)
	scale := max(1, (cfg.TilePx+side-1)/side)
	cell := side * scale
	w := cols*cell + (cols+1)*gridGap
	h := len(rows)*cell + (len(rows)+1)*gridGap
	canvas := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.RGBA{0x30, 0x30, 0x30, 0xff}), image.Point{}, draw.Src)
	for i, row := range rows {
		for j, t := range row {
			at := image.Pt(gridGap+j*(cell+gridGap), gridGap+i*(cell+gridGap))
			drawTile(canvas, at, cell, t)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, canvas); err != nil {
		return nil, problems, fmt.Errorf("sample grid %q: %w", g.Title, err)
	}
	return buf.Bytes(), problems, nil
}

// pixelTile maps values in [-1, 1] to grey levels.
func pixelTile(px []float32, size int) tile {
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i, v := range px {
		g := (float64(v) + 1) / 2 * 255
		switch {
		case !(g >= 0):
			g = 0
		case g > 255:
			g = 255
		}
		img.Pix[i] = uint8(g + 0.5)
	}
	return img
}

// fileTile decodes a PNG or JPEG file from images.
func fileTile(images fs.FS, path string) (tile, error) {
	if images == nil {
		return nil, fmt.Errorf("%s: no image directory given", path)
	}
	data, err := fs.ReadFile(images, path)
	if err != nil {
		return nil, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxTileSize || cfg.Height > maxTileSize {
		return nil, fmt.Errorf("%s: %dx%d image, at most %d pixels a side", path, cfg.Width, cfg.Height, maxTileSize)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// drawTile scales t by nearest neighbour into the cell at `at`, centred,
// or draws a red cross for an unreadable image.
func drawTile(dst *image.RGBA, at image.Point, cell int, t tile) {
	if t == nil {
		red := color.RGBA{0xc0, 0x20, 0x20, 0xff}
		for k := range cell {
			dst.Set(at.X+k, at.Y+k, red)
			dst.Set(at.X+cell-1-k, at.Y+k, red)
		}
		return
	}
	b := t.Bounds()
	side := max(b.Dx(), b.Dy())
	for y := range cell {
		for x := range cell {
			sx, sy := x*side/cell, y*side/cell
			if sx >= b.Dx() || sy >= b.Dy() {
				continue
			}
			dst.Set(at.X+x, at.Y+y, t.At(b.Min.X+sx, b.Min.Y+sy))
		}
	}
}
