// tessera's GPU kernels for the codec's hot path, compiled at run time with NVRTC.
//
// Every floating-point operation that must match the CPU path bit for bit is written with an
// explicit round-to-nearest intrinsic (__fmul_rn, __fadd_rn, __dmul_rn, ...): those are never
// contracted into fused multiply-adds, whatever the compiler options.
//
// Tensor layout (codec/src/geometry.rs): a tensor is a rows x cols matrix cut into chunks of
// cr x cc values; chunks are numbered row of chunks by row of chunks, positions inside a chunk
// row-major.

typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned int u32;
typedef long long i64;

#define THREADS 256

__device__ __forceinline__ i64 chunk_offset(i64 chunk, u32 pos, i64 cols, u32 cr, u32 cc) {
    i64 across = cols / cc;
    i64 chunk_row = chunk / across, chunk_col = chunk % across;
    return (chunk_row * cr + pos / cc) * cols + chunk_col * cc + pos % cc;
}

__device__ __forceinline__ bool finite_f32(float v) {
    return (__float_as_uint(v) & 0x7f800000u) != 0x7f800000u;
}

extern "C" {

// Sets *bad if any of x[0..n) is NaN or infinite.
__global__ void check_finite(const float* x, i64 n, int* bad) {
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
        if (!finite_f32(x[i])) {
            atomicOr(bad, 1);
        }
    }
}

// e <- beta * e + delta (two roundings, as on the CPU), written back to e and gathered into
// `chunked` (chunk after chunk, each chunk_len values); sets *bad on a non-finite result.
__global__ void ef_update_gather(float* e, const float* delta, float beta, float* chunked,
                                 i64 n, i64 cols, u32 cr, u32 cc, int* bad) {
    i64 across = cols / cc;
    u32 chunk_len = cr * cc;
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
        float v = __fadd_rn(__fmul_rn(beta, e[i]), delta[i]);
        e[i] = v;
        if (!finite_f32(v)) {
            atomicOr(bad, 1);
        }
        i64 row = i / cols, col = i % cols;
        i64 chunk = (row / cr) * across + col / cc;
        u32 pos = (u32)(row % cr) * cc + (u32)(col % cc);
        chunked[chunk * chunk_len + pos] = v;
    }
}

// Exclusive prefix sum of scan[0..THREADS) in place, by thread 0, in thread order.
__device__ void exclusive_scan_by_thread0(u32* scan) {
    __syncthreads();
    if (threadIdx.x == 0) {
        u32 acc = 0;
        for (int t = 0; t < THREADS; t++) {
            u32 c = scan[t];
            scan[t] = acc;
            acc += c;
        }
    }
    __syncthreads();
}

// One block (THREADS threads) per chunk: the k largest |v| of the chunk, ties to the lower
// position, written in ascending position order with their values. A radix select on the
// magnitude bits (8 bits a pass) finds the k-th largest key T; every key above T is kept, and
// of the keys equal to T the lowest positions, as many as are still needed. The same selection
// as codec/src/topk.rs, so the same positions.
__global__ void topk_chunks(const float* chunked, u32 chunk_len, u32 k, i64 chunks,
                            u16* out_idx, float* out_val) {
    __shared__ u32 hist[256];
    __shared__ u32 scan[THREADS];
    __shared__ u32 s_prefix, s_remaining;
    u32 t = threadIdx.x;
    for (i64 chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
        const float* x = chunked + chunk * chunk_len;
        u16* idx = out_idx + chunk * k;
        float* val = out_val + chunk * k;
        if (k >= chunk_len) {
            for (u32 p = t; p < chunk_len; p += THREADS) {
                idx[p] = (u16)p;
                val[p] = x[p];
            }
            continue;
        }
        u32 prefix = 0, mask = 0, remaining = k;
        for (int shift = 24; shift >= 0; shift -= 8) {
            hist[t] = 0;
            __syncthreads();
            for (u32 p = t; p < chunk_len; p += THREADS) {
                u32 key = __float_as_uint(x[p]) & 0x7fffffffu;
                if ((key & mask) == prefix) {
                    atomicAdd(&hist[(key >> shift) & 255u], 1u);
                }
            }
            __syncthreads();
            if (t == 0) {
                u32 above = 0;
                for (int b = 255; b >= 0; b--) {
                    if (above + hist[b] >= remaining) {
                        s_prefix = prefix | ((u32)b << shift);
                        s_remaining = remaining - above;
                        break;
                    }
                    above += hist[b];
                }
            }
            __syncthreads();
            prefix = s_prefix;
            remaining = s_remaining;
            mask |= 255u << shift;
            __syncthreads();
        }
        // prefix is now the k-th largest key T; `remaining` keys equal to T are needed.
        u32 segment = (chunk_len + THREADS - 1) / THREADS;
        u32 lo = min(t * segment, chunk_len), hi = min(lo + segment, chunk_len);
        u32 equal = 0;
        for (u32 p = lo; p < hi; p++) {
            equal += (__float_as_uint(x[p]) & 0x7fffffffu) == prefix;
        }
        scan[t] = equal;
        exclusive_scan_by_thread0(scan);
        u32 equal_before = scan[t];
        __syncthreads();
        u32 kept = 0, e = equal_before;
        for (u32 p = lo; p < hi; p++) {
            u32 key = __float_as_uint(x[p]) & 0x7fffffffu;
            kept += key > prefix || (key == prefix && e < remaining);
            e += key == prefix;
        }
        scan[t] = kept;
        exclusive_scan_by_thread0(scan);
        u32 o = scan[t];
        e = equal_before;
        for (u32 p = lo; p < hi; p++) {
            u32 key = __float_as_uint(x[p]) & 0x7fffffffu;
            if (key > prefix || (key == prefix && e < remaining)) {
                idx[o] = (u16)p;
                val[o] = x[p];
                o++;
            }
            e += key == prefix;
        }
        __syncthreads();
    }
}

