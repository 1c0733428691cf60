using FhirPriorAuth.Core.Fhir;

namespace FhirPriorAuth.Core.Tests.Fhir;

public sealed class DeflatedTests
{
    [Fact]
    public void Bodies_packed_one_after_another_on_a_thread_each_unpack_to_themselves()
    {
        // Random text barely deflates, so its output outgrows the stream a thread keeps; then small ones reuse one.
        var random = new Random(3);
        var large = new string([.. Enumerable.Range(0, 400_000).Select(_ => (char)random.Next('!', '~'))]);
        var bodies = new[] { """{"resourceType":"Patient","id":"a"}""", large, """{"resourceType":"Claim","id":"b"}""", "", "x" };

        // On a thread of its own, so that what this thread packed before does not count.
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var packed = bodies.Select(Deflated.Pack).ToList();
                Assert.Equal(bodies, packed.Select(Deflated.Unpack));
                Assert.True(packed[1].Length > 256 * 1024);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        Assert.Null(failure);
    }
}
