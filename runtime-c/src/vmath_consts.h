/*
 * vmath_consts.h - constants of the polynomial approximations shared by the SIMD paths.
 *
 * The polynomial coefficients were fitted for this library with a weighted least-squares fit
 * iterated to near-minimax (Lawson's algorithm) against 40-digit reference values.
 */
#ifndef GJ_VMATH_CONSTS_H
#define GJ_VMATH_CONSTS_H

/* exp: clamp range; below GJ_EXP_LO the result underflows to 0, above GJ_EXP_HI it is +inf. */
#define GJ_EXP_LO (-105.0f)
#define GJ_EXP_HI (89.0f)
#define GJ_LOG2E 1.44269504088896341f
/* ln2 split so that n*GJ_LN2_HI is exact for |n| < 2^9 (HI has 14 significant bits) (Cody-Waite reduction). */
#define GJ_LN2_HI 0.693145751953125f
#define GJ_LN2_LO 1.4286068202862268e-6f
/* ln2 as one float (AVX-512 tanh: its arguments are reduced with n <= 29 only) */
#define GJ_LN2 0.6931471805599453f
/* e^r ~ 1 + r + r^2 * (C0 + C1 r + C2 r^2 + C3 r^3 + C4 r^4) on |r| <= ln2/2, rel. error 1.05e-8 */
#define GJ_EXP_C0 0.5000000027565275f
#define GJ_EXP_C1 0.16666576914121337f
#define GJ_EXP_C2 0.04166637320435143f
#define GJ_EXP_C3 0.008363185944094655f
#define GJ_EXP_C4 0.0013941225959986435f

/* tanh(x) ~ x + x^3 * (C0 + C1 x^2 + C2 x^4 + C3 x^6 + C4 x^8) for |x| < GJ_TANH_SMALL,
 * rel. error 1.8e-8 */
#define GJ_TANH_SMALL 0.625f
#define GJ_TANH_C0 (-0.3333332911479508f)
#define GJ_TANH_C1 0.1333278986376613f
#define GJ_TANH_C2 (-0.05385363884144884f)
#define GJ_TANH_C3 0.021008593361082253f
#define GJ_TANH_C4 (-0.00611146847897395f)

#endif /* GJ_VMATH_CONSTS_H */
