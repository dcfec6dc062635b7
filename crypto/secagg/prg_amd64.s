//go:build amd64 && !purego

#include "textflag.h"

// The mask PRG in one pass: AES-256 in counter mode (AES-NI, VEX encoding)
// with each keystream block added to (or subtracted from) four words of
// the vector at once, so the keystream never goes through memory. The
// counter block of block i is 8 zero bytes then ctr+i big-endian, as the
// standard library's CTR mode makes it from the IV 0^64 || ctr.

// KEY_SHIFT_XOR sets A to A ^ A<<32 ^ A<<64 ^ A<<96 (the key schedule's
// running XOR of the previous round key's words), using T.
#define KEY_SHIFT_XOR(A, T) \
	VPSLLDQ $4, A, T; \
	VPXOR   T, A, A; \
	VPSLLDQ $4, T, T; \
	VPXOR   T, A, A; \
	VPSLLDQ $4, T, T; \
	VPXOR   T, A, A

// KEY_EVEN computes the next even round key into X0 from X0 and X1 with
// round constant RCON (RotWord, SubWord, Rcon of X1's last word) and
// stores it at OFF(BX).
#define KEY_EVEN(RCON, OFF) \
	VAESKEYGENASSIST $RCON, X1, X2; \
	VPSHUFD $0xff, X2, X2; \
	KEY_SHIFT_XOR(X0, X3); \
	VPXOR   X2, X0, X0; \
	VMOVDQU X0, OFF(BX)

// KEY_ODD computes the next odd round key into X1 from X1 and X0
// (SubWord of X0's last word, no rotation, no constant) and stores it at
// OFF(BX).
#define KEY_ODD(OFF) \
	VAESKEYGENASSIST $0, X0, X2; \
	VPSHUFD $0xaa, X2, X2; \
	KEY_SHIFT_XOR(X1, X3); \
	VPXOR   X2, X1, X1; \
	VMOVDQU X1, OFF(BX)

// func expandKey256(key *MaskKey, rk *roundKeys)
TEXT ·expandKey256(SB), NOSPLIT, $0-16
	MOVQ    key+0(FP), AX
	MOVQ    rk+8(FP), BX
	VMOVDQU 0(AX), X0
	VMOVDQU 16(AX), X1
	VMOVDQU X0, 0(BX)
	VMOVDQU X1, 16(BX)
	KEY_EVEN(0x01, 32)
	KEY_ODD(48)
	KEY_EVEN(0x02, 64)
	KEY_ODD(80)
	KEY_EVEN(0x04, 96)
	KEY_ODD(112)
	KEY_EVEN(0x08, 128)
	KEY_ODD(144)
	KEY_EVEN(0x10, 160)
	KEY_ODD(176)
	KEY_EVEN(0x20, 192)
	KEY_ODD(208)
	KEY_EVEN(0x40, 224)
	VPXOR   X0, X0, X0
	VPXOR   X1, X1, X1
	VPXOR   X2, X2, X2
	VPXOR   X3, X3, X3
	RET

// COUNTER loads counter block DX+I, whitened with round key 0 (X8), into X.
#define COUNTER(I, X) \
	LEAQ    I(DX), R8; \
	BSWAPQ  R8; \
	VMOVQ   R8, X; \
	VPSLLDQ $8, X, X; \
	VPXOR   X8, X, X

// ROUND8 runs one AES round with key K on the eight blocks X0-X7.
#define ROUND8(K, OP) \
	OP K, X0, X0; \
	OP K, X1, X1; \
	OP K, X2, X2; \
	OP K, X3, X3; \
	OP K, X4, X4; \
	OP K, X5, X5; \
	OP K, X6, X6; \
	OP K, X7, X7

// ROUNDS runs rounds 1-14 on the blocks in X0-X7 through ROUNDER (ROUND8
// or ROUND1): keys 1-6 are in X9-X14, the others are read from AX.
#define ROUNDS(ROUNDER) \
	ROUNDER(X9, VAESENC); \
	ROUNDER(X10, VAESENC); \
	ROUNDER(X11, VAESENC); \
	ROUNDER(X12, VAESENC); \
	ROUNDER(X13, VAESENC); \
	ROUNDER(X14, VAESENC); \
	ROUNDER(112(AX), VAESENC); \
	ROUNDER(128(AX), VAESENC); \
	ROUNDER(144(AX), VAESENC); \
	ROUNDER(160(AX), VAESENC); \
	ROUNDER(176(AX), VAESENC); \
	ROUNDER(192(AX), VAESENC); \
	ROUNDER(208(AX), VAESENC); \
	ROUNDER(224(AX), VAESENCLAST)

