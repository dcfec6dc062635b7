package protocol

import "fmt"

// Version is the protocol version this build speaks. A Join with another
// version is refused with ErrVersion.
const Version uint32 = 1

// DefaultChunkSize is the number of data bytes in one stream chunk (1 MiB).
const DefaultChunkSize = 1 << 20

// MaxChunkSize bounds the chunk size either side may ask for, well under
// gRPC's default 4 MiB message limit.
const MaxChunkSize = 2 << 20

// CheckVersion returns nil when v is spoken by this build and an error
// wrapping ErrVersion that names both versions otherwise.
func CheckVersion(v uint32) error {
	if v != Version {
		return fmt.Errorf("protocol version %d, this coordinator speaks %d: %w", v, Version, ErrVersion)
	}
	return nil
}
