// Package fed is the federation's vocabulary without wire types: the
// sentinel errors every refusal wraps, the task kinds, the nonce that binds
// an upload to its task, site IDs and content hashes, references to stored
// models, and the layout of the metrics a secure round carries in its
// masked vector. The coordinator's engine (coordinator/engine) and the
// site agent speak it; package protocol re-exports it beside the gRPC code
// (protocol/fedpb) and maps its sentinels to status codes. It imports no
// gRPC, protobuf or logging package.
//
// # Where things are
//
//   - errors.go: the sentinels (ErrStale, ErrLate, ErrPermission...);
//   - ids.go: task kinds, NonceLen, ValidSiteID, ValidHash, ModelRef;
//   - secure_metrics.go: metrics through the secure sum
//     (EncodeSecureMetrics, DecodeSecureMetrics).
package fed
