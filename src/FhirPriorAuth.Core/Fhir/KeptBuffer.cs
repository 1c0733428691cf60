using System.Buffers;

namespace FhirPriorAuth.Core.Fhir;

/// <summary>
/// A byte buffer each thread keeps for building outputs whose size is not known ahead (serialized resources, echoed
/// responses): a new buffer per output grew, or was sized for the worst case, and was then copied into the result
/// anyway. A buffer that grew past 256 KB is let go instead of kept.
/// </summary>
internal static class KeptBuffer
{
    private const int Kept = 256 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>The bytes <paramref name="write"/> puts into the thread's buffer, as a new array.</summary>
    public static byte[] ToArray(Action<ArrayBufferWriter<byte>> write)
    {
        var buffer = t_buffer ?? new ArrayBufferWriter<byte>(16 * 1024);
        t_buffer = null; // held until returned, should a write ever start another on this thread
        try
        {
            write(buffer);
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            buffer.ResetWrittenCount();
            if (buffer.Capacity <= Kept)
            {
                t_buffer = buffer;
            }
        }
    }
}
