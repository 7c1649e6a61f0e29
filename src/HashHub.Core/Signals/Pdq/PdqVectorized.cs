using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HashHub.Core.Signals.Pdq;

/// <summary>
/// The fast PDQ building blocks: the same float32 operations as <see cref="PdqScalar"/>, in the same order for every
/// output value, only arranged so that SIMD lanes work on independent values. Bit-exactness rests on three facts:
/// IEEE add, subtract, multiply and divide give the same result in a vector lane as in scalar code; no multiply is
/// fused with an add (RyuJIT emits FMA only for explicit FMA calls, and none is made here); and each running sum
/// still sees its inputs in the reference's order.
/// <list type="bullet">
/// <item>A box-filter pass down the columns (PDQ document, "Jarosz filter") runs one running sum per column, so
/// 8 columns go in one vector as the rows stream by. A pass along the rows transposes 16 rows at a time in cache
/// and runs 16 rows' running sums in two vectors as the columns go by.</item>
/// <item>The decimation to 64x64 reads only 64 columns of the last row pass and 64 rows of the last column pass, so
/// only those outputs are divided and stored (the running sums themselves still see every sample).</item>
/// <item>The DCT is two small matrix products with the precomputed float matrix, vectorised across the output
/// columns, each dot product still summed k = 0..63 in order.</item>
/// </list>
/// <see cref="PdqStreaming"/> chains these over 16-row strips.
/// </summary>
internal static class PdqVectorized
{
    /// <summary>
    /// The 16x16 DCT output and quality; same contract and result as <see cref="PdqScalar.Dct16"/>. With
    /// <paramref name="skipFilterAt64"/>, a 64x64 image is taken as its own downsample, unfiltered, as the reference's
    /// single-hash path (pdqFloat256FromFloatLuma) does for frames a video decoder has already scaled; its dihedral
    /// path filters even then. A box filter of window 1 is not an exact identity in float: (a + b) - a need not be b.
    /// </summary>
    public static int Dct16(ReadOnlySpan<byte> rgba, int width, int height, bool grey, Span<float> dct16X16, bool skipFilterAt64 = false)
    {
        Span<float> buffer64 = stackalloc float[64 * 64];
        if (skipFilterAt64 && width == 64 && height == 64)
        {
            Luma(rgba, grey, buffer64);
        }
        else
        {
            PdqStreaming.Downsample64(rgba, width, height, grey, buffer64);
        }
        var quality = PdqCommon.Quality(buffer64);
        Dct(buffer64, dct16X16);
        return quality;
    }

    /// <summary>Luma = 0.299 R + 0.587 G + 0.114 B, added left to right as the reference does, or the grey value.</summary>
    internal static void Luma(ReadOnlySpan<byte> rgba, bool grey, Span<float> luma)
    {
        var n = luma.Length;
        var p = 0;
        // Pixels read as little-endian uints: R is the low byte.
        if (Vector256.IsHardwareAccelerated && BitConverter.IsLittleEndian)
        {
            var pixels = MemoryMarshal.Cast<byte, uint>(rgba);
            var mask = Vector256.Create(0xFFu);
            var cr = Vector256.Create(PdqCommon.LumaR);
            var cg = Vector256.Create(PdqCommon.LumaG);
            var cb = Vector256.Create(PdqCommon.LumaB);
            ref var src = ref MemoryMarshal.GetReference(pixels);
            ref var dst = ref MemoryMarshal.GetReference(luma);
            for (; p <= n - 8; p += 8)
            {
                var v = Vector256.LoadUnsafe(ref src, (nuint)p);
                var r = Vector256.ConvertToSingle((v & mask).AsInt32());
                if (grey)
                {
                    r.StoreUnsafe(ref dst, (nuint)p);
                    continue;
                }
                var g = Vector256.ConvertToSingle(((v >> 8) & mask).AsInt32());
                var b = Vector256.ConvertToSingle(((v >> 16) & mask).AsInt32());
                // Separate multiplies and adds in the reference's order: (cr*r + cg*g) + cb*b, never fused.
                var sum = Vector256.Multiply(cr, r);
                sum = Vector256.Add(sum, Vector256.Multiply(cg, g));
                sum = Vector256.Add(sum, Vector256.Multiply(cb, b));
                sum.StoreUnsafe(ref dst, (nuint)p);
            }
        }
        for (; p < n; p++)
        {
            luma[p] = grey
                ? rgba[p * 4]
                : PdqCommon.LumaR * rgba[p * 4] + PdqCommon.LumaG * rgba[p * 4 + 1] + PdqCommon.LumaB * rgba[p * 4 + 2];
        }
    }

