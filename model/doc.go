// Package model is the engine-free view of a model: named float32 tensors
// (Weights), their content hash, and the task contract a site agent uses to
// drive a local trainer. It imports no tensor engine; gorgonia lives only in
// model's engine subpackages (model/nn, model/ddpm, model/classifier).
package model
