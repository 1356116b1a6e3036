#include "textflag.h"

// Lanes 0 and 2 (the real parts of a pair of complex64) negated.
DATA negReal<>+0(SB)/4, $0x80000000
DATA negReal<>+4(SB)/4, $0
DATA negReal<>+8(SB)/4, $0x80000000
DATA negReal<>+12(SB)/4, $0
GLOBL negReal<>(SB), RODATA|NOPTR, $16

// Lanes 1 and 3 (the imaginary parts of a pair of complex64) negated.
DATA negImag<>+0(SB)/4, $0
DATA negImag<>+4(SB)/4, $0x80000000
DATA negImag<>+8(SB)/4, $0
DATA negImag<>+12(SB)/4, $0x80000000
GLOBL negImag<>(SB), RODATA|NOPTR, $16

// func gradientPairs(w, x, E *[fftBins]complex64, gain float32)
//
// For each pair of bins k, k+1 (k < 64): gx = gain·X[k:k+2] = (xr0 xi0 xr1 xi1),
//   (xr xr)·(er ei) + (xi·ei, −xi·er) = (xr·er + xi·ei, xr·ei − xi·er)
// added to W[k:k+2].
TEXT ·gradientPairs(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ E+16(FP), DX
	MOVSS gain+24(FP), X7
	SHUFPS $0x00, X7, X7 // gain in every lane
	MOVUPS negImag<>(SB), X8
	XORQ CX, CX // byte offset of the pair: 8·k

pair:
	MOVUPS (SI)(CX*1), X2
	MULPS X7, X2 // (xr0 xi0 xr1 xi1), scaled by gain
	MOVAPS X2, X3
	SHUFPS $0xA0, X3, X3 // (xr0 xr0 xr1 xr1)
	SHUFPS $0xF5, X2, X2 // (xi0 xi0 xi1 xi1)
	MOVUPS (DX)(CX*1), X4 // (er0 ei0 er1 ei1)
	MOVAPS X4, X5
	SHUFPS $0xB1, X5, X5 // (ei0 er0 ei1 er1)
	MULPS X4, X3 // (xr·er, xr·ei, …)
	MULPS X5, X2 // (xi·ei, xi·er, …)
	XORPS X8, X2 // (xi·ei, −xi·er, …)
	ADDPS X2, X3
	MOVUPS (DI)(CX*1), X6
	ADDPS X3, X6
	MOVUPS X6, (DI)(CX*1)
	ADDQ $16, CX
	CMPQ CX, $512
	JLT pair
	RET

// TWIDDLE(a, tw, b, raw) loads the pair at a+CX into raw and sets b to it
// times the twiddles at tw+CX, as cmul computes it: (ar ar)·w +
// (−ai·wi, ai·wr). X4–X6 are scratch; X14 holds negReal.
#define TWIDDLE(a, tw, b, raw) \
	MOVUPS (a)(CX*1), b \
	MOVUPS (tw)(CX*1), X4 \
	MOVAPS b, raw \
	MOVAPS b, X5 \
	SHUFPS $0xA0, X5, X5 \
	SHUFPS $0xF5, b, b \
	MOVAPS X4, X6 \
	SHUFPS $0xB1, X6, X6 \
	MULPS X4, X5 \
	MULPS X6, b \
	XORPS X14, b \
	ADDPS X5, b

// func radix4Pairs(z, twp *complex64, n, y1, y3 int)
//
// Butterflies k, k+1 at a time: b_m = a_m[k:k+2]·tw_m (m = 1, 2, 3; a
// complex product as in cmul, (ar ar)·w + (−ai·wi, ai·wr)), then
// s02 = b0 + b2, d02 = b0 − b2, s13 = b1 + b3, d13 = b1 − b3,
// t = (im d13, −re d13); a0 = s02 + s13, a2 = s02 − s13, y1 = d02 + t,
// y3 = d02 − t. Butterfly 0 takes its inputs unmultiplied (its twiddles
// are 1, and a product by 1 + 0i may turn −0 into +0).
TEXT ·radix4Pairs(SB), NOSPLIT, $0-40
	MOVQ z+0(FP), DI
	MOVQ twp+8(FP), SI
	MOVQ n+16(FP), BX
	MOVQ y1+24(FP), R8
	MOVQ y3+32(FP), R9
	MOVUPS negReal<>(SB), X14
	MOVUPS negImag<>(SB), X13
	SHLQ $3, BX // bytes in a quarter
	LEAQ (DI)(BX*1), R10 // a1
	LEAQ (R10)(BX*1), R11 // a2
	LEAQ (R11)(BX*1), R12 // a3
	ADDQ DI, R8 // y1
	ADDQ DI, R9 // y3
	XORQ CX, CX

pair:
	TWIDDLE(R10, SI, X1, X9) // b1 = a1·tw1
	LEAQ (SI)(BX*1), AX
	TWIDDLE(R11, AX, X2, X10) // b2 = a2·tw2
	LEAQ (AX)(BX*1), AX
	TWIDDLE(R12, AX, X3, X11) // b3 = a3·tw3

	TESTQ CX, CX
	JNE butterfly
	MOVSD X9, X1 // butterfly 0: the inputs as they are
	MOVSD X10, X2
	MOVSD X11, X3

butterfly:
	MOVUPS (DI)(CX*1), X0
	MOVAPS X0, X4
	ADDPS X2, X4 // s02
	SUBPS X2, X0 // d02
	MOVAPS X1, X5
	ADDPS X3, X5 // s13
	SUBPS X3, X1 // d13
	SHUFPS $0xB1, X1, X1
	XORPS X13, X1 // t = (im d13, −re d13)
	MOVAPS X4, X6
	ADDPS X5, X6
	MOVUPS X6, (DI)(CX*1) // a0 = s02 + s13
	SUBPS X5, X4
	MOVUPS X4, (R11)(CX*1) // a2 = s02 − s13
	MOVAPS X0, X7
	ADDPS X1, X7
	MOVUPS X7, (R8)(CX*1) // y1 = d02 + t
	SUBPS X1, X0
	MOVUPS X0, (R9)(CX*1) // y3 = d02 − t

	ADDQ $16, CX
	CMPQ CX, BX
	JLT pair
	RET

// func filterPartPairs(accF, accB, x, wf, wb *[fftBins]complex64)
//
// One partition's products added to both sums, bins 0..63 two at a time:
// with x = (xr0 xi0 xr1 xi1) and w = (wr0 wi0 wr1 wi1),
//   w·(xr xr) + (−wi·xi, wr·xi) = (wr·xr − wi·xi, wi·xr + wr·xi): w·x,
// added to acc[k:k+2]. The five arrays are read in order.
TEXT ·filterPartPairs(SB), NOSPLIT, $0-40
	MOVQ accF+0(FP), DI
	MOVQ accB+8(FP), SI
	MOVQ x+16(FP), AX
	MOVQ wf+24(FP), R9
	MOVQ wb+32(FP), R10
	MOVUPS negReal<>(SB), X8
	XORQ CX, CX

fpair:
	MOVUPS (AX)(CX*1), X2
	MOVAPS X2, X3
	SHUFPS $0xA0, X3, X3 // (xr0 xr0 xr1 xr1)
	SHUFPS $0xF5, X2, X2 // (xi0 xi0 xi1 xi1)

	MOVUPS (R9)(CX*1), X4
	MOVAPS X4, X5
	SHUFPS $0xB1, X5, X5
	MULPS X3, X4
	MULPS X2, X5
	XORPS X8, X5
	ADDPS X5, X4
	MOVUPS (DI)(CX*1), X0
	ADDPS X4, X0
	MOVUPS X0, (DI)(CX*1)

	MOVUPS (R10)(CX*1), X6
	MOVAPS X6, X7
	SHUFPS $0xB1, X7, X7
	MULPS X3, X6
	MULPS X2, X7
	XORPS X8, X7
	ADDPS X7, X6
	MOVUPS (SI)(CX*1), X1
	ADDPS X6, X1
	MOVUPS X1, (SI)(CX*1)

	ADDQ $16, CX
	CMPQ CX, $512
	JLT fpair
	RET

// func specEnergyPairs(w *[fftBins]complex64) float32
//
// Σ |w(k)|² over bins 0..63: the squares of bins k, k+1 (k ≡ 0 mod 4)
// summed lane by lane into X0, of bins k+2, k+3 into X1; then X0 + X1,
// and its lanes as (l0 + l1) + (l2 + l3).
TEXT ·specEnergyPairs(SB), NOSPLIT, $0-12
	MOVQ w+0(FP), SI
	XORPS X0, X0
	XORPS X1, X1
	XORQ CX, CX // byte offset of bin k: 8·k

quad:
	MOVUPS (SI)(CX*1), X2
	MOVUPS 16(SI)(CX*1), X3
	MULPS X2, X2
	MULPS X3, X3
	ADDPS X2, X0
	ADDPS X3, X1
	ADDQ $32, CX
	CMPQ CX, $512
	JLT quad
	ADDPS X1, X0 // (l0 l1 l2 l3)
	MOVAPS X0, X1
	SHUFPS $0xB1, X1, X1 // (l1 l0 l3 l2)
	ADDPS X1, X0 // (l0+l1, ·, l2+l3, ·)
	MOVHLPS X0, X1 // X1's lane 0: l2+l3
	ADDSS X1, X0
	MOVSS X0, ret+8(FP)
	RET

// func addScaledPairs(dst, src *[fftBins]float32, gain float32)
//
// dst[k] += gain·src[k] for k < 64, eight at a time.
TEXT ·addScaledPairs(SB), NOSPLIT, $0-20
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVSS gain+16(FP), X7
	SHUFPS $0x00, X7, X7 // gain in every lane
	XORQ CX, CX // byte offset of bin k: 4·k

oct:
	MOVUPS (SI)(CX*1), X0
	MOVUPS 16(SI)(CX*1), X1
	MULPS X7, X0
	MULPS X7, X1
	MOVUPS (DI)(CX*1), X2
	MOVUPS 16(DI)(CX*1), X3
	ADDPS X0, X2
	ADDPS X1, X3
	MOVUPS X2, (DI)(CX*1)
	MOVUPS X3, 16(DI)(CX*1)
	ADDQ $32, CX
	CMPQ CX, $256
	JLT oct
	RET
