// Container mode's unlisted compose services: which run, and the names their ports get.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { unlistedServices } from '../../modes/compose/implied.js';

const config = (yaml: string) => parseConfig(`version: 1\nmode: container\ncompose: { files: [compose.yaml] }\n${yaml}`, 'f');

describe('unlisted compose services', () => {
  it('names ports <service>, then <service>-<container port>; skips listed services, one-shots and scale 0', () => {
    const implied = unlistedServices(
      {
        services: {
          web: { ports: [{ target: 80, published: '8080' }] },
          dns: {
            ports: [
              { target: 53, published: '53', protocol: 'udp' },
              { target: 53, published: '53', protocol: 'tcp' },
              { target: 8053, published: '8053' },
              { target: 9000 },
            ],
          },
          migrate: {},
          app: { depends_on: { migrate: { condition: 'service_completed_successfully' } } },
          off: { scale: 0 },
          '1st.svc': { ports: [{ target: 1, published: '1' }] },
        },
      },
      config('ports: { front: {} }\nservices:\n  front: { compose: web, ports: { front: 80 } }'),
    );
    expect(Object.keys(implied.services)).toEqual(['dns', 'app', 's-1st-svc']);
    expect(implied.services.dns!.ports).toEqual({ dns: 53, 'dns-8053': 8053 });
    expect(implied.services.dns!.compose).toBe('dns');
    expect(implied.services['s-1st-svc']!.compose).toBe('1st.svc');
    expect(Object.keys(implied.ports)).toEqual(['dns', 'dns-8053', 's-1st-svc']);
  });

  it('names the published ports a listed service does not name, after it; not those of a service on the host', () => {
    const cfg = config(
      'ports: { front: {} }\nservices:\n  front: { compose: web, ports: { front: 80 }, env: { A: b } }\n  bare: { compose: db }\n  away: { compose: tool, host: { command: x } }',
    );
    const implied = unlistedServices(
      {
        services: {
          web: {
            ports: [
              { target: 80, published: '80' },
              { target: 9229, published: '9229' },
            ],
          },
          db: { ports: [{ target: 5432, published: '5432' }] },
          tool: { ports: [{ target: 7000, published: '7000' }] },
        },
      },
      cfg,
      { front: 'compose', bare: 'compose', away: 'host' },
    );
    expect(Object.keys(implied.services)).toEqual(['front', 'bare']);
    expect(implied.services.front).toMatchObject({ compose: 'web', ports: { front: 80, 'front-9229': 9229 }, env: { A: 'b' } });
    expect(implied.services.bare!.ports).toEqual({ bare: 5432 });
    expect(Object.keys(implied.ports)).toEqual(['front-9229', 'bare']);
  });

  it('never takes a name sess.yaml uses, nor one whose SESS_PORT_ variable it uses', () => {
    const implied = unlistedServices(
      { services: { web: { ports: [{ target: 80, published: '80' }] }, web_2: {} } },
      config('ports: { web: {} }\nservices:\n  web: { host: { command: x }, ports: { web: 3000 } }'),
    );
    // `web` is sess.yaml's (a host service here): compose's web becomes web-2
    expect(Object.keys(implied.services)).toEqual(['web-2', 'web_2']);
    expect(implied.services['web-2']!.ports).toEqual({ 'web-2': 80 });
  });
});
