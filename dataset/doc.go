// Package dataset turns a hospital's chest radiographs into what trainers
// consume: one Record per image (patient, sex, age, race, view, projection,
// 14 CheXpert labels), images decoded and preprocessed exactly as in the
// study, patient-level splits, and *model.ImageSet batches.
//
// # Sources
//
// Load reads one of three layouts (Source, Format):
//
//   - chexpert: train.csv and valid.csv with Path, Sex, Age,
//     Frontal/Lateral, AP/PA and the 14 labels (1.0, 0.0, -1.0 or blank);
//     the patient is the patientNNNNN element of Path, and race comes from
//     the CheXpert demographics CSV (PATIENT, GENDER, AGE_AT_CXR,
//     PRIMARY_RACE, ETHNICITY) mapped by MapRace;
//   - mimic: MIMIC-CXR-JPG's -metadata, -chexpert (study labels) and -split
//     files, plain or gzipped, with MIMIC-IV patients.csv (sex, anchor age)
//     and admissions.csv (race, combined by ResolveRace);
//   - manifest: a generic CSV with Path, PID, Sex, Age, Frontal/Lateral and
//     AP/PA, and optionally Race, Split, Study, any subset of the 14 label
//     columns (absent ones are blank), ReplicaID and Checkpoint. It is also
//     the format WriteManifest and WriteSyntheticManifest write.
//
// # Images
//
// PNG (8 and 16 bit), JPEG, and DICOM through the project's own reader in
// dataset/dicom, recognised by content. Preprocess applies the study's MONAI
// pipeline: grayscale, resize of the longest side with bilinear
// interpolation (align_corners false, no antialiasing), min-max scaling to
// [-1, 1], and centred padding with -1. A Cache keeps preprocessed tensors in
// memory and optionally on disk, keyed by file content hash and size, so that
// epochs never decode twice. ToImageSet builds a model.ImageSet from records.
//
// # Bad input
//
// Bad input never aborts a load (unless Config.Strict is set) and is never
// dropped silently: each bad row, image or file becomes a Problem naming
// file:line, its Kind and the reason, and the Report counts each kind.
// Error kinds drop the data concerned; warning kinds keep it.
//
// The package is engine-free: it imports the model root package for
// model.ImageSet and label values, never a tensor engine.
package dataset
