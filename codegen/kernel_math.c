/* exp and log for generated kernels, as inline LLVM IR on float values.
 *
 * Why not llvm.exp / llvm.log: on x86-64 they become calls to expf/logf, which stop the loop
 * vectoriser and tie a JIT-linked kernel to the process's libm; LLVM 14's NVPTX backend also turns
 * them into calls to expf/logf, which do not exist on the GPU (llc stops with a fatal error).
 * These expansions use only operations both backends lower to instructions, so a host kernel and
 * its PTX twin evaluate the same IEEE operations in the same order (the NVPTX backend emits them
 * with .rn, which keeps ptxas from fusing multiply-adds). The constants and polynomials are
 * Cephes' expf and logf (S. L. Moshier), accurate to about 1 ulp over the whole float range. */
#include <math.h>

#include "codegen/kernel_ir.h"

/* The builder and the two types every expression here uses. */
typedef struct {
  LLVMBuilderRef b;
  LLVMTypeRef f32, i32;
} math;

static math math_for(LLVMBuilderRef b, LLVMValueRef x) {
  LLVMTypeRef f32 = LLVMTypeOf(x);
  return (math){b, f32, LLVMInt32TypeInContext(LLVMGetTypeContext(f32))};
}

static LLVMValueRef real(const math *m, float value) { return LLVMConstReal(m->f32, value); }

static LLVMValueRef integer(const math *m, int value) {
  return LLVMConstInt(m->i32, (unsigned long long)(long long)value, 1);
}

static LLVMValueRef add(const math *m, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFAdd(m->b, x, y, "");
}

static LLVMValueRef mul(const math *m, LLVMValueRef x, LLVMValueRef y) {
  return LLVMBuildFMul(m->b, x, y, "");
}

static LLVMValueRef pick(const math *m, LLVMRealPredicate predicate, LLVMValueRef x, LLVMValueRef y,
                         LLVMValueRef then, LLVMValueRef otherwise) {
  return LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, predicate, x, y, ""), then, otherwise, "");
}

/* c[0]·r^(n−1) + c[1]·r^(n−2) + ... + c[n−1], by Horner's rule. */
static LLVMValueRef polynomial(const math *m, LLVMValueRef r, const float *c, int n) {
  LLVMValueRef p = real(m, c[0]);
  for (int i = 1; i < n; i++)
    p = add(m, mul(m, p, r), real(m, c[i]));
  return p;
}

/* 2^k for k in [−126, 127], built from its exponent bits. */
static LLVMValueRef power_of_two(const math *m, LLVMValueRef k) {
  LLVMValueRef bits =
      LLVMBuildShl(m->b, LLVMBuildAdd(m->b, k, integer(m, 127), ""), integer(m, 23), "");
  return LLVMBuildBitCast(m->b, bits, m->f32, "");
}

/* exp(x) = 2^n · exp(r), n = round(x / ln 2), r = x − n·ln 2 (ln 2 split in two so that n·C1 is
 * exact). 2^n is applied in two halves so that results down to the smallest subnormal (n = −150)
 * and up to overflow (n = 128) are rounded once, correctly. */
LLVMValueRef ipro_kernel_ir_exp(LLVMBuilderRef builder, LLVMValueRef x) {
  static const float coefficients[] = {1.9875691500E-4f, 1.3981999507E-3f, 8.3334519073E-3f,
                                       4.1665795894E-2f, 1.6666665459E-1f, 5.0000001201E-1f};
  math m = math_for(builder, x);
  LLVMBuilderRef b = builder;
  /* Beyond these bounds the result is 0 or +inf already; NaN passes both comparisons. */
  LLVMValueRef clamped = pick(&m, LLVMRealOLT, x, real(&m, -104.0f), real(&m, -104.0f), x);
  clamped = pick(&m, LLVMRealOGT, clamped, real(&m, 88.8f), real(&m, 88.8f), clamped);
  LLVMValueRef t = mul(&m, clamped, real(&m, 1.44269504088896341f));
  LLVMValueRef rounded = pick(&m, LLVMRealOGE, t, real(&m, 0.0f), add(&m, t, real(&m, 0.5f)),
                              LLVMBuildFSub(b, t, real(&m, 0.5f), ""));
  LLVMValueRef n = LLVMBuildFPToSI(b, rounded, m.i32, "");
  LLVMValueRef nf = LLVMBuildSIToFP(b, n, m.f32, "");
  LLVMValueRef r = LLVMBuildFSub(b, clamped, mul(&m, nf, real(&m, 0.693359375f)), "");
  r = LLVMBuildFSub(b, r, mul(&m, nf, real(&m, -2.12194440e-4f)), "");
  LLVMValueRef p = polynomial(&m, r, coefficients, 6);
  p = add(&m, add(&m, mul(&m, p, mul(&m, r, r)), r), real(&m, 1.0f));
  LLVMValueRef half = LLVMBuildAShr(b, n, integer(&m, 1), "");
  LLVMValueRef rest = LLVMBuildSub(b, n, half, "");
  LLVMValueRef result = mul(&m, mul(&m, p, power_of_two(&m, half)), power_of_two(&m, rest));
  return pick(&m, LLVMRealUNO, x, x, x, result);
}

