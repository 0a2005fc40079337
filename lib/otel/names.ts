// OpenTelemetry names as Prometheus exposes them: the translation strategies of the
// specification's Prometheus exporter (metrics/sdk_exporters/prometheus.md), with the
// unit words and escaping rules of its compatibility page, as client_golang's and
// client_java's exporters (and Prometheus's own OTLP receiver) apply them.

/**
 * How instrument and attribute names become metric and label names:
 * - `'UnderscoreEscapingWithSuffixes'` (the default): every character outside
 *   `[a-zA-Z0-9:]` becomes `_` (runs of them one), the unit is added as a word
 *   (`http.server.request.duration` in `s` → `http_server_request_duration_seconds`)
 *   and a monotonic sum ends in `_total`;
 * - `'UnderscoreEscapingWithoutSuffixes'`: escaped, no unit word;
 * - `'NoUTF8EscapingWithSuffixes'`: names kept as they are (`http.server.request.duration_seconds`),
 *   with the unit word; a scraper that did not negotiate `escaping=allow-utf-8`
 *   receives them escaped by the scheme it asked for;
 * - `'NoTranslation'`: names kept, no unit word.
 *
 * A counter always ends in `_total`: the exposition formats require it of counters.
 */
export type TranslationStrategy =
  | 'UnderscoreEscapingWithSuffixes'
  | 'UnderscoreEscapingWithoutSuffixes'
  | 'NoUTF8EscapingWithSuffixes'
  | 'NoTranslation';

export const TRANSLATION_STRATEGIES: readonly TranslationStrategy[] = [
  'UnderscoreEscapingWithSuffixes',
  'UnderscoreEscapingWithoutSuffixes',
  'NoUTF8EscapingWithSuffixes',
  'NoTranslation',
];

/** Whether names are kept as they are (UTF-8) rather than escaped to the legacy set. */
export function keepsUtf8(strategy: TranslationStrategy): boolean {
  return strategy === 'NoUTF8EscapingWithSuffixes' || strategy === 'NoTranslation';
}

function addsSuffixes(strategy: TranslationStrategy): boolean {
  return strategy === 'UnderscoreEscapingWithSuffixes' || strategy === 'NoUTF8EscapingWithSuffixes';
}

/** What kind of Prometheus metric an instrument becomes, as far as its name is concerned. */
export type NamedKind = 'counter' | 'gauge' | 'upDownCounter' | 'histogram';

// UCUM units (as OpenTelemetry semantic conventions write them) and their words.
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tebibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

// The unit after a `/`, in the singular: `By/s` → `bytes_per_second`.
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/**
 * The words a unit adds to a name: the main unit's, and `per_<unit>` for what follows
 * a `/`. An annotation in braces (`{request}`) adds nothing; an unknown unit is its
 * own word.
 */
function unitWords(unit: string): { main: string; per: string } {
  const slash = unit.indexOf('/');
  const [main, per] = slash === -1 ? [unit.trim(), ''] : [unit.slice(0, slash).trim(), unit.slice(slash + 1).trim()];
  const annotation = (text: string) => text === '' || text.includes('{') || text.includes('}');
  return {
    main: annotation(main) ? '' : (UNIT_WORDS[main] ?? main),
    per: annotation(per) ? '' : `per_${PER_UNIT_WORDS[per] ?? per}`,
  };
}

/**
 * `text` cut into its runs of legacy metric-name characters: `[a-zA-Z0-9:]`, and `_`
 * too when `underscores` (escaping without suffixes keeps a name's own underscores,
 * with suffixes they separate words as any other character does).
 */
function tokens(text: string, underscores = false): string[] {
  const legacy = underscores ? /[a-zA-Z0-9:_]/ : /[a-zA-Z0-9:]/;
  const found: string[] = [];
  let current = '';
  for (const character of text) {
    if (legacy.test(character)) {
      current += character;
    } else if (current !== '') {
      found.push(current);
      current = '';
    }
  }
  if (current !== '') found.push(current);
  return found;
}

/** The metric name an instrument named `name`, in `unit`, of `kind`, is exposed under. */
export function metricName(name: string, unit: string, kind: NamedKind, strategy: TranslationStrategy): string {
  if (keepsUtf8(strategy)) return utf8MetricName(name, unit, kind, addsSuffixes(strategy));
  const suffixes = addsSuffixes(strategy);
  const words = tokens(name, !suffixes);
  if (suffixes) {
    const { main, per } = unitWords(unit);
    const mainTokens = tokens(main);
    const perTokens = tokens(per);
    const has = (unitTokens: string[]) => unitTokens.length > 0 && words.includes(unitTokens.join('_'));
    const addMain = mainTokens.length > 0 && !has(mainTokens);
    const addPer = perTokens.length > 0 && !has(perTokens);
    if (addMain) words.push(...mainTokens);
    if (addPer) words.push(...perTokens);
    if (kind === 'gauge' && unit === '1') moveToEnd(words, 'ratio');
  }
  if (kind === 'counter') moveToEnd(words, 'total');
  const joined = words.join('_');
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}

/** Removes every `word` from `words` and appends one. */
function moveToEnd(words: string[], word: string): void {
  for (let i = words.indexOf(word); i !== -1; i = words.indexOf(word)) words.splice(i, 1);
  words.push(word);
}

/** `name` kept as it is, with the unit's words and the kind's suffix appended where missing. */
function utf8MetricName(name: string, unit: string, kind: NamedKind, suffixes: boolean): string {
  let base = name;
  const tail: string[] = [];
  const takeSuffix = (suffix: string) => {
    if (base.endsWith(suffix) && base.length > suffix.length + 1) base = base.slice(0, -(suffix.length + 1));
    tail.unshift(suffix);
  };
  if (kind === 'counter') takeSuffix('total');
  if (suffixes) {
    if (kind === 'gauge' && unit === '1') takeSuffix('ratio');
    const { main, per } = unitWords(unit);
    if (per !== '') takeSuffix(per);
    if (main !== '' && !base.endsWith(main)) base = `${base}_${main}`;
  }
  return [base, ...tail].join('_');
}

/**
 * The label name attribute `key` is exposed under: kept under a UTF-8 strategy, else
 * every character outside `[a-zA-Z0-9_]` becomes `_`, and a name that would start with
 * a digit or `_` gets `key` in front (`_id` → `key_id`, `2xx` → `key_2xx`). Names
 * starting `__` belong to Prometheus and a name the metric's kind reserves (`le` on a
 * histogram) would clash, so they get `key` in front too. Empty when the key has no
 * usable name.
 */
export function labelName(key: string, strategy: TranslationStrategy, reserved?: string): string {
  let name: string;
  if (keepsUtf8(strategy)) {
    name = key.startsWith('__') ? `key${key}` : key;
  } else {
    name = key.replace(/[^a-zA-Z0-9_]/gu, '_');
    if (/^_*$/.test(name)) return '';
    if (/^[0-9]/.test(name)) name = `key_${name}`;
    else if (name.startsWith('_')) name = `key${name}`;
  }
  return name === reserved ? `key_${name}` : name;
}
