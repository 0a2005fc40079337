// prom-client's text for metrics that do not live on the engine: objects with a get()
// registered with registerMetric(), such as the metrics AggregatorRegistry.aggregate()
// builds. The engine writes its own metrics' text (crates/slotmetrics_engine/src/encode.rs) the same way.

import type { MetricData } from './aggregators';
import type { Exemplar } from './exemplars';

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelPairs(labels: Record<string, unknown>, exclude?: Record<string, unknown>): string[] {
  return Object.entries(labels)
    .filter(([name]) => exclude === undefined || !Object.hasOwn(exclude, name))
    .map(([name, value]) => `${name}="${typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : value}"`);
}

/** A sample value as prom-client writes it (NaN as `Nan`), as the engine does. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

type ObjectSample = MetricData['values'][number] & { sharedLabels?: Record<string, unknown>; exemplar?: Exemplar | null };

/**
 * One metric's lines, without a final newline: HELP, TYPE, then its samples with the
 * registry's default labels after their own. In OpenMetrics a counter's samples get
 * `_total` and samples their exemplars, and `"` in HELP is escaped as the engine
 * escapes it.
 */
export function metricText(metric: MetricData & { values: ObjectSample[] }, openMetrics: boolean, defaultLabels: Record<string, string>): string {
  const name = escapeText(metric.name);
  const help = openMetrics ? escapeText(metric.help).replace(/"/g, '\\"') : escapeText(metric.help);
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${metric.type}`];
  const hasDefaults = Object.keys(defaultLabels).length > 0;
  for (const sample of metric.values ?? []) {
    let sampleName = sample.metricName ?? name;
    if (openMetrics && metric.type === 'counter') sampleName += '_total';
    const own = sample.labels ?? {};
    const labels = hasDefaults ? { ...own, ...defaultLabels, ...own } : own;
    const shared = sample.sharedLabels ?? {};
    const parts = [...labelPairs(labels, shared), labelPairs(shared).join(',')].filter(Boolean);
    let line = `${sampleName}${parts.length > 0 ? `{${parts.join(',')}}` : ''} ${valueText(sample.value)}`;
    const { exemplar } = sample;
    if (exemplar && openMetrics) line += ` # {${labelPairs(exemplar.labelSet).join(',')}} ${valueText(exemplar.value)} ${exemplar.timestamp}`;
    lines.push(line);
  }
  return lines.join('\n');
}
