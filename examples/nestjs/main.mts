// A NestJS service instrumented with slotmetrics: request metrics from the Express
// adapter's routes (`/items/:id`, not raw URLs), a metric of the service's own, and
// /metrics served by Rust on its own port.
//   npx tsc -p examples/nestjs && node .cache/examples/nestjs/main.mjs
//                                     (PORT, METRICS_PORT; 0 picks free ports)
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, NotFoundException, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { counterSchema, httpMetrics, serve } from 'slotmetrics';

const lookups = counterSchema('catalog_lookups_total').help('Catalog lookups').requireDynamicKey('found').build();

@Injectable()
class CatalogService {
  private readonly items = new Map([['1', { id: '1', name: 'kettle' }]]);

  find(id: string): { id: string; name: string } | undefined {
    const item = this.items.get(id);
    lookups.with({ found: String(item !== undefined) }).increment();
    return item;
  }
}

@Controller('items')
class ItemsController {
  constructor(private readonly catalog: CatalogService) {}

  @Get(':id')
  get(@Param('id') id: string) {
    const item = this.catalog.find(id);
    if (item === undefined) throw new NotFoundException();
    return item;
  }
}

@Module({ controllers: [ItemsController], providers: [CatalogService] })
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: false });
app.use(httpMetrics().express());
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
const metrics = await serve({ port: Number(process.env.METRICS_PORT ?? 9464), host: '127.0.0.1' });
console.log(`listening: ${await app.getUrl()} metrics: ${metrics.url}`);
process.on('SIGTERM', () => app.close().then(() => metrics.close()));
