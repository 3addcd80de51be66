/** The demo page as the server hands it out (and as the Docker image ships it). */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('demo page', () => {
  it('is served at / with its bundle, under the strict Content-Security-Policy', async () => {
    server = await startServer();
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy');
    expect(csp).toMatch(/script-src 'self'/);
    // Workers from the page itself or a Blob URL only: the SDK's proof-of-work solver is one.
    expect(csp).toMatch(/worker-src 'self' blob:(;|$)/);
    // Served over plain HTTP on a LAN address, an upgrade would send the bundle to a missing https://.
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
    const html = await page.text();
    const script = /<script type="module" src="([^"]+)"/.exec(html)?.[1];
    expect(script).toBe('/build/demo.js');

    // Built by `npm run build` (npm test builds before vitest).
    const bundle = await fetch(`${server.url}${script}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.url}/build/pairwire-chat.js`)).status).toBe(200);
  });

  it('ships in the Docker image: public/ goes into the build stage and on to the runtime stage', () => {
    const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
    const [build, runtime] = dockerfile.split(/^FROM .* AS runtime$/m);
    expect(build).toMatch(/^COPY public \.\/public\n(?:.*\n)*RUN npm run build/m);
    expect(runtime).toMatch(/^COPY --from=build .*\/app\/public \.\/public$/m);
  });
});
