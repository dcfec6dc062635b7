package protocol

import (
	"google.golang.org/protobuf/proto"

	"github.com/synthfed/synthfed/protocol/fedpb"
)

func marshalChunk(c *fedpb.Chunk) ([]byte, error) { return proto.Marshal(c) }

func unmarshalChunk(b []byte) (*fedpb.Chunk, error) {
	c := new(fedpb.Chunk)
	return c, proto.Unmarshal(b, c)
}
