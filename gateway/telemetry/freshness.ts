// The views' freshness as Prometheus sees it, read from the online store at each collection (a scrape,
// an OTLP export): the watermark the materializers last published for each view, now - watermark, and
// the view's SLA, labelled by view and entity. The gateway reports them, not the materializers: a
// materializer that died exports nothing, while the watermark it left behind keeps ageing here, which
// is what the generated FeatureViewStale alert compares with the SLA. A view without a watermark is
// not exported (its alert rule uses absent()); neither is anything when the store does not answer.
import type { Attributes, Meter } from '@opentelemetry/api';
import type { FeatureRegistry, ResolvedView } from '../../schema/registry.js';
import type { OnlineStore } from '../../adapters/online/types.js';
import { labelNames, metricNames } from '../../schema/telemetry.js';

export interface FreshnessOptions {
  /** Told when reading the watermarks starts failing, and when it answers again. */
  log: (message: string) => void;
  now?: () => number;
}

export function watchViewFreshness(meter: Meter, registry: FeatureRegistry, store: Pick<OnlineStore, 'readWatermarks'>, options: FreshnessOptions): void {
  const now = options.now ?? Date.now;
  const views: { view: ResolvedView; labels: Attributes }[] = [...registry.views.values()].map((view) => ({ view, labels: { [labelNames.view]: view.name, [labelNames.entity]: view.entity.name } }));
  const names = views.map(({ view }) => view.name);
  const freshness = meter.createObservableGauge(metricNames.viewFreshness, { description: "Seconds since the view's watermark: how far behind its source the online store is", unit: 's' });
  const watermark = meter.createObservableGauge(metricNames.viewWatermark, { description: "The view's watermark: every source fact up to this instant is applied", unit: 's' });
  const sla = meter.createObservableGauge(metricNames.viewFreshnessSla, { description: "The view's freshness SLA: its values are STALE once its freshness passes this", unit: 's' });
  let failing = false;
  meter.addBatchObservableCallback(
    async (result) => {
      for (const { view, labels } of views) result.observe(sla, view.freshnessMs / 1000, labels);
      let held;
      try {
        held = await store.readWatermarks(names);
      } catch (error) {
        if (!failing) options.log(`view freshness metrics: the online store did not answer for the watermarks (${error instanceof Error ? error.message : String(error)}); they are left out until it does`);
        failing = true;
        return;
      }
      if (failing) options.log('view freshness metrics: the online store answers for the watermarks again');
      failing = false;
      const at = now();
      for (const { view, labels } of views) {
        const record = held.get(view.name);
        if (!record) continue;
        result.observe(freshness, Math.max(0, at - record.watermark) / 1000, labels);
        result.observe(watermark, record.watermark / 1000, labels);
      }
    },
    [freshness, watermark, sla],
  );
}
