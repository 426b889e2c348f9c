import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS, setting } from '../src/core/settings.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('settings', () => {
  it.each(SETTINGS.map((s) => [s.name, s]))('the README documents %s with its default and help', (_name, s) => {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${s.name}\` |`));
    expect(row, `no README row for ${s.name}`).toBeDefined();
    expect(row).toContain(s.default === '' ? '(none)' : `\`${s.default}\``);
    expect(row).toContain(s.help.replace('DUIKOU_TOKEN', '`DUIKOU_TOKEN`'));
  });

  it('reads the environment, falling back to the default for unset or empty values', () => {
    expect(setting('PORT', {})).toBe('3000');
    expect(setting('PORT', { PORT: '' })).toBe('3000');
    expect(setting('PORT', { PORT: '8080' })).toBe('8080');
  });
});
