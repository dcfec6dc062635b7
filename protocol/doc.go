// Package protocol is the wire contract between the coordinator and the site
// agents: the generated gRPC code in protocol/fedpb, the protocol version,
// chunked weight streams (encode with SendWeights, decode with Reassembler),
// checks on every decoded message, the mapping of sentinel errors to gRPC
// status codes, and the transport-security and identity hooks. It knows no
// server or agent logic. Its vocabulary without wire types (sentinels,
// task kinds, site IDs, model references, secure metrics) is package
// protocol/fed, which it re-exports.
package protocol
