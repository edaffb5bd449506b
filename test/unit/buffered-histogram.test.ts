import { Histogram, register } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferedHistogram, HistogramCounts } from '../../libs/mesh-client/src/observability/buffered-histogram.js';
import { HANDLING_BUCKETS } from '../../libs/mesh-client/src/observability/metric-names.js';

const LABELS = { grpc_type: 'unary', grpc_service: 'pkg.Echo', grpc_method: 'Unary', mesh_client: 'echo' };
const OBSERVED = [0, 0.001, 0.0011, 0.02, 0.3, 1, 7, 11, 0.0025];

afterEach(() => register.clear());

/** The scrape text of one metric, lines sorted. */
async function scrape(name: string): Promise<string[]> {
  const text = await register.getSingleMetricAsString(name);
  return text.split('\n').sort();
}

describe('BufferedHistogram', () => {
  it('scrapes exactly what a prom-client Histogram given the same observations scrapes', async () => {
    const buffered = BufferedHistogram.named('buffered_seconds', 'help', Object.keys(LABELS), HANDLING_BUCKETS);
    const counts = new HistogramCounts(LABELS, HANDLING_BUCKETS);
    buffered.attach({ histograms: [counts] });
    const reference = new Histogram({ name: 'reference_seconds', help: 'help', labelNames: Object.keys(LABELS), buckets: HANDLING_BUCKETS });
    for (const v of OBSERVED) {
      counts.observe(v);
      reference.observe(LABELS, v);
    }
    const ours = (await scrape('buffered_seconds')).map((l) => l.replace('buffered_seconds', 'x'));
    const theirs = (await scrape('reference_seconds')).map((l) => l.replace('reference_seconds', 'x'));
    expect(ours).toEqual(theirs);
  });

  it('sums the series two applications count under the same labels, and leaves empty ones out', async () => {
    const h = BufferedHistogram.named('merged_seconds', 'help', Object.keys(LABELS), HANDLING_BUCKETS);
    const a = new HistogramCounts(LABELS, HANDLING_BUCKETS);
    const b = new HistogramCounts(LABELS, HANDLING_BUCKETS);
    const idle = new HistogramCounts({ ...LABELS, grpc_method: 'Idle' }, HANDLING_BUCKETS);
    h.attach({ histograms: [a, idle] });
    h.attach({ histograms: [b] });
    a.observe(0.002);
    b.observe(0.002);
    b.observe(3);
    const lines = await scrape('merged_seconds');
    expect(lines).toContain('merged_seconds_count{grpc_type="unary",grpc_service="pkg.Echo",grpc_method="Unary",mesh_client="echo"} 3');
    expect(lines).toContain('merged_seconds_bucket{le="0.0025",grpc_type="unary",grpc_service="pkg.Echo",grpc_method="Unary",mesh_client="echo"} 2');
    expect(lines.join('\n')).not.toContain('Idle');
  });

  it("is registered once per name, keeps a detached application's counts but reads no more of them, and resets", async () => {
    const h = BufferedHistogram.named('once_seconds', 'help', Object.keys(LABELS), HANDLING_BUCKETS);
    expect(BufferedHistogram.named('once_seconds', 'help', Object.keys(LABELS), HANDLING_BUCKETS)).toBe(h);
    const source = { histograms: [new HistogramCounts(LABELS, HANDLING_BUCKETS)] };
    h.attach(source);
    source.histograms[0]!.observe(0.5);
    expect((await h.get()).values).toHaveLength(HANDLING_BUCKETS.length + 3);
    register.resetMetrics();
    expect((await h.get()).values).toHaveLength(0);
    source.histograms[0]!.observe(0.5);
    h.detach(source);
    // a closed application's counts stay in the series (before: they vanished, and a series another
    // application still counted into went down: a counter reset to Prometheus)
    source.histograms[0]!.observe(0.5);
    const count = (await h.get()).values.find((v) => v.metricName === 'once_seconds_count');
    expect(count?.value).toBe(1);
    register.resetMetrics();
    expect((await h.get()).values).toHaveLength(0);
  });

  it('a second copy of the library in the process shares the histogram (a brand, not instanceof)', () => {
    const first = BufferedHistogram.named('shared_seconds', 'help', Object.keys(LABELS), HANDLING_BUCKETS);
    // what another copy's class sees: an object of a class it does not know, carrying the brand
    const seenByOther = register.getSingleMetric('shared_seconds') as unknown as Record<symbol, unknown>;
    expect(seenByOther[Symbol.for('@datapunk/mesh-client.BufferedHistogram')]).toBe(true);
    expect(BufferedHistogram.named('shared_seconds', 'help', Object.keys(LABELS), HANDLING_BUCKETS)).toBe(first);
  });
});
