#include "textflag.h"

// func dots8(out, win *float32, hr *[taps]float32, n int)
//
// out[i] = Σ hr[j]·win[i+j], j from taps−1 down to 0, each sum from zero,
// for i < n (a multiple of 8): eight outputs at a time, one per lane of
// two registers, every lane summing its products in the Go loop's order.
TEXT ·dots8(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ win+8(FP), SI
	MOVQ hr+16(FP), DX
	MOVQ n+24(FP), CX
	SHLQ $2, CX // bytes of output
	XORQ BX, BX // byte offset of output i

outer:
	XORPS X0, X0 // outputs i..i+3
	XORPS X1, X1 // outputs i+4..i+7
	LEAQ (SI)(BX*1), R8 // &win[i]
	MOVQ $124, AX // byte offset of tap j = 31

inner:
	MOVSS (DX)(AX*1), X2
	SHUFPS $0x00, X2, X2 // hr[j] in every lane
	MOVUPS (R8)(AX*1), X3 // win[i+j : i+j+4]
	MOVUPS 16(R8)(AX*1), X4 // win[i+4+j : i+j+8]
	MULPS X2, X3
	MULPS X2, X4
	ADDPS X3, X0
	ADDPS X4, X1
	SUBQ $4, AX
	JGE inner

	MOVUPS X0, (DI)(BX*1)
	MOVUPS X1, 16(DI)(BX*1)
	ADDQ $32, BX
	CMPQ BX, CX
	JLT outer
	RET
