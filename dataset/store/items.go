package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"math"

	"github.com/synthfed/synthfed/dataset"
	"github.com/synthfed/synthfed/model"
)

// Item is one image of a set in compact form: where its pixels are, and
// what a trainer, a sampler or a split needs of its record (labels,
// demographics, patient), with every string dropped or hashed. It is the
// streamed trainers' index: 40 bytes per image in a records file, about
// as much in memory, whatever the record's paths and IDs.
type Item struct {
	// Chunk (an ID) and Slot locate the pixels.
	Chunk, Slot uint32
	// Patient is an FNV-1a hash of the patient ID (it groups a patient's
	// images; 64 bits make a collision among a site's patients unlikely).
	Patient uint64
	// Labels, Sex, Age, Race and View are the record's.
	Labels [model.NumLabels]model.Label
	Sex    dataset.Sex
	Age    uint8
	Race   dataset.Race
	View   dataset.View
	// Synthetic marks generated images, Replica their replica number.
	Synthetic bool
	Replica   uint16
}

// PatientKey returns the hash Item.Patient holds for a patient ID.
func PatientKey(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// itemOf returns the compact form of rec, whose pixels are at e.
func itemOf(rec *dataset.Record, e Entry) Item {
	return Item{Chunk: e.Chunk, Slot: e.Slot, Patient: PatientKey(rec.PatientID), Labels: rec.Labels, Sex: rec.Sex,
		Age: uint8(min(max(rec.Age, 0), math.MaxUint8)), Race: rec.Race, View: rec.View, Synthetic: rec.Synthetic,
		Replica: uint16(min(max(rec.ReplicaID, 0), math.MaxUint16))}
}

// Record returns the item as a record: demographics, labels, view and
// replica, the patient as its hash in hex, no paths.
func (it Item) Record() dataset.Record {
	return dataset.Record{PatientID: fmt.Sprintf("%016x", it.Patient), Sex: it.Sex, Age: int(it.Age), Race: it.Race, View: it.View,
		Labels: it.Labels, Synthetic: it.Synthetic, ReplicaID: int(it.Replica)}
}

// Condition returns the item's 22-number condition vector under policy u
// (as dataset.Record.ConditionWith).
func (it Item) Condition(u dataset.UncertainPolicy) [model.CondDim]float32 {
	r := dataset.Record{Sex: it.Sex, Age: int(it.Age), Race: it.Race, Labels: it.Labels}
	return r.ConditionWith(u)
}

// Records files (little-endian):
//
//	"SFRS", u32 version 1, u32 image size, u32 pixel bits, u32 count,
//	count items of itemLen bytes:
//	  u32 chunk, u32 slot, u64 patient, 14 x i8 labels, i8 sex, u8 age,
//	  i8 race, i8 view, u8 flags (1: synthetic), u16 replica, 3 zero bytes
//	u32 CRC-32C of everything before it
const (
	recordsMagic   = "SFRS"
	recordsVersion = 1
	recordsFixed   = 20
	itemLen        = 40
	flagSynthetic  = 1
)

// encodeItems returns a records file's bytes.
func encodeItems(s Settings, items []Item) []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, recordsFixed+itemLen*len(items)+4)
	b = append(b, recordsMagic...)
	for _, v := range []uint32{recordsVersion, uint32(s.Size), uint32(s.PixelBits), uint32(len(items))} {
		b = le.AppendUint32(b, v)
	}
	for _, it := range items {
		b = le.AppendUint32(le.AppendUint32(b, it.Chunk), it.Slot)
		b = le.AppendUint64(b, it.Patient)
		for _, l := range it.Labels {
			b = append(b, byte(l))
		}
		var fl byte
		if it.Synthetic {
			fl = flagSynthetic
		}
		b = append(b, byte(it.Sex), it.Age, byte(it.Race), byte(it.View), fl)
		b = le.AppendUint16(b, it.Replica)
		b = append(b, 0, 0, 0)
	}
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeItems parses and checks a records file: magic, version, settings,
// length, checksum, and every field in its range.
func decodeItems(b []byte, s Settings) ([]Item, error) {
	le := binary.LittleEndian
	if len(b) < recordsFixed+4 || string(b[:4]) != recordsMagic {
		return nil, fmt.Errorf("records: bad magic or %d bytes: %w", len(b), ErrCorrupt)
	}
	body := b[:len(b)-4]
	if got, want := crc32.Checksum(body, castagnoli), le.Uint32(b[len(b)-4:]); got != want {
		return nil, fmt.Errorf("records: checksum %08x, trailer says %08x: %w", got, want, ErrCorrupt)
	}
	if v := le.Uint32(b[4:]); v != recordsVersion {
		return nil, fmt.Errorf("records: version %d, want %d: %w", v, recordsVersion, ErrCorrupt)
	}
	if got := (Settings{Size: int(le.Uint32(b[8:])), PixelBits: int(le.Uint32(b[12:]))}); got != s {
		return nil, fmt.Errorf("records: settings %+v, store has %+v: %w", got, s, ErrCorrupt)
	}
	n := uint64(le.Uint32(b[16:]))
	if uint64(len(body)-recordsFixed) != n*itemLen {
		return nil, fmt.Errorf("records: %d items do not fill %d bytes: %w", n, len(b), ErrCorrupt)
	}
	items := make([]Item, n)
	p := body[recordsFixed:]
	for i := range items {
		it := &items[i]
		it.Chunk, it.Slot, it.Patient = le.Uint32(p), le.Uint32(p[4:]), le.Uint64(p[8:])
		for j := range it.Labels {
			it.Labels[j] = model.Label(int8(p[16+j]))
			if l := it.Labels[j]; l < model.LabelBlank || l > model.LabelPositive {
				return nil, fmt.Errorf("records: item %d: label %d = %d: %w", i, j, l, ErrCorrupt)
			}
		}
		q := p[16+model.NumLabels:]
		it.Sex, it.Age, it.Race, it.View = dataset.Sex(int8(q[0])), q[1], dataset.Race(int8(q[2])), dataset.View(int8(q[3]))
		it.Synthetic = q[4]&flagSynthetic != 0
		it.Replica = le.Uint16(q[5:])
		if it.Sex < dataset.SexUnknown || it.Sex > dataset.SexMale || it.Race < dataset.RaceUnknown || it.Race > dataset.RaceAsian ||
			it.View < dataset.ViewUnknown || it.View > dataset.ViewLateral || q[4]&^flagSynthetic != 0 || q[7]|q[8]|q[9] != 0 {
			return nil, fmt.Errorf("records: item %d: sex %d, race %d, view %d, flags %d out of range: %w", i, it.Sex, it.Race, it.View, q[4], ErrCorrupt)
		}
		p = p[itemLen:]
	}
	return items, nil
}
