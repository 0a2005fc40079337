// @prometheus-io/client 0.16's Pushgateway: prom-client's, but its requests are opened
// as 0.16 opens them, which users' tests read from their mocks of `http.request`.

import type http from 'node:http';
import type { RegistryContentType } from '../promClient/registry';
import { Pushgateway as PromClientPushgateway, type PushgatewayParameters, type Transport } from '../promClient/pushgateway';

export class Pushgateway<T extends RegistryContentType = RegistryContentType> extends PromClientPushgateway<T> {
  /** 0.16's request: the URL, then the options with the method. */
  protected override open(transport: Transport, target: URL, options: http.RequestOptions, onResponse: (resp: http.IncomingMessage) => void) {
    return transport.request(target, options, onResponse);
  }
}

export namespace Pushgateway {
  /** What a push names: its job, and its grouping labels. */
  export type Parameters = PushgatewayParameters;
}
