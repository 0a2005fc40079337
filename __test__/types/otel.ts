// slotmetrics/otel types: the provider is @opentelemetry/api's MeterProvider, usable
// wherever the API or an instrumentation takes one, and its options are checked.
import { type MeterProvider as ApiMeterProvider, metrics, type Counter, type ObservableGauge } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MeterProvider } from 'slotmetrics/otel';
import { Registry } from 'slotmetrics';

const provider: ApiMeterProvider = new MeterProvider({ registry: new Registry(), translationStrategy: 'NoUTF8EscapingWithSuffixes' });
metrics.setGlobalMeterProvider(provider);
registerInstrumentations({ meterProvider: new MeterProvider(), instrumentations: [] });

const counter: Counter = provider.getMeter('types', '1.0.0').createCounter('types.requests', { unit: '{request}' });
counter.add(1, { 'http.route': '/', ok: true, codes: [200, 201] });
const gauge: ObservableGauge = provider.getMeter('types').createObservableGauge('types.load');
gauge.addCallback((result) => result.observe(1, { core: 0 }));

// @ts-expect-error not one of the specification's translation strategies
new MeterProvider({ translationStrategy: 'Underscores' });
// @ts-expect-error the limit is a number
new MeterProvider({ cardinalityLimit: '2000' });