    /// <summary>
    /// box1DFloat on sixteen interleaved vectors (element [i*16 + lane]), the running sums held in two registers: two
    /// independent dependency chains, so the adder's latency is hidden.
    /// </summary>
    internal static void RunningSum16(ReadOnlySpan<float> input, Span<float> output, int length, int window, ReadOnlySpan<bool> keep)
    {
        var half = (window + 2) / 2;
        var phase1 = half - 1;
        var phase2 = window - half + 1;
        var phase3 = length - window;
        var phase4 = half - 1;
        ref var src = ref MemoryMarshal.GetReference(input);
        ref var dst = ref MemoryMarshal.GetReference(output);
        var sum0 = Vector256<float>.Zero;
        var sum1 = Vector256<float>.Zero;
        nuint ri = 0;
        nuint li = 0;
        nuint oi = 0;
        var count = 0;
        for (var i = 0; i < phase1; i++, ri += 16)
        {
            sum0 += Vector256.LoadUnsafe(ref src, ri);
            sum1 += Vector256.LoadUnsafe(ref src, ri + 8);
            count++;
        }
        for (var i = 0; i < phase2; i++, ri += 16, oi += 16)
        {
            sum0 += Vector256.LoadUnsafe(ref src, ri);
            sum1 += Vector256.LoadUnsafe(ref src, ri + 8);
            count++;
            if (keep.IsEmpty || keep[(int)(oi / 16)])
            {
                var d = Vector256.Create((float)count);
                (sum0 / d).StoreUnsafe(ref dst, oi);
                (sum1 / d).StoreUnsafe(ref dst, oi + 8);
            }
        }
        var divisor = Vector256.Create((float)count);
        if (keep.IsEmpty)
        {
            for (var i = 0; i < phase3; i++, ri += 16, li += 16, oi += 16)
            {
                sum0 += Vector256.LoadUnsafe(ref src, ri);
                sum1 += Vector256.LoadUnsafe(ref src, ri + 8);
                sum0 -= Vector256.LoadUnsafe(ref src, li);
                sum1 -= Vector256.LoadUnsafe(ref src, li + 8);
                (sum0 / divisor).StoreUnsafe(ref dst, oi);
                (sum1 / divisor).StoreUnsafe(ref dst, oi + 8);
            }
        }
        else
        {
            for (var i = 0; i < phase3; i++, ri += 16, li += 16, oi += 16)
            {
                sum0 += Vector256.LoadUnsafe(ref src, ri);
                sum1 += Vector256.LoadUnsafe(ref src, ri + 8);
                sum0 -= Vector256.LoadUnsafe(ref src, li);
                sum1 -= Vector256.LoadUnsafe(ref src, li + 8);
                if (keep[(int)(oi / 16)])
                {
                    (sum0 / divisor).StoreUnsafe(ref dst, oi);
                    (sum1 / divisor).StoreUnsafe(ref dst, oi + 8);
                }
            }
        }
        for (var i = 0; i < phase4; i++, li += 16, oi += 16)
        {
            sum0 -= Vector256.LoadUnsafe(ref src, li);
            sum1 -= Vector256.LoadUnsafe(ref src, li + 8);
            count--;
            if (keep.IsEmpty || keep[(int)(oi / 16)])
            {
                var d = Vector256.Create((float)count);
                (sum0 / d).StoreUnsafe(ref dst, oi);
                (sum1 / d).StoreUnsafe(ref dst, oi + 8);
            }
        }
    }

