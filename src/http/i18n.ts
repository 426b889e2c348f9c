/**
 * The interface language: English or Chinese, one at a time. The language
 * comes from the `duikou_lang` cookie the header's switch sets, else from the
 * browser's `Accept-Language`; every label, message and heading a page shows
 * comes from {@link CATALOGUES} (see `messages.ts`). Papers, quotes and tags
 * keep their own language: views mark them with their own `lang`.
 */
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import escapeHtml from 'escape-html';
import { detectLang } from '../pipeline/lang.js';
import { type MessageKey, type Messages, en, zh } from './messages.js';

/** An interface language. */
export type UiLang = 'en' | 'zh';

/** The message catalogue of each interface language. */
export const CATALOGUES: Readonly<Record<UiLang, Messages>> = { en, zh };

/** The cookie that remembers the language picked with the header's switch. */
export const LANG_COOKIE = 'duikou_lang';

/** The value of `<html lang>` for an interface language. */
export const htmlLangOf = (l: UiLang): string => (l === 'zh' ? 'zh-Hans' : 'en');

/** Parameters filled into a message's `{name}` placeholders. */
export type Params = Readonly<Record<string, string | number>>;

/** Look a key up; an unknown key is a bug (a typo in a view), so it throws rather than showing the key. */
function lookup(lang: UiLang, key: string): string {
  const m = (CATALOGUES[lang] as Record<string, string>)[key];
  if (typeof m !== 'string') throw new Error(`No message "${key}" in the ${lang} catalogue`);
  return m;
}

/** Fill `{name}` placeholders; `esc` escapes each value (for messages that carry markup). */
function fill(template: string, params: Params | undefined, esc: (s: string) => string): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? esc(String(params[name])) : whole));
}

/** A message as plain text (escape it when writing HTML: `<%= t(...) %>`). */
export function translate(lang: UiLang, key: MessageKey, params?: Params): string {
  return fill(lookup(lang, key), params, (s) => s);
}

/**
 * The translator a view gets: `t(key, params)` for text, `t.n(key, n, params)`
 * for a count (`key.one` when `n` is 1 and that key exists), `t.html(key, params)`
 * for a message whose own markup (`<q>`, `<strong>`) is kept while every
 * parameter is escaped (`<%- t.html(...) %>`).
 */
export interface Translator {
  (key: MessageKey, params?: Params): string;
  n(key: MessageKey, n: number, params?: Params): string;
  html(key: MessageKey, params?: Params): string;
  /** The interface language. */
  lang: UiLang;
}

/** Build the translator of one language. */
export function translator(lang: UiLang): Translator {
  const plural = (key: string, n: number): string => {
    const one = `${key}.one`;
    return n === 1 && one in CATALOGUES[lang] ? one : key;
  };
  const t = ((key: MessageKey, params?: Params) => translate(lang, key, params)) as Translator;
  t.n = (key, n, params) => fill(lookup(lang, plural(key, n)), { n, ...params }, (s) => s);
  t.html = (key, params) => fill(lookup(lang, key), params, escapeHtml);
  t.lang = lang;
  return t;
}

/** The language a request asks for: the switch's cookie, else the browser's preference, else English. */
export function requestLang(req: Request): UiLang {
  const cookie = (req.cookies as Record<string, unknown> | undefined)?.[LANG_COOKIE];
  if (cookie === 'en' || cookie === 'zh') return cookie;
  return req.acceptsLanguages('en', 'zh') === 'zh' ? 'zh' : 'en';
}

/** The interface language a response is being written in (set by {@link uiLanguage}). */
export function uiLangOf(res: Response): UiLang {
  return (res.locals.lang as UiLang | undefined) ?? 'en';
}

/** The translator of a response's interface language. */
export function tr(res: Response): Translator {
  return (res.locals.t as Translator | undefined) ?? translator(uiLangOf(res));
}

const HAN = /\p{Script=Han}/u;

