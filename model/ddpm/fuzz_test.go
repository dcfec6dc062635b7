package ddpm

import (
	"testing"

	"github.com/synthfed/synthfed/model"
)

// FuzzParseArch feeds checkpoint architecture configs to the decoder: it
// must refuse or accept without panicking, and an accepted architecture
// must list its tensors.
func FuzzParseArch(f *testing.F) {
	f.Add([]byte(DefaultArch().ArchJSON()))
	f.Add([]byte(tinyConfig().Arch.ArchJSON()))
	f.Add([]byte(`{"image_size":8,"in_channels":1,"base_channels":4,"channel_mults":[1,1,1,1],"num_res_blocks":1,"groups":2,"time_emb_dim":4,"attn_resolutions":[1]}`))
	f.Add([]byte(`{"image_size":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseArch(data)
		if err != nil {
			return
		}
		if a.ImageSize > 64 || a.NumResBlocks > 2 || len(a.ChannelMults) > 4 {
			return // valid but slow to build; the bounds test covers limits
		}
		specs, err := a.Specs()
		if err != nil || len(specs) == 0 {
			t.Fatalf("accepted arch %+v lists no tensors: %v", a, err)
		}
		if _, ok := model.NumElements(specs[0].Shape); !ok {
			t.Fatalf("tensor %q shape %v", specs[0].Name, specs[0].Shape)
		}
	})
}
