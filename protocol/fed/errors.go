package fed

import "errors"

// Sentinel errors shared by the coordinator and the agents. Components wrap
// them with %w and a message that names the site, round or tensor; only
// package protocol translates them to and from gRPC status codes.
var (
	// ErrVersion reports an unsupported protocol version.
	ErrVersion = errors.New("protocol version mismatch")
	// ErrUnknownSession reports a session the coordinator does not know
	// (for example after a restart); the agent joins again.
	ErrUnknownSession = errors.New("unknown session")
	// ErrPermission reports a site that may not do what it asked.
	ErrPermission = errors.New("permission denied")
	// ErrStale reports a message for a round or attempt that is over.
	ErrStale = errors.New("stale round")
	// ErrLate reports an update that arrived after its phase's deadline.
	ErrLate = errors.New("late update")
	// ErrDuplicate reports a second update for the same task.
	ErrDuplicate = errors.New("duplicate update")
	// ErrBadNonce reports an update whose nonce does not match its task.
	ErrBadNonce = errors.New("nonce mismatch")
	// ErrInvalidUpdate reports an update refused by validation.
	ErrInvalidUpdate = errors.New("invalid update")
	// ErrMalformed reports a message or stream that breaks the protocol.
	ErrMalformed = errors.New("malformed message")
	// ErrNotFound reports an unknown job, model or task.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable reports a coordinator that cannot serve now.
	ErrUnavailable = errors.New("unavailable")
	// ErrTooLarge reports a stream over the configured limits.
	ErrTooLarge = errors.New("stream too large")
)
