package dataset

import (
	"strings"
)

// Race is one of the study's five race classes, or RaceUnknown.
type Race int8

// The race classes in the order of the condition vector's one-hot.
const (
	RaceUnknown Race = iota
	RaceAIAN         // American Indian/Alaska Native
	RaceBlack        // Black/African American
	RaceWhite        // White
	RaceNHPI         // Native Hawaiian/Pacific Islander
	RaceAsian        // Asian
)

// raceNames are the canonical spellings written to manifests.
var raceNames = [...]string{"Unknown", "American Indian/Alaska Native", "Black/African American", "White", "Native Hawaiian/Pacific Islander", "Asian"}

// String returns the canonical class name.
func (r Race) String() string {
	if r < 0 || int(r) >= len(raceNames) {
		return "Unknown"
	}
	return raceNames[r]
}

// raceTable maps normalised source strings (lower case, single spaces) to a
// class. It covers the canonical names, the study's manifest spellings, the
// CheXpert demographics file's PRIMARY_RACE values and the MIMIC-IV
// admissions race values. An entry mapping to RaceUnknown is a known value
// carrying no race (other, unknown, refused, or an ethnicity only).
//
//	canonical / study          class
//	American Indian/Alaska(n) Native, Native American        AIAN
//	Black/African American, African American, Black           Black
//	White, White or Caucasian, Caucasian                      White
//	Native Hawaiian/Pacific Islander, Pacific Islander,
//	  Native Hawaiian or Other Pacific Islander               NHPI
//	Asian                                                     Asian
//	Other, Unknown, Patient Refused, Declined, Unable to
//	  Obtain, Race and Ethnicity Unknown, Multiple Race,
//	  Hispanic/Latino (an ethnicity), Portuguese, South
//	  American                                                Unknown
var raceTable = map[string]Race{
	"american indian/alaska native":             RaceAIAN,
	"american indian/alaskan native":            RaceAIAN,
	"american indian or alaska native":          RaceAIAN,
	"native american":                           RaceAIAN,
	"black/african american":                    RaceBlack,
	"black or african american":                 RaceBlack,
	"african american":                          RaceBlack,
	"black":                                     RaceBlack,
	"white":                                     RaceWhite,
	"white or caucasian":                        RaceWhite,
	"caucasian":                                 RaceWhite,
	"native hawaiian/pacific islander":          RaceNHPI,
	"native hawaiian or other pacific islander": RaceNHPI,
	"pacific islander":                          RaceNHPI,
	"native hawaiian":                           RaceNHPI,
	"asian":                                     RaceAsian,
	"other":                                     RaceUnknown,
	"unknown":                                   RaceUnknown,
	"patient refused":                           RaceUnknown,
	"patient declined to answer":                RaceUnknown,
	"declined":                                  RaceUnknown,
	"declined to state":                         RaceUnknown,
	"unable to obtain":                          RaceUnknown,
	"race and ethnicity unknown":                RaceUnknown,
	"multiple race/ethnicity":                   RaceUnknown,
	"hispanic or latino":                        RaceUnknown,
	"hispanic/latino":                           RaceUnknown,
	"portuguese":                                RaceUnknown,
	"south american":                            RaceUnknown,
	"":                                          RaceUnknown,
}

// MapRace maps a race string from any supported source to a class. The rule,
// applied to the lower-cased, space-normalised value:
//
//  1. an exact entry of the table above;
//  2. otherwise the part before the first ", " or " - " (CheXpert's
//     "White, non-Hispanic" and "Asian - Historical Conv", MIMIC's
//     "WHITE - RUSSIAN" and "HISPANIC/LATINO - DOMINICAN");
//  3. otherwise the part before the first "/" (MIMIC's "BLACK/CAPE
//     VERDEAN", "BLACK/CARIBBEAN ISLAND", "ASIAN/...").
//
// known is false when no rule matched: the class is then RaceUnknown and the
// loader reports the value once as a warning (KindUnknownRace).
func MapRace(s string) (r Race, known bool) {
	k := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	if r, ok := raceTable[k]; ok {
		return r, true
	}
	for _, sep := range []string{", ", " - "} {
		if i := strings.Index(k, sep); i > 0 {
			if r, ok := raceTable[k[:i]]; ok {
				return r, true
			}
		}
	}
	if i := strings.IndexByte(k, '/'); i > 0 {
		if r, ok := raceTable[k[:i]]; ok {
			return r, true
		}
	}
	return RaceUnknown, false
}

// ResolveRace combines the race strings recorded for one patient (MIMIC-IV
// admissions, or duplicate demographics rows) by this rule:
//
//   - values that map to RaceUnknown (other, unknown, declined, ...) are
//     ignored;
//   - if every remaining value maps to the same class, that class is the
//     patient's race;
//   - if they map to different classes, the race is RaceUnknown and conflict
//     is true (the loader reports a KindRaceConflict warning): a self-reported
//     race that changes between admissions cannot be trusted either way.
//
// unmapped lists the values no rule recognised.
func ResolveRace(values []string) (r Race, conflict bool, unmapped []string) {
	for _, v := range values {
		c, known := MapRace(v)
		if !known {
			unmapped = append(unmapped, v)
		}
		if c == RaceUnknown {
			continue
		}
		if r == RaceUnknown {
			r = c
		} else if r != c {
			conflict = true
		}
	}
	if conflict {
		return RaceUnknown, true, unmapped
	}
	return r, false, unmapped
}