/**
 * The `lang` of a piece of user content (a title, a tag, a query, a note): Chinese when it reads
 * as Chinese by the rule papers are read by ({@link detectLang}: ideographs at least 30% of its
 * letters), so an English note quoting 对口支援 is read aloud as English, not as Chinese.
 */
export const textLang = (s: string | null | undefined): string => (s && detectLang(s) === 'zh' ? 'zh-Hans' : 'en');

/**
 * A message from the code (an error, a notice) in one language. Such messages
 * are written "English detail (中文摘要)" or "English / 中文"; the English
 * interface shows the English part, the Chinese one the Chinese part when
 * there is one, else the whole message.
 */
export function localMessage(message: string, lang: UiLang): string {
  const parts = splitMessage(message);
  if (!parts) return message;
  return (lang === 'en' ? parts.english : parts.chinese) || message;
}

/** A message's English and Chinese parts, or null when it is not written in both. */
function splitMessage(message: string): { english: string; chinese: string } | null {
  const m = /^([^]*?)\s*(?:[(（]([^()（）]*\p{Script=Han}[^()（）]*)[)）]|\s\/\s([^/]*\p{Script=Han}[^/]*))\s*([.。]?)$/u.exec(message);
  if (!m) return null;
  return { english: `${m[1] ?? ''}${m[4] ?? ''}`.trim(), chinese: (m[2] ?? m[3] ?? '').trim() };
}

/**
 * A problem or error message for a page, in the interface language. In
 * Chinese the short Chinese summary comes with the English part as `detail`
 * (the file, line or value it names), and a message written in English only
 * gets the catalogue's sentence for its code (`errcode.<code>`) when there is one.
 */
export function errorText(code: string, message: string, lang: UiLang): { text: string; detail: string | null } {
  const parts = splitMessage(message);
  if (lang === 'en') return { text: parts?.english || message, detail: null };
  if (parts?.chinese) return { text: parts.chinese, detail: parts.english || null };
  const own = (CATALOGUES.zh as Record<string, string>)[`errcode.${code}`];
  return own && !HAN.test(message) ? { text: own, detail: message } : { text: message, detail: null };
}

/** Paths the switch may send the browser back to: this site's own pages only. */
function safeBack(raw: unknown): string {
  return typeof raw === 'string' && /^\/(?![/\\])/.test(raw) && !/[\r\n]/.test(raw) ? raw : '/';
}

/**
 * Client-side messages (the `js.` keys, without the prefix) for the page
 * scripts, as JSON; `_head.ejs` puts it (escaped) into `<body data-messages>`,
 * as no inline script is allowed.
 */
export function clientMessages(lang: UiLang): string {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(CATALOGUES[lang])) if (k.startsWith('js.')) out[k.slice(3)] = v;
  return JSON.stringify(out);
}

/**
 * Middleware: pick the interface language and offer it to the views as
 * `lang`, `uiHtmlLang`, `t` (the translator), `textLang`, `localMessage` and
 * `clientMessages`.
 */
export function uiLanguage(): RequestHandler {
  return (req, res, next) => {
    const lang = requestLang(req);
    res.locals.lang = lang;
    res.locals.uiHtmlLang = htmlLangOf(lang);
    res.locals.t = translator(lang);
    res.locals.textLang = textLang;
    res.locals.clientMessages = () => clientMessages(lang);
    res.locals.localMessage = (m: string) => localMessage(m, lang);
    res.locals.errorText = (code: string, m: string) => errorText(code, m, lang);
    res.locals.currentUrl = req.originalUrl;
    res.vary('Accept-Language');
    next();
  };
}

/** `POST /lang` (the header's switch): remember the language for a year and go back to the page. */
export function languageRouter(): Router {
  const r = Router();
  r.post('/lang', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const lang = body.lang === 'zh' ? 'zh' : 'en';
    res.cookie(LANG_COOKIE, lang, { sameSite: 'lax', secure: req.secure, path: '/', maxAge: 365 * 24 * 3600 * 1000 });
    res.redirect(303, safeBack(body.back));
  });
  return r;
}
