// Package secagg is dropout-tolerant secure aggregation: the aggregator
// (the coordinator) learns the sum of the sites' updates and nothing else
// about any single update. It follows Bonawitz et al. 2017 ("Practical
// Secure Aggregation for Privacy-Preserving Machine Learning", SecAgg) and,
// for large rosters, the sparse neighbour graph of Bell et al. 2020
// ("Secure Single-Server Aggregation with (Poly)Logarithmic Overhead",
// SecAgg+).
//
// # State machines, no I/O
//
// A Client (one per site per round) and a Server (the aggregator, one per
// round) are pure state machines: they take messages and return messages.
// Messages are Go structs with a versioned binary encoding (MarshalBinary,
// Decode / DecodeXxx) that a transport carries as opaque typed payloads.
// The aggregator is driven like this:
//
//	srv, _ := secagg.NewServer(secagg.ServerConfig{Context: ctx, VerifyIdentity: v})
//	// for each phase: feed every site message, keyed by the mTLS identity,
//	err := srv.Handle(peerID, msg) // refusals are *RefusalError; the round goes on
//	// when srv.Pending() is empty or the phase deadline passes:
//	box, err := srv.Advance() // messages to send, per recipient; err aborts
//	// after the unmask phase, Advance returns an empty box and:
//	res, err := srv.Result()
//
// and a site like this:
//
//	c, _ := secagg.NewClient(secagg.ClientConfig{Context: ctx, Self: id, Identity: key, VerifyIdentity: v})
//	adv, _ := c.Advertise()          // send
//	mi, _ := c.SetInput(in)          // any time before the masked-input phase; nil until the relay arrived
//	reply, err := c.Handle(msg)      // for each aggregator message; send reply when not nil
//
// # Protocol
//
//  1. Advertise keys. Each site draws two secrets, a mask-key secret m and a
//     self-mask secret b (Ristretto255 scalars), derives from m an X25519 and
//     an ML-KEM-768 key pair, draws an HPKE X-Wing channel key, and sends the
//     public keys signed with its Ed25519 identity key. The identity key's
//     binding to the site is checked by an IdentityVerifier hook (crypto/pki
//     checks it against the site's certificate).
//  2. Share keys. Each site splits m and b with Shamir sharing (threshold t:
//     polynomials of degree t-1) among its neighbours and itself, and sends
//     each neighbour its two shares, HPKE-encrypted to the neighbour's
//     channel key, with hash commitments to each share, signed. For each
//     pair the lower-indexed site also encapsulates to the other's ML-KEM
//     key with randomness derived from its m. The pair mask key is
//     HKDF(X25519 secret || ML-KEM secret, round context, pair, transcript),
//     so it stays secret while either problem is hard.
//  3. Masked input. Each site encodes its pre-scaled update in Z/2^32 (clip
//     C, scale s = floor((2^31-1)/(n*C)), the pre-scaled weight as one extra
//     element), adds its self mask PRG(b) and, for every surviving
//     neighbour, +PRG(pair key) or -PRG(pair key) by roster order. The PRG is
//     AES-256-CTR from the zero counter block, read as little-endian words:
//     a fused AES-NI kernel that adds each keystream block to the vector in
//     registers (prg_amd64.s), else the standard library's AES-CTR, the two
//     tested equal bit for bit.
//  4. Consistency check. The aggregator sends the list U3 of sites whose
//     masked input arrived; each signs it. The signatures are forwarded with
//     the unmask request, so a site shown a different list is caught.
//  5. Unmask. Each site reveals its share of b for every survivor and its
//     share of m for every dropped site, never both for one peer (also not
//     across repeated requests). The aggregator checks each share against
//     its commitment (circl's Recover silently returns a wrong secret from a
//     corrupt share), recovers the secrets, checks them against what their
//     owners committed to, strips every mask and decodes the sum.
//
// Every message carries the round's Context hash (session, round, roster,
// parameters), and every message but the masked input is signed with it
// covered: a replayed, cross-round or cross-session message is refused. The
// masked input goes only to the aggregator, over the authenticated
// transport, and is never relayed, so it is not signed (see MaskedInput). With fewer than t survivors in any
// phase the round aborts with ErrTooFewSurvivors and never produces output.
//
// # Transport
//
// A transport carries every payload as bytes tagged with a type URL
// (TypeURL; a protobuf Any in synthfed's gRPC protocol): the protocol
// messages under their type names (decode with DecodeTyped, which refuses a
// mislabelled message), plus a small envelope the integration needs. The
// aggregator opens a round by announcing a RoundSpec (the Context, the L2
// norm bound and weight cap a site applies to its update, and the job's
// differential-privacy setting; a site checks it against its own policy and
// may answer with a Refusal instead of its keys). The masked-input phase
// opens with an InputRequest (the relay and the transport's training
// instructions, since the sites train inside that phase). Payloads larger
// than one transport message (a masked input of 1M elements is 4 MB) travel
// as Parts (SplitPayload) joined in order by an Assembler whose memory is
// one payload per unfinished sender, bounded by a limit. In synthfed the
// aggregator runs inside the coordinator's engine (coordinator/engine,
// secure_round.go) and the site's side is siteagent.SecureRunner; update
// validation that needs plaintext (finite values, the norm bound) happens
// at the sites before encoding.
//
// # Unmasking off the caller's loop
//
// Closing the unmask phase expands one PRG stream of the vector's length
// per mask still in the sum, the round's costliest step. Advance does it
// in place; a caller that must not block (the coordinator's engine) calls
// BeginUnmask instead, runs the returned Unmasking elsewhere (Run), and
// hands it back with FinishUnmask. The package logs only through the
// optional Logger hook and imports no logging package.
//
// # Threat model
//
// The aggregator is honest but curious: it follows the protocol and tries to
// learn individual updates from what it sees. Fewer than t sites collude
// with it. Under these assumptions the aggregator learns only the sum of
// at least t inputs. The signed consistency check additionally catches an
// aggregator that shows sites different survivor lists (to get both shares
// of one site), and sites refuse to reveal both shares of a peer. Site
// identities come from the transport (mTLS certificates), never from a
// message field; the Server takes the authenticated ID with every message.
// Out of scope: a malicious aggregator that drops honest sites adaptively
// to shrink the sum towards t inputs (bounded only by t), malicious sites
// sending out-of-range inputs (inputs are clipped only by honest encoders),
// and traffic analysis. Under SecAgg+ the guarantees hold with high
// probability over the graph drawn from the context, as in Bell et al.
//
// # What a site must persist
//
// Nothing secret: a round's secrets live in the Client and are dropped by
// Forget. A site must, however, remember which (session, round) contexts
// it has produced a masked input for and never run a second Client for the
// same context (a restarted site joins the next round instead), because two
// different masked inputs under the same masks would leak their
// difference. Its long-term identity key comes from its startup kit.
//
// # Where things are
//
//   - context.go, config.go: a round's Context (session, round, roster,
//     Params) and the operator's Config; graph.go: the SecAgg+ neighbour
//     graph; identity.go, keys.go: identity verification and key sizes;
//   - server.go, server_unmask.go: the aggregator (Server), its phases and
//     the unmasking (BeginUnmask, Unmasking, FinishUnmask);
//   - client.go, client_share.go, client_premask.go, client_unmask.go: a
//     site (Client): key advertisement and sharing, the mask expanded
//     ahead of the input (MaskExpander, SetMask), and the unmask answer;
//   - encode.go, ring.go (with ring_amd64.s): fixed-point encoding in
//     Z/2^32 and vector arithmetic; prg.go (with prg_amd64.s): mask
//     expansion (AES-256-CTR); shamir.go: secret sharing over circl;
//   - messages.go, codec.go: the protocol messages and their binary
//     encoding; envelope.go, parts.go: RoundSpec, InputRequest, Refusal
//     and payloads split into Parts; errors.go: the sentinels and
//     RefusalError; logger.go: the optional Logger hook;
//   - secaggtest: sites with pinned keys and in-process rounds for tests
//     and benchmarks.
package secagg
