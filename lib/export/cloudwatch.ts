// exportCloudWatch(): exportOtlp() set up for Amazon CloudWatch's OTLP endpoint:
// `https://monitoring.<region>.amazonaws.com/v1/metrics`, every request signed with
// SigV4 for the service `monitoring`.

import { describeValue } from '../base/validate';
import { type MetricsExporter, regionFromEnvironment } from './exporter';
import { type OtlpExportOptions, startOtlpExporter } from './otlp';

/** `exportCloudWatch()`'s options: `exportOtlp()`'s, signed with SigV4 for `monitoring`. */
export interface CloudWatchOptions extends Omit<OtlpExportOptions, 'sigv4'> {
  /** The AWS region. Default `AWS_REGION`, else `AWS_DEFAULT_REGION`. */
  region?: string;
}

/**
 * Starts pushing the registry's metrics to CloudWatch over OTLP/HTTP, signed with the
 * AWS credentials found where the AWS SDKs look for them. Give `endpoint` to send
 * through a proxy or a VPC endpoint.
 *
 * @example
 * ```js
 * exportCloudWatch({ region: 'eu-west-1' }); // credentials as the AWS SDKs find them
 * ```
 */
export function exportCloudWatch(options: CloudWatchOptions = {}): MetricsExporter {
  const { region: given, ...otlp } = options;
  const region = given ?? regionFromEnvironment();
  if (region === undefined) throw new TypeError('exportCloudWatch(): no region: pass region or set AWS_REGION');
  if (typeof region !== 'string' || !/^[a-z0-9-]+$/.test(region)) {
    throw new TypeError(`exportCloudWatch(): region must be an AWS region such as "us-east-1", got ${describeValue(region)}`);
  }
  return startOtlpExporter('exportCloudWatch()', {
    ...otlp,
    endpoint: otlp.endpoint ?? `https://monitoring.${region}.amazonaws.com/v1/metrics`,
    sigv4: { region, service: 'monitoring' },
  });
}
