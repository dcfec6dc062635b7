//go:build amd64 && !purego

#include "textflag.h"

// RING_LOOP applies OP (VPADDD or VPSUBD) to CX/32 blocks of 32 words:
// d[i] = d[i] OP s[i] with d in DI and s in SI, four YMM registers a block.
#define RING_LOOP(OP, loop, done) \
	SHRQ    $5, CX; \
	JZ      done; \
loop: \
	VMOVDQU 0(DI), Y0; \
	VMOVDQU 32(DI), Y1; \
	VMOVDQU 64(DI), Y2; \
	VMOVDQU 96(DI), Y3; \
	OP      0(SI), Y0, Y0; \
	OP      32(SI), Y1, Y1; \
	OP      64(SI), Y2, Y2; \
	OP      96(SI), Y3, Y3; \
	VMOVDQU Y0, 0(DI); \
	VMOVDQU Y1, 32(DI); \
	VMOVDQU Y2, 64(DI); \
	VMOVDQU Y3, 96(DI); \
	ADDQ    $128, DI; \
	ADDQ    $128, SI; \
	DECQ    CX; \
	JNZ     loop; \
done: \
	VZEROUPPER

// func addWordsAVX2(d, s *uint32, n int)
// d[i] += s[i] for i < n; n is a multiple of 32.
TEXT ·addWordsAVX2(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ n+16(FP), CX
	RING_LOOP(VPADDD, addloop, adddone)
	RET

// func subWordsAVX2(d, s *uint32, n int)
// d[i] -= s[i] for i < n; n is a multiple of 32.
TEXT ·subWordsAVX2(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ n+16(FP), CX
	RING_LOOP(VPSUBD, subloop, subdone)
	RET
