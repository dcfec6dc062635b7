// Package dataset turns a hospital's chest radiographs into what trainers
// consume: one Record per image (patient, sex, age, race, view, projection,
// 14 CheXpert labels), images decoded and preprocessed exactly as in the
// study, patient-level splits, and *model.ImageSet batches.
//
// Sources (see Load): CheXpert train.csv/valid.csv joined with the CheXpert
// demographics file; MIMIC-CXR-JPG metadata, -chexpert and -split files joined
// with MIMIC-IV patients.csv and admissions.csv; and a generic manifest,
// which is also the format of synthetic manifests (WriteSyntheticManifest).
//
// Images: PNG (8 and 16 bit), JPEG, and DICOM through the project's own reader
// in dataset/dicom. Preprocess applies the study's MONAI pipeline: grayscale,
// resize of the longest side with bilinear interpolation (align_corners
// false, no antialiasing), min-max scaling to [-1, 1], and centred padding
// with -1. A Cache keeps preprocessed tensors in memory and optionally on disk,
// keyed by file content hash and size, so that epochs never decode twice.
//
// Bad input never aborts a load (unless Config.Strict is set) and is never
// dropped silently: each bad row or file becomes a Problem naming file:line,
// its Kind and the reason, and the Report counts each kind.
//
// The package is engine-free: it imports the model root package for
// model.ImageSet and label values, never a tensor engine.
package dataset