    /// <summary>
    /// The reference's box1DFloat run down every column of a <paramref name="rows"/> x <paramref name="cols"/> image at
    /// once: one running sum per column, updated row by row in the reference's order (add the entering sample, then
    /// subtract the leaving one, then divide by the current window length). When <paramref name="keepRows"/> is not
    /// empty, only the rows it flags are divided and stored.
    /// </summary>
    internal static void ColumnPass(ReadOnlySpan<float> src, Span<float> dst, int rows, int cols, int window, ReadOnlySpan<bool> keepRows)
    {
        var half = (window + 2) / 2;
        var phase1 = half - 1;
        var phase2 = window - half + 1;
        var phase3 = rows - window;
        var phase4 = half - 1;
        var sumArray = ArrayPool<float>.Shared.Rent(cols);
        try
        {
            var sum = sumArray.AsSpan(0, cols);
            sum.Clear();
            var ri = 0;
            var li = 0;
            var oi = 0;
            var count = 0;
            for (var i = 0; i < phase1; i++, ri++)
            {
                AddRow(sum, src.Slice(ri * cols, cols));
                count++;
            }
            for (var i = 0; i < phase2; i++, ri++, oi++)
            {
                AddRow(sum, src.Slice(ri * cols, cols));
                count++;
                if (keepRows.IsEmpty || keepRows[oi])
                {
                    DivideRow(sum, dst.Slice(oi * cols, cols), count);
                }
            }
            for (var i = 0; i < phase3; i++, ri++, li++, oi++)
            {
                var output = keepRows.IsEmpty || keepRows[oi] ? dst.Slice(oi * cols, cols) : default;
                SlideRow(sum, src.Slice(ri * cols, cols), src.Slice(li * cols, cols), output, count);
            }
            for (var i = 0; i < phase4; i++, li++, oi++)
            {
                SubtractRow(sum, src.Slice(li * cols, cols));
                count--;
                if (keepRows.IsEmpty || keepRows[oi])
                {
                    DivideRow(sum, dst.Slice(oi * cols, cols), count);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(sumArray);
        }
    }

    internal static void AddRow(Span<float> sum, ReadOnlySpan<float> row)
    {
        var j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var s = ref MemoryMarshal.GetReference(sum);
            ref var r = ref MemoryMarshal.GetReference(row);
            for (; j <= sum.Length - 8; j += 8)
            {
                (Vector256.LoadUnsafe(ref s, (nuint)j) + Vector256.LoadUnsafe(ref r, (nuint)j)).StoreUnsafe(ref s, (nuint)j);
            }
        }
        for (; j < sum.Length; j++)
        {
            sum[j] += row[j];
        }
    }

    internal static void SubtractRow(Span<float> sum, ReadOnlySpan<float> row)
    {
        var j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var s = ref MemoryMarshal.GetReference(sum);
            ref var r = ref MemoryMarshal.GetReference(row);
            for (; j <= sum.Length - 8; j += 8)
            {
                (Vector256.LoadUnsafe(ref s, (nuint)j) - Vector256.LoadUnsafe(ref r, (nuint)j)).StoreUnsafe(ref s, (nuint)j);
            }
        }
        for (; j < sum.Length; j++)
        {
            sum[j] -= row[j];
        }
    }

    internal static void DivideRow(ReadOnlySpan<float> sum, Span<float> output, int count)
    {
        var j = 0;
        float divisor = count;
        if (Vector256.IsHardwareAccelerated)
        {
            var d = Vector256.Create(divisor);
            ref var s = ref MemoryMarshal.GetReference(sum);
            ref var o = ref MemoryMarshal.GetReference(output);
            for (; j <= sum.Length - 8; j += 8)
            {
                (Vector256.LoadUnsafe(ref s, (nuint)j) / d).StoreUnsafe(ref o, (nuint)j);
            }
        }
        for (; j < sum.Length; j++)
        {
            output[j] = sum[j] / divisor;
        }
    }

    /// <summary>The full-window step: sum += entering; sum -= leaving; output = sum / count (output may be empty).</summary>
    internal static void SlideRow(Span<float> sum, ReadOnlySpan<float> entering, ReadOnlySpan<float> leaving, Span<float> output, int count)
    {
        var j = 0;
        float divisor = count;
        var store = !output.IsEmpty;
        if (Vector256.IsHardwareAccelerated)
        {
            var d = Vector256.Create(divisor);
            ref var s = ref MemoryMarshal.GetReference(sum);
            ref var e = ref MemoryMarshal.GetReference(entering);
            ref var l = ref MemoryMarshal.GetReference(leaving);
            ref var o = ref MemoryMarshal.GetReference(output);
            if (store)
            {
                for (; j <= sum.Length - 8; j += 8)
                {
                    var v = (Vector256.LoadUnsafe(ref s, (nuint)j) + Vector256.LoadUnsafe(ref e, (nuint)j)) - Vector256.LoadUnsafe(ref l, (nuint)j);
                    v.StoreUnsafe(ref s, (nuint)j);
                    (v / d).StoreUnsafe(ref o, (nuint)j);
                }
            }
            else
            {
                for (; j <= sum.Length - 8; j += 8)
                {
                    var v = (Vector256.LoadUnsafe(ref s, (nuint)j) + Vector256.LoadUnsafe(ref e, (nuint)j)) - Vector256.LoadUnsafe(ref l, (nuint)j);
                    v.StoreUnsafe(ref s, (nuint)j);
                }
            }
        }
        for (; j < sum.Length; j++)
        {
            var v = sum[j] + entering[j];
            v -= leaving[j];
            sum[j] = v;
            if (store)
            {
                output[j] = v / divisor;
            }
        }
    }

