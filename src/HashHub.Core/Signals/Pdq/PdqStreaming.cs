using System.Buffers;

namespace HashHub.Core.Signals.Pdq;

/// <summary>
/// The PDQ downsample (luma, two Jarosz passes, decimation to 64x64) built from the <see cref="PdqVectorized"/>
/// blocks and streamed in 16-row strips, so that no full-size float image is ever written: a 12-megapixel photo
/// otherwise moves several hundred megabytes through memory, which costs more than the arithmetic. Each strip of luma is filtered along its rows, its
/// rows enter the first column pass (which keeps a ring of the last window + 16 filtered rows for the samples leaving
/// its window), the column pass's output rows are filtered along their rows in strips of 16 again, and only the 64
/// sampled columns are kept for the last column pass. Every value is still computed by the same float operations in
/// the same order as in <see cref="PdqScalar"/>.
/// </summary>
internal sealed class PdqStreaming
{
    private const int Strip = 16;

    private readonly int _width;
    private readonly int _height;
    private readonly int _windowAlongRows;
    private readonly int _windowAlongCols;
    private readonly int _ringRows;
    private readonly int[] _sampledCols;
    private readonly bool[] _colNeeded;

    // Pooled working memory: one row of luma for the scalar tail, the transposed strip in and out, the ring of first-row-pass output,
    // the staging strip of first-column-pass output, the column sums, one row for the scalar tails, and the
    // H x 64 sampled columns before and after the last column pass.
    private readonly float[] _lumaRow;
    private readonly float[] _stripIn;
    private readonly float[] _stripOut;
    private readonly float[] _ring;
    private readonly float[] _staging;
    private readonly float[] _columnSums;
    private readonly float[] _row;
    private readonly float[] _sampled;
    private readonly float[] _filtered;

    // State of the first column pass: the reference's current_window_size and the next output row.
    private int _count;
    private int _nextOutputRow;

    private PdqStreaming(int width, int height)
    {
        _width = width;
        _height = height;
        _windowAlongRows = PdqCommon.WindowSize(width, 64);
        _windowAlongCols = PdqCommon.WindowSize(height, 64);
        _ringRows = (_windowAlongCols + 2 * Strip - 1) / Strip * Strip;
        _sampledCols = ArrayPool<int>.Shared.Rent(64);
        _colNeeded = ArrayPool<bool>.Shared.Rent(width);
        Array.Clear(_colNeeded, 0, width);
        for (var k = 0; k < 64; k++)
        {
            _sampledCols[k] = PdqCommon.DecimationIndex(k, width, 64);
            _colNeeded[_sampledCols[k]] = true;
        }
        var pool = ArrayPool<float>.Shared;
        _lumaRow = pool.Rent(width);
        _stripIn = pool.Rent(Strip * width);
        _stripOut = pool.Rent(Strip * width);
        _ring = pool.Rent(_ringRows * width);
        _staging = pool.Rent(Strip * width);
        _columnSums = pool.Rent(width);
        _row = pool.Rent(width);
        _sampled = pool.Rent(height * 64);
        _filtered = pool.Rent(height * 64);
    }

    /// <summary>Luma, two Jarosz passes and decimation: the 64x64 image of <see cref="PdqScalar.Downsample64"/>, bit for bit.</summary>
    public static void Downsample64(ReadOnlySpan<byte> rgba, int width, int height, bool grey, Span<float> buffer64)
    {
        var pipeline = new PdqStreaming(width, height);
        try
        {
            pipeline.Run(rgba, grey, buffer64);
        }
        finally
        {
            pipeline.ReturnBuffers();
        }
    }

    private void Run(ReadOnlySpan<byte> rgba, bool grey, Span<float> buffer64)
    {
        var w = _width;
        _columnSums.AsSpan(0, w).Clear();
        var r0 = 0;
        for (; r0 + Strip <= _height; r0 += Strip)
        {
            PdqVectorized.LumaTransposed16(rgba.Slice(r0 * w * 4, Strip * w * 4), w, grey, _stripIn.AsSpan(0, Strip * w));
            PdqVectorized.RunningSum16(_stripIn.AsSpan(0, Strip * w), _stripOut.AsSpan(0, Strip * w), w, _windowAlongRows, default);
            // r0 and the ring size are multiples of 16, so the strip's 16 ring rows are contiguous.
            PdqVectorized.Transpose(_stripOut.AsSpan(0, Strip * w), _ring.AsSpan(r0 % _ringRows * w, Strip * w), w, Strip);
            for (var r = r0; r < r0 + Strip; r++)
            {
                ColumnPassPush(r);
            }
        }
        for (; r0 < _height; r0++)
        {
            var luma = _lumaRow.AsSpan(0, w);
            PdqVectorized.Luma(rgba.Slice(r0 * w * 4, w * 4), grey, luma);
            PdqScalar.Box1D(luma, RingRow(r0), w, 1, _windowAlongRows);
            ColumnPassPush(r0);
        }
        ColumnPassFinish();
        FlushStaging();

        // The last column pass over the 64 sampled columns, finishing only the 64 sampled rows.
        var rowNeededArray = ArrayPool<bool>.Shared.Rent(_height);
        var rowNeeded = rowNeededArray.AsSpan(0, _height);
        rowNeeded.Clear();
        Span<int> sampledRows = stackalloc int[64];
        for (var k = 0; k < 64; k++)
        {
            sampledRows[k] = PdqCommon.DecimationIndex(k, _height, 64);
            rowNeeded[sampledRows[k]] = true;
        }
        var filtered = _filtered.AsSpan(0, _height * 64);
        PdqVectorized.ColumnPass(_sampled.AsSpan(0, _height * 64), filtered, _height, 64, _windowAlongCols, rowNeeded);
        ArrayPool<bool>.Shared.Return(rowNeededArray);
        for (var i = 0; i < 64; i++)
        {
            filtered.Slice(sampledRows[i] * 64, 64).CopyTo(buffer64.Slice(i * 64, 64));
        }
    }

