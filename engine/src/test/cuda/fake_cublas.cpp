// A stand-in for libcublas with cuBLAS's documented semantics for the calls Candor binds, on host memory: column-major
// matrices, op(X) = X or its transpose, leading dimensions, alpha and beta read through host pointers. CublasTest
// loads it through Candor's own binding, so the binding's signatures and its GEMM arguments are checked without a GPU.
#include <stdint.h>
#include <string.h>

extern "C" {

int cublasCreate_v2(void** handle) {
  *handle = (void*)0x1;
  return 0;
}

int cublasDestroy_v2(void*) { return 0; }

int cublasSetStream_v2(void*, void*) { return 0; }

static float element(const void* p, int type, long i) {
  if (type == 0) return ((const float*)p)[i];  // CUDA_R_32F
  uint32_t bits = ((uint32_t)((const uint16_t*)p)[i]) << 16;  // CUDA_R_16BF
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

// C = alpha op(A) op(B) + beta C; C is m x n, op(A) m x k, op(B) k x n.
int cublasGemmEx(void*, int transa, int transb, int m, int n, int k, const void* alpha, const void* a, int atype,
                 int lda, const void* b, int btype, int ldb, const void* beta, void* c, int ctype, int ldc,
                 int compute, int) {
  const int CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_NOT_SUPPORTED = 15;
  if ((atype != 0 && atype != 14) || (btype != 0 && btype != 14)) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (ctype != 0 || compute != 68) return CUBLAS_STATUS_NOT_SUPPORTED;  // FP32 out, CUBLAS_COMPUTE_32F
  if (lda < (transa ? k : m) || ldb < (transb ? n : k) || ldc < m) return CUBLAS_STATUS_INVALID_VALUE;
  float al = *(const float*)alpha, be = *(const float*)beta;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double sum = 0;
      for (int p = 0; p < k; p++) {
        float x = transa ? element(a, atype, p + (long)i * lda) : element(a, atype, i + (long)p * lda);
        float y = transb ? element(b, btype, j + (long)p * ldb) : element(b, btype, p + (long)j * ldb);
        sum += (double)x * y;
      }
      float* out = (float*)c + i + (long)j * ldc;
      *out = (float)(al * sum) + (be == 0 ? 0.f : be * *out);
    }
  return 0;
}
}