    /// <summary>dst (cols x rows) = transpose of src (rows x cols), in 8x8 tiles so both sides stay in cache lines.</summary>
    internal static void Transpose(ReadOnlySpan<float> src, Span<float> dst, int rows, int cols)
    {
        var rows8 = rows & ~7;
        var cols8 = cols & ~7;
        ref var s = ref MemoryMarshal.GetReference(src);
        ref var d = ref MemoryMarshal.GetReference(dst);
        if (Avx.IsSupported)
        {
            // Walk the long side in the inner loop: then only 8 rows of the long-strided side are open at a time, so
            // their cache lines (which share L1 sets when the stride is a multiple of 4 KB) fill completely before
            // they are evicted.
            if (rows <= cols)
            {
                for (var i = 0; i < rows8; i += 8)
                {
                    for (var j = 0; j < cols8; j += 8)
                    {
                        Transpose8X8(ref Unsafe.Add(ref s, i * cols + j), cols, ref Unsafe.Add(ref d, j * rows + i), rows);
                    }
                }
            }
            else
            {
                for (var j = 0; j < cols8; j += 8)
                {
                    for (var i = 0; i < rows8; i += 8)
                    {
                        Transpose8X8(ref Unsafe.Add(ref s, i * cols + j), cols, ref Unsafe.Add(ref d, j * rows + i), rows);
                    }
                }
            }
        }
        else
        {
            rows8 = 0;
            cols8 = 0;
        }
        // Edges (and everything when AVX is missing).
        for (var i = 0; i < rows; i++)
        {
            var jStart = i < rows8 ? cols8 : 0;
            for (var j = jStart; j < cols; j++)
            {
                dst[j * rows + i] = src[i * cols + j];
            }
        }
    }

    private static void Transpose8X8(ref float src, int srcStride, ref float dst, int dstStride) =>
        StoreTransposed(
            Vector256.LoadUnsafe(ref src),
            Vector256.LoadUnsafe(ref src, (nuint)srcStride),
            Vector256.LoadUnsafe(ref src, (nuint)(2 * srcStride)),
            Vector256.LoadUnsafe(ref src, (nuint)(3 * srcStride)),
            Vector256.LoadUnsafe(ref src, (nuint)(4 * srcStride)),
            Vector256.LoadUnsafe(ref src, (nuint)(5 * srcStride)),
            Vector256.LoadUnsafe(ref src, (nuint)(6 * srcStride)),
            Vector256.LoadUnsafe(ref src, (nuint)(7 * srcStride)),
            ref dst,
            dstStride);

