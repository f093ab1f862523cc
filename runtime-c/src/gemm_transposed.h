/*
 * gemm_transposed.h - private declaration of the transposed GEMM variants (gemm_transposed.c).
 *
 * Not part of the ABI that generated kernels see (graphjit_runtime.h); the runtime table entry is
 * added separately.
 */
#ifndef GJ_GEMM_TRANSPOSED_H
#define GJ_GEMM_TRANSPOSED_H

/* BLAS-style sgemm, row-major storage:
 *   C[M,N] (row stride ldc) = op(A) op(B)  (+ the existing C if accumulate)  (+ bias[N] if non-NULL),
 * then `activation` (GJ_ACT_*) elementwise -- the epilogue order of gj_sgemm.
 *   trans_a == 0: op(A) = A[M,K], row stride lda:               op(A)[i][k] = A[i*lda + k]
 *   trans_a != 0: A is stored [K,M], row stride lda:              op(A)[i][k] = A[k*lda + i]
 *   trans_b == 0: op(B) = B[K,N], row stride ldb:               op(B)[k][j] = B[k*ldb + j]
 *   trans_b != 0: B is stored [N,K], row stride ldb:              op(B)[k][j] = B[j*ldb + k]
 * trans_a == trans_b == 0 is exactly gj_sgemm. Thread-safe; large problems use the worker pool. */
void gj_sgemm_t(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, const float *bias, int activation, int accumulate);

#endif /* GJ_GEMM_TRANSPOSED_H */
