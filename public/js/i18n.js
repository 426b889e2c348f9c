// The interface language's messages for the page scripts: the `js.` keys of the
// server's catalogue (src/http/messages.ts), which _head.ejs puts into <body data-messages> as JSON.

/** @type {Record<string, string>} */
let messages = {};
try {
  messages = JSON.parse(document.body.dataset.messages ?? '{}');
} catch {
  messages = {};
}

/** The interface language: 'zh' or 'en'. */
export const uiLang = document.documentElement.lang.startsWith('zh') ? 'zh' : 'en';

/**
 * A message with its `{name}` placeholders filled.
 * @param {string} key without the `js.` prefix
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function t(key, params) {
  const m = messages[key];
  if (typeof m !== 'string') return key;
  return params ? m.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole)) : m;
}

const PARTS = /^([^]*?)\s*(?:[(（]([^()（）]*\p{Script=Han}[^()（）]*)[)）]|\s\/\s([^/]*\p{Script=Han}[^/]*))\s*([.。]?)$/u;

/**
 * A server message written "English (中文)" or "English / 中文" in the interface language
 * (the same rule as localMessage in src/http/i18n.ts).
 * @param {string} message
 * @returns {string}
 */
export function localMessage(message) {
  const m = PARTS.exec(message);
  if (!m) return message;
  const english = `${m[1] ?? ''}${m[4] ?? ''}`.trim();
  const chinese = (m[2] ?? m[3] ?? '').trim();
  return uiLang === 'en' ? english || message : chinese || message;
}