#define ROUND1(K, OP) OP K, X0, X0

// ADD_BLOCK adds keystream block X to the four words at OFF(DI).
#define ADD_BLOCK(X, OFF) \
	VPADDD  OFF(DI), X, X; \
	VMOVDQU X, OFF(DI)

// SUB_BLOCK subtracts keystream block X from the four words at OFF(DI).
#define SUB_BLOCK(X, OFF) \
	VMOVDQU OFF(DI), X15; \
	VPSUBD  X, X15, X15; \
	VMOVDQU X15, OFF(DI)

// CTR_BODY is the whole kernel with COMBINE (ADD_BLOCK or SUB_BLOCK):
// AX round keys, DI the words, CX the number of blocks, DX the counter.
#define CTR_BODY(COMBINE, loop8, loop1, done) \
	VMOVDQU 0(AX), X8; \
	VMOVDQU 16(AX), X9; \
	VMOVDQU 32(AX), X10; \
	VMOVDQU 48(AX), X11; \
	VMOVDQU 64(AX), X12; \
	VMOVDQU 80(AX), X13; \
	VMOVDQU 96(AX), X14; \
loop8: \
	CMPQ    CX, $8; \
	JB      loop1; \
	COUNTER(0, X0); \
	COUNTER(1, X1); \
	COUNTER(2, X2); \
	COUNTER(3, X3); \
	COUNTER(4, X4); \
	COUNTER(5, X5); \
	COUNTER(6, X6); \
	COUNTER(7, X7); \
	ROUNDS(ROUND8); \
	COMBINE(X0, 0); \
	COMBINE(X1, 16); \
	COMBINE(X2, 32); \
	COMBINE(X3, 48); \
	COMBINE(X4, 64); \
	COMBINE(X5, 80); \
	COMBINE(X6, 96); \
	COMBINE(X7, 112); \
	ADDQ    $128, DI; \
	ADDQ    $8, DX; \
	SUBQ    $8, CX; \
	JMP     loop8; \
loop1: \
	TESTQ   CX, CX; \
	JZ      done; \
	COUNTER(0, X0); \
	ROUNDS(ROUND1); \
	COMBINE(X0, 0); \
	ADDQ    $16, DI; \
	INCQ    DX; \
	DECQ    CX; \
	JMP     loop1; \
done: \
	VPXOR   X0, X0, X0; \
	VPXOR   X1, X1, X1; \
	VPXOR   X2, X2, X2; \
	VPXOR   X3, X3, X3; \
	VPXOR   X4, X4, X4; \
	VPXOR   X5, X5, X5; \
	VPXOR   X6, X6, X6; \
	VPXOR   X7, X7, X7; \
	VPXOR   X8, X8, X8; \
	VPXOR   X9, X9, X9; \
	VPXOR   X10, X10, X10; \
	VPXOR   X11, X11, X11; \
	VPXOR   X12, X12, X12; \
	VPXOR   X13, X13, X13; \
	VPXOR   X14, X14, X14; \
	VPXOR   X15, X15, X15

// func ctrAddAES256(rk *roundKeys, d *uint32, blocks int, ctr uint64)
// d[4i+j] += word j of AES-256(rk, counter block ctr+i), i < blocks.
TEXT ·ctrAddAES256(SB), NOSPLIT, $0-32
	MOVQ rk+0(FP), AX
	MOVQ d+8(FP), DI
	MOVQ blocks+16(FP), CX
	MOVQ ctr+24(FP), DX
	CTR_BODY(ADD_BLOCK, addloop8, addloop1, adddone)
	RET

// func ctrSubAES256(rk *roundKeys, d *uint32, blocks int, ctr uint64)
// d[4i+j] -= word j of AES-256(rk, counter block ctr+i), i < blocks.
TEXT ·ctrSubAES256(SB), NOSPLIT, $0-32
	MOVQ rk+0(FP), AX
	MOVQ d+8(FP), DI
	MOVQ blocks+16(FP), CX
	MOVQ ctr+24(FP), DX
	CTR_BODY(SUB_BLOCK, subloop8, subloop1, subdone)
	RET