    /// <summary>Stores the 8x8 block whose rows are r0..r7 transposed: column k goes to dst + k * dstStride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTransposed(
        Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, ref float dst, int dstStride)
    {
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);

        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);

        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref dst);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref dst, (nuint)dstStride);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref dst, (nuint)(2 * dstStride));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref dst, (nuint)(3 * dstStride));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref dst, (nuint)(4 * dstStride));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref dst, (nuint)(5 * dstStride));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref dst, (nuint)(6 * dstStride));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref dst, (nuint)(7 * dstStride));
    }

    /// <summary>
    /// Luma of 16 rows of <paramref name="width"/> pixels, written transposed (element [x * 16 + row]) for the row
    /// pass: the same as <see cref="Luma"/> followed by <see cref="Transpose"/>, without the intermediate strip.
    /// </summary>
    internal static void LumaTransposed16(ReadOnlySpan<byte> rgbaStrip, int width, bool grey, Span<float> stripIn)
    {
        if (!Avx.IsSupported || !BitConverter.IsLittleEndian)
        {
            Span<float> luma = new float[16 * width];
            Luma(rgbaStrip, grey, luma);
            Transpose(luma, stripIn, 16, width);
            return;
        }
        var pixels = MemoryMarshal.Cast<byte, uint>(rgbaStrip);
        ref var src = ref MemoryMarshal.GetReference(pixels);
        ref var dst = ref MemoryMarshal.GetReference(stripIn);
        var width8 = width & ~7;
        for (var rowBlock = 0; rowBlock < 16; rowBlock += 8)
        {
            for (var x = 0; x < width8; x += 8)
            {
                ref var p = ref Unsafe.Add(ref src, rowBlock * width + x);
                StoreTransposed(
                    LumaOf8(ref p, grey),
                    LumaOf8(ref Unsafe.Add(ref p, width), grey),
                    LumaOf8(ref Unsafe.Add(ref p, 2 * width), grey),
                    LumaOf8(ref Unsafe.Add(ref p, 3 * width), grey),
                    LumaOf8(ref Unsafe.Add(ref p, 4 * width), grey),
                    LumaOf8(ref Unsafe.Add(ref p, 5 * width), grey),
                    LumaOf8(ref Unsafe.Add(ref p, 6 * width), grey),
                    LumaOf8(ref Unsafe.Add(ref p, 7 * width), grey),
                    ref Unsafe.Add(ref dst, x * 16 + rowBlock),
                    16);
            }
        }
        for (var row = 0; row < 16; row++)
        {
            for (var x = width8; x < width; x++)
            {
                var i = (row * width + x) * 4;
                stripIn[x * 16 + row] = grey
                    ? rgbaStrip[i]
                    : PdqCommon.LumaR * rgbaStrip[i] + PdqCommon.LumaG * rgbaStrip[i + 1] + PdqCommon.LumaB * rgbaStrip[i + 2];
            }
        }
    }

    /// <summary>Luma of 8 consecutive RGBA pixels, with the operations and order of <see cref="Luma"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> LumaOf8(ref uint pixels, bool grey)
    {
        var v = Vector256.LoadUnsafe(ref pixels);
        var mask = Vector256.Create(0xFFu);
        var r = Vector256.ConvertToSingle((v & mask).AsInt32());
        if (grey)
        {
            return r;
        }
        var g = Vector256.ConvertToSingle(((v >> 8) & mask).AsInt32());
        var b = Vector256.ConvertToSingle(((v >> 16) & mask).AsInt32());
        var sum = Vector256.Multiply(Vector256.Create(PdqCommon.LumaR), r);
        sum = Vector256.Add(sum, Vector256.Multiply(Vector256.Create(PdqCommon.LumaG), g));
        return Vector256.Add(sum, Vector256.Multiply(Vector256.Create(PdqCommon.LumaB), b));
    }

    /// <summary>The DCT's D transposed (64 x 16), so the second product can run across 16 contiguous outputs.</summary>
    private static readonly float[] DctMatrixTransposed = TransposeDct();

    private static float[] TransposeDct()
    {
        var t = new float[64 * 16];
        for (var i = 0; i < 16; i++)
        {
            for (var k = 0; k < 64; k++)
            {
                t[k * 16 + i] = PdqCommon.DctMatrix[i * 64 + k];
            }
        }
        return t;
    }

    /// <summary>
    /// B = (D A) D^T as in <see cref="PdqScalar.Dct"/>: each output is 0 + p0 + p1 + ... + p63 with the products in k
    /// order; the lanes of a vector are different output columns, never different terms of one sum.
    /// </summary>
    internal static void Dct(ReadOnlySpan<float> a64X64, Span<float> b16X16)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            PdqScalar.Dct(a64X64, b16X16);
            return;
        }
        var d = PdqCommon.DctMatrix;
        Span<float> t = stackalloc float[16 * 64];
        ref var a = ref MemoryMarshal.GetReference(a64X64);
        ref var tr = ref MemoryMarshal.GetReference(t);
        for (var i = 0; i < 16; i++)
        {
            for (var j = 0; j < 64; j += 16)
            {
                var acc0 = Vector256<float>.Zero;
                var acc1 = Vector256<float>.Zero;
                for (var k = 0; k < 64; k++)
                {
                    var dik = Vector256.Create(d[i * 64 + k]);
                    acc0 = Vector256.Add(acc0, Vector256.Multiply(dik, Vector256.LoadUnsafe(ref a, (nuint)(k * 64 + j))));
                    acc1 = Vector256.Add(acc1, Vector256.Multiply(dik, Vector256.LoadUnsafe(ref a, (nuint)(k * 64 + j + 8))));
                }
                acc0.StoreUnsafe(ref tr, (nuint)(i * 64 + j));
                acc1.StoreUnsafe(ref tr, (nuint)(i * 64 + j + 8));
            }
        }
        ref var dt = ref MemoryMarshal.GetArrayDataReference(DctMatrixTransposed);
        ref var b = ref MemoryMarshal.GetReference(b16X16);
        for (var i = 0; i < 16; i++)
        {
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            for (var k = 0; k < 64; k++)
            {
                var tik = Vector256.Create(t[i * 64 + k]);
                acc0 = Vector256.Add(acc0, Vector256.Multiply(tik, Vector256.LoadUnsafe(ref dt, (nuint)(k * 16))));
                acc1 = Vector256.Add(acc1, Vector256.Multiply(tik, Vector256.LoadUnsafe(ref dt, (nuint)(k * 16 + 8))));
            }
            acc0.StoreUnsafe(ref b, (nuint)(i * 16));
            acc1.StoreUnsafe(ref b, (nuint)(i * 16 + 8));
        }
    }
}
