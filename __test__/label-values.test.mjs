// Label values reach the addon through a scratch buffer as UTF-8 (or, when they do not
// fit, as strings): every kind of value must arrive intact by either path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterSchema, registry } from 'slotmetrics';
import { parseOpenMetricsStrict } from './helpers.mjs';

const VALUES = [
  '',
  'plain',
  'ümlaut café',
  '漢字',
  '😀 emoji',
  'quote " backslash \\ newline \n end',
  'x'.repeat(2000),
  'é'.repeat(1500), // 3000 bytes: with its neighbour, more than the 4 KiB buffer holds
  'y'.repeat(5000), // alone larger than the buffer: passed as a string
];

test('label values of every kind and size arrive exactly, by the scratch buffer or as strings', async () => {
  const metric = counterSchema('label_transfer_total').requireDynamicKey('a').requireDynamicKey('b').cardinalityLimit(1000).build();
  const expected = new Map();
  VALUES.forEach((a, i) => {
    const b = VALUES[(i + 1) % VALUES.length];
    metric.with({ a, b }).add(i + 1);
    expected.set(JSON.stringify([a, b]), i + 1);
  });
  // The same label sets again, from fresh strings (not the cached objects): same series.
  VALUES.forEach((a, i) => {
    const b = VALUES[(i + 1) % VALUES.length];
    metric.with({ a: [...a].join(''), b: [...b].join('') }).add(0);
  });

  const samples = parseOpenMetricsStrict(await registry.metrics({ format: 'openmetrics' })).filter((s) => s.name === 'label_transfer_total');
  assert.equal(samples.length, VALUES.length, 'one series per label set, none doubled');
  for (const { labels, value } of samples) {
    assert.equal(expected.get(JSON.stringify([labels.a, labels.b])), value, `series ${JSON.stringify(labels).slice(0, 80)}`);
  }
});

test('a lone surrogate becomes U+FFFD on either path, as Node-API converts it', async () => {
  const metric = counterSchema('lone_surrogate_total').requireDynamicKey('v').build();
  metric.with({ v: 'a\ud800b' }).increment();
  metric.with({ v: `${'z'.repeat(5000)}\udc00` }).increment();
  const text = await registry.metrics();
  assert.match(text, /lone_surrogate_total\{v="a\ufffdb"\} 1/);
  assert.match(text, /lone_surrogate_total\{v="z{5000}\ufffd"\} 1/);
});
