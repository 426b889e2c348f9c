/**
 * What the lab-server (PostgreSQL) mode does not serve yet, answered with a
 * 501 naming the feature (JSON under /api, the error page elsewhere) instead
 * of a crash or an empty page that would read as "no results".
 */
import { Router } from 'express';
import { embeddedOnly } from '../backends/types.js';

/** Each feature and the routes it has. */
const FEATURES: { feature: string; routes: { method: 'all' | 'post' | 'patch' | 'delete'; path: string }[] }[] = [
  {
    feature: 'The concordance, collocates, dispersion and co-occurrence views',
    routes: ['/concordance', '/collocates', '/dispersion', '/cooccurrence'].flatMap((p) => [
      { method: 'all' as const, path: p },
      { method: 'all' as const, path: `/api${p}` },
    ]),
  },
  {
    feature: 'Adding, editing and removing papers from the app (put them in the indexing instance’s corpus folder instead)',
    routes: [
      { method: 'post', path: '/api/documents' },
      { method: 'patch', path: '/api/documents/:id' },
      { method: 'delete', path: '/api/documents/:id' },
      { method: 'post', path: '/documents' },
      { method: 'post', path: '/documents/:id/metadata' },
      { method: 'post', path: '/documents/:id/remove' },
    ],
  },
  {
    feature: 'Accounts, coding rounds and agreement',
    routes: ['/api/users', '/api/users/:name', '/api/rounds', '/api/rounds/*rest', '/rounds', '/rounds/*rest'].map((path) => ({
      method: 'all' as const,
      path,
    })),
  },
];

/** Routes answering 501 for every feature the lab-server mode lacks. */
export function embeddedOnlyRouter(): Router {
  const r = Router();
  for (const { feature, routes } of FEATURES) {
    for (const { method, path } of routes) {
      r[method](path, () => {
        throw embeddedOnly(feature);
      });
    }
  }
  return r;
}