    private Span<float> RingRow(int row) => _ring.AsSpan(row % _ringRows * _width, _width);

    /// <summary>
    /// Feeds first-row-pass output row <paramref name="row"/> to the first column pass: the reference's box1DFloat
    /// phases 1 to 3 (accumulate; grow the window and write; slide the window and write).
    /// </summary>
    private void ColumnPassPush(int row)
    {
        var sums = _columnSums.AsSpan(0, _width);
        var window = _windowAlongCols;
        var warmUp = (window + 2) / 2 - 1;
        if (row < window)
        {
            PdqVectorized.AddRow(sums, RingRow(row));
            _count++;
            if (row >= warmUp)
            {
                PdqVectorized.DivideRow(sums, StagingRow(), _count);
                OutputRowDone();
            }
            return;
        }
        PdqVectorized.SlideRow(sums, RingRow(row), RingRow(row - window), StagingRow(), _count);
        OutputRowDone();
    }

    /// <summary>The reference's phase 4: shrink the window at the bottom edge and write the last rows.</summary>
    private void ColumnPassFinish()
    {
        var sums = _columnSums.AsSpan(0, _width);
        var window = _windowAlongCols;
        var tail = (window + 2) / 2 - 1;
        for (var i = 0; i < tail; i++)
        {
            PdqVectorized.SubtractRow(sums, RingRow(_height - window + i));
            _count--;
            PdqVectorized.DivideRow(sums, StagingRow(), _count);
            OutputRowDone();
        }
    }

    private Span<float> StagingRow() => _staging.AsSpan(_nextOutputRow % Strip * _width, _width);

    /// <summary>After 16 first-column-pass rows, run the second row pass on them, keeping the sampled columns.</summary>
    private void OutputRowDone()
    {
        _nextOutputRow++;
        if (_nextOutputRow % Strip != 0)
        {
            return;
        }
        var w = _width;
        var first = _nextOutputRow - Strip;
        PdqVectorized.Transpose(_staging.AsSpan(0, Strip * w), _stripIn.AsSpan(0, Strip * w), Strip, w);
        PdqVectorized.RunningSum16(_stripIn.AsSpan(0, Strip * w), _stripOut.AsSpan(0, Strip * w), w, _windowAlongRows, _colNeeded.AsSpan(0, w));
        for (var r = 0; r < Strip; r++)
        {
            var sampledRow = _sampled.AsSpan((first + r) * 64, 64);
            for (var k = 0; k < 64; k++)
            {
                sampledRow[k] = _stripOut[_sampledCols[k] * Strip + r];
            }
        }
    }

    /// <summary>The last height % 16 first-column-pass rows go through the second row pass one at a time.</summary>
    private void FlushStaging()
    {
        var w = _width;
        var row = _row.AsSpan(0, w);
        for (var r = _nextOutputRow - _nextOutputRow % Strip; r < _nextOutputRow; r++)
        {
            PdqScalar.Box1D(_staging.AsSpan(r % Strip * w, w), row, w, 1, _windowAlongRows);
            var sampledRow = _sampled.AsSpan(r * 64, 64);
            for (var k = 0; k < 64; k++)
            {
                sampledRow[k] = row[_sampledCols[k]];
            }
        }
    }

    private void ReturnBuffers()
    {
        var pool = ArrayPool<float>.Shared;
        pool.Return(_lumaRow);
        pool.Return(_stripIn);
        pool.Return(_stripOut);
        pool.Return(_ring);
        pool.Return(_staging);
        pool.Return(_columnSums);
        pool.Return(_row);
        pool.Return(_sampled);
        pool.Return(_filtered);
        ArrayPool<int>.Shared.Return(_sampledCols);
        ArrayPool<bool>.Shared.Return(_colNeeded);
    }
}
