// exportGoogleCloud(): exportOtlp() set up for Google Cloud's Telemetry API
// (`telemetry.googleapis.com`): an access token from Application Default Credentials,
// refreshed before it expires, the `location` resource attribute the API requires, and
// requests of at most 200 points, its limit.

import { describeValue } from '../base/validate';
import { resourceFromEnvironment } from './environment';
import type { MetricsExporter } from './exporter';
import { type OtlpExportOptions, startOtlpExporter } from './otlp';

/** `exportGoogleCloud()`'s options: `exportOtlp()`'s, with Google credentials. */
export interface GoogleCloudOptions extends Omit<OtlpExportOptions, 'sigv4'> {
  /**
   * Where the metrics are stored, e.g. `us-central1`: the `location` resource attribute
   * Google requires. Default: `location`, `cloud.availability_zone` or `cloud.region`
   * from `resource` or `OTEL_RESOURCE_ATTRIBUTES`.
   */
  location?: string;
  /** The project the metrics belong to (`gcp.project_id`). Default: the key file's, else the credentials'. */
  projectId?: string;
  /**
   * A service-account key file. Default: Application Default Credentials
   * (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file, else the metadata server of GCE,
   * GKE and Cloud Run).
   */
  keyFile?: string;
}

const CALL = 'exportGoogleCloud()';
/** The Telemetry API's limit on points in a request. */
const MAX_POINTS = 200;

/**
 * Starts pushing the registry's metrics to Google Cloud Monitoring over OTLP/HTTP.
 *
 * @example
 * ```js
 * exportGoogleCloud({ location: 'us-central1' }); // Application Default Credentials
 * ```
 */
export function exportGoogleCloud(options: GoogleCloudOptions = {}): MetricsExporter {
  const { location, projectId, keyFile, ...otlp } = options;
  for (const [name, value] of Object.entries({ location, projectId, keyFile })) {
    if (value !== undefined && (typeof value !== 'string' || value === ''))
      throw new TypeError(`${CALL}: ${name} must be a non-empty string, got ${describeValue(value)}`);
  }
  const configured = resourceFromEnvironment('', otlp.resource ?? {});
  const where = location ?? ['location', 'cloud.availability_zone', 'cloud.region'].map((key) => configured.get(key)).find((v) => v);
  if (where === undefined) {
    throw new TypeError(
      `${CALL}: Google requires a location: pass location (a region such as "us-central1") or set cloud.region in OTEL_RESOURCE_ATTRIBUTES`,
    );
  }
  const maxPointsPerRequest = otlp.maxPointsPerRequest ?? MAX_POINTS;
  if (typeof maxPointsPerRequest === 'number' && maxPointsPerRequest > MAX_POINTS) {
    throw new RangeError(`${CALL}: maxPointsPerRequest must be at most ${MAX_POINTS}, the Telemetry API's limit`);
  }
  return startOtlpExporter(
    CALL,
    {
      ...otlp,
      endpoint: otlp.endpoint ?? 'https://telemetry.googleapis.com/v1/metrics',
      resource: { location: where, ...(projectId === undefined ? {} : { 'gcp.project_id': projectId }), ...otlp.resource },
      maxPointsPerRequest,
    },
    { googleCredentials: keyFile ?? '' },
  );
}
