package classifier

import "testing"

// FuzzParseArch feeds checkpoint architecture configs to the decoder: it
// must refuse or accept without panicking, and an accepted architecture
// must list its tensors.
func FuzzParseArch(f *testing.F) {
	f.Add([]byte(DefaultArch().ArchJSON()))
	f.Add([]byte(`{"image_size":4,"in_channels":1,"widths":[2,2,2],"blocks_per_stage":1,"groups":1}`))
	f.Add([]byte(`{"widths":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseArch(data)
		if err != nil {
			return
		}
		if a.ImageSize > 64 || a.BlocksPerStage > 2 || len(a.Widths) > 4 {
			return // valid but slow to build
		}
		specs, err := a.Specs()
		if err != nil || len(specs) == 0 {
			t.Fatalf("accepted arch %+v lists no tensors: %v", a, err)
		}
	})
}
