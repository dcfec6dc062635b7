// Package phantom renders the simulated consortium's data: procedural chest
// radiographs of synthetic patients at several sites, written as CheXpert
// folders so that sites are loaded by the same dataset code a hospital uses.
//
// Each study is planned first (Plan: demographics, view, the true findings
// with their severities, and the CheXpert-style labels a report would yield,
// including uncertain and blank entries) and then rendered (Render) at up to
// 128x128 pixels and box-downsampled to the target size. Anatomy depends on
// sex, age and habitus: thorax shape, lung fields, heart and mediastinum,
// diaphragm, ribs, clavicles, spine, shoulders and breast shadows. Every
// modelled finding has a visible signature whose size follows its severity:
// an enlarged heart shadow, a widened mediastinum, a blunted costophrenic
// angle with a meniscus, patchy air-space opacities, perihilar haze with
// Kerley lines, a pleural line with an avascular rim, basal bands with volume
// loss, round nodules, lines, tubes and generators, and broken ribs.
//
// Sites differ as real hospitals do (Profile): acquisition (window, gamma,
// bone contrast, noise, blur, burned-in marker, collimation, positioning, the
// share of portable AP films, which go to sicker patients and magnify the
// heart), prevalence, and demographic mix. Profiles are configurable in TOML.
//
// Everything is deterministic for a seed: each study draws from its own
// random stream derived from (seed, site, patient, study), so results do not
// depend on the number of goroutines.
package phantom