// Block partial sums in f64, in a fixed order (each thread a strided run, then a fixed tree):
// mode 0: sum of x; 1: sum of (x - shift)^2; 2: sum of x where codes == code; 3: count of
// codes == code. One partial per block into out[blockIdx.x].
__global__ void partial_sums(const float* x, const u8* codes, i64 n, double shift, int mode,
                             int code, double* out) {
    __shared__ double tree[THREADS];
    double acc = 0.0;
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
        double v = (double)x[i];
        if (mode == 0) {
            acc = __dadd_rn(acc, v);
        } else if (mode == 1) {
            double d = __dsub_rn(v, shift);
            acc = __dadd_rn(acc, __dmul_rn(d, d));
        } else if (mode == 2) {
            if (codes[i] == code) acc = __dadd_rn(acc, v);
        } else {
            if (codes[i] == code) acc = __dadd_rn(acc, 1.0);
        }
    }
    tree[threadIdx.x] = acc;
    __syncthreads();
    for (u32 s = THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            tree[threadIdx.x] = __dadd_rn(tree[threadIdx.x], tree[threadIdx.x + s]);
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        out[blockIdx.x] = tree[0];
    }
}

// The sum of partial[0..n) in order, by one thread (n is the number of blocks of partial_sums).
__global__ void sum_partials(const double* partial, u32 n, double* out) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        double acc = 0.0;
        for (u32 i = 0; i < n; i++) {
            acc = __dadd_rn(acc, partial[i]);
        }
        *out = acc;
    }
}

// The 2-bit code of each kept value (codec/src/quant.rs, Quantiser::code).
__global__ void quantise_codes(const float* x, i64 n, double shift, double scale, u8* codes) {
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n; i += (i64)gridDim.x * blockDim.x) {
        u8 c;
        if (scale <= 0.0) {
            c = 2;
        } else {
            double z = __ddiv_rn(__dsub_rn((double)x[i], shift), scale);
            c = z < -0.5 ? 0 : (z < 0.0 ? 1 : (z < 0.5 ? 2 : 3));
        }
        codes[i] = c;
    }
}

// e <- e - decoded(sent): each kept entry's table value subtracted at its place (the places of
// one tensor are distinct, so no two threads write the same value).
__global__ void subtract_sent(float* e, const u16* idx, const u8* codes, float t0, float t1,
                              float t2, float t3, i64 kept, u32 k, i64 cols, u32 cr, u32 cc) {
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < kept; i += (i64)gridDim.x * blockDim.x) {
        u8 c = codes[i];
        float v = c == 0 ? t0 : (c == 1 ? t1 : (c == 2 ? t2 : t3));
        i64 o = chunk_offset(i / k, idx[i], cols, cr, cc);
        e[o] = __fsub_rn(e[o], v);
    }
}

// The outer step for one tensor, one block per chunk (codec/src/aggregate.rs): for each peer in
// order, sum[pos] += factor[peer] * value in f64 and count[pos] += 1; then every position some
// peer sent becomes theta - lr * (float)(sum / count). Peer p's kept entries start at
// offsets[p] in idx/vals, ks[p] per chunk. Shared memory: chunk_len doubles and chunk_len
// counters (48 KiB for a 4096-value chunk).
__global__ void aggregate_chunks(float* theta, const u16* idx, const float* vals,
                                 const i64* offsets, const u32* ks, const double* factors,
                                 u32 peers, i64 chunks, u32 chunk_len, i64 cols, u32 cr, u32 cc,
                                 float lr) {
    extern __shared__ double shared[];
    double* sum = shared;
    u32* count = (u32*)(shared + chunk_len);
    for (i64 chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x) {
        for (u32 p = threadIdx.x; p < chunk_len; p += blockDim.x) {
            sum[p] = 0.0;
            count[p] = 0;
        }
        __syncthreads();
        for (u32 peer = 0; peer < peers; peer++) {
            u32 k = ks[peer];
            const u16* pi = idx + offsets[peer] + chunk * k;
            const float* pv = vals + offsets[peer] + chunk * k;
            double f = factors[peer];
            for (u32 j = threadIdx.x; j < k; j += blockDim.x) {
                u32 pos = pi[j];
                sum[pos] = __dadd_rn(sum[pos], __dmul_rn(f, (double)pv[j]));
                count[pos] += 1;
            }
            __syncthreads();
        }
        for (u32 p = threadIdx.x; p < chunk_len; p += blockDim.x) {
            if (count[p] > 0) {
                float mean = __double2float_rn(__ddiv_rn(sum[p], (double)count[p]));
                i64 o = chunk_offset(chunk, p, cols, cr, cc);
                theta[o] = __fsub_rn(theta[o], __fmul_rn(lr, mean));
            }
        }
        __syncthreads();
    }
}

// e <- e - v for raw (unquantised) kept values.
__global__ void subtract_raw(float* e, const u16* idx, const float* vals, i64 kept, u32 k,
                             i64 cols, u32 cr, u32 cc) {
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < kept; i += (i64)gridDim.x * blockDim.x) {
        i64 o = chunk_offset(i / k, idx[i], cols, cr, cc);
        e[o] = __fsub_rn(e[o], vals[i]);
    }
}

}  // extern "C"
