// config/turnout.services.example.yaml (CONTRACT §10) loads as it is documented: three services
// by host and path, each with its own pair and routing.
import t from 'tap';
import { loadConfigFile } from '../../src/config/load.ts';
import { servicesOf } from './services-helpers.ts';

const root = new URL('../../', import.meta.url);

t.test('config/turnout.services.example.yaml loads: its services, matches and routing', async (t) => {
  const file = new URL('config/turnout.services.example.yaml', root).pathname;
  const config = loadConfigFile(file, { TURNOUT_ADMIN_TOKEN: 'a-token-of-20-chars!' });
  const services = servicesOf(config);
  t.ok(services.length >= 3, 'at least three services');
  const byName = new Map(services.map((s) => [s.name, s]));
  t.strictSame(byName.get('shop')?.match, { hosts: ['shop.example.com', '*.shop.example.com'], pathPrefix: '/' });
  t.strictSame(byName.get('api')?.match, { hosts: ['api.example.com'], pathPrefix: '/v2' });
  for (const s of services) {
    t.ok(s.upstreams.blue.targets.length > 0 && s.upstreams.green.targets.length > 0, `${s.name}: both colours have targets`);
    t.ok(s.routing.active === 'blue' || s.routing.active === 'green', `${s.name}: routing has its defaults`);
  }
});
