// Package store is a site's prepared image store: every image decoded and
// preprocessed once, at the training size, into checksummed chunk files
// that trainers memory-map, so that a site's memory does not depend on its
// dataset's size.
//
// # Layout
//
// A store root holds one folder per preprocessing setting (Settings.Key,
// e.g. "s256-u8-p1": 256-pixel images, 8-bit pixels, preprocessing version
// 1), so the same source prepared at two sizes never mixes. A folder holds:
//
//   - chunk-NNNNNNNN.sfc: up to Config.ChunkImages images, each a
//     Size*Size array of uint8 or uint16 pixels, with a header carrying the
//     CRC-32C of the body (chunk.go);
//   - INDEX: the committed state: settings, the chunks with their
//     checksums, and one entry per source file (path, length, modification
//     time, SHA-256 prefix of the content, chunk and slot) with a CRC-32C
//     trailer (index.go);
//   - RECORDS: the compact index of the records the last Prepare kept, in
//     their order (Item: chunk, slot, labels, demographics, replica, a hash
//     of the patient; 40 bytes, no strings), with a CRC-32C trailer
//     (items.go). Records opens it as a Set, the streamed trainers' index.
//
// A Set (set.go) is a list of images by index, the loader's source; a
// Writer (writer.go) writes a new store image by image, as a sample job
// draws a synthetic set, committing its INDEX last.
//
// # Crash safety
//
// Every file is written to a temporary name, synced, renamed and the
// folder synced (atomic.go). A chunk becomes visible only when an INDEX
// naming it is committed after it, so a kill -9 at any point leaves the
// last committed INDEX and the chunks it names: a resumed Prepare keeps
// them and redoes only what was not committed. Temporary files and chunks
// no INDEX names are removed when the store is opened for writing.
//
// # Checks
//
// Open verifies every chunk's length and checksum against its header and
// the INDEX; a corrupt or truncated chunk is reported, its images are
// dropped from the index, and Prepare decodes them again. Disk full
// (ENOSPC) is ErrDiskFull; the store stays at its last committed state.
//
// # Pixels
//
// Pixels are stored as uint8 by default (Config.PixelBits). Preprocessed
// values lie in [-1, 1]; 8 bits quantise them with a step of 2/255, a
// root-mean-square error of about 0.0023, a tenth of the classifier's
// augmentation noise (std 0.02), at half the bytes of uint16 and a quarter
// of float32 (docs/scale.md gives the measurement). PixelBits 16 is there
// for sources whose 12-16-bit depth a study wants kept.
package store