/* log(x) = e·ln 2 + log(f), x = 2^e · f with f in [√½, √2) (subnormals scaled by 2^23 first),
 * log(f) = (f − 1) − (f − 1)²/2 + (f − 1)³·P(f − 1). */
LLVMValueRef ipro_kernel_ir_log(LLVMBuilderRef builder, LLVMValueRef x) {
  static const float coefficients[] = {7.0376836292E-2f,  -1.1514610310E-1f, 1.1676998740E-1f,
                                       -1.2420140846E-1f, 1.4249322787E-1f,  -1.6668057665E-1f,
                                       2.0000714765E-1f,  -2.4999993993E-1f, 3.3333331174E-1f};
  math m = math_for(builder, x);
  LLVMBuilderRef b = builder;
  LLVMValueRef subnormal = LLVMBuildFCmp(b, LLVMRealOLT, x, real(&m, 1.17549435e-38f), "");
  LLVMValueRef scaled = LLVMBuildSelect(b, subnormal, mul(&m, x, real(&m, 8388608.0f)), x, "");
  LLVMValueRef bits = LLVMBuildBitCast(b, scaled, m.i32, "");
  LLVMValueRef e =
      LLVMBuildSub(b, LLVMBuildLShr(b, bits, integer(&m, 23), ""), integer(&m, 126), "");
  e = LLVMBuildSub(b, e, LLVMBuildSelect(b, subnormal, integer(&m, 23), integer(&m, 0), ""), "");
  LLVMValueRef fraction_bits = LLVMBuildOr(b, LLVMBuildAnd(b, bits, integer(&m, 0x007fffff), ""),
                                           integer(&m, 0x3f000000), "");
  LLVMValueRef f = LLVMBuildBitCast(b, fraction_bits, m.f32, "");
  LLVMValueRef small = LLVMBuildFCmp(b, LLVMRealOLT, f, real(&m, 0.707106781186547524f), "");
  e = LLVMBuildSub(b, e, LLVMBuildSelect(b, small, integer(&m, 1), integer(&m, 0), ""), "");
  f = LLVMBuildFSub(b, LLVMBuildSelect(b, small, add(&m, f, f), f, ""), real(&m, 1.0f), "");
  LLVMValueRef z = mul(&m, f, f);
  LLVMValueRef y = mul(&m, mul(&m, polynomial(&m, f, coefficients, 9), f), z);
  LLVMValueRef fe = LLVMBuildSIToFP(b, e, m.f32, "");
  y = add(&m, y, mul(&m, fe, real(&m, -2.12194440e-4f)));
  y = add(&m, y, mul(&m, real(&m, -0.5f), z));
  LLVMValueRef result = add(&m, add(&m, f, y), mul(&m, fe, real(&m, 0.693359375f)));
  /* The special arguments, in rising priority: +inf, 0 (either sign), negative or NaN. */
  result = pick(&m, LLVMRealOEQ, x, real(&m, INFINITY), x, result);
  result = pick(&m, LLVMRealOEQ, x, real(&m, 0.0f), real(&m, -INFINITY), result);
  return pick(&m, LLVMRealULT, x, real(&m, 0.0f), real(&m, NAN), result);
}
