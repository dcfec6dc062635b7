package report

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// encodePlot draws p at the configured size and returns PNG bytes.
func encodePlot(p *plot.Plot, cfg Config) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(cfg.WidthCm)*vg.Centimeter, vg.Length(cfg.HeightCm)*vg.Centimeter),
		vgimg.UseDPI(cfg.DPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot %q: %w", p.Title.Text, err)
	}
	return buf.Bytes(), nil
}

// series is one line of an AUROC-against-level plot.
type series struct {
	name   string
	x, y   []float64
	lo, hi []float64 // NaN where no CI
}

// levelSeries groups an experiment's rows by site and arm, for one scope,
// sorted by level; rows without a value for the scope are left out.
func levelSeries(rows []Row, external bool) []series {
	byKey := map[string]*series{}
	var keys []string
	for _, r := range rows {
		v, ci := r.AUROCInternal, r.CIInternal
		if external {
			v, ci = r.AUROCExternal, r.CIExternal
		}
		if v == nil {
			continue
		}
		key := r.Site
		if r.Arm != "" {
			key += " / " + r.Arm
		}
		s := byKey[key]
		if s == nil {
			s = &series{name: key}
			byKey[key] = s
			keys = append(keys, key)
		}
		lo, hi := math.NaN(), math.NaN()
		if ci != nil {
			lo, hi = ci.Lo, ci.Hi
		}
		s.x, s.y, s.lo, s.hi = append(s.x, float64(r.LevelPct)), append(s.y, *v), append(s.lo, lo), append(s.hi, hi)
	}
	out := make([]series, 0, len(keys))
	for _, k := range keys {
		out = append(out, sortSeries(*byKey[k]))
	}
	return out
}

func sortSeries(s series) series {
	idx := make([]int, len(s.x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s.x[a], s.x[b]) })
	out := series{name: s.name}
	for _, i := range idx {
		out.x, out.y, out.lo, out.hi = append(out.x, s.x[i]), append(out.y, s.y[i]), append(out.lo, s.lo[i]), append(out.hi, s.hi[i])
	}
	return out
}

// withAlpha returns the opaque colour c at opacity a (0-255).
func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

// levelPlot draws macro AUROC against the synthetic level, one line per
// series with its CI as a translucent band.
func levelPlot(title string, ss []series, cfg Config) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "synthetic data (% of real training set)"
	p.Y.Label.Text = "macro AUROC"
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		col := plotutil.Color(i)
		if band := ciBand(s); band != nil {
			band.Color = withAlpha(col, 50)
			band.LineStyle.Width = 0
			p.Add(band)
		}
		pts := make(plotter.XYs, len(s.x))
		for k := range s.x {
			pts[k].X, pts[k].Y = s.x[k], s.y[k]
		}
		line, scatter, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("plot %q series %q: %w", title, s.name, err)
		}
		line.Color, scatter.Color = col, col
		line.Width = vg.Points(1.5)
		scatter.Shape = plotutil.Shape(i)
		p.Add(line, scatter)
		p.Legend.Add(s.name, line, scatter)
	}
	legendRoom(p, len(ss))
	return encodePlot(p, cfg)
}

// ciBand returns the polygon between the CI bounds of the points that have
// them, or nil when fewer than two do.
func ciBand(s series) *plotter.Polygon {
	var upper, lower plotter.XYs
	for k := range s.x {
		if math.IsNaN(s.lo[k]) {
			continue
		}
		upper = append(upper, plotter.XY{X: s.x[k], Y: s.hi[k]})
		lower = append(lower, plotter.XY{X: s.x[k], Y: s.lo[k]})
	}
	if len(upper) < 2 {
		return nil
	}
	ring := append(plotter.XYs{}, upper...)
	for k := len(lower) - 1; k >= 0; k-- {
		ring = append(ring, lower[k])
	}
	poly, err := plotter.NewPolygon(ring)
	if err != nil {
		return nil
	}
	return poly
}

// curvePlot draws loss curves sharing one figure.
func curvePlot(title string, curves []Curve, cfg Config) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = curves[0].Unit
	p.Y.Label.Text = "loss"
	p.Add(plotter.NewGrid())
	for i, c := range curves {
		if c.Unit != curves[0].Unit {
			p.X.Label.Text = "round / step"
		}
		if len(c.X) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(c.X))
		for k := range c.X {
			pts[k].X, pts[k].Y = c.X[k], c.Y[k]
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("plot %q curve %q: %w", title, c.Name, err)
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i / 7)
		line.Width = vg.Points(1.2)
		p.Add(line)
		p.Legend.Add(c.Name, line)
	}
	legendRoom(p, len(curves))
	return encodePlot(p, cfg)
}

// legendRoom puts the legend top right and raises the y axis so that its n
// entries sit above the data.
func legendRoom(p *plot.Plot, n int) {
	p.Legend.Top = true
	span := p.Y.Max - p.Y.Min
	if !(span > 0) || math.IsInf(span, 0) {
		return
	}
	p.Y.Max += span * math.Min(0.09*float64(n)+0.05, 1)
}

// errPoints are points with asymmetric vertical error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// armPlot draws, for rows that do not form level series, each row's
// internal and external AUROC side by side with CI error bars, one x
// position per row.
func armPlot(title string, rows []Row, cfg Config) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "macro AUROC"
	p.Add(plotter.NewGrid())
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = rowName(r)
	}
	for k, scope := range []struct {
		name     string
		external bool
		dx       float64
	}{{"internal", false, -0.1}, {"external", true, 0.1}} {
		var pts errPoints
		for i, r := range rows {
			v, ci := r.AUROCInternal, r.CIInternal
			if scope.external {
				v, ci = r.AUROCExternal, r.CIExternal
			}
			if v == nil {
				continue
			}
			pts.XYs = append(pts.XYs, plotter.XY{X: float64(i) + scope.dx, Y: *v})
			lo, hi := 0.0, 0.0
			if ci != nil {
				lo, hi = math.Max(*v-ci.Lo, 0), math.Max(ci.Hi-*v, 0)
			}
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{lo, hi})
		}
		if len(pts.XYs) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts.XYs)
		if err != nil {
			return nil, fmt.Errorf("plot %q: %w", title, err)
		}
		bars, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return nil, fmt.Errorf("plot %q: %w", title, err)
		}
		col := plotutil.Color(k)
		sc.Color, sc.Shape, bars.Color = col, plotutil.Shape(k), col
		p.Add(bars, sc)
		p.Legend.Add(scope.name, sc)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(rows))-0.5
	legendRoom(p, 2)
	return encodePlot(p, cfg)
}

// rowName labels a row by site, arm and level.
func rowName(r Row) string {
	name := r.Site
	if r.Arm != "" {
		name += " / " + r.Arm
	}
	if r.LevelPct > 0 {
		name += fmt.Sprintf(" %d%%", r.LevelPct)
	}
	return name
}
