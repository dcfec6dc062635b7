// Package report defines the study's results file (results.json) as Go
// types and renders it as a Markdown report and a self-contained HTML
// report, with PNG plots drawn by gonum/plot:
//
//   - AUROC against the supplementation level with CI bands, internal and
//     external, for each experiment (supplementation, synthetic only, mixing
//     sources, federation), with tables and per-label tables of DeLong
//     p-values;
//   - sample grids by condition, training-loss curves, synthetic-image
//     quality, the memorisation summary, per-site rejection and dropout
//     counts, wall time per phase, the config and seeds;
//   - a findings section stating plainly whether each of the study's
//     findings reproduced.
//
// Decode reads results.json strictly (unknown or duplicated keys, trailing
// data and out-of-range values are errors naming line and field); Render
// builds a Document from Results, and Document.WriteDir writes report.md,
// report.html (images embedded as data: URIs) and the PNG files. A section
// whose data is missing renders as "not run". `synthfed report` and the
// simulator both go through RenderFile or Render.
package report
