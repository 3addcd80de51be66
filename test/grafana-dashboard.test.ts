/**
 * The Grafana dashboard (docs/grafana/pairwire-dashboard.json) asks only for what a real server
 * exports: every metric and label its queries name is in a scrape of GET /metrics, and every
 * metric family the server exports has a panel. Renaming a metric without the dashboard fails here.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';

interface Target {
  expr: string;
  datasource: { uid: string };
}
interface Dashboard {
  __inputs: Array<{ name: string; pluginId: string }>;
  panels: Array<{ id: number; title: string; datasource: { uid: string }; targets: Target[] }>;
  templating: { list: Array<{ query: { query: string } }> };
}

const dashboard = JSON.parse(
  readFileSync(new URL('../docs/grafana/pairwire-dashboard.json', import.meta.url), 'utf8'),
) as Dashboard;
/** Labels Prometheus adds to every series it scrapes; the server's exposition never has them. */
const TARGET_LABELS = new Set(['job', 'instance']);
const TOKEN = 'scrape-secret';
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's import placeholder, literally.
const DATA_SOURCE = '${DS_PROMETHEUS}';

/** Sample names of the exposition, with the label names each carries; and the metric families. */
interface Scrape {
  samples: Map<string, Set<string>>;
  families: Set<string>;
}

function parseExposition(text: string): Scrape {
  const samples = new Map<string, Set<string>>();
  const families = new Set<string>();
  for (const line of text.split('\n')) {
    const family = /^# TYPE (\S+) /.exec(line);
    if (family?.[1]) families.add(family[1]);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /.exec(line);
    if (!sample?.[1]) continue;
    const labels = samples.get(sample[1]) ?? new Set<string>();
    for (const pair of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) if (pair[1]) labels.add(pair[1]);
    samples.set(sample[1], labels);
  }
  return { samples, families };
}

const expressions = () => [
  ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
  ...dashboard.templating.list.map((variable) => variable.query.query),
];
const metricsIn = (expr: string) => [...expr.matchAll(/\b(pairwire_[a-z_]+)\b/g)].map((match) => match[1] as string);

let server: TestServer;
let scrape: Scrape;

beforeAll(async () => {
  server = await startServer({ metricsToken: TOKEN });
  // Traffic enough for every labelled series to exist: a pair, a relayed signal, a refusal, an end.
  const alice = await server.connect();
  await alice.first('waiting');
  const bob = await server.connect();
  await Promise.all([alice.first('paired'), bob.first('paired')]);
  await alice.signal({ type: 'offer', sdp: 'v=0 scraped' });
  await bob.first('signal');
  await bob.signal({ type: 'bogus' } as never);
  await alice.leave();
  await bob.first('partner-left');
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  scrape = parseExposition(await response.text());
});

afterAll(async () => {
  await server?.close();
});

describe('the Grafana dashboard', () => {
  it('queries only metrics the server exports', () => {
    const used = expressions().flatMap(metricsIn);
    expect(used.length).toBeGreaterThan(0);
    for (const metric of used) expect([...scrape.samples.keys()], metric).toContain(metric);
  });

  it('groups and filters only by labels those metrics carry (or the scrape adds)', () => {
    for (const expr of expressions()) {
      const labels = new Set<string>();
      for (const group of expr.matchAll(/\bby \(([^)]*)\)/g)) {
        for (const label of (group[1] ?? '').split(',')) labels.add(label.trim());
      }
      for (const selector of expr.matchAll(/pairwire_[a-z_]+\{([^}]*)\}/g)) {
        for (const matcher of (selector[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
          if (matcher[1]) labels.add(matcher[1]);
        }
      }
      for (const metric of metricsIn(expr)) {
        const carried = scrape.samples.get(metric) ?? new Set<string>();
        for (const label of labels) {
          if (!TARGET_LABELS.has(label)) expect([...carried], `${label} in ${expr}`).toContain(label);
        }
      }
    }
  });

  it('has a panel for every metric family the server exports', () => {
    const used = new Set(expressions().flatMap(metricsIn));
    const pairwireFamilies = [...scrape.families].filter((family) => family.startsWith('pairwire_'));
    expect(pairwireFamilies.length).toBeGreaterThan(0);
    for (const family of pairwireFamilies) {
      const shown = [...used].some((metric) => metric === family || metric.startsWith(`${family}_`));
      expect(shown, `${family} has no panel`).toBe(true);
    }
  });

  it('imports with one Prometheus data source chosen at import, panel ids unique', () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid).toBe(DATA_SOURCE);
      for (const target of panel.targets) expect(target.datasource.uid).toBe(DATA_SOURCE);
    }
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
